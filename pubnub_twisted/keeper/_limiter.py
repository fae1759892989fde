"""At most N calls at once, the rest in order: a loop, never a recursion.

Twisted's ``DeferredSemaphore`` starts the next waiter from inside
``release()``; when calls end at once (a stopped member's heartbeat, an
in-memory server), thousands of queued calls nest one inside the other and
overflow the stack.  Here the queue is drained by a loop instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure

__all__ = ["Limiter"]

_log = Logger(namespace="pubnub_twisted.keeper")


class Limiter:
    """Runs calls that return Deferreds, at most ``limit`` unfinished at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        #: Calls started and not finished.
        self.active = 0
        self._queue: deque[tuple[Callable[..., Any], tuple[Any, ...], Deferred[Any] | None]] = (
            deque()
        )
        self._draining = False

    def __len__(self) -> int:
        """Calls waiting for their turn."""
        return len(self._queue)

    def run(self, f: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """``f(*args)`` when a place is free; fires with its outcome."""
        d: Deferred[Any] = Deferred()
        self._queue.append((f, args, d))
        self._drain()
        return d

    def start_soon(self, f: Callable[..., Any], *args: Any) -> None:
        """``f(*args)`` when a place is free, for its effects: no Deferred waits meanwhile.

        ``f`` handles its own outcome; a failure that reaches here is logged.
        """
        self._queue.append((f, args, None))
        self._drain()

    def _drain(self) -> None:
        if self._draining:
            return  # the loop below is running further up the stack
        self._draining = True
        try:
            while self._queue and self.active < self.limit:
                f, args, d = self._queue.popleft()
                self.active += 1
                maybeDeferred(f, *args).addBoth(self._finished, d)
        finally:
            self._draining = False

    def _finished(self, outcome: Any, d: Deferred[Any] | None) -> None:
        self.active -= 1
        if d is None:
            if isinstance(outcome, Failure):
                _log.failure("a presence keeper call failed unexpectedly", outcome)
        elif isinstance(outcome, Failure):
            d.errback(outcome)
        else:
            d.callback(outcome)
        self._drain()
