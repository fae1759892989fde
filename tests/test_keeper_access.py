"""The presence keeper across token renewals, on a Clock with the Access Manager on.

The keeper's members heartbeat with one client's token; the server's clock
expires it; the provider supplies fresh ones.  No member may time out and
no heartbeat may be lost: every member's successful heartbeats stay closer
together than the presence timeout, whatever the renewal does.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNToken, PNTokenPermissions, PNTokenResources
from pubnub_twisted.access.tokens import parse_token
from pubnub_twisted.protocol import MAX_URL_LENGTH
from pubnub_twisted.server.access import AccessManager
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence
from tests.keeper_support import Watch, occupancy
from tests.test_access_messages_client import Seen
from tests.test_keeper import Heard

TIMEOUT = 20  # seconds; heartbeats every 9
MEMBERS = 24
CHANNELS = 4
READ = 1


class KeeperRenewalCase(SynchronousTestCase):
    """A keeper whose client holds two-minute tokens for ``^ch`` from a provider."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence(secret_key="sec-c-keeper", access_manager=True)
        self.clock = self.presence.clock
        self.clock.advance(1_700_000_000)
        access = self.presence.resource.access
        assert isinstance(access, AccessManager)
        self.access = access
        self.seen = Seen(self.presence.resource, self.clock)
        self.watch = Watch(self.presence)
        self.client = self.presence.client("keeper-service", presence_timeout=TIMEOUT)
        self.keeper = self.client.presence_keeper()
        self.heard = Heard(self.presence)
        self.keeper.add_listener(self.heard)
        self.given: list[str] = []
        self.addCleanup(self.stop)

    def stop(self) -> None:
        """Stop the client (and its keeper) and the server's timers."""
        self.client.stop()
        self.presence.settle()
        self.presence.resource.stop()

    def token(self, ttl: int = 2, uuid: str | None = None, note: str = "") -> str:
        """A fresh token reading every ``ch*`` channel, issued now (two minutes by default)."""
        token = PNToken(
            version=2,
            timestamp=int(self.clock.seconds()),
            ttl=ttl,
            authorized_uuid=uuid,
            resources=PNTokenResources(),
            patterns=PNTokenResources(channels={"^ch": PNTokenPermissions(READ)}),
            meta={"n": len(self.given), "note": note},  # (two tokens of one second differ)
        )
        return self.access.issue(DEFAULT_SUBSCRIBE_KEY, token)

    def provide(self, delay: float) -> None:
        """Install a provider that answers with a fresh token ``delay`` seconds after asked."""

        def fresh() -> Deferred[str]:
            answer: Deferred[str] = Deferred()

            def give() -> None:
                self.given.append(self.token())
                answer.callback(self.given[-1])

            self.clock.callLater(delay, give)
            return answer

        self.client.set_token_provider(fresh)

    def enter_all(self) -> None:
        """``MEMBERS`` members, each on one or two of the channels."""
        for i in range(MEMBERS):
            channels = [f"ch{(i + k) % CHANNELS}" for k in range(1 + i % 2)]
            self.keeper.enter(f"m{i}", channels=channels, state={channels[0]: {"n": i}})

    def pairs(self) -> int:
        """Present (channel, uuid) pairs now."""
        return sum(occupancy(self.presence, f"ch{k}") for k in range(CHANNELS))

    def beats(self) -> list[Any]:
        """Every heartbeat the server answered."""
        return [c for c in self.seen.calls if c.path.endswith("/heartbeat")]

    def assertNoneLost(self, since: float) -> None:
        """Each member's successful heartbeats, from ``since`` on, are < TIMEOUT apart."""
        times: dict[str, list[float]] = defaultdict(list)
        for beat in self.beats():
            if beat.status == 200:
                times[beat.query["uuid"]].append(beat.at)
        self.assertEqual(len(times), MEMBERS)
        now = self.clock.seconds()
        for uuid, at in times.items():
            gaps = [b - a for a, b in zip([since, *at], [*at, now], strict=True) if b >= since]
            self.assertLess(max(gaps), TIMEOUT, uuid)
        self.assertEqual(self.watch.of("timeout"), [])
        self.assertEqual(self.heard.failing, [])
        self.assertEqual(self.pairs(), sum(1 + i % 2 for i in range(MEMBERS)))


class KeeperRenewalTests(KeeperRenewalCase):
    """Members stay present across renewals before, at and after a token's expiry."""

    def test_renewed_ahead_of_expiry(self) -> None:
        """A prompt provider renews before expiry: no heartbeat is ever refused."""
        self.client.set_token(self.token())
        self.provide(0)
        self.enter_all()
        start = self.clock.seconds()
        self.presence.settle(6 * 60)
        self.assertGreaterEqual(len(self.given), 3, "a two-minute token, six minutes")
        self.assertEqual([b for b in self.beats() if b.status != 200], [])
        self.assertNoneLost(start)

    def test_expired_while_renewing(self) -> None:
        """A slow provider lets the token expire: the refused heartbeats are repeated in time."""
        self.client.set_token(self.token())
        self.provide(15)  # asked 12 s before expiry, answers 3 s after it
        self.enter_all()
        start = self.clock.seconds()
        self.presence.settle(6 * 60)
        refused = [b for b in self.beats() if b.status == 403]
        self.assertTrue(refused, "some heartbeats met the expired token")
        for beat in refused:  # refused for carrying an expired token, nothing else
            self.assertLessEqual(parse_token(beat.auth).expires_at, beat.at)
        for beat in refused:
            repeated = [
                b
                for b in self.beats()
                if b.query["uuid"] == beat.query["uuid"] and beat.at <= b.at <= beat.at + 3.0
            ]
            self.assertIn(200, [b.status for b in repeated], beat.query["uuid"])
        self.assertNoneLost(start)

    def test_revoked_mid_run(self) -> None:
        """The current token revoked: heartbeats refused once, renewed, repeated, none lost."""
        self.client.set_token(self.token())
        self.provide(1)
        self.enter_all()
        start = self.clock.seconds()
        self.presence.settle(30)
        current = self.client._tokens.token
        assert current is not None
        self.access.revoke_token(DEFAULT_SUBSCRIBE_KEY, current)
        self.presence.settle(60)
        refused = [b for b in self.beats() if b.status == 403]
        self.assertTrue(refused)
        self.assertEqual({b.auth for b in refused}, {current})
        # The repeat after the renewal is the whole heartbeat (a reused URL is rebuilt with
        # the new token, not sent bare): its timeout, and the member's state where it has one.
        for beat in refused:
            repeat = next(
                b
                for b in self.beats()
                if b.query["uuid"] == beat.query["uuid"] and b.at >= beat.at and b.status == 200
            )
            self.assertNotEqual(repeat.auth, current)
            self.assertEqual(
                (repeat.query.get("heartbeat"), repeat.query.get("state")),
                (beat.query.get("heartbeat"), beat.query.get("state")),
            )
        self.assertNoneLost(start)


class KeeperCredentialsTests(KeeperRenewalCase):
    """A keeper speaks for many uuids: a uuid-bound token cannot serve it, a secret key can."""

    def test_secret_key_needs_no_token(self) -> None:
        """A keeper client holding the secret key signs its heartbeats: everyone present."""
        signed = self.presence.client(
            "keeper-service", presence_timeout=TIMEOUT, secret_key="sec-c-keeper"
        )
        self.addCleanup(signed.stop)
        keeper = signed.presence_keeper()
        for i in range(3):
            keeper.enter(f"s{i}", channels=["ch0"])
        self.presence.settle(60)
        self.assertEqual(occupancy(self.presence, "ch0"), 3)
        self.assertEqual({b.status for b in self.beats()}, {200})

    def test_uuid_bound_token_refused_for_members(self) -> None:
        """A token bound to the keeper's own uuid is refused for its members (403 each time)."""
        self.client.set_token(self.token(ttl=60, uuid="keeper-service"))
        self.keeper.enter("m0", channels=["ch0"])
        self.presence.settle(30)
        self.assertEqual(occupancy(self.presence, "ch0"), 0)
        self.assertTrue(self.beats())
        self.assertEqual({b.status for b in self.beats()}, {403})


class KeeperLongTokenTests(KeeperRenewalCase):
    """A member whose heartbeat fitted without a token is split again when a token makes it long."""

    def test_longer_token_set_after_enter(self) -> None:
        """A member a few bytes under the URL limit stays present once a longer token is set."""
        self.client.set_token(self.token())  # a short one
        make = self.keeper._heartbeat_maker("big", {})

        def length(count: int) -> int:
            return len(make(tuple(f"ch{i:05d}" for i in range(count)), ())._url())

        step = length(2) - length(1)  # every name is as long as the next
        channels = [f"ch{i:05d}" for i in range((MAX_URL_LENGTH - 100 - length(1)) // step + 1)]
        self.assertLess(MAX_URL_LENGTH - 100 - step, length(len(channels)))
        member = self.keeper.enter("big", channels=channels)
        self.assertIsNone(member._pieces, "one request fits with the short token")
        self.client.set_token(self.token(ttl=60, note="x" * 300))  # some 450 characters longer
        self.presence.settle(2 * TIMEOUT)
        self.assertEqual(occupancy(self.presence, channels[-1]), 1)
        self.assertEqual(occupancy(self.presence, channels[0]), 1)
        self.assertEqual(self.heard.failing, [])
        ok = [b for b in self.beats() if b.status == 200]
        self.assertGreaterEqual(len(ok), 2 * 2 * TIMEOUT // 9, "two pieces, every interval")
