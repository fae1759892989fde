"""PNConfiguration: defaults, aliases, copies, typos and repr."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNConfiguration
from pubnub_twisted.testing import InMemoryPresence, SubscribeOptions


class ConfigurationTests(SynchronousTestCase):
    """The settings object users fill in."""

    def test_defaults(self) -> None:
        """PubNub's defaults: origin, TLS, timeouts, a generated uuid."""
        config = PNConfiguration()
        self.assertEqual(
            (config.origin, config.ssl, config.non_subscribe_request_timeout),
            ("ps.pndsn.com", True, 10.0),
        )
        self.assertEqual((config.presence_timeout, config.heartbeat_interval), (300, 149.0))
        self.assertTrue(config.uuid.startswith("pn-"))
        self.assertNotEqual(config.uuid, PNConfiguration().uuid)

    def test_user_id_alias(self) -> None:
        """user_id and uuid are the same field."""
        config = PNConfiguration()
        config.user_id = "alice"
        self.assertEqual(config.uuid, "alice")

    def test_presence_timeout(self) -> None:
        """The heartbeat interval follows the presence timeout unless set explicitly."""
        config = PNConfiguration()
        config.set_presence_timeout(60)
        self.assertEqual(config.heartbeat_interval, 29.0)
        config.set_presence_timeout_with_custom_interval(60, 10)
        self.assertEqual((config.presence_timeout, config.heartbeat_interval), (60, 10))
        config.presence_timeout = 20
        self.assertEqual(config.heartbeat_interval, 9.0)

    def test_copy_is_independent(self) -> None:
        """A copy keeps every setting and changes apart from the original."""
        config = PNConfiguration()
        config.subscribe_key = "sub"
        config.set_presence_timeout_with_custom_interval(40, 5)
        clone = config.copy()
        clone.subscribe_key = "other"
        self.assertEqual((config.subscribe_key, clone.heartbeat_interval), ("sub", 5))

    def test_unknown_setting_refused(self) -> None:
        """A typo or another SDK's option raises instead of being ignored."""
        config = PNConfiguration()
        with self.assertRaises(AttributeError) as raised:
            config.enable_presence_heartbeat = True  # type: ignore[attr-defined]
        self.assertIn("enable_presence_heartbeat", str(raised.exception))

    def test_repr(self) -> None:
        """repr shows effective values and hides secrets."""
        config = PNConfiguration()
        config.secret_key = "sec-c-very-secret"
        config.auth_key = "auth-very-secret"
        text = repr(config)
        self.assertIn("heartbeat_interval=149.0", text)
        self.assertIn("presence_timeout=300", text)
        self.assertIn("secret_key='<set>'", text)
        self.assertNotIn("very-secret", text)
        self.assertNotIn("_heartbeat", text)


class TestingHelperTests(SynchronousTestCase):
    """pubnub_twisted.testing passes server options through."""

    def test_subscribe_options(self) -> None:
        """InMemoryPresence takes SubscribeOptions for the server."""
        presence = InMemoryPresence(subscribe=SubscribeOptions(hold_time=5.0))
        self.assertEqual(presence.resource.hub.options.hold_time, 5.0)

    def test_original_response_on_success(self) -> None:
        """A successful call's status carries the decoded JSON answer."""
        presence = InMemoryPresence()
        envelope = presence.call(presence.client("a").where_now())
        self.assertEqual(envelope.status.original_response["payload"], {"channels": []})


class ClientConstructionTests(SynchronousTestCase):
    """PubNub(config, *, reactor, agent): what old code may pass by mistake fails loudly."""

    def test_keyword_only(self) -> None:
        """The old SDK's positional (config, pool, reactor) is refused, not misread."""
        from twisted.internet.task import Clock

        from pubnub_twisted import PubNub, PubNubTwisted

        with self.assertRaises(TypeError):
            PubNubTwisted(PNConfiguration(), None, Clock())  # type: ignore[call-arg,arg-type]
        self.assertIs(PubNubTwisted, PubNub)

    def test_not_a_configuration(self) -> None:
        """A config that is not a PNConfiguration is refused with a clear TypeError."""
        from pubnub_twisted import PubNub

        with self.assertRaises(TypeError) as raised:
            PubNub({"subscribe_key": "x"})  # type: ignore[arg-type]
        self.assertIn("PNConfiguration", str(raised.exception))

    def test_old_occupant_name(self) -> None:
        """The old SDK's PNHereNowOccupantsData still imports, as the same class."""
        from pubnub_twisted import PNHereNowOccupantData, PNHereNowOccupantsData

        self.assertIs(PNHereNowOccupantsData, PNHereNowOccupantData)
