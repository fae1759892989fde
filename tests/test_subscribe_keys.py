"""An allow-list of subscribe keys: other keys get PubNub's answer for an invalid key.

PubNub answers a request for a subscribe key it does not know with 400 and
``{"message":"Invalid Subscribe Key","error":true,"service":"Access
Manager","status":400}`` (the official Python SDK's cassettes
``asyncio/invocations/envelope_raises.yaml`` and
``tornado/invocations/future_raises.yaml``, December 2016).
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pubnub_twisted import PNStatus, PNStatusCategory, SubscribeCallback
from pubnub_twisted.server import PresenceResource
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence, LocalPresenceServer
from tests.test_server_harness import ServerCase

INVALID_KEY: dict[str, Any] = {
    "message": "Invalid Subscribe Key",
    "error": True,
    "service": "Access Manager",
    "status": 400,
}
ALLOWED = "sub-c-allowed"
OTHER = "sub-c-other"


def calls(key: str) -> list[str]:
    """One request of each kind (presence REST, channel registration, subscribe) for ``key``."""
    presence = f"/v2/presence/sub-key/{key}"
    registry = f"/v1/channel-registration/sub-key/{key}/channel-group"
    return [
        f"{presence}/channel/ch?uuid=me",
        f"{presence}?uuid=me",
        f"{presence}/uuid/me?uuid=me",
        f"{presence}/channel/ch/heartbeat?uuid=me&heartbeat=60",
        f"{presence}/channel/ch/leave?uuid=me",
        f"{presence}/channel/ch/uuid/me/data?uuid=me&state=%7B%7D",
        f"{presence}/channel/ch/uuid/me?uuid=me",
        f"/v2/presence/sub_key/{key}/channel/ch?uuid=me",
        f"{registry}/g?uuid=me&add=ch",
        f"{registry}/g?uuid=me",
        f"{registry}/g/remove?uuid=me",
        f"/v2/subscribe/{key}/ch/0?uuid=me&tt=0",
    ]


class AllowListTests(ServerCase):
    """``PresenceResource(subscribe_keys=...)`` over plain HTTP, in memory."""

    def setUp(self) -> None:
        self.serve(here_now_cache=0, subscribe_keys={ALLOWED})
        self.addCleanup(self.resource.stop)

    def test_other_keys_refused(self) -> None:
        """Every call for a key not on the list gets PubNub's 400 and nothing changes."""
        for target in calls(OTHER):
            reply = self.request(target)
            self.assertEqual((reply.code, reply.body), (400, INVALID_KEY), target)
        self.assertEqual(self.events, [], "no presence was recorded")
        self.assertEqual(self.store.channels_in_group(OTHER, "g"), [])

    def test_listed_key_served(self) -> None:
        """Every call for a listed key is answered as usual."""
        for target in calls(ALLOWED):
            self.assertEqual(self.request(target).code, 200, target)
        self.assertEqual([event.action for event in self.events][:1], ["join"])

    def test_checked_before_access(self) -> None:
        """An unknown key is refused as such even when access control would refuse too."""
        self.serve(here_now_cache=0, subscribe_keys={ALLOWED}, auth_keys={"good"})
        reply = self.request(f"/v2/presence/sub-key/{OTHER}/channel/ch?uuid=me")
        self.assertEqual((reply.code, reply.body), (400, INVALID_KEY))

    def test_time_is_open(self) -> None:
        """``/time/0`` names no key: it is answered whatever the list."""
        reply = self.request("/time/0")
        self.assertEqual(reply.code, 200)
        self.assertIsInstance(reply.body[0], int)

    def test_without_a_list_every_key_is_served(self) -> None:
        """The default: any subscribe key works, each its own key space."""
        self.serve(here_now_cache=0)
        for target in calls(OTHER):
            self.assertEqual(self.request(target).code, 200, target)

    def test_bad_lists(self) -> None:
        """An empty key in the list is refused when the resource is built."""
        with self.assertRaises(ValueError):
            PresenceResource(self.store, subscribe_keys={""})


class ClientReportTests(SynchronousTestCase):
    """What our client reports for a key the server does not serve."""

    def test_rest_call(self) -> None:
        """A REST call ends with PNBadRequestCategory, 400 and PubNub's message."""
        presence = InMemoryPresence(subscribe_keys={ALLOWED})
        envelope = presence.call(presence.client("me").here_now().channels("ch"))
        status = envelope.status
        self.assertIsNone(envelope.result)
        self.assertEqual(
            (status.category, status.status_code, status.error),
            (PNStatusCategory.PNBadRequestCategory, 400, True),
        )
        assert status.error_data is not None
        self.assertIn("Invalid Subscribe Key", str(status.error_data.exception))
        self.assertIn("Invalid Subscribe Key", status.error_data.information)
        ok = presence.call(presence.client("me", subscribe_key=ALLOWED).here_now().channels("ch"))
        self.assertFalse(ok.status.is_error())

    def test_subscribe_loop(self) -> None:
        """The subscribe loop tells listeners PNBadRequestCategory once, and stops polling."""
        presence = InMemoryPresence(subscribe_keys={ALLOWED})
        pubnub = presence.client("me")
        statuses: list[PNStatus] = []

        class Listener(SubscribeCallback):
            def status(self, pubnub: Any, status: PNStatus) -> None:
                statuses.append(status)

        pubnub.add_listener(Listener())
        pubnub.subscribe().channels("ch").execute()
        for _ in range(5):
            presence.flush()
            presence.clock.advance(10)
        self.assertEqual(
            [(s.category, s.status_code) for s in statuses],
            [(PNStatusCategory.PNBadRequestCategory, 400)],
        )
        error = statuses[0].error_data
        assert error is not None
        self.assertIn("Invalid Subscribe Key", error.information)
        self.assertEqual(presence.store.where_now(DEFAULT_SUBSCRIBE_KEY, "me"), [])
        self.successResultOf(pubnub.stop())


class LoopbackTests(TestCase):
    """``LocalPresenceServer.start(subscribe_keys=...)`` (and so ``listen()``) over TCP."""

    @inlineCallbacks
    def test_allow_list_on_a_port(self) -> Any:
        """The list reaches the listening server: the default key is refused, a listed one not."""
        server = LocalPresenceServer.start(reactor, subscribe_keys={ALLOWED})
        self.addCleanup(server.stop)
        refused = yield server.client("me").here_now().channels("ch").deferred()
        self.assertEqual(refused.status.status_code, 400)
        served = server.client("me", subscribe_key=ALLOWED).here_now().channels("ch")
        envelope = yield served.deferred()
        self.assertFalse(envelope.status.is_error())
