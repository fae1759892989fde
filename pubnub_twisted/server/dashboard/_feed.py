"""What the dashboard shows, gathered from the store and the hub, and sent in batches.

:class:`DashboardFeed` observes the presence store (join, leave, timeout,
state-change) and the subscribe hub (published messages and ``interval``
events).  It keeps a short log of events and, per channel, the occupancy
over the last minutes in fixed time buckets (the last value of each
bucket; a snapshot's chart starts where the channel was first seen).
Browsers get one :meth:`~DashboardFeed.snapshot` and then
batches on their event stream: at most one batch per ``flush_interval``
(events, occupancy changes, and request counts or channel groups when they
changed), and an idle tick every second so charts advance.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from itertools import islice
from typing import Any, Final

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.web.server import Request

from pubnub_twisted.protocol import PRESENCE_SUFFIX
from pubnub_twisted.server.dashboard._stream import EventStream
from pubnub_twisted.server.presence.store import PresenceEvent, PresenceStore
from pubnub_twisted.server.subscribe import HubEntry, SubscribeHub

__all__ = ["DashboardFeed"]

Entry = dict[str, Any]

#: Longest message preview sent to the page, in characters.
PREVIEW: Final = 300
#: Most channels a snapshot lists (the rest are counted, not listed).
MAX_CHANNELS: Final = 5000
#: Events a snapshot carries from the log.
SNAPSHOT_EVENTS: Final = 200
#: Seconds between batches when nothing happens (charts still advance).
IDLE_TICK: Final = 1.0


def _compact(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class _Series:
    """A channel's occupancy per bucket, the newest last (``bucket`` is its number)."""

    __slots__ = ("bucket", "values")

    def __init__(self, bucket: int, occupancy: int, points: int) -> None:
        self.bucket = bucket
        self.values: deque[int] = deque([occupancy], maxlen=points)

    def record(self, bucket: int, occupancy: int) -> None:
        if bucket > self.bucket:
            self._fill(bucket)
            self.values.append(occupancy)
            self.bucket = bucket
        else:
            self.values[-1] = occupancy

    def _fill(self, bucket: int) -> None:
        gap = min(bucket - self.bucket - 1, self.values.maxlen or 0)
        self.values.extend([self.values[-1]] * gap)

    def until(self, bucket: int) -> list[int]:
        """Values of the buckets ending at ``bucket``: at most ``points``, fewer if not seen."""
        points = self.values.maxlen or 0
        values = list(self.values)
        gap = min(max(bucket - self.bucket, 0), points)
        values.extend([self.values[-1]] * gap)
        return values[-points:]


class DashboardFeed:
    """Events, occupancy history and live batches for the dashboard.

    ``counts`` is the resource's live request counter; ``step`` and
    ``points`` shape the charts (``points`` buckets of ``step`` seconds);
    ``log_size`` events are kept; a batch carries at most ``batch_max``
    events (the rest are counted as ``dropped``).
    """

    def __init__(
        self,
        store: PresenceStore,
        hub: SubscribeHub,
        counts: Mapping[str, int],
        *,
        flush_interval: float = 0.25,
        step: float = 5.0,
        points: int = 60,
        log_size: int = 500,
        batch_max: int = 500,
    ) -> None:
        self.store = store
        self.hub = hub
        self._counts = counts
        self._clock: IReactorTime = store.clock
        self.flush_interval = flush_interval
        self.step = step
        self.points = points
        self._batch_max = batch_max
        self._log: deque[Entry] = deque(maxlen=log_size)
        self._history: dict[tuple[str, str], _Series] = {}
        self._streams: dict[EventStream, None] = {}
        self._events: list[Entry] = []
        self._dropped = 0
        self._occupancy: dict[tuple[str, str], int] = {}
        self._sent_counts: dict[str, int] = {}
        self._sent_groups: list[list[Any]] = []
        self._sent_bucket = 0
        self._seq = 0
        self._timer: IDelayedCall | None = None
        self._running = False

    # -- life ---------------------------------------------------------------

    def start(self) -> None:
        """Observe the store and the hub."""
        if not self._running:
            self._running = True
            self.store.add_observer(self._on_presence)
            self.hub.add_observer(self._on_entry)

    def stop(self) -> None:
        """Stop observing, cancel the timer and end every event stream."""
        self._running = False
        self.store.remove_observer(self._on_presence)
        self.hub.remove_observer(self._on_entry)
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        for stream in list(self._streams):
            stream.close()

    @property
    def streams(self) -> int:
        """How many browsers are connected to the event stream."""
        return len(self._streams)

    def attach(self, request: Request) -> EventStream:
        """Turn ``request`` into an event stream that gets every batch from now on."""
        stream = EventStream(request, self._detach)
        self._streams[stream] = None
        self._sent_counts = {}  # the next batch repeats them for the newcomer
        self._schedule(0)
        return stream

    def _detach(self, stream: EventStream) -> None:
        self._streams.pop(stream, None)
        if not self._streams and self._timer is not None and self._timer.active():
            self._timer.cancel()
            self._timer = None

    # -- observing ------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock.seconds() * 1000)

    def _bucket(self) -> int:
        return int(self._clock.seconds() // self.step)

    def _record(self, sub_key: str, channel: str, occupancy: int) -> None:
        key = (sub_key, channel)
        series = self._history.get(key)
        if series is None:
            self._history[key] = _Series(self._bucket(), occupancy, self.points)
        else:
            series.record(self._bucket(), occupancy)
        if self._streams:
            self._occupancy[key] = occupancy

    def _add(self, entry: Entry) -> None:
        self._log.append(entry)
        if not self._streams:
            return
        events = self._events
        if len(events) < self._batch_max:
            events.append(entry)
            if len(events) == 1:  # the first of a batch brings the flush forward
                self._schedule(self.flush_interval)
        else:
            self._dropped += 1

    def _on_presence(self, event: PresenceEvent) -> None:
        self._record(event.sub_key, event.channel, event.occupancy)
        ms = event.precise_timestamp
        entry: Entry = {
            "t": event.timestamp * 1000 if ms is None else ms,
            "kind": "presence",
            "action": event.action,
            "sub_key": event.sub_key,
            "channel": event.channel,
            "uuid": event.uuid,
            "occupancy": event.occupancy,
        }
        if event.state is not None:
            entry["state"] = event.state
        self._add(entry)

    def _on_entry(self, entry: HubEntry) -> None:
        ms = entry.timetoken // 10_000
        if not entry.presence:
            preview = _compact(entry.payload).decode("utf-8")
            if len(preview) > PREVIEW:
                preview = preview[: PREVIEW - 1] + "\u2026"
            self._add(
                {
                    "t": ms,
                    "kind": "signal" if entry.signal else "message",
                    "sub_key": entry.sub_key,
                    "channel": entry.channel,
                    "uuid": entry.publisher,
                    "message": preview,
                }
            )
            return
        payload = entry.payload
        if not isinstance(payload, dict) or payload.get("action") != "interval":
            return  # the store already told us of join, leave, timeout, state-change
        channel = entry.channel.removesuffix(PRESENCE_SUFFIX)
        interval: Entry = {
            "t": ms,
            "kind": "presence",
            "action": "interval",
            "sub_key": entry.sub_key,
            "channel": channel,
            "occupancy": payload.get("occupancy", 0),
        }
        for action in ("join", "leave", "timeout"):
            if isinstance(payload.get(action), list):
                interval[action] = len(payload[action])
        self._add(interval)

    # -- batches ------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        if not self._running or not self._streams:
            return
        if self._timer is None:
            self._timer = self._clock.callLater(delay, self._flush)
        elif self._timer.getTime() - self._clock.seconds() > delay:
            self._timer.reset(delay)

    def _groups(self) -> list[list[Any]]:
        return [
            [sub_key, group, channels]
            for sub_key in self.store.sub_keys()
            for group, channels in self.store.groups(sub_key).items()
        ]

    def batch(self) -> Entry | None:
        """What changed since the last batch (``None``: nothing); resets the pending changes."""
        bucket = self._bucket()
        batch: Entry = {}
        if self._events:
            batch["events"] = self._events
            self._events = []
        if self._dropped:
            batch["dropped"], self._dropped = self._dropped, 0
        if self._occupancy:
            batch["occupancy"] = [[k[0], k[1], n] for k, n in self._occupancy.items()]
            self._occupancy = {}
        counts = dict(self._counts)
        if counts != self._sent_counts:
            batch["requests"] = self._sent_counts = counts
        groups = self._groups()
        if groups != self._sent_groups:
            batch["groups"] = self._sent_groups = groups
        if bucket != self._sent_bucket:
            self._sent_bucket = bucket
            self._sweep(bucket)
        elif not batch:
            return None
        self._seq += 1
        batch.update(seq=self._seq, now=self._now_ms(), bucket=bucket)
        return batch

    def _flush(self) -> None:
        self._timer = None
        if not self._streams:
            return
        batch = self.batch()
        if batch is not None:
            data = _compact(batch)
            for stream in list(self._streams):
                stream.send(data)
        self._schedule(IDLE_TICK)

    def _sweep(self, bucket: int) -> None:
        """Forget charts of channels empty for the whole window."""
        oldest = bucket - self.points
        for key, series in list(self._history.items()):
            if series.bucket < oldest and series.values[-1] == 0:
                del self._history[key]

    # -- queries ------------------------------------------------------------

    def snapshot(self) -> Entry:
        """Everything the page shows at once: channels with charts, groups, recent events."""
        bucket = self._bucket()
        self._sweep(bucket)
        occupancies = {
            (sub_key, channel): occupancy
            for sub_key in self.store.sub_keys()
            for channel, occupancy in self.store.occupancies(sub_key).items()
        }
        keys = dict.fromkeys(occupancies) | dict.fromkeys(self._history)
        channels = []
        for sub_key, channel in islice(keys, MAX_CHANNELS):
            series = self._history.get((sub_key, channel))
            occupancy = occupancies.get((sub_key, channel), 0)
            values = [occupancy] if series is None else series.until(bucket)
            channels.append([sub_key, channel, occupancy, values])
        return {
            "seq": self._seq,
            "now": self._now_ms(),
            "bucket": bucket,
            "step": self.step,
            "points": self.points,
            "sub_keys": self.store.sub_keys(),
            "channels": channels,
            "truncated": max(len(keys) - MAX_CHANNELS, 0),
            "groups": self._groups(),
            "events": list(self._log)[-SNAPSHOT_EVENTS:],
            "requests": dict(self._counts),
        }

    def occupants(self, sub_key: str, channel: str, offset: int, limit: int) -> Entry:
        """One page of ``channel``'s occupants with their state."""
        pages = self.store.pages(sub_key, [channel], offset=offset, limit=limit)
        occupancy, page = (pages[0][1], pages[0][2]) if pages else (0, [])
        return {
            "sub_key": sub_key,
            "channel": channel,
            "occupancy": occupancy,
            "offset": offset,
            "limit": limit,
            "occupants": [{"uuid": o.uuid, "state": o.state} for o in page],
        }

    def whereabouts(self, sub_key: str, uuid: str) -> Entry:
        """The channels ``uuid`` is on, with its state on each."""
        channels = self.store.where_now(sub_key, uuid)
        states = self.store.get_state(sub_key, uuid, channels) if channels else {}
        return {
            "sub_key": sub_key,
            "uuid": uuid,
            "channels": [{"channel": c, "state": states.get(c) or None} for c in channels],
        }
