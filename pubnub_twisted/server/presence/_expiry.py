"""Many deadlines, one timer: the presence store's timeout machinery.

A busy server holds one deadline per (channel, uuid) and refreshes it on
every heartbeat.  One ``IDelayedCall`` each would be costly, so
:class:`ExpiryQueue` keeps a heap and a single timer for the earliest entry.

Refreshing is cheap: an item's ``expires`` moves later and its heap entry
stays where it is; when that entry comes due, the queue sees the later
deadline and pushes the item again (lazy invalidation).  Only a deadline that
moves *earlier* pushes a new entry; the old one goes stale and is skipped.

When very many items are due at once they are handed out in batches, one
batch per reactor turn (``callLater(0, ...)``), so the reactor keeps serving
requests between batches.  A batch ends after ``batch_size`` items or after
``batch_budget`` seconds of real time, whichever comes first: what an item
costs depends on the observers (a subscribe hub turns each timeout into
events) and on the machine's load, so a count alone cannot bound the pause.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from twisted.internet.interfaces import IDelayedCall, IReactorTime

__all__ = ["DEFAULT_BATCH_SIZE", "Expiring", "ExpiryQueue"]

#: Due items handled per reactor turn, at most.
DEFAULT_BATCH_SIZE = 2000
#: Real seconds a batch may take (checked every ``_BUDGET_CHECK`` items).
DEFAULT_BATCH_BUDGET = 0.010
_BUDGET_CHECK = 64

#: Stale heap entries tolerated before the heap is rebuilt without them.
_COMPACT_THRESHOLD = 4096


class Expiring:
    """Something with a deadline; subclass it (the queue keeps its bookkeeping here)."""

    __slots__ = ("_queued_at", "_queued_seq", "expires")

    def __init__(self, expires: float) -> None:
        self.expires = expires
        self._queued_at = 0.0
        self._queued_seq = -1  # the live heap entry's sequence number; -1: none


T = TypeVar("T", bound=Expiring)


class ExpiryQueue(Generic[T]):
    """Calls ``on_expired(item)`` once ``clock.seconds() >= item.expires``.

    Call :meth:`schedule` after setting or changing ``item.expires`` and
    :meth:`discard` when the item goes away early.
    """

    def __init__(
        self,
        clock: IReactorTime,
        on_expired: Callable[[T], object],
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_budget: float = DEFAULT_BATCH_BUDGET,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if batch_budget <= 0:
            raise ValueError("batch_budget must be positive")
        self._clock = clock
        self._on_expired = on_expired
        self._batch_size = batch_size
        self._batch_budget = batch_budget
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._stale = 0
        self._timer: IDelayedCall | None = None
        self._running = False
        self._stopped = False

    def __len__(self) -> int:
        """Items waiting for their deadline."""
        return len(self._heap) - self._stale

    @property
    def heap_size(self) -> int:
        """Heap entries, stale ones included (a diagnostic: it stays near ``len(self)``)."""
        return len(self._heap)

    def schedule(self, item: T) -> None:
        """Make sure ``item`` expires at its (new) ``expires``."""
        if item._queued_seq >= 0:
            if item.expires >= item._queued_at:
                return  # the queued entry comes first and will re-check
            self._stale += 1
        seq = next(self._seq)
        item._queued_at = item.expires
        item._queued_seq = seq
        heapq.heappush(self._heap, (item.expires, seq, item))
        self._arm()

    def discard(self, item: T) -> None:
        """Forget ``item``: it will not expire."""
        if item._queued_seq >= 0:
            item._queued_seq = -1
            self._stale += 1
            if self._stale > _COMPACT_THRESHOLD and self._stale * 2 > len(self._heap):
                self._compact()

    def stop(self) -> None:
        """Cancel the timer for good: nothing expires any more."""
        self._stopped = True
        self._cancel_timer()

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if entry[2]._queued_seq == entry[1]]
        heapq.heapify(self._heap)
        self._stale = 0

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _arm(self) -> None:
        """Point the one timer at the earliest entry (or at the next batch)."""
        if self._running or self._stopped:
            return
        if not self._heap:
            self._cancel_timer()
            return
        due = self._heap[0][0]
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= due:
                return
            self._timer.cancel()
        self._timer = self._clock.callLater(max(0.0, due - self._clock.seconds()), self._run)

    def _run(self) -> None:
        self._timer = None
        now = self._clock.seconds()
        heap = self._heap
        self._running = True
        deadline = time.perf_counter() + self._batch_budget
        try:
            for count in range(self._batch_size):
                if not heap or heap[0][0] > now:
                    break
                if count and count % _BUDGET_CHECK == 0 and time.perf_counter() > deadline:
                    break
                _, seq, item = heapq.heappop(heap)
                if seq != item._queued_seq:
                    self._stale -= 1
                elif item.expires > now:  # refreshed since it was queued
                    item._queued_at = item.expires
                    heapq.heappush(heap, (item.expires, seq, item))
                else:
                    item._queued_seq = -1
                    self._on_expired(item)
        finally:
            self._running = False
            self._arm()
