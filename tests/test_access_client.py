"""The client's side of Access Manager: set_token, and renewal with a token provider."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    UUID,
    Channel,
    Group,
    PNEnvelope,
    PNRevokeTokenResult,
    PNStatusCategory,
    PNToken,
    PNTokenPermissions,
    PNTokenResources,
    PubNub,
    PubNubException,
    SubscribeCallback,
)
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.errors import PNERR_INVALID_ACCESS_TOKEN
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import PNMessageResult
from pubnub_twisted.protocol import encode
from pubnub_twisted.server import SubscribeOptions
from pubnub_twisted.server.access import AccessManager
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence
from tests.fakes import FakeAgent, Script
from tests.helpers import config as helper_config
from tests.test_presence_view_support import Recorder as ViewRecorder

SECRET = "sec-c-client"
READ = 1


class Recorder(SubscribeCallback):
    """Messages and status categories, in order."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.categories: list[PNStatusCategory] = []

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.categories.append(status.category)

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        self.messages.append(message.message)


class ClientCase(SynchronousTestCase):
    """An in-memory server with the Access Manager on, and a client of it."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence(
            secret_key=SECRET,
            publish_key="pub-c-local",
            access_manager=True,
            subscribe=SubscribeOptions(hold_time=30),
        )
        self.clock = self.presence.clock
        self.clock.advance(1_700_000_000)
        access = self.presence.resource.access
        assert isinstance(access, AccessManager)
        self.access = access
        self.client = self.presence.client("alice")
        self.addCleanup(self.stop)

    def stop(self) -> None:
        """Stop the client and the server's timers."""
        self.client.stop()
        self.presence.flush()
        self.presence.resource.stop()

    def settle(self) -> None:
        """Let the client and the server exchange whatever is ready (no time passes)."""
        for _ in range(5):
            self.clock.advance(0)
            self.presence.flush()

    def token(self, ttl: int = 10, **channels: int) -> str:
        """A token the server accepts, granting ``channels`` (name=bitmask), from now."""
        grants = {name: PNTokenPermissions(bits) for name, bits in channels.items()}
        token = PNToken(
            version=2,
            timestamp=int(self.clock.seconds()),
            ttl=ttl,
            authorized_uuid=None,
            resources=PNTokenResources(channels=grants),
            patterns=PNTokenResources(),
            meta={},
        )
        return self.access.issue(DEFAULT_SUBSCRIBE_KEY, token)


class SetTokenTests(ClientCase):
    """``set_token`` sends the token as ``auth``."""

    def test_token_used(self) -> None:
        """With a token granting read the call passes; without one it is a 403."""
        denied = self.presence.call(self.client.here_now().channels("lobby"))
        self.assertIs(denied.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.client.set_token(self.token(lobby=READ))
        allowed = self.presence.call(self.client.here_now().channels("lobby"))
        self.assertFalse(allowed.status.is_error())

    def test_token_wins_over_auth_key(self) -> None:
        """A token replaces the auth key; set_token(None) goes back to the auth key."""
        client = self.presence.client("alice", auth_key="not-a-token")
        client.set_token(self.token(lobby=READ))
        self.assertFalse(self.presence.call(client.here_now().channels("lobby")).status.error)
        client.set_token(None)
        self.assertTrue(self.presence.call(client.here_now().channels("lobby")).status.error)
        client.stop()

    def test_no_provider_denied_as_before(self) -> None:
        """Without a provider an expired token is PNAccessDeniedCategory with PubNub's message."""
        self.client.set_token(self.token(ttl=1, lobby=READ))
        self.clock.advance(60)
        envelope = self.presence.call(self.client.here_now().channels("lobby"))
        self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        assert envelope.status.error_data is not None
        self.assertIn("Token is expired.", envelope.status.error_data.information)

    def test_parse_token(self) -> None:
        """pubnub.parse_token reads a token; a malformed one is PubNubException."""
        parsed = self.client.parse_token(self.token(lobby=READ))
        self.assertTrue(parsed.resources.channels["lobby"].read)
        with self.assertRaises(PubNubException) as caught:
            self.client.parse_token("garbage!")
        self.assertEqual(caught.exception.pn_error, PNERR_INVALID_ACCESS_TOKEN)

    def test_bad_arguments(self) -> None:
        """A non-string token or a provider that is not callable is refused at once."""
        self.assertRaises(PubNubException, self.client.set_token, 42)
        self.assertRaises(PubNubException, self.client.set_token_provider, "fn")

    def test_repr_hides_token(self) -> None:
        """Neither the client's repr nor its configuration's shows the token."""
        token = self.token(lobby=READ)
        self.client.set_token(token)
        self.assertNotIn(token, repr(self.client) + repr(self.client.config))


class RenewalTests(ClientCase):
    """A token provider renews before expiry, and once after a 403 for expired/revoked."""

    def provider(self, ttl: int = 10) -> list[int]:
        """Install a provider of fresh lobby tokens; returns the list of its calls."""
        calls: list[int] = []

        def fresh() -> Deferred[str]:
            calls.append(int(self.clock.seconds()))
            return succeed(self.token(ttl=ttl, lobby=READ))

        self.client.set_token_provider(fresh)
        return calls

    def test_before_expiry(self) -> None:
        """A 2-minute token is renewed 12 s before it expires (a tenth of its life)."""
        start = int(self.clock.seconds())
        self.client.set_token(self.token(ttl=2, lobby=READ))
        calls = self.provider(ttl=2)
        self.clock.advance(107)
        self.assertEqual(calls, [])
        self.clock.advance(1)
        self.assertEqual(calls, [start + 108])
        self.clock.advance(120)  # and again for the new one
        self.assertEqual(len(calls), 2)
        self.assertFalse(self.presence.call(self.client.here_now().channels("lobby")).status.error)

    def test_after_revocation(self) -> None:
        """A revoked token: one renewal, the call repeated once, and it succeeds."""
        old = self.token(lobby=READ)
        self.client.set_token(old)
        calls = self.provider()
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        self.clock.advance(1)
        envelope = self.presence.call(self.client.here_now().channels("lobby"))
        self.assertFalse(envelope.status.is_error())
        self.assertEqual(len(calls), 1)

    def test_plain_denial_not_renewed(self) -> None:
        """A 403 for a missing permission is not renewed (a new token would not help)."""
        self.client.set_token(self.token(lobby=READ))
        calls = self.provider()
        envelope = self.presence.call(self.client.here_now().channels("kitchen"))
        self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.assertEqual(calls, [])

    def test_renewal_fails(self) -> None:
        """If the provider fails, the 403 stands (once), and it is tried again later."""
        old = self.token(lobby=READ)
        self.client.set_token(old)
        attempts: list[float] = []

        def broken() -> Deferred[str]:
            attempts.append(self.clock.seconds())
            return fail(RuntimeError("backend down"))

        self.client.set_token_provider(broken)
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        envelope = self.presence.call(self.client.here_now().channels("lobby"))
        self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.assertEqual(len(attempts), 1)
        self.flushLoggedErrors(RuntimeError)
        self.clock.advance(5)
        self.assertEqual(len(attempts), 2)
        self.flushLoggedErrors(RuntimeError)

    def test_concurrent_denials_share_one_renewal(self) -> None:
        """Several calls refused at once ask the provider once, and all succeed."""
        old = self.token(lobby=READ)
        self.client.set_token(old)
        pending: list[Deferred[str]] = []

        def slow() -> Deferred[str]:
            pending.append(Deferred())
            return pending[-1]

        self.client.set_token_provider(slow)
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        calls = [self.client.here_now().channels("lobby").deferred() for _ in range(3)]
        self.presence.flush()
        self.assertEqual(len(pending), 1)
        pending[0].callback(self.token(ttl=11, lobby=READ))
        self.presence.flush()
        for d in calls:
            self.assertFalse(self.successResultOf(d).status.is_error())

    def test_subscribe_loop_keeps_going(self) -> None:
        """Across a revocation and renewal the loop delivers every message exactly once."""
        old = self.token(ttl=9, lobby=READ)  # (not the provider's: same grant, same second)
        self.client.set_token(old)
        calls = self.provider()
        recorder = Recorder()
        self.client.add_listener(recorder)
        self.client.subscribe().channels("lobby").execute()
        self.settle()
        self.presence.resource.publish(DEFAULT_SUBSCRIBE_KEY, "lobby", "one")
        self.settle()
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        self.presence.resource.publish(DEFAULT_SUBSCRIBE_KEY, "lobby", "two")
        self.settle()  # the poll after "two" is refused: renewed, and repeated
        self.presence.resource.publish(DEFAULT_SUBSCRIBE_KEY, "lobby", "three")
        self.settle()
        self.assertEqual(recorder.messages, ["one", "two", "three"])
        self.assertEqual(len(calls), 1)
        self.assertNotIn(PNStatusCategory.PNAccessDeniedCategory, recorder.categories)


class GrantRevokeTests(ClientCase):
    """``grant_token`` and ``revoke_token``: a backend client with the secret key."""

    def setUp(self) -> None:
        super().setUp()
        self.backend = self.presence.client("backend", secret_key=SECRET)

    def test_grant_use_revoke(self) -> None:
        """A granted token allows exactly its grants, for its uuid, until revoked."""
        envelope = self.presence.call(
            self.backend.grant_token()
            .ttl(15)
            .authorized_uuid("alice")
            .channels([Channel.id("lobby").read(), Channel.pattern("^room-.*$").read().write()])
            .groups([Group.id("rooms").manage()])
            .uuids([UUID.id("alice").get().update()])
            .meta({"role": "player"})
        )
        self.assertFalse(envelope.status.is_error(), envelope.status)
        assert envelope.result is not None
        token = envelope.result.token
        self.assertNotIn(token, repr(envelope) + str(envelope.result))
        info = self.client.parse_token(token)
        self.assertEqual(
            (info.ttl, info.authorized_uuid, info.meta), (15, "alice", {"role": "player"})
        )
        self.assertTrue(info.patterns.channels["^room-.*$"].write)
        self.assertTrue(info.resources.uuids["alice"].update)
        self.client.set_token(token)
        self.assertFalse(
            self.presence.call(self.client.here_now().channels("lobby", "room-9")).status.error
        )
        self.assertTrue(self.presence.call(self.client.here_now().channels("kitchen")).status.error)
        self.assertFalse(
            self.presence.call(
                self.client.list_channels_in_channel_group().channel_group("rooms")
            ).status.error
        )
        revoked = self.presence.call(self.backend.revoke_token(token))
        self.assertEqual(revoked.result, PNRevokeTokenResult(200))
        denied = self.presence.call(self.client.here_now().channels("lobby"))
        assert denied.status.error_data is not None
        self.assertIn("Token is revoked.", denied.status.error_data.information)

    def test_validation(self) -> None:
        """Without a secret key, ttl, resources, or with bad values: refused before sending."""
        cases: list[tuple[Endpoint[Any], str]] = [
            (self.client.grant_token().ttl(5).channels([Channel.id("a").read()]), "Secret key"),
            (self.backend.grant_token().channels([Channel.id("a").read()]), "TTL missing"),
            (
                self.backend.grant_token().ttl(0).channels([Channel.id("a").read()]),
                "Invalid argument",
            ),
            (self.backend.grant_token().ttl(5), "Resources missing"),
            (
                self.backend.grant_token().ttl(5).channels([cast(Any, Group.id("g").read())]),
                "Invalid argument",
            ),
            (
                self.backend.grant_token().ttl(5).channels([Channel.id("a")]).meta(cast(Any, [1])),
                "Invalid meta",
            ),
            (self.client.revoke_token("x"), "Secret key"),
            (self.backend.revoke_token(""), "Invalid access token"),
        ]
        for builder, message in cases:
            envelope: PNEnvelope[Any] = self.presence.call(builder)
            self.assertIs(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
            assert envelope.status.error_data is not None
            self.assertIn(message, envelope.status.error_data.information)

    def test_server_refusal_message(self) -> None:
        """A grant the server refuses (an invalid regex) says why, from PubNub's v3 error."""
        envelope = self.presence.call(
            self.backend.grant_token().ttl(5).channels([Channel.pattern("(").read()])
        )
        self.assertIs(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        assert envelope.status.error_data is not None
        self.assertIn(
            "Invalid RequestBody: Invalid regular expression",
            envelope.status.error_data.information,
        )

    def test_backend_renews_clients(self) -> None:
        """A provider that asks the backend for grants keeps a client going past expiry."""

        def provider() -> Deferred[str]:
            grant = self.backend.grant_token().ttl(1).channels([Channel.id("lobby").read()])
            return grant.result().addCallback(lambda result: result.token)

        self.client.set_token_provider(provider)
        for _ in range(5):  # five minutes of one-minute tokens
            self.settle()
            self.assertFalse(
                self.presence.call(self.client.here_now().channels("lobby")).status.error
            )
            self.clock.advance(60)


class PresenceViewRenewalTests(ClientCase):
    """A presence view keeps its picture across a token renewal."""

    def test_view_across_revocation(self) -> None:
        """Joins before and after a revocation each show once; the view never stops."""
        old = self.token(ttl=9, lobby=READ, **{"lobby-pnpres": READ})
        self.client.set_token(old)

        renewals: list[float] = []

        def fresh() -> Deferred[str]:
            renewals.append(self.clock.seconds())
            return succeed(self.token(ttl=10, lobby=READ, **{"lobby-pnpres": READ}))

        self.client.set_token_provider(fresh)
        view = self.client.presence_view(channels="lobby")
        recorder = ViewRecorder()
        view.add_listener(recorder)
        self.settle()
        self.assertIsNone(self.successResultOf(view.when_synced()))
        bob = self.presence.client("bob", secret_key=SECRET)  # signed: full access
        self.presence.call(bob.heartbeat().channels("lobby"))
        self.settle()
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        carol = self.presence.client("carol", secret_key=SECRET)
        self.presence.call(carol.heartbeat().channels("lobby"))
        self.settle()
        dave = self.presence.client("dave", secret_key=SECRET)
        self.presence.call(dave.heartbeat().channels("lobby"))
        self.settle()
        self.assertEqual(view.occupants("lobby"), {"bob": None, "carol": None, "dave": None})
        joins = [call[2] for call in recorder.take() if call[0] == "join"]
        self.assertEqual(joins, ["bob", "carol", "dave"])
        self.assertEqual(len(renewals), 1)
        view.stop()
        for client in (bob, carol, dave):
            client.stop()


class ProviderMisbehaviourTests(ClientCase):
    """A provider that hands out stale tokens is not called in a tight loop."""

    def test_expired_tokens_do_not_spin(self) -> None:
        """A provider giving already-expired tokens is asked again only every 5 s."""
        calls: list[float] = []
        stale = self.token(ttl=1, lobby=READ)
        self.clock.advance(120)

        def provider() -> Deferred[str]:
            calls.append(self.clock.seconds())
            return succeed(stale)

        self.client.set_token_provider(provider)
        for _ in range(20):
            self.clock.advance(0)
        self.assertEqual(len(calls), 1)
        self.clock.advance(5)
        self.assertEqual(len(calls), 2)


class TokenRedactionTests(SynchronousTestCase):
    """A revoke whose failure quotes its URL does not carry the token on."""

    def test_revoke_failure_hides_token(self) -> None:
        """The token in a revoke URL's path is hidden in the failure text."""
        token = "qEF2AkF0GmFLd-NDdHRs" + "A" * 40 + "=="
        quoted = f"http://pubnub.test/v3/pam/sub-c-x/grant/{encode(token)}?uuid=u"
        agent = FakeAgent(Script(failure=ValueError(f"cannot fetch {quoted}")))
        config = helper_config(secret_key=SECRET, publish_key="pub-c-x")
        pubnub = PubNub(config, reactor=Clock(), agent=agent)
        self.addCleanup(pubnub.stop)
        envelope = self.successResultOf(pubnub.revoke_token(token).deferred())
        assert envelope.status.error_data is not None
        text = envelope.status.error_data.information + repr(envelope)
        self.assertIn("/grant/<hidden>", text)
        self.assertNotIn(token.rstrip("="), text)
        self.assertNotIn(encode(token), text)
