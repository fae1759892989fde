"""The presence view's data: who is on which channel, with what state, as of which event.

Pure bookkeeping with no I/O, so that every reconciliation rule can be
tested (and property-tested) on its own.

* **Newest wins, per (channel, uuid).**  Each applied event records its
  timetoken for its (channel, uuid); an event no newer than that is a
  duplicate or arrived late, and changes nothing.  Events no newer than the
  channel's *floor* (the time taken just before its last snapshot) are
  already reflected in that snapshot and are ignored too (but a leave or
  timeout among them, or in an ``interval`` event's lists, still tells why
  a uuid the snapshot lacks is gone).
* **Absolute events.**  ``join`` and ``state-change`` make the uuid present
  with the event's state (a join carries the joiner's whole state: none
  when it has no ``data``; a repeated join is a refresh); ``leave`` and
  ``timeout`` remove it.  ``interval`` applies its ``join`` / ``leave`` /
  ``timeout`` lists the same way, each uuid by the same rule (a uuid it
  lists as joined keeps the state the view knows, as the list gives none).
  Because each event says all there is to say about its uuid, applying a
  stream's events in any order, repeated or not, gives what applying them
  once in order gives.
* **Expected occupancy.**  Join, leave, timeout and interval events carry the
  channel's occupancy after them; the newest one is kept so that the view
  can notice when its count has drifted (a here_now page read while the
  channel changed, an event lost) and refresh.
* **Departure reasons never guess.**  A uuid leaves with ``"leave"`` or
  ``"timeout"`` only when an event (or an interval's list) said so; one
  that a snapshot shows gone with no such event heard leaves with
  :data:`RESYNC` (``"resync"``).
* Every change is returned as a :class:`Change`, for the notifications.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from pubnub_twisted.models import JSONObject
from pubnub_twisted.models_pubsub import PNPresenceEventResult

__all__ = ["RESYNC", "Change", "PresenceTable", "State", "moves"]

#: A uuid's state on a channel; ``None`` when it has none.
State = JSONObject | None

_DEPARTURES = ("leave", "timeout")

#: The reason of a departure the view inferred from a snapshot, no event having said why.
RESYNC = "resync"

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of the view: a uuid joined, left, or changed state on a channel.

    ``state`` is the new state for ``join`` and ``state``, and the state it
    had for ``leave``.  ``reason`` (``leave`` only) is ``"leave"``,
    ``"timeout"`` or ``"resync"`` (:data:`RESYNC`: found gone by a
    snapshot, with no event saying why).
    """

    kind: Literal["join", "leave", "state"]
    channel: str
    uuid: str
    state: State
    reason: str = "leave"


def normalized(state: JSONObject | None) -> State:
    """``{}`` and ``None`` both mean "no state" (here_now lists neither)."""
    return state or None


class PresenceTable:
    """Occupants per channel with their state, and what is known of each as of when.

    The view keeps one, empty at first; each synchronisation builds another
    with :meth:`from_snapshot`, applies the events it buffered, and hands it
    to :meth:`adopt`.
    """

    def __init__(self) -> None:
        # Events at or before the floor (per channel, else the default) are reflected already.
        self._floor = 0
        self._floors: dict[str, int] = {}
        self._occupants: dict[str, dict[str, State]] = {}
        self._where: dict[str, set[str]] = {}
        # channel -> uuid -> timetoken of the newest event applied for it
        self._applied: dict[str, dict[str, int]] = {}
        # channel -> (timetoken, occupancy) of the newest event (or page) that reported one
        self._expected: dict[str, tuple[int, int]] = {}
        # (channel, uuid) -> its last departure's reason; kept by snapshot tables only
        self._reasons: dict[tuple[str, str], str] | None = None

    @classmethod
    def from_snapshot(
        cls,
        floor: int,
        occupants: Mapping[str, Mapping[str, State]],
        occupancy: Mapping[str, int],
    ) -> PresenceTable:
        """A table holding a here_now snapshot taken no earlier than ``floor``.

        ``occupants`` maps channel -> uuid -> state, ``occupancy`` the count
        here_now reported per channel.  Events at or before ``floor`` are
        then ignored (their departure reasons are still noted, for
        :meth:`adopt`).
        """
        table = cls()
        table._floor = floor
        table._reasons = {}
        for channel, members in occupants.items():
            for uuid, state in members.items():
                table._put(channel, uuid, normalized(state))
        for channel, count in occupancy.items():
            table._expected[channel] = (floor, count)
        return table

    # -- reading ------------------------------------------------------------

    def occupants(self, channel: str) -> dict[str, State]:
        """uuid -> state on ``channel`` (a copy; the states themselves are shared)."""
        return dict(self._occupants.get(channel, {}))

    def occupancy(self, channel: str) -> int:
        """How many uuids are on ``channel``."""
        return len(self._occupants.get(channel, ()))

    def channels(self) -> list[str]:
        """The channels with at least one occupant, sorted."""
        return sorted(name for name, occupants in self._occupants.items() if occupants)

    def channels_of(self, uuid: str) -> list[str]:
        """The channels ``uuid`` is on, sorted."""
        return sorted(self._where.get(uuid, ()))

    def floor(self, channel: str) -> int:
        """Events of ``channel`` at or before this timetoken are reflected already."""
        return self._floors.get(channel, self._floor)

    def reported(self, channel: str) -> int | None:
        """The occupancy the newest event (or here_now page) reported for ``channel``."""
        expected = self._expected.get(channel)
        return None if expected is None else expected[1]

    def consistent(self, channel: str) -> bool:
        """False when the count differs from the :meth:`reported` occupancy."""
        reported = self.reported(channel)
        return reported is None or reported == self.occupancy(channel)

    # -- events -------------------------------------------------------------

    def apply(self, event: PNPresenceEventResult) -> list[Change]:
        """Apply one presence event; return what it changed (nothing if stale or a duplicate)."""
        channel, timetoken = event.channel, event.timetoken
        if timetoken <= self.floor(channel):
            for reason, uuid in moves(event):
                self._note(channel, uuid, reason)
            return []
        if event.event == "interval":
            changes = self._interval(event)
        elif event.uuid is None or not self._newer(channel, event.uuid, timetoken):
            return []
        elif event.event in ("join", "state-change"):
            changes = self._put(channel, event.uuid, normalized(event.state))
        elif event.event in _DEPARTURES:
            changes = self._remove(channel, event.uuid, event.event)
        else:
            return []  # an action this view does not know: nothing to do
        if event.event != "state-change":
            expected = self._expected.get(channel)
            if expected is None or timetoken > expected[0]:
                self._expected[channel] = (timetoken, event.occupancy)
        return changes

    def _interval(self, event: PNPresenceEventResult) -> list[Change]:
        changes: list[Change] = []
        channel, timetoken = event.channel, event.timetoken
        for uuid in event.join or ():
            if self._newer(channel, uuid, timetoken):
                state = self._occupants.get(channel, {}).get(uuid)
                changes += self._put(channel, uuid, state)
        for reason, uuids in (("leave", event.leave), ("timeout", event.timeout)):
            for uuid in uuids or ():
                if self._newer(channel, uuid, timetoken):
                    changes += self._remove(channel, uuid, reason)
        return changes

    def _newer(self, channel: str, uuid: str, timetoken: int) -> bool:
        """Record ``timetoken`` for (channel, uuid) if it is newer than what was applied."""
        applied = self._applied.setdefault(channel, {})
        if timetoken <= applied.get(uuid, -1):
            return False
        applied[uuid] = timetoken
        return True

    def _put(self, channel: str, uuid: str, state: State) -> list[Change]:
        occupants = self._occupants.setdefault(channel, {})
        if uuid not in occupants:
            self._note(channel, uuid, None)
            occupants[uuid] = state
            self._where.setdefault(uuid, set()).add(channel)
            return [Change("join", channel, uuid, state)]
        if occupants[uuid] != state:
            occupants[uuid] = state
            return [Change("state", channel, uuid, state)]
        return []

    def _note(self, channel: str, uuid: str, reason: str | None) -> None:
        """Remember why ``uuid`` last left ``channel`` (``None``: it came back since)."""
        if self._reasons is None:
            return
        if reason is None:
            self._reasons.pop((channel, uuid), None)
        else:
            self._reasons[channel, uuid] = reason

    def _remove(self, channel: str, uuid: str, reason: str) -> list[Change]:
        self._note(channel, uuid, reason)
        occupants = self._occupants.get(channel, {})
        if uuid not in occupants:
            return []
        state = occupants.pop(uuid)
        if not occupants:
            del self._occupants[channel]
        channels = self._where[uuid]
        channels.discard(channel)
        if not channels:
            del self._where[uuid]
        return [Change("leave", channel, uuid, state, reason)]

    # -- resynchronising ----------------------------------------------------

    def adopt(self, fresh: PresenceTable, scope: Iterable[str] | None = None) -> list[Change]:
        """Take ``fresh``'s data for the channels in ``scope`` (all when ``None``); return the diff.

        A uuid gone from a channel leaves with the reason of the last
        departure event ``fresh`` saw for it, :data:`RESYNC` when it saw
        none (or saw it come back since).
        """
        everything = scope is None
        reasons = fresh._reasons or {}
        channels = set(self._occupants) | set(fresh._occupants) if scope is None else set(scope)
        changes: list[Change] = []
        for channel in sorted(channels):
            old = self._occupants.get(channel, {})
            new = fresh._occupants.get(channel, {})
            for uuid in list(old):
                if uuid not in new:
                    reason = reasons.get((channel, uuid), RESYNC)
                    changes += self._remove(channel, uuid, reason)
            for uuid, state in new.items():
                changes += self._put(channel, uuid, state)
            if not everything:
                self._floors[channel] = fresh._floor
                self._take(channel, fresh._applied, self._applied)
                self._take(channel, fresh._expected, self._expected)
        if everything:
            self._floor, self._floors = fresh._floor, {}
            self._applied, self._expected = fresh._applied, fresh._expected
        return changes

    @staticmethod
    def _take(channel: str, source: Mapping[str, V], target: dict[str, V]) -> None:
        if channel in source:
            target[channel] = source[channel]
        else:
            target.pop(channel, None)


def moves(event: PNPresenceEventResult) -> list[tuple[str | None, str]]:
    """(reason, uuid) for each uuid ``event`` says came or went; reason ``None``: came."""
    if event.event == "interval":
        lists = (None, event.join), ("leave", event.leave), ("timeout", event.timeout)
        return [(reason, uuid) for reason, uuids in lists for uuid in uuids or ()]
    if event.uuid is None:
        return []
    if event.event in _DEPARTURES:
        return [(event.event, event.uuid)]
    return [(None, event.uuid)] if event.event == "join" else []
