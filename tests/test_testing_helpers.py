"""``InMemoryPresence.settle()`` and ``SubscribeListener``: waiting without hand-written loops."""

from __future__ import annotations

from twisted.internet.defer import CancelledError
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNStatusCategory, SubscribeListener
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
)
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence


def _event(uuid: str, event: str = "join", channel: str = "lobby") -> PNPresenceEventResult:
    return PNPresenceEventResult(event, uuid, 1, 1, None, channel, None, 10_000_000)


class SettleTests(SynchronousTestCase):
    """settle() runs chains of requests and timers on the clock."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.watcher = self.presence.client("watcher")
        self.listener = SubscribeListener()
        self.watcher.add_listener(self.listener)
        self.addCleanup(self.stop)

    def stop(self) -> None:
        stopped = self.watcher.stop()
        self.presence.settle(30)
        self.successResultOf(stopped)
        self.presence.resource.stop()
        self.presence.store.stop()

    def test_chain_of_requests(self) -> None:
        """One settle() runs the handshake, its answer and the next long-poll: connected."""
        self.watcher.subscribe().channels("lobby").with_presence().execute()
        connected = self.listener.wait_for_connect()
        self.assertNoResult(connected)
        self.presence.settle()
        self.assertEqual(
            self.successResultOf(connected).category, PNStatusCategory.PNConnectedCategory
        )
        # The loop's next long-poll is held by the server: waiting, not pending.
        self.assertEqual(self.presence.settle(), 0)

    def test_timers_within_the_window(self) -> None:
        """settle(seconds) runs timers due in the window, in order: a timeout arrives."""
        self.watcher.subscribe().channels("lobby").with_presence().execute()
        self.presence.settle()
        bob = self.presence.client("bob", presence_timeout=20)
        self.presence.call(bob.heartbeat().channels("lobby"))
        joined = self.listener.wait_for_presence(uuid="bob", event="join")
        timed_out = self.listener.wait_for_presence(uuid="bob", event="timeout")
        self.presence.settle(1)
        self.assertEqual(self.successResultOf(joined).occupancy, 2)
        self.assertNoResult(timed_out)
        start = self.presence.clock.seconds()
        self.presence.settle(25)
        self.assertEqual(self.presence.clock.seconds(), start + 25)
        self.assertEqual(self.successResultOf(timed_out).occupancy, 1)
        self.assertEqual(self.presence.store.where_now(DEFAULT_SUBSCRIBE_KEY, "watcher"), ["lobby"])
        self.successResultOf(bob.stop())

    def test_runaway_timer(self) -> None:
        """A timer that keeps re-arming itself within the window is reported, not looped on."""
        clock = self.presence.clock

        def again() -> None:
            clock.callLater(0.01, again)

        clock.callLater(0.01, again)
        with self.assertRaises(AssertionError) as raised:
            self.presence.settle(10, max_steps=50)
        self.assertIn("re-arming", str(raised.exception))
        for call in clock.getDelayedCalls():
            call.cancel()


class SubscribeListenerTests(SynchronousTestCase):
    """Queued statuses, events and messages, each handed to one waiter."""

    def test_event_before_the_wait_is_not_missed(self) -> None:
        """An event that arrived before wait_for_presence() is returned at once."""
        listener = SubscribeListener()
        listener.presence(None, _event("alice"))  # type: ignore[arg-type]
        self.assertEqual(self.successResultOf(listener.wait_for_presence()).uuid, "alice")

    def test_each_event_goes_to_one_waiter(self) -> None:
        """Two waits get two different events, in arrival order, filtered as asked."""
        listener = SubscribeListener()
        first = listener.wait_for_presence(channel="lobby")
        second = listener.wait_for_presence(channel="lobby")
        leave = listener.wait_for_presence(event="leave")
        for event in (_event("a", channel="game"), _event("b"), _event("c"), _event("b", "leave")):
            listener.presence(None, event)  # type: ignore[arg-type]
        self.assertEqual(self.successResultOf(first).uuid, "b")
        self.assertEqual(self.successResultOf(second).uuid, "c")
        self.assertEqual(self.successResultOf(leave).uuid, "b")
        # The game event is still queued for a later wait.
        later = listener.wait_for_presence(match=lambda event: event.channel == "game")
        self.assertEqual(self.successResultOf(later).uuid, "a")
        self.assertNoResult(listener.wait_for_presence())

    def test_cancel_stops_waiting(self) -> None:
        """A cancelled wait takes nothing: the next event is queued for the next wait."""
        listener = SubscribeListener()
        waiting = listener.wait_for_message(channel="lobby")
        waiting.cancel()
        self.failureResultOf(waiting, CancelledError)
        message = PNMessageResult("hi", "lobby", None, 1)
        listener.message(None, message)  # type: ignore[arg-type]
        self.assertIs(self.successResultOf(listener.wait_for_message()), message)

    def test_signals(self) -> None:
        """wait_for_signal takes signals only, by channel; messages stay queued for theirs."""
        listener = SubscribeListener()
        waiting = listener.wait_for_signal(channel="lobby")
        listener.message(None, PNMessageResult("m", "lobby", None, 1))  # type: ignore[arg-type]
        listener.signal(None, PNSignalMessageResult("elsewhere", "game", None, 2))  # type: ignore[arg-type]
        self.assertNoResult(waiting)
        signal = PNSignalMessageResult("typing", "lobby", None, 3)
        listener.signal(None, signal)  # type: ignore[arg-type]
        self.assertIs(self.successResultOf(waiting), signal)
        self.assertEqual(self.successResultOf(listener.wait_for_signal()).message, "elsewhere")
        self.assertEqual(self.successResultOf(listener.wait_for_message()).message, "m")

    def test_statuses(self) -> None:
        """wait_for_connect and wait_for_disconnect pick their categories out of the stream."""
        listener = SubscribeListener()
        disconnected = listener.wait_for_disconnect()
        for category in (
            PNStatusCategory.PNAcknowledgmentCategory,
            PNStatusCategory.PNConnectedCategory,
            PNStatusCategory.PNUnexpectedDisconnectCategory,
        ):
            status = PNStatus(category, PNOperationType.PNSubscribeOperation)
            listener.status(None, status)  # type: ignore[arg-type]
        self.assertEqual(
            self.successResultOf(disconnected).category,
            PNStatusCategory.PNUnexpectedDisconnectCategory,
        )
        connected = self.successResultOf(listener.wait_for_connect())
        self.assertEqual(connected.category, PNStatusCategory.PNConnectedCategory)
        anything = self.successResultOf(listener.wait_for_status())
        self.assertEqual(anything.category, PNStatusCategory.PNAcknowledgmentCategory)
