"""Subscribe long-poll: timetokens, event buffers and held polls (subscribe.md section 8).

:class:`SubscribeHub` turns the store's presence events, and the messages
handed to :meth:`SubscribeHub.publish`, into the entries PubNub's subscribe
call delivers.  It knows nothing of HTTP: the resource decodes a request
into a :class:`SubscribeRequest` and gets back a response body, at once or
through a Deferred when the poll is held.

* Every event gets a timetoken (unix time x 10^7 on the store's clock,
  strictly increasing) and goes into a bounded buffer per channel, so a poll
  with an older cursor catches up from there.
* A presence entry carries ``d`` and ``u`` in the shape PubNub sends today
  (``precise_timestamp``, ``pn_*`` metadata): see
  :mod:`pubnub_twisted.server.presence._wire`.
* A subscribe refreshes the uuid's presence on the data channels it lists
  (directly or through groups, never ``-pnpres`` names) when it is
  processed.  An open poll does not keep a uuid alive: only requests do.
* A handshake (``tt`` 0) is answered at once with a cursor taken before its
  own join, so the joiner sees that join on its next poll.
* Busy channels (occupancy above ``announce_max``) switch to ``interval``
  events; ``debounce`` hides a leave or timeout followed by a join of the
  same uuid; ``leave_on_disconnect`` makes a dropped poll a leave; and
  ``redeliver_events`` repeats each delivered batch once in the uuid's next
  response, as the real service sometimes does.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger

from pubnub_twisted.models import JSONObject
from pubnub_twisted.protocol import PRESENCE_SUFFIX, timetoken_from_seconds
from pubnub_twisted.server.presence._wire import presence_meta, presence_payload
from pubnub_twisted.server.presence.store import PresenceEvent, PresenceStore

__all__ = [
    "DEFAULT_ANNOUNCE_MAX",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_BUFFER_TTL",
    "DEFAULT_HOLD_TIME",
    "DEFAULT_INTERVAL",
    "MAX_ENTRIES",
    "MAX_INTERVAL_PAYLOAD",
    "REGION",
    "HubEntry",
    "HubObserver",
    "SubscribeHub",
    "SubscribeOptions",
    "SubscribeRequest",
]

#: Seconds an idle poll is held (PubNub: about 280; its SDKs give up after 310).
DEFAULT_HOLD_TIME: Final = 280.0
#: Events kept per channel for catch-up.
DEFAULT_BUFFER_SIZE: Final = 100
#: Seconds an event stays available for catch-up (then its channel's buffer may go).
DEFAULT_BUFFER_TTL: Final = 600.0
#: Occupancy above which a channel gets ``interval`` events instead of joins and leaves.
DEFAULT_ANNOUNCE_MAX: Final = 20
#: Seconds between ``interval`` events.
DEFAULT_INTERVAL: Final = 10.0
#: The region in every ``t.r`` and ``p.r`` (clients echo it back as ``tr``; it means nothing here).
REGION: Final = 1
#: Entries in one response at most; the rest come with the next poll.
MAX_ENTRIES: Final = 100
#: Serialized size of an ``interval`` payload above which its uuid lists give way to
#: ``"here_now_refresh": true``.
MAX_INTERVAL_PAYLOAD: Final = 32 * 1024

_SHARD: Final = "0"
_DEPARTURES: Final = frozenset({"leave", "timeout"})

Body = dict[str, Any]
_log: Final = Logger(namespace="pubnub_twisted.server")
#: An event and the subscription it matched (an entry's ``b``; ``None`` for a direct data channel).
_Match = tuple["_Event", str | None]


@dataclass(frozen=True)
class SubscribeRequest:
    """One subscribe call: ``GET /v2/subscribe/{sub_key}/{channels}/0``, decoded.

    ``channels`` and ``groups`` are the names as listed, ``-pnpres`` ones
    included.  ``timetoken`` is the ``tt`` cursor (0 for a handshake).
    ``timeout`` is the ``heartbeat`` parameter (``None`` keeps the uuid's
    current presence timeout); ``states`` the ``state`` parameter, keyed by
    channel.
    """

    sub_key: str
    uuid: str
    channels: Sequence[str] = ()
    groups: Sequence[str] = ()
    timetoken: int = 0
    timeout: float | None = None
    states: Mapping[str, JSONObject] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HubEntry:
    """One event the hub delivers: a published message or a presence payload.

    ``channel`` is the channel it is delivered on (``<name>-pnpres`` for a
    presence payload, ``presence`` true; ``signal`` for a signal); ``payload``
    is the hub's own value:
    treat it as read-only.
    """

    sub_key: str
    channel: str
    payload: object
    publisher: str | None
    timetoken: int
    presence: bool
    signal: bool = False


HubObserver = Callable[[HubEntry], object]


class _Event:
    """One buffered event: a message, a signal or a presence payload on one channel.

    ``extra`` holds a message's optional entry keys: ``e`` (1 for a signal),
    ``u`` (its meta) and ``cmt`` (its custom type).  A presence event's entry
    also has ``u`` (its ``pn_*`` fields), built from the payload when the
    event is first delivered and kept in ``meta``: events nobody receives (a
    mass timeout, say) never pay for it.
    """

    __slots__ = ("channel", "extra", "meta", "payload", "presence", "publisher", "timetoken")

    def __init__(
        self,
        timetoken: int,
        channel: str,
        payload: object,
        publisher: str | None,
        *,
        extra: Body | None = None,
        presence: bool = False,
    ):
        self.timetoken = timetoken
        self.channel = channel
        self.payload = payload
        self.publisher = publisher
        self.extra = extra
        self.presence = presence
        self.meta: Body | None = None


class _Poll:
    """A subscribe request being held until an event or its hold time."""

    __slots__ = ("deferred", "request", "since", "timer")

    def __init__(
        self, request: SubscribeRequest, since: int, on_cancel: Callable[[_Poll], None]
    ) -> None:
        self.request = request
        self.since = since
        self.deferred: Deferred[Body] = Deferred(lambda _: on_cancel(self))
        self.timer: IDelayedCall | None = None


class _Interval:
    """A channel in interval mode and who came or went since its last ``interval`` event."""

    __slots__ = ("changes",)

    def __init__(self) -> None:
        # uuid -> (present before the first change, its latest action)
        self.changes: dict[str, tuple[bool, str]] = {}

    def record(self, uuid: str, action: str) -> None:
        before = self.changes[uuid][0] if uuid in self.changes else action in _DEPARTURES
        self.changes[uuid] = (before, action)

    def deltas(self) -> dict[str, list[str]]:
        """The net changes: a uuid that left and came back (or the reverse) is in no list."""
        lists: dict[str, list[str]] = {"join": [], "leave": [], "timeout": []}
        for uuid, (before, action) in self.changes.items():
            if before != (action == "join"):
                lists[action].append(uuid)
        return {key: uuids for key, uuids in lists.items() if uuids}


def _envelope(cursor: int, entries: list[Body]) -> Body:
    return {"t": {"t": str(cursor), "r": REGION}, "m": entries}


def _entry(sub_key: str, event: _Event, match: str | None) -> Body:
    entry: Body = {"a": _SHARD, "f": 0}
    extra = event.extra or {}
    if "e" in extra:
        entry["e"] = extra["e"]
    if event.publisher is not None:
        entry["i"] = event.publisher
    entry["p"] = {"t": str(event.timetoken), "r": REGION}
    entry["k"] = sub_key
    entry["c"] = event.channel
    if event.presence:
        if event.meta is None:
            channel = event.channel.removesuffix(PRESENCE_SUFFIX)
            event.meta = presence_meta(channel, cast(Body, event.payload))
        entry["u"] = event.meta
    entry["d"] = event.payload
    if "u" in extra:
        entry["u"] = extra["u"]
    if match is not None:
        entry["b"] = match
    if "cmt" in extra:
        entry["cmt"] = extra["cmt"]
    return entry


def _serialized_size(payload: Body) -> int:
    return len(json.dumps(payload, separators=(",", ":")))


@dataclass(frozen=True)
class SubscribeOptions:
    """How subscribe behaves: PubNub's keyset settings, and test aids.

    * ``hold_time``: seconds an idle poll is held before an empty answer.
    * ``buffer_size``: events kept per channel for catch-up.
    * ``buffer_ttl``: seconds an event is kept for catch-up; a channel whose
      events are all older is forgotten (a long-running server with
      per-user channel names does not grow without bound).
    * ``announce_max``, ``interval``, ``presence_deltas``: above
      ``announce_max`` occupants a channel's joins, leaves and timeouts give
      way to an ``interval`` event every ``interval`` seconds, with ``join``
      / ``leave`` / ``timeout`` lists when ``presence_deltas`` is on.
    * ``debounce``: seconds a leave or timeout waits; a join of the same
      uuid on the same channel within it cancels both (0: off).
    * ``leave_on_disconnect``: a client dropping a held poll leaves its
      channels ("Generate Leave on TCP FIN or RST").
    * ``redeliver_events``: a fault mode; each batch of events is delivered
      again, once, in the same uuid's next response.
    """

    hold_time: float = DEFAULT_HOLD_TIME
    buffer_size: int = DEFAULT_BUFFER_SIZE
    buffer_ttl: float = DEFAULT_BUFFER_TTL
    announce_max: int = DEFAULT_ANNOUNCE_MAX
    interval: float = DEFAULT_INTERVAL
    presence_deltas: bool = False
    debounce: float = 0.0
    leave_on_disconnect: bool = False
    redeliver_events: bool = False

    def __post_init__(self) -> None:
        if self.hold_time < 0 or self.debounce < 0:
            raise ValueError("hold_time and debounce must not be negative")
        if self.buffer_size < 1:
            raise ValueError("buffer_size must be at least 1")
        if not self.buffer_ttl > 0:
            raise ValueError("buffer_ttl must be positive")
        if self.announce_max < 0 or not self.interval > 0:
            raise ValueError("announce_max must not be negative and interval must be positive")


class SubscribeHub:
    """The subscribe side of the embedded server, fed by ``store``'s presence events.

    ``options`` (:class:`SubscribeOptions`) defaults to PubNub's defaults.
    Call :meth:`stop` when done: it answers the held polls and cancels
    every timer.
    """

    def __init__(self, store: PresenceStore, options: SubscribeOptions | None = None) -> None:
        self.options = options or SubscribeOptions()
        self.store = store
        self._clock = store.clock
        self._last = 0
        self._buffers: dict[tuple[str, str], deque[_Event]] = {}
        self._buffer_sweep: IDelayedCall | None = None
        self._held: dict[str, dict[_Poll, None]] = {}
        self._intervals: dict[tuple[str, str], _Interval] = {}
        self._interval_timer: IDelayedCall | None = None
        self._pending: dict[tuple[str, str, str], tuple[PresenceEvent, IDelayedCall]] = {}
        self._delivered: dict[tuple[str, str], list[_Match]] = {}
        self._stopped = False
        self._entry_observers: list[HubObserver] = []
        store.add_observer(self._observe)

    @property
    def held(self) -> int:
        """How many polls are being held now."""
        return sum(len(polls) for polls in self._held.values())

    def stop(self) -> None:
        """Answer every held poll (no events), cancel every timer, stop observing the store.

        Later polls are answered at once.
        """
        if self._stopped:
            return
        self._stopped = True
        self.store.remove_observer(self._observe)
        if self._interval_timer is not None and self._interval_timer.active():
            self._interval_timer.cancel()
        self._interval_timer = None
        if self._buffer_sweep is not None and self._buffer_sweep.active():
            self._buffer_sweep.cancel()
        self._buffer_sweep = None
        for _, release in self._pending.values():
            release.cancel()
        self._pending.clear()
        for polls in list(self._held.values()):
            for poll in list(polls):
                self._answer(poll, self._empty())

    def add_observer(self, observer: HubObserver) -> None:
        """Call ``observer(entry)`` for every :class:`HubEntry` appended from now on."""
        self._entry_observers.append(observer)

    def remove_observer(self, observer: HubObserver) -> None:
        """Stop calling ``observer`` (no error if it was not registered)."""
        if observer in self._entry_observers:
            self._entry_observers.remove(observer)

    # -- timetokens and events ----------------------------------------------

    def _tick(self) -> int:
        timetoken = max(timetoken_from_seconds(self._clock.seconds()), self._last + 1)
        self._last = timetoken
        return timetoken

    def time(self) -> int:
        """A fresh timetoken: what ``/time/0`` answers."""
        return self._tick()

    def publish(
        self,
        sub_key: str,
        channel: str,
        message: object,
        publisher: str | None = None,
        *,
        meta: object = None,
        signal: bool = False,
        custom_message_type: str | None = None,
    ) -> int:
        """Deliver ``message`` (any JSON value) on ``channel``; return its timetoken.

        ``publisher`` becomes the entry's ``i`` (the publishing uuid),
        ``meta`` its ``u``, ``custom_message_type`` its ``cmt``; a
        ``signal`` is marked ``"e": 1``.
        """
        if not channel or channel.endswith(PRESENCE_SUFFIX):
            raise ValueError(f"cannot publish on {channel!r}")
        json.dumps([message, meta], allow_nan=False)  # not JSON: refused here, not at delivery
        extra: Body = {}
        if signal:
            extra["e"] = 1
        if meta is not None:
            extra["u"] = meta
        if custom_message_type is not None:
            extra["cmt"] = custom_message_type
        return self._append(sub_key, channel, message, publisher, extra=extra or None)

    def _append(
        self,
        sub_key: str,
        channel: str,
        payload: object,
        publisher: str | None = None,
        *,
        extra: Body | None = None,
        presence: bool = False,
    ) -> int:
        event = _Event(self._tick(), channel, payload, publisher, extra=extra, presence=presence)
        buffer = self._buffers.get((sub_key, channel))
        if buffer is None:
            buffer = self._buffers[sub_key, channel] = deque(maxlen=self.options.buffer_size)
        buffer.append(event)
        if self._entry_observers:
            signal = extra is not None and extra.get("e") == 1
            entry = HubEntry(
                sub_key, channel, payload, publisher, event.timetoken, presence, signal
            )
            for observer in list(self._entry_observers):
                try:
                    observer(entry)
                except Exception:
                    _log.failure("Hub observer {observer!r} failed", observer=observer)
        if self._buffer_sweep is None and not self._stopped:
            self._buffer_sweep = self._clock.callLater(self.options.buffer_ttl, self._sweep)
        for poll in list(self._held.get(sub_key, ())):
            body = self._reply(poll.request, poll.since)
            if body is not None:
                self._answer(poll, body)
        return event.timetoken

    def drop_buffered_events(self) -> int:
        """A fault for tests: forget every buffered event; return how many.

        A poll that catches up from an older cursor then finds nothing, as
        after a long disconnect when PubNub's short-term cache has moved on.
        """
        dropped = sum(len(buffer) for buffer in self._buffers.values())
        self._buffers.clear()
        return dropped

    def _sweep(self) -> None:
        """Drop events older than ``buffer_ttl``, and channels left with none."""
        self._buffer_sweep = None
        oldest = timetoken_from_seconds(self._clock.seconds() - self.options.buffer_ttl)
        for key, buffer in list(self._buffers.items()):
            while buffer and buffer[0].timetoken <= oldest:
                buffer.popleft()
            if not buffer:
                del self._buffers[key]
        if self._buffers and not self._stopped:
            self._buffer_sweep = self._clock.callLater(self.options.buffer_ttl / 2, self._sweep)

    # -- polls --------------------------------------------------------------

    def subscribe(self, request: SubscribeRequest, *, hold: bool = True) -> Body | Deferred[Body]:
        """Refresh the caller's presence and answer: a body now, or a Deferred when held.

        With ``hold`` false a poll with nothing to deliver is answered at
        once (no events, a fresh cursor).  Cancelling the Deferred means the
        client went away.
        """
        if request.timetoken <= 0:
            cursor = self._tick()  # before the join: the joiner's next poll brings it
            self._refresh(request)
            return _envelope(cursor, [])
        since = min(request.timetoken, self._last)  # a cursor from the future means "now"
        self._refresh(request)
        body = self._reply(request, since)
        if body is not None:
            return body
        if not hold or self._stopped or self.options.hold_time == 0:
            return self._empty()
        poll = _Poll(request, since, self._abandoned)
        poll.timer = self._clock.callLater(self.options.hold_time, self._expired, poll)
        self._held.setdefault(request.sub_key, {})[poll] = None
        return poll.deferred

    def _presence_channels(self, request: SubscribeRequest) -> list[str]:
        """The data channels ``request`` makes its uuid present on."""
        groups = [group for group in request.groups if not group.endswith(PRESENCE_SUFFIX)]
        channels = self.store.expand_groups(request.sub_key, request.channels, groups)
        return [name for name in channels if not name.endswith(PRESENCE_SUFFIX)]

    def _refresh(self, request: SubscribeRequest) -> None:
        channels = self._presence_channels(request)
        if channels:
            self.store.heartbeat(
                request.sub_key, request.uuid, channels, request.timeout, request.states
            )

    def _sources(self, request: SubscribeRequest) -> Iterator[tuple[str, str | None]]:
        """Each channel ``request`` receives events from, with the ``b`` they carry."""
        for name in request.channels:
            yield name, (name if name.endswith(PRESENCE_SUFFIX) else None)
        for group in request.groups:
            presence = group.endswith(PRESENCE_SUFFIX)
            base = group.removesuffix(PRESENCE_SUFFIX)
            suffix = PRESENCE_SUFFIX if presence else ""
            for member in self.store.channels_in_group(request.sub_key, base):
                yield member + suffix, group

    def _collect(self, request: SubscribeRequest, since: int) -> list[_Match]:
        """The buffered events after ``since`` that ``request`` receives, oldest first."""
        found: list[_Match] = []
        seen: set[str] = set()
        for name, match in self._sources(request):
            buffer = self._buffers.get((request.sub_key, name))
            if name in seen or not buffer:
                continue
            seen.add(name)
            for event in reversed(buffer):
                if event.timetoken <= since:
                    break
                found.append((event, match))
        found.sort(key=lambda item: item[0].timetoken)
        return found[:MAX_ENTRIES]

    def _reply(self, request: SubscribeRequest, since: int) -> Body | None:
        """The response delivering what ``request`` has not seen, or ``None`` if nothing."""
        fresh = self._collect(request, since)
        delivered = fresh
        if self.options.redeliver_events:
            key = (request.sub_key, request.uuid)
            delivered = self._delivered.pop(key, []) + fresh
            if fresh:
                self._delivered[key] = fresh
        if not delivered:
            return None
        cursor = max([since, *(event.timetoken for event, _ in fresh)])
        return _envelope(cursor, [_entry(request.sub_key, *item) for item in delivered])

    def _empty(self) -> Body:
        return _envelope(self._tick(), [])

    def _forget(self, poll: _Poll) -> None:
        polls = self._held.get(poll.request.sub_key, {})
        polls.pop(poll, None)
        if not polls:
            self._held.pop(poll.request.sub_key, None)
        if poll.timer is not None and poll.timer.active():
            poll.timer.cancel()
        poll.timer = None

    def _answer(self, poll: _Poll, body: Body) -> None:
        self._forget(poll)
        poll.deferred.callback(body)

    def _expired(self, poll: _Poll) -> None:
        poll.timer = None
        self._answer(poll, self._empty())

    def _abandoned(self, poll: _Poll) -> None:
        """The client dropped a held poll: forget it, and leave when so configured."""
        self._forget(poll)
        if not self.options.leave_on_disconnect:
            return
        request = poll.request
        kept: set[str] = set()  # still listed by another held poll of the same uuid
        for other in self._held.get(request.sub_key, ()):
            if other.request.uuid == request.uuid:
                kept.update(self._presence_channels(other.request))
        channels = [name for name in self._presence_channels(request) if name not in kept]
        self.store.leave(request.sub_key, request.uuid, channels)

    # -- presence events ----------------------------------------------------

    def _observe(self, event: PresenceEvent) -> None:
        if self.options.debounce > 0:
            key = (event.sub_key, event.channel, event.uuid)
            if event.action in _DEPARTURES:
                release = self._clock.callLater(self.options.debounce, self._release, key)
                self._pending[key] = (event, release)
                return
            if event.action == "join" and key in self._pending:
                self._pending.pop(key)[1].cancel()  # back within the window: neither is told
                return
        self._announce(event)

    def _release(self, key: tuple[str, str, str]) -> None:
        event, _ = self._pending.pop(key)
        sub_key, channel, _ = key
        self._announce(replace(event, occupancy=self.store.occupancy(sub_key, channel)))

    def _announce(self, event: PresenceEvent) -> None:
        if event.action != "state-change" and self._in_interval_mode(event):
            return
        payload = presence_payload(event)
        self._append(event.sub_key, event.channel + PRESENCE_SUFFIX, payload, presence=True)

    def _in_interval_mode(self, event: PresenceEvent) -> bool:
        """Whether the event's channel is (now) in interval mode; if so, record the change."""
        key = (event.sub_key, event.channel)
        interval = self._intervals.get(key)
        if interval is None:
            peak = event.occupancy + (event.action in _DEPARTURES)
            if peak <= self.options.announce_max:
                return False
            interval = self._intervals[key] = _Interval()
            if self._interval_timer is None:
                self._interval_timer = self._clock.callLater(
                    self.options.interval, self._intervals_due
                )
        interval.record(event.uuid, event.action)
        return True

    def _intervals_due(self) -> None:
        """One ``interval`` event per channel in interval mode; quiet channels leave the mode."""
        self._interval_timer = None
        precise = int(self._clock.seconds() * 1000)
        for (sub_key, channel), interval in list(self._intervals.items()):
            occupancy = self.store.occupancy(sub_key, channel)
            payload: Body = {
                "action": "interval",
                "timestamp": precise // 1000,
                "precise_timestamp": precise,
                "occupancy": occupancy,
            }
            if self.options.presence_deltas:
                payload.update(interval.deltas())
                if _serialized_size(payload) > MAX_INTERVAL_PAYLOAD:
                    for action in ("join", "leave", "timeout"):
                        payload.pop(action, None)
                    payload["here_now_refresh"] = True
            interval.changes.clear()
            if occupancy <= self.options.announce_max:
                del self._intervals[sub_key, channel]
            self._append(sub_key, channel + PRESENCE_SUFFIX, payload, presence=True)
        if self._intervals and not self._stopped:
            self._interval_timer = self._clock.callLater(self.options.interval, self._intervals_due)
