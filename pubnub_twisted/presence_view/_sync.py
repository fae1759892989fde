"""Keeping a presence table in step with here_now: snapshots, replay, refreshes, count checks.

* A **sync** reads the service's time ``T0`` and then here_now (every
  page) for the whole view, or a **refresh** for one channel.  While it
  runs, the events of what it covers are buffered; when it is in, those
  later than ``T0`` are applied on top of the snapshot (newest wins per
  uuid, so what the snapshot already shows changes nothing), and the result
  replaces the table's data, the differences becoming notifications.
* PubNub may answer an identical here_now from a cache for 3 s, and an
  answer older than ``T0`` would undo what the events after it did.  So a
  sync never reads a here_now the view read (or may have had read) less
  than 3 s before: it waits.
* A failed sync is logged and tried again, backing off by the view's
  reconnection schedule (without jitter), and never giving up: the
  connection may be fine while here_now fails.
* **Count checks**: join, leave, timeout and interval events carry the
  channel's occupancy; a channel whose count still differs from it
  :data:`CHECK_DELAY` seconds later (a here_now page read while the channel
  changed shifts the next page; an event was lost) is refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.models_pubsub import PNPresenceEventResult
from pubnub_twisted.presence_view._snapshot import (
    ClientStopped,
    Snapshot,
    SnapshotFailed,
    take_snapshot,
)
from pubnub_twisted.presence_view._table import Change, PresenceTable, moves
from pubnub_twisted.pubsub.reconnect import Reconnection

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["CHECK_DELAY", "HERE_NOW_CACHE", "Synchronizer"]

_log = Logger(namespace="pubnub_twisted.presence_view")

#: Seconds PubNub may answer an identical here_now from its cache.
HERE_NOW_CACHE = 3.0
#: Seconds a channel's count may differ from the service's occupancy before it is refreshed
#: (longer than here_now's cache lasts, so that the refresh reads afresh).
CHECK_DELAY = 5.0

Query = tuple[tuple[str, ...], tuple[str, ...]]


def _interval_after(event: PNPresenceEventResult, timetoken: int) -> bool:
    return event.event == "interval" and event.timetoken > timetoken


class _Sync:
    """One synchronisation: of the whole view (``channel`` None) or of one channel."""

    def __init__(self, query: Query, channel: str | None) -> None:
        self.query = query
        self.channel = channel
        self.deferred: Deferred[Snapshot] | None = None
        self.timer: IDelayedCall | None = None
        self.attempt = 0

    def cancel(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None and timer.active():
            timer.cancel()
        d, self.deferred = self.deferred, None
        if d is not None:
            d.cancel()


class Synchronizer:
    """Syncs, refreshes and count checks of one view's ``table``.

    ``changed(changes)`` is called with what each sync changed, then
    ``synced()``; ``client_stopped()`` when the client was stopped under a
    sync.  Until :meth:`start` the whole view counts as being synced (its
    events are buffered).
    """

    def __init__(
        self,
        pubnub: PubNub,
        query: Query,
        table: PresenceTable,
        *,
        changed: Callable[[list[Change]], object],
        synced: Callable[[], object],
        client_stopped: Callable[[], object],
        retry: Reconnection,
    ) -> None:
        self._pubnub = pubnub
        self._query = query
        self._table = table
        self._changed = changed
        self._synced = synced
        self._client_stopped = client_stopped
        self._retry = retry
        self._buffer: list[PNPresenceEventResult] = []
        self._full: _Sync | None = _Sync(query, None)  # not started: waits for the subscription
        self._partial: dict[str, _Sync] = {}
        self._checks: dict[str, IDelayedCall] = {}
        self._read_at: dict[Query, float] = {}
        self._closed = False

    # -- what events do -----------------------------------------------------

    def hold(self, event: PNPresenceEventResult) -> bool:
        """Buffer ``event`` if a sync covering its channel is under way; say whether it did."""
        if self._full is None and event.channel not in self._partial:
            return False
        self._buffer.append(event)
        return True

    # -- syncs --------------------------------------------------------------

    def start(self) -> None:
        """Synchronise the whole view, replacing whatever sync is under way."""
        if self._closed:
            return
        for sync in [self._full, *self._partial.values()]:
            if sync is not None:
                self._drop(sync)
        self._partial.clear()
        self._full = _Sync(self._query, None)
        self._begin_soon(self._full)

    def refresh(self, channel: str) -> None:
        """Synchronise ``channel`` alone, unless a sync covering it is under way."""
        if self._closed or self._full is not None or channel in self._partial:
            return
        self._uncheck(channel)
        self._partial[channel] = sync = _Sync(((channel,), ()), channel)
        self._begin_soon(sync)

    def _drop(self, sync: _Sync) -> None:
        if sync.deferred is not None:
            self._read_at[sync.query] = self._now()  # the service may have cached it by now
        sync.cancel()

    def _now(self) -> float:
        return self._pubnub.reactor.seconds()

    def _current(self, sync: _Sync) -> bool:
        if sync.channel is None:
            return sync is self._full
        return self._partial.get(sync.channel) is sync

    def _begin_soon(self, sync: _Sync) -> None:
        """Begin on a later reactor turn, once the same here_now is out of the service's cache.

        Never at once: listeners added right after the view was made hear
        the first sync, and the catch-up poll after a reconnect is sent first.
        """
        last = self._read_at.get(sync.query)
        delay = 0.0 if last is None else max(0.0, last + HERE_NOW_CACHE - self._now())
        sync.timer = self._pubnub.reactor.callLater(delay, self._begin, sync)

    def _begin(self, sync: _Sync) -> None:
        sync.timer = None
        if not self._current(sync):
            return
        self._read_at[sync.query] = self._now()
        d = Deferred.fromCoroutine(take_snapshot(self._pubnub, *sync.query))
        sync.deferred = d
        d.addCallbacks(self._taken, self._failed, callbackArgs=(sync,), errbackArgs=(sync,))

    def _taken(self, snapshot: Snapshot, sync: _Sync) -> None:
        if not self._current(sync):
            return
        sync.deferred = None
        self._read_at[sync.query] = self._now()
        scope = sync.channel
        if scope is None:
            events, self._buffer, self._full = self._buffer, [], None
            for channel in list(self._checks):
                self._uncheck(channel)
        else:
            events = [event for event in self._buffer if event.channel == scope]
            self._buffer = [event for event in self._buffer if event.channel != scope]
            del self._partial[scope]
        fresh = PresenceTable.from_snapshot(
            snapshot.timetoken, snapshot.occupants, snapshot.occupancy
        )
        for event in sorted(events, key=lambda event: event.timetoken):
            fresh.apply(event)
        self._changed(self._table.adopt(fresh, None if scope is None else [scope]))
        self._synced()
        if self._closed:
            return
        for channel in sorted({*snapshot.occupancy, *(event.channel for event in events)}):
            self.check(channel)
        # An interval later than the snapshot's time sums up changes it may not show.
        later = snapshot.timetoken
        for channel in sorted({e.channel for e in events if _interval_after(e, later)}):
            self.refresh(channel)

    def _failed(self, failure: Failure, sync: _Sync) -> None:
        if not self._current(sync) or failure.check(CancelledError):
            return
        sync.deferred = None
        self._read_at[sync.query] = self._now()
        if failure.check(ClientStopped):
            self._client_stopped()
            return
        sync.attempt += 1
        # The view's schedule, jitter aside; past a finite one's end, its longest delay.
        delay = self._retry.base_delay(sync.attempt)
        if delay is None:
            delay = self._retry.maximum_interval
        what = "the snapshot" if sync.channel is None else f"the refresh of {sync.channel!r}"
        if failure.check(SnapshotFailed):
            _log.warn(
                "{what} failed ({why}); again in {delay:.1f} s",
                what=what,
                why=failure.getErrorMessage(),
                delay=delay,
            )
        else:
            _log.failure("{what} failed unexpectedly", failure, what=what)
        self._compact(sync.channel)
        sync.timer = self._pubnub.reactor.callLater(delay, self._begin, sync)

    def _compact(self, scope: str | None) -> None:
        """Forget the events buffered for ``scope`` (all when None), but each uuid's last move.

        The next attempt's snapshot is later than all of them: only why a
        uuid left (a leave, a timeout, an interval's list; or that it came
        back since) is still of use.  So a sync that keeps failing does not
        hoard events.
        """
        kept: list[PNPresenceEventResult] = []
        last: dict[tuple[str, str], PNPresenceEventResult] = {}
        for event in self._buffer:
            if scope is not None and event.channel != scope:
                kept.append(event)
                continue
            for reason, uuid in moves(event):
                last[event.channel, uuid] = replace(
                    event, event=reason or "join", uuid=uuid, join=None, leave=None, timeout=None
                )
        self._buffer = kept + sorted(last.values(), key=lambda event: event.timetoken)

    # -- count checks -------------------------------------------------------

    def check(self, channel: str) -> None:
        """Refresh ``channel`` if its count still disagrees with the service's a while from now."""
        if self._closed:
            return
        if self._table.consistent(channel):
            self._uncheck(channel)
        elif channel not in self._checks:
            later = self._pubnub.reactor.callLater(CHECK_DELAY, self._recheck, channel)
            self._checks[channel] = later

    def _recheck(self, channel: str) -> None:
        del self._checks[channel]
        if not self._table.consistent(channel):
            _log.info(
                "{channel!r} has {count} occupants, the service said {reported}: refreshing it",
                channel=channel,
                count=self._table.occupancy(channel),
                reported=self._table.reported(channel),
            )
            self.refresh(channel)

    def _uncheck(self, channel: str) -> None:
        timer = self._checks.pop(channel, None)
        if timer is not None and timer.active():
            timer.cancel()

    # -- ending -------------------------------------------------------------

    def close(self) -> None:
        """Cancel every sync, retry and check; forget the buffer."""
        self._closed = True
        for sync in [self._full, *self._partial.values()]:
            if sync is not None:
                sync.cancel()
        self._full = None
        self._partial.clear()
        self._buffer = []
        for channel in list(self._checks):
            self._uncheck(channel)
