"""The presence view's pure parts: the table's reconciliation rules and the grace notifier."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted.models_pubsub import PNPresenceEventResult
from pubnub_twisted.presence_view._notify import Notifier
from pubnub_twisted.presence_view._table import Change, PresenceTable
from tests.test_presence_view_support import Recorder

State = dict[str, Any] | None


def event(
    action: str,
    uuid: str | None,
    timetoken: int,
    state: State = None,
    *,
    channel: str = "ch",
    occupancy: int = 0,
    **lists: Any,
) -> PNPresenceEventResult:
    """A presence event as the subscribe loop delivers it."""
    return PNPresenceEventResult(
        action, uuid, timetoken // 10, occupancy, state, channel, None, timetoken, **lists
    )


def table(occupants: dict[str, State] | None = None, floor: int = 0) -> PresenceTable:
    """A table loaded from a snapshot of channel ``ch``."""
    members = occupants or {}
    return PresenceTable.from_snapshot(floor, {"ch": members}, {"ch": len(members)})


class TableTests(SynchronousTestCase):
    """Events apply newest-wins per (channel, uuid), above the snapshot's floor."""

    def test_events(self) -> None:
        """join, state-change, leave and timeout each change the table once."""
        t = table()
        self.assertEqual(
            t.apply(event("join", "a", 10, {"k": 1})), [Change("join", "ch", "a", {"k": 1})]
        )
        self.assertEqual(
            t.apply(event("state-change", "a", 11, {"k": 2})),
            [Change("state", "ch", "a", {"k": 2})],
        )
        self.assertEqual(t.apply(event("join", "b", 12)), [Change("join", "ch", "b", None)])
        self.assertEqual(t.channels_of("a"), ["ch"])
        self.assertEqual(t.apply(event("leave", "a", 13)), [Change("leave", "ch", "a", {"k": 2})])
        self.assertEqual(
            t.apply(event("timeout", "b", 14)), [Change("leave", "ch", "b", None, "timeout")]
        )
        self.assertEqual((t.occupants("ch"), t.channels(), t.channels_of("a")), ({}, [], []))

    def test_duplicates_and_late_events(self) -> None:
        """An event no newer than the last applied for its uuid changes nothing."""
        t = table()
        t.apply(event("join", "a", 10))
        t.apply(event("leave", "a", 20))
        self.assertEqual(t.apply(event("join", "a", 10)), [])
        self.assertEqual(t.apply(event("leave", "a", 20)), [])
        self.assertEqual(t.apply(event("state-change", "a", 15, {"k": 1})), [])
        self.assertEqual(t.occupants("ch"), {})
        self.assertEqual(t.apply(event("join", "b", 5)), [Change("join", "ch", "b", None)])

    def test_floor(self) -> None:
        """Events at or before the snapshot's floor are reflected in it already."""
        t = table({"a": None}, floor=100)
        self.assertEqual(t.apply(event("leave", "a", 100)), [])
        self.assertEqual(t.apply(event("join", "b", 99)), [])
        self.assertEqual(t.occupants("ch"), {"a": None})

    def test_repeated_join(self) -> None:
        """A join for a uuid already there is a refresh: it carries the whole state."""
        t = table({"a": {"k": 1}})
        self.assertEqual(t.apply(event("join", "a", 10, {"k": 1})), [])
        self.assertEqual(
            t.apply(event("join", "a", 11, {"k": 2})), [Change("state", "ch", "a", {"k": 2})]
        )
        self.assertEqual(t.apply(event("join", "a", 12)), [Change("state", "ch", "a", None)])

    def test_empty_state_is_none(self) -> None:
        """A cleared state ({}) reads as no state, as here_now shows it."""
        t = table({"a": {"k": 1}})
        t.apply(event("state-change", "a", 10, {}))
        self.assertEqual(t.occupants("ch"), {"a": None})

    def test_interval(self) -> None:
        """An interval applies its lists, per uuid newest-wins, and reports occupancy."""
        t = table({"a": {"k": 1}, "b": None, "c": None})
        t.apply(event("state-change", "d", 30, {"s": 1}))
        changes = t.apply(
            event(
                "interval", None, 20, occupancy=3, join=["a", "d", "e"], leave=["b"], timeout=["c"]
            )
        )
        self.assertEqual(
            changes,
            [
                Change("join", "ch", "e", None),
                Change("leave", "ch", "b", None, "leave"),
                Change("leave", "ch", "c", None, "timeout"),
            ],
        )
        self.assertEqual(t.occupants("ch"), {"a": {"k": 1}, "d": {"s": 1}, "e": None})
        self.assertTrue(t.consistent("ch"))
        self.assertEqual(t.apply(event("interval", None, 20, occupancy=9, leave=["a"])), [])
        self.assertTrue(t.consistent("ch"), "a stale interval reports nothing")

    def test_consistency(self) -> None:
        """The count is checked against the newest occupancy a join, leave or interval reported."""
        t = table({"a": None})
        self.assertTrue(t.consistent("ch"))
        t.apply(event("join", "b", 10, occupancy=3))
        self.assertFalse(t.consistent("ch"))
        self.assertEqual(t.reported("ch"), 3)
        t.apply(event("state-change", "b", 11, {"k": 1}, occupancy=2))
        self.assertFalse(t.consistent("ch"), "state-change occupancy is not used")
        t.apply(event("leave", "z", 12, occupancy=2))
        self.assertTrue(t.consistent("ch"))
        self.assertTrue(t.consistent("other"))
        self.assertIsNone(t.reported("other"))

    def test_unknown_action(self) -> None:
        """An action the view does not know changes nothing."""
        t = table()
        self.assertEqual(t.apply(event("moved", "a", 10)), [])
        self.assertEqual(t.apply(event("join", None, 10)), [])

    def test_adopt_everything(self) -> None:
        """Adopting a snapshot diffs it against the table: leaves, joins, state changes."""
        t = PresenceTable()
        t.apply(event("join", "a", 1, {"v": 1}))
        t.apply(event("join", "b", 2))
        t.apply(event("join", "c", 3, channel="other"))
        fresh = PresenceTable.from_snapshot(50, {"ch": {"a": {"v": 2}, "d": None}}, {"ch": 2})
        fresh.apply(event("timeout", "b", 40))  # below the floor: only its reason counts
        changes = t.adopt(fresh)
        self.assertEqual(
            changes,
            [
                Change("leave", "ch", "b", None, "timeout"),
                Change("state", "ch", "a", {"v": 2}),
                Change("join", "ch", "d", None),
                Change("leave", "other", "c", None, "resync"),
            ],
        )
        self.assertEqual(t.channels(), ["ch"])
        self.assertEqual(t.apply(event("join", "b", 45)), [], "the floor came with the snapshot")

    def test_reasons_never_guessed(self) -> None:
        """Reasons come from events (interval lists too); a later join forgets them; else resync."""
        t = PresenceTable()
        for uuid in "abcde":
            t.apply(event("join", uuid, 1))
        fresh = PresenceTable.from_snapshot(50, {"ch": {}}, {"ch": 0})
        fresh.apply(event("interval", None, 20, leave=["a"], timeout=["b"]))
        fresh.apply(event("timeout", "c", 21))
        fresh.apply(event("interval", None, 30, join=["c"]))  # back: why it left is moot
        fresh.apply(event("leave", "d", 22))
        fresh.apply(event("join", "d", 23))
        self.assertEqual(
            t.adopt(fresh),
            [
                Change("leave", "ch", "a", None, "leave"),
                Change("leave", "ch", "b", None, "timeout"),
                Change("leave", "ch", "c", None, "resync"),
                Change("leave", "ch", "d", None, "resync"),
                Change("leave", "ch", "e", None, "resync"),
            ],
        )

    def test_adopt_one_channel(self) -> None:
        """Adopting for one channel leaves the others and their history alone."""
        t = PresenceTable()
        t.apply(event("join", "a", 100))
        t.apply(event("join", "a", 100, channel="other"))
        fresh = PresenceTable.from_snapshot(50, {"ch": {"b": None}}, {"ch": 1})
        self.assertEqual(
            t.adopt(fresh, ["ch"]),
            [Change("leave", "ch", "a", None, "resync"), Change("join", "ch", "b", None)],
        )
        self.assertEqual(t.apply(event("join", "c", 50)), [], "ch has the new floor")
        self.assertEqual(t.apply(event("leave", "a", 100, channel="other")), [])
        self.assertEqual(t.occupants("other"), {"a": None})
        self.assertEqual(t.channels_of("a"), ["other"])


# A presence history of one channel: (action, uuid, state) steps that only make sense in order.
_uuids = st.sampled_from(["a", "b", "c", "d"])
_states = st.one_of(st.none(), st.fixed_dictionaries({"n": st.integers(0, 3)}))
_steps = st.lists(st.tuples(_uuids, st.integers(0, 2), _states), max_size=30)


def _history(
    steps: list[tuple[str, int, State]],
) -> tuple[list[PNPresenceEventResult], dict[int, dict[str, State]]]:
    """Well-formed events from steps, and who was there after each timetoken."""
    present: dict[str, State] = {}
    events = []
    after: dict[int, dict[str, State]] = {0: {}}
    for number, (uuid, kind, drawn) in enumerate(steps, start=1):
        state: State = drawn
        if uuid not in present:
            action = "join"
            present[uuid] = state or None
        elif kind == 0:
            action, state = "state-change", state or {}
            present[uuid] = state or None
        else:
            action, state = ("leave" if kind == 1 else "timeout"), None
            del present[uuid]
        events.append(event(action, uuid, number, state, occupancy=len(present)))
        after[number] = dict(present)
    return events, after


class TableProperties(SynchronousTestCase):
    """Newest-wins makes the order, duplicates and the snapshot's timing irrelevant."""

    @settings(max_examples=200, deadline=None)
    @given(steps=_steps, seed=st.integers(0, 2**32))
    def test_any_order_with_duplicates(self, steps: list[Any], seed: int) -> None:
        """Events shuffled and repeated give what they give in order."""
        events, after = _history(steps)
        rng = random.Random(seed)
        shuffled = events + rng.sample(events, len(events) // 2)
        rng.shuffle(shuffled)
        t = table()
        for item in shuffled:
            t.apply(item)
        self.assertEqual(t.occupants("ch"), after[len(events)])

    @settings(max_examples=200, deadline=None)
    @given(steps=_steps, data=st.data())
    def test_snapshot_any_time(self, steps: list[Any], data: st.DataObject) -> None:
        """A snapshot read any time after its floor, plus the events after the floor, is right."""
        events, after = _history(steps)
        floor = data.draw(st.integers(0, len(events)))
        read = data.draw(st.integers(floor, len(events)))
        fresh = PresenceTable.from_snapshot(floor, {"ch": after[read]}, {"ch": len(after[read])})
        for item in events:
            fresh.apply(item)
        live = PresenceTable()
        live.adopt(fresh)
        self.assertEqual(live.occupants("ch"), after[len(events)])
        self.assertTrue(live.consistent("ch") or not events)


class NotifierTests(SynchronousTestCase):
    """Listeners hear changes; with grace, a leave waits and a quick return is not told."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.recorder = Recorder()

    def notifier(self, grace: float) -> Notifier:
        notifier = Notifier(self.clock, grace)
        notifier.add(self.recorder)
        notifier.add(self.recorder)  # once only
        return notifier

    def test_no_grace(self) -> None:
        """Without grace every change is told at once."""
        n = self.notifier(0)
        n.tell([Change("join", "ch", "a", None), Change("leave", "ch", "a", None, "timeout")])
        n.synced()
        self.assertEqual(
            self.recorder.take(),
            [("join", "ch", "a", None), ("leave", "ch", "a", "timeout"), ("sync",)],
        )

    def test_grace(self) -> None:
        """A leave is told after grace, unless the uuid is back (then at most a state change)."""
        n = self.notifier(2)
        n.tell([Change("join", "ch", "a", {"v": 1}), Change("join", "ch", "b", None)])
        n.tell([Change("leave", "ch", "a", {"v": 1}), Change("leave", "ch", "b", None)])
        self.clock.advance(1)
        n.tell([Change("join", "ch", "a", {"v": 1}), Change("join", "ch", "b", {"v": 2})])
        self.clock.advance(5)
        self.assertEqual(
            self.recorder.take(),
            [
                ("join", "ch", "a", {"v": 1}),
                ("join", "ch", "b", None),
                ("state", "ch", "b", {"v": 2}),
            ],
        )
        n.tell([Change("leave", "ch", "a", {"v": 1}, "timeout")])
        self.clock.advance(1.9)
        self.assertEqual(self.recorder.take(), [])
        self.clock.advance(0.1)
        self.assertEqual(self.recorder.take(), [("leave", "ch", "a", "timeout")])

    def test_close(self) -> None:
        """close() drops held leaves and their timers, and tells nothing more."""
        n = self.notifier(2)
        n.tell([Change("join", "ch", "a", None), Change("leave", "ch", "a", None)])
        n.close()
        n.tell([Change("join", "ch", "b", None)])
        n.synced()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.recorder.take(), [("join", "ch", "a", None)])

    def test_listener_errors(self) -> None:
        """A listener that raises is logged; the next listener is still called."""

        class Broken(Recorder):
            def on_sync(self) -> None:
                raise ValueError("broken listener")

        n = Notifier(self.clock, 0)
        n.add(Broken())
        n.add(self.recorder)
        n.synced()
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertEqual(self.recorder.take(), [("sync",)])
