"""The presence store on its own: presence, timeouts, state, groups, events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted.models import PNHereNowChannelData, PNHereNowOccupantData, PNHereNowResult
from pubnub_twisted.server import PresenceEvent, PresenceStore
from pubnub_twisted.server.presence._expiry import Expiring, ExpiryQueue

SUB = "sub-c-store"
T0 = 1_700_000_000


def event(
    action: str, channel: str, uuid: str, occupancy: int, *, at: int = T0, state: Any = None
) -> PresenceEvent:
    """The event the store should emit (on ``SUB``), at a whole second ``at``."""
    return PresenceEvent(SUB, channel, action, uuid, occupancy, at, state, at * 1000)  # type: ignore[arg-type]


class StoreCase(SynchronousTestCase):
    """A store on a ``Clock`` set to ``T0``, recording every event."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(T0)
        self.store = PresenceStore(self.clock)
        self.events: list[PresenceEvent] = []
        self.store.add_observer(self.events.append)

    def assertPresentUntil(self, seconds: float, channel: str, uuids: list[str]) -> None:
        """``uuids`` are on ``channel`` until ``seconds`` from now, and gone at that moment."""
        self.clock.advance(seconds - 0.1)
        self.assertLessEqual(set(uuids), set(self.occupants(channel)))
        self.clock.advance(0.1)
        self.assertFalse(set(uuids) & set(self.occupants(channel)))

    def occupants(self, channel: str) -> list[str]:
        """The uuids present on ``channel``, in order."""
        result = self.store.here_now(SUB, [channel])
        return [o.uuid for entry in result.channels for o in entry.occupants]


class PresenceTests(StoreCase):
    """Joining, refreshing, leaving and timing out."""

    def test_join_event(self) -> None:
        """A first heartbeat joins: one event with the occupancy after the join."""
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.store.heartbeat(SUB, "b", ["ch"], 60)
        self.assertEqual(self.events, [event("join", "ch", "a", 1), event("join", "ch", "b", 2)])
        self.assertEqual(self.store.occupancy(SUB, "ch"), 2)

    def test_refresh_emits_nothing(self) -> None:
        """A heartbeat of a uuid already present only refreshes it."""
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.clock.advance(30)
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.assertEqual(self.events, [event("join", "ch", "a", 1)])

    def test_present_until_timeout_passes(self) -> None:
        """A uuid stays present until its heartbeat timeout has passed, then times out."""
        self.store.heartbeat(SUB, "a", ["ch"], 10)
        self.store.heartbeat(SUB, "b", ["ch"], 20)
        self.assertPresentUntil(10, "ch", ["a"])
        self.assertEqual(self.occupants("ch"), ["b"])
        self.assertEqual(self.events[-1], event("timeout", "ch", "a", 1, at=T0 + 10))
        self.clock.advance(10)
        self.assertEqual(self.events[-1], event("timeout", "ch", "b", 0, at=T0 + 20))
        self.assertEqual(self.store.here_now(SUB), PNHereNowResult(0, 0, []))

    def test_refresh_extends(self) -> None:
        """Each heartbeat restarts the timeout."""
        self.store.heartbeat(SUB, "a", ["ch"], 10)
        for _ in range(5):
            self.clock.advance(8)
            self.store.heartbeat(SUB, "a", ["ch"], 10)
        self.assertPresentUntil(10, "ch", ["a"])
        self.assertEqual([e.action for e in self.events], ["join", "timeout"])

    def test_shorter_timeout_takes_effect(self) -> None:
        """A heartbeat with a shorter timeout than before moves the deadline earlier."""
        self.store.heartbeat(SUB, "a", ["ch"], 300)
        self.store.heartbeat(SUB, "a", ["ch"], 2)
        self.clock.advance(2)
        self.assertEqual(self.occupants("ch"), [])
        self.clock.advance(300)
        self.assertEqual([e.action for e in self.events], ["join", "timeout"])

    def test_no_timeout_keeps_the_last_one(self) -> None:
        """A heartbeat without a timeout (as a later subscribe) keeps the uuid's timeout."""
        self.store.heartbeat(SUB, "a", ["ch"], 5)
        self.clock.advance(4)
        self.store.heartbeat(SUB, "a", ["ch"])
        self.assertPresentUntil(5, "ch", ["a"])

    def test_default_timeout(self) -> None:
        """Without any timeout a uuid stays 300 seconds (PubNub's default)."""
        self.store.heartbeat(SUB, "a", ["ch"])
        self.assertPresentUntil(300, "ch", ["a"])

    def test_bad_timeout_refused(self) -> None:
        """A timeout that is not positive is a programming error."""
        self.assertRaises(ValueError, self.store.heartbeat, SUB, "a", ["ch"], 0)

    def test_channels_time_out_separately(self) -> None:
        """Presence is per channel: a uuid refreshed on one channel times out of another."""
        self.store.heartbeat(SUB, "a", ["ch1", "ch2"], 10)
        self.clock.advance(6)
        self.store.heartbeat(SUB, "a", ["ch2"], 10)
        self.clock.advance(4)
        self.assertEqual(self.store.where_now(SUB, "a"), ["ch2"])
        self.assertEqual(self.events[-1], event("timeout", "ch1", "a", 0, at=T0 + 10))

    def test_leave(self) -> None:
        """leave removes the uuid at once, with the occupancy after it left."""
        self.store.heartbeat(SUB, "a", ["ch1", "ch2"], 60)
        self.store.heartbeat(SUB, "b", ["ch1"], 60)
        del self.events[:]
        self.store.leave(SUB, "a", ["ch1", "ch2"])
        self.assertEqual(
            self.events, [event("leave", "ch1", "a", 1), event("leave", "ch2", "a", 0)]
        )
        self.assertEqual(self.store.where_now(SUB, "a"), [])
        self.clock.advance(60)
        self.assertEqual([e.action for e in self.events[2:]], ["timeout"])

    def test_leave_when_absent(self) -> None:
        """Leaving a channel the uuid is not on emits nothing."""
        self.store.leave(SUB, "a", ["ch"])
        self.store.heartbeat(SUB, "b", ["ch"], 60)
        self.store.leave(SUB, "a", ["ch"])
        self.assertEqual(self.events, [event("join", "ch", "b", 1)])

    def test_rejoin_after_leave(self) -> None:
        """A uuid that left joins again, at the end of the join order, with a new timeout."""
        self.store.heartbeat(SUB, "a", ["ch"], 10)
        self.store.heartbeat(SUB, "b", ["ch"], 100)
        self.store.leave(SUB, "a", ["ch"])
        self.store.heartbeat(SUB, "a", ["ch"], 50)
        self.assertEqual(self.occupants("ch"), ["b", "a"])
        self.clock.advance(20)
        self.assertEqual(self.occupants("ch"), ["b", "a"])

    def test_presence_channels_ignored(self) -> None:
        """``-pnpres`` names are never presence-tracked."""
        self.store.heartbeat(SUB, "a", ["ch-pnpres", "ch"], 60)
        self.assertEqual(self.store.where_now(SUB, "a"), ["ch"])
        self.store.leave(SUB, "a", ["ch-pnpres"])
        self.assertEqual(self.store.where_now(SUB, "a"), ["ch"])

    def test_timestamps_follow_the_clock(self) -> None:
        """Event timestamps are the clock's whole seconds."""
        self.clock.advance(12.7)
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.assertEqual(self.events[0].timestamp, T0 + 12)

    def test_stop(self) -> None:
        """After stop() nothing times out and no timer is left pending."""
        self.store.heartbeat(SUB, "a", ["ch"], 10)
        self.store.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(20)
        self.assertEqual(self.occupants("ch"), ["a"])


class StateTests(StoreCase):
    """State per (channel, uuid): set_state, heartbeat state, and when it is dropped."""

    def test_join_carries_heartbeat_state(self) -> None:
        """State that comes with the joining heartbeat is in the join event."""
        self.store.heartbeat(SUB, "a", ["ch1", "ch2"], 60, {"ch1": {"mood": "ok"}})
        self.assertEqual(
            self.events,
            [event("join", "ch1", "a", 1, state={"mood": "ok"}), event("join", "ch2", "a", 1)],
        )
        self.assertEqual(
            self.store.get_state(SUB, "a", ["ch1", "ch2"]), {"ch1": {"mood": "ok"}, "ch2": {}}
        )

    def test_heartbeat_state_change(self) -> None:
        """A heartbeat with new state emits state-change; the same state emits nothing."""
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 1}})
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 1}})
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 2}})
        self.assertEqual(
            self.events,
            [
                event("join", "ch", "a", 1, state={"n": 1}),
                event("state-change", "ch", "a", 1, state={"n": 2}),
            ],
        )

    def test_set_state_on_present_uuid(self) -> None:
        """set_state on a present uuid emits state-change once per real change."""
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.store.set_state(SUB, "a", ["ch"], {"n": 1})
        self.store.set_state(SUB, "a", ["ch"], {"n": 1})
        self.store.set_state(SUB, "a", ["ch"], {"n": 1.0})
        self.assertEqual(
            [(e.action, e.state) for e in self.events],
            [("join", None), ("state-change", {"n": 1}), ("state-change", {"n": 1.0})],
        )

    def test_true_is_not_one(self) -> None:
        """State compares as JSON: ``true`` and ``1`` are different states."""
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"x": 1}})
        self.store.set_state(SUB, "a", ["ch"], {"x": True})
        self.assertEqual(self.events[-1].action, "state-change")

    def test_empty_state_clears(self) -> None:
        """``{}`` clears a present uuid's state (one state-change), and clears nothing twice."""
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 1}})
        self.store.set_state(SUB, "a", ["ch"], {})
        self.store.set_state(SUB, "a", ["ch"], {})
        self.assertEqual(self.events[1:], [event("state-change", "ch", "a", 1, state={})])
        self.assertEqual(self.store.get_state(SUB, "a", ["ch"]), {"ch": {}})
        entry = self.store.here_now(SUB, ["ch"]).channels[0]
        self.assertEqual(entry.occupants, [PNHereNowOccupantData("a", None)])

    def test_state_for_absent_uuid_is_kept_silently(self) -> None:
        """set_state for a uuid not present is stored, emits nothing, and comes with its join."""
        self.store.set_state(SUB, "a", ["ch"], {"n": 1})
        self.assertEqual(self.events, [])
        self.assertEqual(self.store.get_state(SUB, "a", ["ch"]), {"ch": {"n": 1}})
        self.assertEqual(self.store.here_now(SUB, ["ch"]).channels, [])
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.assertEqual(self.events, [event("join", "ch", "a", 1, state={"n": 1})])

    def test_heartbeat_state_wins_over_stored(self) -> None:
        """A joining heartbeat's own state replaces state stored before the join."""
        self.store.set_state(SUB, "a", ["ch"], {"n": 1})
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 2}})
        self.assertEqual(self.events, [event("join", "ch", "a", 1, state={"n": 2})])

    def test_state_dropped_on_leave(self) -> None:
        """Leaving drops the uuid's state on that channel only."""
        self.store.heartbeat(SUB, "a", ["ch1", "ch2"], 60, {"ch1": {"n": 1}, "ch2": {"n": 2}})
        self.store.leave(SUB, "a", ["ch1"])
        self.assertEqual(
            self.store.get_state(SUB, "a", ["ch1", "ch2"]), {"ch1": {}, "ch2": {"n": 2}}
        )
        self.store.heartbeat(SUB, "a", ["ch1"], 60)
        self.assertEqual(self.events[-1], event("join", "ch1", "a", 1))

    def test_stored_state_dropped_on_leave(self) -> None:
        """A leave also drops state stored for a uuid that never joined."""
        self.store.set_state(SUB, "a", ["ch"], {"n": 1})
        self.store.leave(SUB, "a", ["ch"])
        self.assertEqual(self.store.get_state(SUB, "a", ["ch"]), {"ch": {}})

    def test_state_dropped_on_timeout(self) -> None:
        """Timing out drops the uuid's state."""
        self.store.heartbeat(SUB, "a", ["ch"], 5, {"ch": {"n": 1}})
        self.clock.advance(5)
        self.assertEqual(self.store.get_state(SUB, "a", ["ch"]), {"ch": {}})

    def test_here_now_carries_state(self) -> None:
        """here_now gives each occupant's state, ``None`` where it has none."""
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 1}})
        self.store.heartbeat(SUB, "b", ["ch"], 60)
        self.assertEqual(
            self.store.here_now(SUB, ["ch"]),
            PNHereNowResult(
                1,
                2,
                [
                    PNHereNowChannelData(
                        "ch", 2, [PNHereNowOccupantData("a", {"n": 1}), PNHereNowOccupantData("b")]
                    )
                ],
            ),
        )


class QueryTests(StoreCase):
    """here_now, paging and where_now."""

    def test_here_now_stable_order_and_paging(self) -> None:
        """Occupants come in join order; offset and limit page them; occupancy is the total."""
        for uuid in ["u3", "u1", "u2", "u0"]:
            self.store.heartbeat(SUB, uuid, ["ch"], 60)
        self.store.heartbeat(SUB, "u3", ["ch"], 60)  # a refresh keeps the order
        page = self.store.here_now(SUB, ["ch"], offset=1, limit=2).channels[0]
        self.assertEqual(([o.uuid for o in page.occupants], page.occupancy), (["u1", "u2"], 4))
        page = self.store.here_now(SUB, ["ch"], offset=3, limit=2).channels[0]
        self.assertEqual([o.uuid for o in page.occupants], ["u0"])
        page = self.store.here_now(SUB, ["ch"], offset=9).channels[0]
        self.assertEqual((page.occupants, page.occupancy), ([], 4))
        self.assertRaises(ValueError, self.store.here_now, SUB, ["ch"], offset=-1)

    def test_here_now_lists_occupied_channels_once(self) -> None:
        """Only occupied channels are listed, each once, in the order asked."""
        self.store.heartbeat(SUB, "a", ["x", "y"], 60)
        result = self.store.here_now(SUB, ["y", "empty", "x", "y"])
        self.assertEqual([entry.channel_name for entry in result.channels], ["y", "x"])
        self.assertEqual((result.total_channels, result.total_occupancy), (2, 2))

    def test_global_here_now(self) -> None:
        """With no channels, every occupied channel of the key is listed."""
        self.store.heartbeat(SUB, "a", ["x", "y"], 60)
        self.store.heartbeat(SUB, "b", ["y"], 60)
        self.store.leave(SUB, "a", ["x"])
        result = self.store.here_now(SUB)
        self.assertEqual(result.total_channels, 1)
        self.assertEqual(result.channels[0].occupancy, 2)

    def test_where_now(self) -> None:
        """where_now lists a uuid's channels in the order it joined them."""
        self.store.heartbeat(SUB, "a", ["b", "a", "c"], 60)
        self.assertEqual(self.store.where_now(SUB, "a"), ["b", "a", "c"])
        self.assertEqual(self.store.where_now(SUB, "nobody"), [])
        self.assertEqual(self.store.where_now("other-key", "a"), [])


class GroupTests(StoreCase):
    """The channel-group registry."""

    def test_add_list_remove_delete(self) -> None:
        """Groups keep insertion order, ignore duplicates, and vanish when emptied or deleted."""
        self.store.add_channels_to_group(SUB, "g", ["c", "a", "c"])
        self.store.add_channels_to_group(SUB, "g", ["b", "a"])
        self.assertEqual(self.store.channels_in_group(SUB, "g"), ["c", "a", "b"])
        self.store.remove_channels_from_group(SUB, "g", ["a", "zzz"])
        self.assertEqual(self.store.channels_in_group(SUB, "g"), ["c", "b"])
        self.store.delete_group(SUB, "g")
        self.assertEqual(self.store.channels_in_group(SUB, "g"), [])
        self.store.add_channels_to_group(SUB, "g", ["x"])
        self.store.remove_channels_from_group(SUB, "g", ["x"])
        self.assertEqual(self.store.channels_in_group(SUB, "g"), [])

    def test_unknown_groups_are_harmless(self) -> None:
        """Removing from, deleting and expanding unknown groups does nothing."""
        self.store.remove_channels_from_group("new-key", "g", ["x"])
        self.store.delete_group("new-key", "g")
        self.assertEqual(self.store.expand_groups("new-key", ["a"], ["g"]), ["a"])

    def test_expand_groups(self) -> None:
        """Expansion gives the channels, then each group's channels, each once."""
        self.store.add_channels_to_group(SUB, "g1", ["b", "c"])
        self.store.add_channels_to_group(SUB, "g2", ["c", "d"])
        self.assertEqual(
            self.store.expand_groups(SUB, ["a", "c"], ["g1", "g2", "nope"]), ["a", "c", "b", "d"]
        )

    def test_groups_leave_presence_alone(self) -> None:
        """Deleting a group does not touch the presence on its channels."""
        self.store.add_channels_to_group(SUB, "g", ["x"])
        self.store.heartbeat(SUB, "a", self.store.expand_groups(SUB, [], ["g"]), 60)
        self.store.delete_group(SUB, "g")
        self.assertEqual(self.store.where_now(SUB, "a"), ["x"])


class IsolationTests(StoreCase):
    """Subscribe keys are separate worlds."""

    def test_keys_are_isolated(self) -> None:
        """Presence, state and groups on one key are invisible on another."""
        self.store.heartbeat(SUB, "a", ["ch"], 60, {"ch": {"n": 1}})
        self.store.add_channels_to_group(SUB, "g", ["ch"])
        self.assertEqual(self.store.here_now("other", ["ch"]), PNHereNowResult(0, 0, []))
        self.assertEqual(self.store.here_now("other"), PNHereNowResult(0, 0, []))
        self.assertEqual(self.store.get_state("other", "a", ["ch"]), {"ch": {}})
        self.assertEqual(self.store.channels_in_group("other", "g"), [])
        self.assertEqual(self.store.occupancy("other", "ch"), 0)
        self.store.leave("other", "a", ["ch"])
        self.assertEqual(self.store.where_now(SUB, "a"), ["ch"])
        self.assertEqual({e.sub_key for e in self.events}, {SUB})


class ObserverTests(StoreCase):
    """Observers of presence events."""

    def test_failing_observer_does_not_stop_others(self) -> None:
        """An observer that raises is logged; the others still get the event."""
        seen: list[PresenceEvent] = []
        store = PresenceStore(self.clock)
        store.add_observer(lambda e: 1 / 0)
        store.add_observer(seen.append)
        store.heartbeat(SUB, "a", ["ch"], 60)
        self.assertEqual(len(seen), 1)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_remove_observer(self) -> None:
        """A removed observer hears nothing more; removing twice is fine."""
        self.store.remove_observer(self.events.append)
        self.store.remove_observer(self.events.append)
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        self.assertEqual(self.events, [])

    def test_events_are_frozen(self) -> None:
        """Events are immutable values."""
        self.store.heartbeat(SUB, "a", ["ch"], 60)
        with self.assertRaises(AttributeError):
            self.events[0].occupancy = 5  # type: ignore[misc]


class RecordingClock(Clock):
    """A ``Clock`` that records every ``callLater`` delay with a note from ``noter``."""

    def __init__(self, noter: Callable[[], int]) -> None:
        super().__init__()
        self.noter = noter
        self.scheduled: list[tuple[float, int]] = []

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: object, **kw: object
    ) -> IDelayedCall:
        self.scheduled.append((delay, self.noter()))
        return super().callLater(delay, callable, *args, **kw)


class MassTimeoutTests(SynchronousTestCase):
    """Very many timeouts at once are processed in batches, one per reactor turn."""

    def test_batches(self) -> None:
        """10,000 uuids timing out together go in batches of 2,000, each its own turn."""
        events: list[PresenceEvent] = []
        clock = RecordingClock(lambda: len(events))
        store = PresenceStore(clock, timeout_batch_size=2000, timeout_batch_budget=60.0)
        for i in range(10_000):
            store.heartbeat(SUB, f"u{i}", ["ch"], 30)
        store.add_observer(events.append)
        clock.scheduled.clear()
        clock.advance(30)
        self.assertEqual(store.occupancy(SUB, "ch"), 0)
        self.assertEqual(len(events), 10_000)
        self.assertEqual(events[-1].occupancy, 0)
        self.assertEqual(clock.scheduled, [(0.0, n) for n in (2000, 4000, 6000, 8000)])
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_one_timer(self) -> None:
        """However many uuids are present, one timer is pending, for the earliest deadline."""
        clock = Clock()
        store = PresenceStore(clock)
        for i in range(1000):
            store.heartbeat(SUB, f"u{i}", ["a", "b"], 100 - i % 50)
        (timer,) = clock.getDelayedCalls()
        self.assertEqual(timer.getTime(), 51)
        store.heartbeat(SUB, "late", ["c"], 10)
        (timer,) = clock.getDelayedCalls()
        self.assertEqual(timer.getTime(), 10)

    def test_time_budget(self) -> None:
        """A batch also ends when its time budget is spent, however few it handled."""
        events: list[PresenceEvent] = []
        clock = RecordingClock(lambda: len(events))
        store = PresenceStore(clock, timeout_batch_size=2000, timeout_batch_budget=0.001)
        for i in range(256):
            store.heartbeat(SUB, f"u{i}", ["ch"], 30)

        def slow(event: PresenceEvent) -> None:
            started = time.perf_counter()
            while time.perf_counter() - started < 0.0001:  # 0.1 ms per timeout
                pass
            events.append(event)

        store.add_observer(slow)
        clock.scheduled.clear()
        clock.advance(30)
        self.assertEqual(len(events), 256)
        # 64 timeouts (6.4 ms) overrun the 1 ms budget: each batch stops at a check.
        self.assertEqual(clock.scheduled, [(0.0, n) for n in (64, 128, 192)])

    def test_bad_batch_size(self) -> None:
        """A batch size below 1, or a budget of no time, is refused."""
        self.assertRaises(ValueError, PresenceStore, Clock(), timeout_batch_size=0)
        self.assertRaises(ValueError, PresenceStore, Clock(), timeout_batch_budget=0)


class Item(Expiring):
    """A bare expiring item for the queue tests."""

    __slots__ = ("name",)

    def __init__(self, name: str, expires: float) -> None:
        super().__init__(expires)
        self.name = name


class ExpiryQueueTests(SynchronousTestCase):
    """The heap-and-one-timer queue behind presence timeouts."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.expired: list[str] = []
        self.queue: ExpiryQueue[Item] = ExpiryQueue(
            self.clock, lambda item: self.expired.append(item.name)
        )

    def test_refresh_and_shorten(self) -> None:
        """Later deadlines are re-checked lazily; earlier ones take effect at once."""
        a, b = Item("a", 10), Item("b", 20)
        self.queue.schedule(a)
        self.queue.schedule(b)
        a.expires = 30
        self.queue.schedule(a)
        b.expires = 5
        self.queue.schedule(b)
        self.assertEqual(len(self.queue), 2)
        self.clock.advance(10)
        self.assertEqual(self.expired, ["b"])
        self.clock.advance(20)
        self.assertEqual(self.expired, ["b", "a"])
        self.assertEqual(len(self.queue), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_discard_and_compaction(self) -> None:
        """Discarded items never expire, and their stale entries do not pile up."""
        items = [Item(str(i), 100 + i) for i in range(10_000)]
        for item in items:
            self.queue.schedule(item)
        for item in items[:9_000]:
            self.queue.discard(item)
        self.queue.discard(items[0])
        self.assertEqual(len(self.queue), 1000)
        self.assertLess(self.queue.heap_size, 6000)
        self.clock.advance(20_000)
        self.assertEqual(self.expired, [str(i) for i in range(9_000, 10_000)])

    def test_reschedule_after_expiry(self) -> None:
        """An item that expired can be scheduled again."""
        item = Item("a", 1)
        self.queue.schedule(item)
        self.clock.advance(1)
        item.expires = 5
        self.queue.schedule(item)
        self.clock.advance(4)
        self.assertEqual(self.expired, ["a", "a"])
