"""The client's message calls with Access Manager tokens: set_token, and renewal.

A 403 means the server refused the call, so a publish refused for an
expired or revoked token was not delivered: it is repeated once after the
provider gives a fresh token.  A publish whose outcome is unknown (the
connection was lost after it was sent) is never repeated, renewal or not.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web._newclient import ResponseNeverReceived

from pubnub_twisted import Channel, PNEnvelope, PNGrantTokenResult, PNStatusCategory, PubNub
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.errors import PNERR_PUBLISH_OUTCOME_UNKNOWN
from pubnub_twisted.protocol import decode_value, parse_query
from pubnub_twisted.server import PresenceResource
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer
from pubnub_twisted.transport import OUTCOME_UNKNOWN
from tests.fakes import FakeAgent, Script
from tests.helpers import config as helper_config
from tests.test_access_client import READ, ClientCase, Recorder

WRITE, DELETE = 2, 8
EVERYTHING = READ | WRITE | DELETE


@dataclass(frozen=True)
class Answered:
    """One request the server answered: when, method, path, query, ``auth`` and status."""

    at: float
    method: str
    path: str
    query: dict[str, str]
    status: int

    @property
    def auth(self) -> str | None:
        """The token (or auth key) sent, if any."""
        return self.query.get("auth")


class Seen:
    """Every request the server answers, recorded as :class:`Answered`."""

    def __init__(self, resource: PresenceResource, clock: IReactorTime) -> None:
        self.calls: list[Answered] = []
        answer = resource._answer

        def recording(method: bytes, uri: bytes, **options: Any) -> Any:
            status, body, path = answer(method, uri, **options)
            pairs = parse_query(uri.partition(b"?")[2].decode())
            query = {key: decode_value(value) for key, value in pairs}
            self.calls.append(Answered(clock.seconds(), method.decode(), path, query, status))
            return status, body, path

        resource._answer = recording  # type: ignore[method-assign]

    def of(self, prefix: str) -> list[tuple[str, str | None, int]]:
        """The calls whose path starts with ``prefix``: (method, auth, status)."""
        return [(c.method, c.auth, c.status) for c in self.calls if c.path.startswith(prefix)]


#: Each message call on "lobby", and the path its request starts with.
CALLS: list[tuple[str, Callable[[PubNub], Endpoint[Any]], str]] = [
    ("publish", lambda c: c.publish().channel("lobby").message({"n": 1}), "/publish/"),
    (
        "publish by POST",
        lambda c: c.publish().channel("lobby").message({"n": 2}).use_post(True),
        "/publish/",
    ),
    ("fire", lambda c: c.fire().channel("lobby").message({"n": 3}), "/publish/"),
    ("signal", lambda c: c.signal().channel("lobby").message("s"), "/signal/"),
    ("fetch_messages", lambda c: c.fetch_messages().channels("lobby"), "/v3/history/"),
    (
        "message_counts",
        lambda c: c.message_counts().channel("lobby").channel_timetokens([1]),
        "/v3/history/",
    ),
    ("delete_messages", lambda c: c.delete_messages().channel("lobby"), "/v3/history/"),
]


class SetTokenMessageTests(ClientCase):
    """With ``set_token`` every message call is allowed by its permission only."""

    def test_each_call(self) -> None:
        """Allowed with write/read/delete on lobby; refused (403) with none of them."""
        self.client.set_token(self.token(lobby=EVERYTHING))
        for name, build, _ in CALLS:
            envelope = self.presence.call(build(self.client))
            self.assertFalse(envelope.status.is_error(), (name, envelope.status))
        self.client.set_token(self.token(ttl=11, lobby=0x80))  # join only
        for name, build, _ in CALLS:
            envelope = self.presence.call(build(self.client))
            self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory, name)

    def test_publish_then_fetch_and_delete(self) -> None:
        """A token's holder publishes, reads the message back, and deletes it."""
        self.client.set_token(self.token(lobby=EVERYTHING))
        self.assertFalse(
            self.presence.call(self.client.publish().channel("lobby").message("hi")).status.error
        )
        fetched = self.presence.call(self.client.fetch_messages().channels("lobby"))
        assert fetched.result is not None
        self.assertEqual([m.message for m in fetched.result.channels["lobby"]], ["hi"])
        self.assertFalse(
            self.presence.call(self.client.delete_messages().channel("lobby")).status.error
        )
        fetched = self.presence.call(self.client.fetch_messages().channels("lobby"))
        assert fetched.result is not None
        self.assertEqual(fetched.result.channels.get("lobby", []), [])


class MessageRenewalTests(ClientCase):
    """After a 403 for an expired token: one renewal, the call repeated once, delivered once."""

    def provider(self) -> list[str]:
        """Install a provider of fresh tokens for lobby; returns the tokens it gave."""
        given: list[str] = []

        def fresh() -> Deferred[str]:
            given.append(self.token(ttl=10 + len(given), lobby=EVERYTHING))
            return succeed(given[-1])

        self.client.set_token_provider(fresh)
        return given

    def expired(self) -> str:
        """Set a token for lobby that has expired by the server's clock."""
        old = self.token(ttl=1, lobby=EVERYTHING)
        self.client.set_token(old)
        self.clock.advance(61)
        return old

    def test_each_call_renewed_after_expiry(self) -> None:
        """Each call: refused as expired, renewed, repeated once with the new token, passes."""
        for name, build, prefix in CALLS:
            seen = Seen(self.presence.resource, self.clock)
            old = self.expired()
            given = self.provider()
            d = build(self.client).deferred()  # sent before the provider is asked
            self.presence.settle()
            envelope = self.successResultOf(d)
            self.assertFalse(envelope.status.is_error(), (name, envelope.status))
            self.assertEqual(len(given), 1, name)
            method = seen.of(prefix)[0][0]
            self.assertEqual(seen.of(prefix), [(method, old, 403), (method, given[0], 200)], name)
            self.client.set_token_provider(None)

    def test_publish_delivered_once(self) -> None:
        """A publish refused as expired is stored and delivered exactly once after renewal."""
        bob = self.presence.client("bob")
        self.addCleanup(bob.stop)
        bob.set_token(self.token(ttl=30, lobby=READ))
        heard = Recorder()
        bob.add_listener(heard)
        bob.subscribe().channels("lobby").execute()
        self.presence.settle()
        self.expired()
        given = self.provider()
        publishes: list[Deferred[PNEnvelope[Any]]] = [
            self.client.publish().channel("lobby").message("one").deferred(),
            self.client.publish().channel("lobby").message("two").use_post(True).deferred(),
            self.client.signal().channel("lobby").message("sig").deferred(),
        ]
        self.presence.settle()
        for d in publishes:
            self.assertFalse(self.successResultOf(d).status.is_error())
        self.assertEqual(len(given), 1, "the refusals share one renewal")
        stored = self.presence.resource.messages.store.fetch(
            DEFAULT_SUBSCRIBE_KEY, "lobby", start=None, end=None, limit=100
        )
        self.assertEqual(sorted(m.message for m in stored), ["one", "two"])
        self.assertEqual(sorted(heard.messages), ["one", "two"])

    def test_revoked_publish_repeated_once(self) -> None:
        """A publish refused as revoked is repeated once; refused again, it is not repeated more."""
        seen = Seen(self.presence.resource, self.clock)
        old = self.token(lobby=EVERYTHING)
        self.client.set_token(old)
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, old)
        calls: list[str] = []

        def useless() -> Deferred[str]:  # a fresh token, but for another channel
            calls.append(self.token(ttl=12 + len(calls), kitchen=EVERYTHING))
            return succeed(calls[-1])

        self.client.set_token_provider(useless)
        d = self.client.publish().channel("lobby").message("x").deferred()
        self.presence.settle()
        envelope = self.successResultOf(d)
        self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.assertEqual([code for _, _, code in seen.of("/publish/")], [403, 403])
        self.assertEqual(len(calls), 1)


class PlainDenialTests(ClientCase):
    """A 403 for a missing permission is not renewed, whatever the channel is called."""

    def test_channel_names_do_not_trigger_renewal(self) -> None:
        """Channels named "expired..." or "...revoked": refused once, the provider not asked."""
        seen = Seen(self.presence.resource, self.clock)
        self.client.set_token(self.token(lobby=EVERYTHING))
        asked: list[float] = []

        def fresh() -> Deferred[str]:
            asked.append(self.clock.seconds())
            return succeed(self.token(ttl=12, lobby=EVERYTHING))

        self.client.set_token_provider(fresh)
        for build in (
            lambda c: c.publish().channel("expired-offers").message("x"),
            lambda c: c.here_now().channels("revoked"),
            lambda c: c.fetch_messages().channels("news-expired"),
        ):
            envelope = self.presence.call(build(self.client))
            self.assertIs(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.assertEqual(asked, [])
        self.assertEqual([c.status for c in seen.calls], [403, 403, 403])


class OutcomeUnknownTests(SynchronousTestCase):
    """A publish whose outcome is unknown is never repeated by the renewal path."""

    def client(self, *scripts: Script) -> tuple[PubNub, FakeAgent, list[int]]:
        """A client with a token, a provider (counting its calls) and a scripted agent."""
        agent = FakeAgent(*scripts)
        self.clock = Clock()
        pubnub = PubNub(helper_config(), reactor=self.clock, agent=agent)
        self.addCleanup(pubnub.stop)
        pubnub.set_token("not-parsed-by-the-client")
        calls: list[int] = []

        def provider() -> Deferred[str]:
            calls.append(1)
            return succeed("fresh")

        pubnub.set_token_provider(provider)
        return pubnub, agent, calls

    def test_lost_answer_not_repeated(self) -> None:
        """The answer never came: one request, outcome unknown, no renewal, no repeat."""
        for build in (
            lambda c: c.publish().channel("lobby").message("m"),
            lambda c: c.publish().channel("lobby").message("m").use_post(True),
            lambda c: c.signal().channel("lobby").message("m"),
        ):
            lost = ResponseNeverReceived([])
            pubnub, agent, calls = self.client(Script(failure=lost), Script())
            envelope = self.successResultOf(build(pubnub).deferred())
            assert envelope.status.error_data is not None
            self.assertIn(OUTCOME_UNKNOWN, envelope.status.error_data.information)
            self.assertEqual(len(agent.requests), 1)
            self.assertEqual(calls, [])

    def test_deadline_passed_not_repeated(self) -> None:
        """The deadline passed with the publish out: one request, outcome unknown, no renewal."""
        pubnub, agent, calls = self.client(Script(hang=True), Script())
        d = pubnub.publish().channel("lobby").message("m").deferred()
        self.clock.advance(pubnub.config.non_subscribe_request_timeout + 1)
        envelope = self.successResultOf(d)
        self.assertIs(envelope.status.category, PNStatusCategory.PNTimeoutCategory)
        assert envelope.status.error_data is not None
        self.assertIn(OUTCOME_UNKNOWN, envelope.status.error_data.information)
        self.assertEqual(len(agent.requests), 1)
        self.assertEqual(calls, [])

    #: PubNub's refusal of an expired token (nothing was delivered).
    EXPIRED = Script(
        code=403,
        body=b'{"message": "Token is expired.", "error": true, "service": '
        b'"Access Manager", "status": 403, "payload": {"channels": ["lobby"]}}',
    )

    def test_repeat_lost_not_repeated_again(self) -> None:
        """Refused as expired, repeated once, and that repeat's answer lost: no third send."""
        lost = Script(failure=ResponseNeverReceived([]))
        pubnub, agent, calls = self.client(self.EXPIRED, lost, Script(), Script())
        envelope = self.successResultOf(pubnub.publish().channel("lobby").message("m").deferred())
        assert envelope.status.error_data is not None
        self.assertIn(PNERR_PUBLISH_OUTCOME_UNKNOWN, envelope.status.error_data.information)
        self.assertEqual((len(agent.requests), calls), (2, [1]))

    def test_expired_403_repeated_once(self) -> None:
        """A 403 saying "expired" (nothing delivered): renewed and sent once more, new token."""
        refused = self.EXPIRED
        accepted = Script(body=b'[1, "Sent", "17000000000000000"]')
        pubnub, agent, calls = self.client(refused, accepted, Script())
        envelope = self.successResultOf(pubnub.publish().channel("lobby").message("m").deferred())
        self.assertFalse(envelope.status.is_error(), envelope.status)
        self.assertEqual(calls, [1])
        self.assertEqual(len(agent.requests), 2)
        self.assertIn(b"auth=not-parsed-by-the-client", agent.requests[0])
        self.assertIn(b"auth=fresh", agent.requests[1])


class LoopbackTests(TestCase):
    """Over real HTTP on loopback, a token's holder publishes, fetches and deletes."""

    @inlineCallbacks
    def test_publish_fetch_delete(self) -> Generator[Deferred[Any], Any, None]:
        """GET and POST publish, fetch, a refused and an allowed delete, with tokens only."""
        server = LocalPresenceServer.start(secret_key="sec-c-loop", access_manager=True)
        self.addCleanup(server.stop)
        backend = server.client("backend", secret_key="sec-c-loop")
        grant = backend.grant_token().ttl(5).channels([Channel.id("lobby").read().write()])
        writer: PNGrantTokenResult = yield grant.result()
        alice = server.client("alice")
        alice.set_token(writer.token)
        for publish in (
            alice.publish().channel("lobby").message("one"),
            alice.publish().channel("lobby").message("two").use_post(True),
        ):
            sent = yield publish.deferred()
            self.assertFalse(sent.status.is_error(), sent.status)
        refused = yield alice.delete_messages().channel("lobby").deferred()
        self.assertIs(refused.status.category, PNStatusCategory.PNAccessDeniedCategory)
        fetched = yield alice.fetch_messages().channels("lobby").result()
        self.assertEqual([m.message for m in fetched.channels["lobby"]], ["one", "two"])
        deleter = (
            yield backend.grant_token().ttl(5).channels([Channel.id("lobby").delete()]).result()
        )
        alice.set_token(deleter.token)
        deleted = yield alice.delete_messages().channel("lobby").deferred()
        self.assertFalse(deleted.status.is_error(), deleted.status)
        alice.set_token(writer.token)
        fetched = yield alice.fetch_messages().channels("lobby").result()
        self.assertEqual(fetched.channels.get("lobby", []), [])
