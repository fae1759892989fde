"""Reconnection schedules as values, and holds: the loop keeps to several schedules at once."""

from __future__ import annotations

from twisted.internet import error as neterror
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNConfiguration, PNReconnectionPolicy, PubNubException, Reconnection
from pubnub_twisted.pubsub.manager import ReconnectionHold
from pubnub_twisted.pubsub.reconnect import VIEW_MAXIMUM_INTERVAL, next_delay
from tests.fakes import Script
from tests.test_subscribe_loop import TT, C, LoopCase, answer

LINEAR = PNReconnectionPolicy.LINEAR


def no_jitter() -> float:
    return 0.0


def full_jitter() -> float:
    return 1.0


class ScheduleTests(SynchronousTestCase):
    """Reconnection's delays, its view default, and how schedules combine."""

    def test_exponential_capped(self) -> None:
        """Exponential from the interval, capped, jitter on top; no limit: never None."""
        schedule = Reconnection(interval=2.0, maximum_interval=30.0, jitter=0.5)
        delays = [schedule.delay(attempt, full_jitter) for attempt in range(1, 8)]
        self.assertEqual(delays, [2.5, 4.5, 8.5, 16.5, 30.5, 30.5, 30.5])
        self.assertEqual(schedule.delay(10_000, no_jitter), 30.0)
        self.assertFalse(schedule.finite)

    def test_limits(self) -> None:
        """maximum_retries N allows N attempts; NONE allows none."""
        schedule = Reconnection(policy=LINEAR, interval=1.0, maximum_retries=2)
        self.assertEqual([schedule.base_delay(n) for n in (1, 2, 3)], [1.0, 1.0, None])
        self.assertTrue(schedule.finite)
        self.assertIsNone(Reconnection(policy=PNReconnectionPolicy.NONE).base_delay(1))

    def test_for_view(self) -> None:
        """The view's default: the client's timings, capped at 30 s, never giving up."""
        config = PNConfiguration()
        config.reconnect_policy = PNReconnectionPolicy.NONE
        config.reconnection_interval = 0.5
        config.reconnection_jitter = 0.25
        config.maximum_reconnection_retries = 3
        schedule = Reconnection.for_view(config)
        self.assertEqual(
            schedule,
            Reconnection(
                interval=0.5,
                maximum_interval=VIEW_MAXIMUM_INTERVAL,
                maximum_retries=-1,
                jitter=0.25,
            ),
        )
        config.reconnect_policy = LINEAR
        config.maximum_reconnection_interval = 5.0
        schedule = Reconnection.for_view(config)
        self.assertEqual((schedule.policy, schedule.maximum_interval), (LINEAR, 5.0))
        self.assertEqual(Reconnection.for_view(PNConfiguration()), Reconnection())

    def test_combined(self) -> None:
        """Several schedules: the shortest delay among those still trying, and who stopped."""
        client = Reconnection(interval=1.0, maximum_retries=2, jitter=0.0)
        view = Reconnection(policy=LINEAR, interval=3.0, jitter=1.0)
        self.assertEqual(next_delay([client, view], 1, full_jitter), (1.0, []))
        self.assertEqual(next_delay([client, view], 2, full_jitter), (2.0, []))
        self.assertEqual(next_delay([client, view], 3, full_jitter), (4.0, [0]))
        self.assertEqual(next_delay([client], 3, full_jitter), (None, [0]))

    def test_bad_values(self) -> None:
        """Negative, infinite or non-number settings are refused with PubNubException."""
        for bad in (
            {"interval": -1},
            {"maximum_interval": float("inf")},
            {"jitter": "1"},
            {"maximum_retries": -2},
            {"maximum_retries": True},
            {"policy": "LINEAR"},
        ):
            self.assertRaises(PubNubException, Reconnection, **bad)


class HoldTests(LoopCase):
    """Holds keep the loop trying past the client's own limit; each is told when it runs out."""

    overrides = {  # noqa: RUF012
        "reconnect_policy": LINEAR,
        "reconnection_interval": 1.0,
        "maximum_reconnection_retries": 1,
    }

    def setUp(self) -> None:
        super().setUp()
        self.agent.auto["/time/0"] = Script(code=500, body=b'{"message": "down"}')
        self.told: list[str] = []
        self.manager = self.pubnub._subscription

    def hold(self, schedule: Reconnection) -> ReconnectionHold:
        return self.manager.hold_reconnection(schedule, lambda exc: self.told.append(str(exc)))

    def probes(self) -> int:
        return len(self.requests("/time/0"))

    def test_forever_hold(self) -> None:
        """A hold that never gives up: no Disconnected, however long the outage."""
        self.hold(Reconnection(policy=LINEAR, interval=5.0, jitter=0.0))
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.pump([1.0] * 500)
        self.assertNotIn(C.PNDisconnectedCategory, self.categories())
        self.assertEqual(self.probes(), 1 + 499 // 5, "1 s while the client's limit allows, then 5")

    def test_finite_hold_told_once(self) -> None:
        """A finite hold is told when its attempts run out (once); the loop goes on for others."""
        self.hold(Reconnection(policy=LINEAR, interval=1.0, maximum_retries=3, jitter=0.0))
        self.hold(Reconnection(policy=LINEAR, interval=10.0, jitter=0.0))
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.pump([1.0] * 60)
        self.assertEqual(len(self.told), 1)
        self.assertIn("gave up reconnecting after 3 attempt(s) (maximum_retries 3)", self.told[0])
        self.assertIn("last error: HTTP Server Error (500): down", self.told[0])
        self.assertNotIn(C.PNDisconnectedCategory, self.categories())

    def test_release(self) -> None:
        """Released, a hold no longer counts: the client's own limit applies at the next attempt."""
        hold = self.hold(Reconnection(policy=LINEAR, interval=1.0, jitter=0.0))
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.pump([1.0] * 10)
        self.assertNotIn(C.PNDisconnectedCategory, self.categories())
        self.manager.release_reconnection(hold)
        self.clock.advance(1.0)
        self.assertEqual(self.categories()[-1], C.PNDisconnectedCategory)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_told_again_next_outage(self) -> None:
        """After a success the count starts again: a finite hold can be told in a later outage."""
        self.pubnub.config.maximum_reconnection_retries = -1
        self.hold(Reconnection(policy=LINEAR, interval=1.0, maximum_retries=0, jitter=0.0))
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.assertEqual(len(self.told), 1)
        self.agent.auto["/time/0"] = Script(body=b"[1]")
        self.clock.advance(1.0)
        self.assertEqual(self.categories()[-1], C.PNReconnectedCategory)
        self.poll().fail(neterror.ConnectionRefusedError())
        self.assertEqual(len(self.told), 1, "reconnected, but no poll has succeeded yet")
        self.clock.advance(1.0)
        self.poll().respond(answer(TT + 1))
        self.poll().fail(neterror.ConnectionRefusedError())
        self.assertEqual(len(self.told), 2)
