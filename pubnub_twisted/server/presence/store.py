"""The presence store: who is where, with what state, and for how long.

Pure presence logic with no HTTP in it, so the REST resource, the future
subscribe long-poll and users' own tests can all drive it.  Every subscribe
key is a separate key space.  Time comes from the injected clock: presence
times out when its heartbeat timeout has passed on that clock, and
``task.Clock.advance`` makes that happen in tests.

Changes are announced to observers as :class:`PresenceEvent` values
(``join``, ``leave``, ``timeout``, ``state-change``), each carrying the
channel's occupancy after the change, ready to become the events PubNub
delivers on ``<channel>-pnpres``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Final, Literal, Protocol

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from pubnub_twisted.models import (
    JSONObject,
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowResult,
)
from pubnub_twisted.protocol import DEFAULT_PRESENCE_TIMEOUT, PRESENCE_SUFFIX
from pubnub_twisted.server.presence._expiry import (
    DEFAULT_BATCH_BUDGET,
    DEFAULT_BATCH_SIZE,
    Expiring,
    ExpiryQueue,
)

__all__ = ["PresenceAction", "PresenceEvent", "PresenceObserver", "PresenceStore"]

PresenceAction = Literal["join", "leave", "timeout", "state-change"]

_log: Final = Logger(namespace="pubnub_twisted.server")


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """One change of presence on one channel.

    ``occupancy`` is the channel's occupancy after the change; ``timestamp``
    is the store clock's time in whole unix seconds and ``precise_timestamp``
    the same time in unix milliseconds (``timestamp == precise_timestamp //
    1000``; ``None`` in an event built without one).  ``state`` is the
    uuid's state on a ``join`` (``None`` when it brought none) and the new
    state on a ``state-change`` (``{}`` when it was cleared); ``None`` on
    ``leave`` and ``timeout``.  Treat ``state`` as read-only: it is the
    store's own value.
    """

    sub_key: str
    channel: str
    action: PresenceAction
    uuid: str
    occupancy: int
    timestamp: int
    state: JSONObject | None = None
    precise_timestamp: int | None = None


PresenceObserver = Callable[[PresenceEvent], object]


class Occupant(Protocol):
    """An occupant as :meth:`PresenceStore.pages` gives it: read-only uuid and state."""

    @property
    def uuid(self) -> str: ...

    @property
    def state(self) -> JSONObject | None: ...


class _Presence(Expiring):
    """One uuid present on one channel of one key space."""

    __slots__ = ("channel", "space", "state", "timeout", "uuid")

    def __init__(
        self, space: _KeySpace, channel: str, uuid: str, timeout: float, now: float
    ) -> None:
        super().__init__(now + timeout)
        self.space = space
        self.channel = channel
        self.uuid = uuid
        self.timeout = timeout
        self.state: JSONObject | None = None


class _KeySpace:
    """Everything one subscribe key holds."""

    __slots__ = ("channels", "groups", "stored_states", "sub_key", "where")

    def __init__(self, sub_key: str) -> None:
        self.sub_key = sub_key
        # channel -> uuid -> presence, in join order (dicts keep insertion order).
        self.channels: dict[str, dict[str, _Presence]] = {}
        # uuid -> channels it is present on, in join order.
        self.where: dict[str, dict[str, None]] = {}
        # State set for a uuid not (yet) present on the channel: (channel, uuid) -> state.
        self.stored_states: dict[tuple[str, str], JSONObject] = {}
        # group -> its channels, in the order they were added.
        self.groups: dict[str, dict[str, None]] = {}

    def presence(self, channel: str, uuid: str) -> _Presence | None:
        occupants = self.channels.get(channel)
        return None if occupants is None else occupants.get(uuid)

    def add(self, presence: _Presence) -> None:
        self.channels.setdefault(presence.channel, {})[presence.uuid] = presence
        self.where.setdefault(presence.uuid, {})[presence.channel] = None

    def remove(self, presence: _Presence) -> None:
        occupants = self.channels[presence.channel]
        del occupants[presence.uuid]
        if not occupants:
            del self.channels[presence.channel]
        channels = self.where[presence.uuid]
        del channels[presence.channel]
        if not channels:
            del self.where[presence.uuid]


def _same_state(old: JSONObject | None, new: JSONObject | None) -> bool:
    if old == new:
        # ``==`` says 1 == 1.0 == True; JSON tells them apart.
        return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)
    return False


def _tracked(channels: Iterable[str]) -> list[str]:
    """Unique channel names in order, without ``-pnpres`` names (never presence-tracked)."""
    return [name for name in dict.fromkeys(channels) if not name.endswith(PRESENCE_SUFFIX)]


class PresenceStore:
    """Presence, state and channel groups for any number of subscribe keys.

    ``clock`` drives timeouts (the reactor, or a ``task.Clock`` in tests).
    Mass timeouts are handled in batches, one per reactor turn: at most
    ``timeout_batch_size`` uuids, for at most ``timeout_batch_budget``
    seconds of real time (so the reactor never pauses long).
    State values (JSON objects) are kept as given: do not mutate them after
    handing them over.  An empty state ``{}`` means "no state".
    """

    def __init__(
        self,
        clock: IReactorTime,
        *,
        timeout_batch_size: int = DEFAULT_BATCH_SIZE,
        timeout_batch_budget: float = DEFAULT_BATCH_BUDGET,
    ) -> None:
        self._clock = clock
        self._spaces: dict[str, _KeySpace] = {}
        self._observers: list[PresenceObserver] = []
        self._expiry: ExpiryQueue[_Presence] = ExpiryQueue(
            clock, self._timed_out, timeout_batch_size, timeout_batch_budget
        )

    @property
    def clock(self) -> IReactorTime:
        """The clock presence times out by."""
        return self._clock

    def stop(self) -> None:
        """Cancel the timeout timer: nothing times out any more (call before a test ends)."""
        self._expiry.stop()

    # -- observers ----------------------------------------------------------

    def add_observer(self, observer: PresenceObserver) -> None:
        """Call ``observer(event)`` for every :class:`PresenceEvent` from now on."""
        self._observers.append(observer)

    def remove_observer(self, observer: PresenceObserver) -> None:
        """Stop calling ``observer`` (no error if it was not registered)."""
        if observer in self._observers:
            self._observers.remove(observer)

    def _emit(
        self,
        space: _KeySpace,
        channel: str,
        action: PresenceAction,
        uuid: str,
        state: JSONObject | None = None,
    ) -> None:
        if not self._observers:
            return
        occupancy = len(space.channels.get(channel, ()))
        precise = int(self._clock.seconds() * 1000)
        event = PresenceEvent(
            space.sub_key, channel, action, uuid, occupancy, precise // 1000, state, precise
        )
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:
                _log.failure("Presence observer {observer!r} failed", observer=observer)

    # -- presence -----------------------------------------------------------

    def _space(self, sub_key: str) -> _KeySpace:
        space = self._spaces.get(sub_key)
        if space is None:
            space = self._spaces[sub_key] = _KeySpace(sub_key)
        return space

    def heartbeat(
        self,
        sub_key: str,
        uuid: str,
        channels: Iterable[str],
        timeout: float | None = None,
        state_by_channel: Mapping[str, JSONObject] | None = None,
    ) -> None:
        """Make ``uuid`` present on ``channels`` for ``timeout`` more seconds.

        ``timeout`` ``None`` keeps the uuid's current timeout on a channel
        (default :data:`~pubnub_twisted.protocol.DEFAULT_PRESENCE_TIMEOUT`).
        ``state_by_channel`` sets the uuid's state on the channels it names.
        A uuid that was not present joins (the join event carries its
        state); a present uuid is refreshed, and emits ``state-change`` only
        if its state changed.  ``-pnpres`` names are ignored.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        space = self._space(sub_key)
        now = self._clock.seconds()
        states = state_by_channel or {}
        for channel in _tracked(channels):
            presence = space.presence(channel, uuid)
            if presence is None:
                presence = _Presence(space, channel, uuid, timeout or DEFAULT_PRESENCE_TIMEOUT, now)
                stored = space.stored_states.pop((channel, uuid), None)
                if channel in states:
                    stored = states[channel] or None
                presence.state = stored
                space.add(presence)
                self._expiry.schedule(presence)
                self._emit(space, channel, "join", uuid, presence.state)
                continue
            if timeout is not None:
                presence.timeout = timeout
            presence.expires = now + presence.timeout
            self._expiry.schedule(presence)
            if channel in states:
                self._change_state(presence, states[channel])

    def _change_state(self, presence: _Presence, state: JSONObject) -> None:
        new = state or None
        if not _same_state(presence.state, new):
            presence.state = new
            space = presence.space
            self._emit(space, presence.channel, "state-change", presence.uuid, state)

    def leave(self, sub_key: str, uuid: str, channels: Iterable[str]) -> None:
        """``uuid`` leaves ``channels``: a ``leave`` event where it was present.

        Its state on those channels is dropped.
        """
        space = self._spaces.get(sub_key)
        if space is None:
            return
        for channel in _tracked(channels):
            space.stored_states.pop((channel, uuid), None)
            presence = space.presence(channel, uuid)
            if presence is not None:
                space.remove(presence)
                self._expiry.discard(presence)
                self._emit(space, channel, "leave", uuid)

    def _timed_out(self, presence: _Presence) -> None:
        space = presence.space
        space.remove(presence)
        self._emit(space, presence.channel, "timeout", presence.uuid)

    # -- state --------------------------------------------------------------

    def set_state(
        self, sub_key: str, uuid: str, channels: Iterable[str], state: JSONObject
    ) -> None:
        """Set ``uuid``'s state on each of ``channels`` (``{}`` clears it).

        For a present uuid a change emits ``state-change``; for one that is
        not present the state is kept for when it joins, silently.
        """
        space = self._space(sub_key)
        for channel in dict.fromkeys(channels):
            presence = space.presence(channel, uuid)
            if presence is not None:
                self._change_state(presence, state)
            elif state:
                space.stored_states[channel, uuid] = state
            else:
                space.stored_states.pop((channel, uuid), None)

    def get_state(self, sub_key: str, uuid: str, channels: Iterable[str]) -> dict[str, JSONObject]:
        """``uuid``'s state on each of ``channels`` (``{}`` where it has none)."""
        space = self._spaces.get(sub_key)
        result: dict[str, JSONObject] = {}
        for channel in channels:
            state = None
            if space is not None:
                presence = space.presence(channel, uuid)
                if presence is not None:
                    state = presence.state
                else:
                    state = space.stored_states.get((channel, uuid))
            result[channel] = state or {}
        return result

    # -- queries ------------------------------------------------------------

    def occupancy(self, sub_key: str, channel: str) -> int:
        """How many uuids are present on ``channel``."""
        space = self._spaces.get(sub_key)
        return 0 if space is None else len(space.channels.get(channel, ()))

    def here_now(
        self,
        sub_key: str,
        channels: Iterable[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> PNHereNowResult:
        """Who is present: on ``channels``, or on every channel when ``None``.

        Only occupied channels are listed, each once.  Occupants come in join
        order; ``offset`` and ``limit`` page each channel's occupants
        (``occupancy`` stays the full count).  An occupant's ``state`` is
        ``None`` when it has none.
        """
        entries = [
            PNHereNowChannelData(
                name, occupancy, [PNHereNowOccupantData(p.uuid, p.state) for p in page]
            )
            for name, occupancy, page in self.pages(sub_key, channels, offset=offset, limit=limit)
        ]
        return PNHereNowResult(len(entries), sum(e.occupancy for e in entries), entries)

    def pages(
        self,
        sub_key: str,
        channels: Iterable[str] | None = None,
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[tuple[str, int, list[Occupant]]]:
        """here_now's raw material: ``(channel, occupancy, occupants of the page)``.

        The same selection as :meth:`here_now`, without building a value per
        occupant (the server turns these straight into JSON: building and
        dropping 100k objects per answer made here_now slower per occupant
        as channels grew, through the cyclic garbage collector).
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise ValueError("offset and limit must not be negative")
        space = self._spaces.get(sub_key)
        if space is None:
            return []
        names = space.channels if channels is None else dict.fromkeys(channels)
        stop = None if limit is None else offset + limit
        found: list[tuple[str, int, list[Occupant]]] = []
        for name in names:
            occupants = space.channels.get(name)
            if occupants:
                found.append((name, len(occupants), list(islice(occupants.values(), offset, stop))))
        return found

    def where_now(self, sub_key: str, uuid: str) -> list[str]:
        """The channels ``uuid`` is present on, in the order it joined them."""
        space = self._spaces.get(sub_key)
        if space is None:
            return []
        return list(space.where.get(uuid, ()))

    def sub_keys(self) -> list[str]:
        """Every subscribe key that has held presence, state or groups, in first-use order."""
        return list(self._spaces)

    def occupancies(self, sub_key: str) -> dict[str, int]:
        """Every occupied channel of ``sub_key`` and its occupancy (one pass, no copies)."""
        space = self._spaces.get(sub_key)
        if space is None:
            return {}
        return {name: len(occupants) for name, occupants in space.channels.items()}

    def groups(self, sub_key: str) -> dict[str, list[str]]:
        """Every channel group of ``sub_key`` and its channels, in the order they were added."""
        space = self._spaces.get(sub_key)
        if space is None:
            return {}
        return {group: list(members) for group, members in space.groups.items()}

    # -- channel groups -----------------------------------------------------

    def add_channels_to_group(self, sub_key: str, group: str, channels: Iterable[str]) -> None:
        """Add ``channels`` to ``group`` (created if new); ones already in it stay put."""
        members = self._space(sub_key).groups.setdefault(group, {})
        members.update(dict.fromkeys(channels))

    def remove_channels_from_group(self, sub_key: str, group: str, channels: Iterable[str]) -> None:
        """Remove ``channels`` from ``group``; unknown ones are ignored."""
        space = self._spaces.get(sub_key)
        members = None if space is None else space.groups.get(group)
        if space is None or members is None:
            return
        for channel in channels:
            members.pop(channel, None)
        if not members:
            del space.groups[group]

    def delete_group(self, sub_key: str, group: str) -> None:
        """Forget ``group`` (its channels and their presence are untouched)."""
        space = self._spaces.get(sub_key)
        if space is not None:
            space.groups.pop(group, None)

    def channels_in_group(self, sub_key: str, group: str) -> list[str]:
        """``group``'s channels in the order they were added (``[]`` if unknown)."""
        space = self._spaces.get(sub_key)
        if space is None:
            return []
        return list(space.groups.get(group, ()))

    def expand_groups(
        self, sub_key: str, channels: Iterable[str], groups: Iterable[str]
    ) -> list[str]:
        """``channels`` then every channel of each of ``groups``, each once, in order."""
        names = dict.fromkeys(channels)
        space = self._spaces.get(sub_key)
        if space is not None:
            for group in groups:
                names.update(space.groups.get(group, {}))
        return list(names)
