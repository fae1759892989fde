"""Telling listeners what changed, with an optional grace window against flapping."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from pubnub_twisted.presence_view._table import Change, State

__all__ = ["Notifier", "PresenceViewListener"]

_log = Logger(namespace="pubnub_twisted.presence_view")


class PresenceViewListener:
    """Subclass it and override what you need; each method does nothing by default.

    Register with :meth:`PresenceView.add_listener`.  Methods are called on
    the reactor thread, after the view's data has changed (so reading the
    view from them shows the change).  An exception raised by a listener is
    logged and does not stop the view or the other listeners.
    """

    def on_join(self, channel: str, uuid: str, state: State) -> None:
        """``uuid`` is now on ``channel``, with ``state`` (``None``: no state)."""

    def on_leave(self, channel: str, uuid: str, reason: str) -> None:
        """``uuid`` is no longer on ``channel``.

        ``reason``: ``"leave"`` or ``"timeout"`` when a presence event (or
        an interval event's list) said so; ``"resync"`` when a here_now
        snapshot showed the uuid gone and no event said why (events lost
        during a disconnection, or a busy channel without presence deltas).
        """

    def on_state_change(self, channel: str, uuid: str, state: State) -> None:
        """``uuid``'s state on ``channel`` is now ``state`` (``None``: it has none)."""

    def on_sync(self) -> None:
        """The view was just reconciled with here_now: a good moment to read it whole.

        After the first snapshot, after each resync (reconnects), and after
        each refresh of a channel (interval events, a count that disagreed).
        """

    def on_disconnected(self, reason: str) -> None:
        """The connection was lost (``reason`` says how): from now on the view may be stale.

        The view keeps reconnecting by its schedule; ``on_reconnected``
        follows when it is back (or ``on_gave_up`` when it stops trying).
        Told once per outage.
        """

    def on_reconnected(self) -> None:
        """The connection is back; the view resyncs now.

        What changed meanwhile is told next (``on_join``, ``on_leave`` with
        the reason the service's events gave, else ``"resync"``, and
        ``on_state_change``), then ``on_sync``: the view is live again.
        """

    def on_gave_up(self, reason: str) -> None:
        """The view stopped trying to keep up (``reason`` says why): its data is stale.

        Told when a view made with a finite ``reconnection`` schedule runs
        out of attempts, when the service refuses the subscription (400 or
        403), and when the client is stopped or unsubscribes from
        everything.  After a run-out schedule the view comes back (with
        ``on_reconnected``) if the client's subscribe loop does, e.g. after
        ``pubnub.reconnect()``; after the others it is over.
        """


class Notifier:
    """Turns :class:`~pubnub_twisted.presence_view._table.Change` values into listener calls.

    With ``grace`` > 0 a leave is told only after ``grace`` seconds on
    ``clock``; if the uuid comes back to the channel first, neither the
    leave nor the join is told (an ``on_state_change`` is, when it came back
    with another state).
    """

    def __init__(self, clock: IReactorTime, grace: float) -> None:
        self._clock = clock
        self._grace = grace
        self._listeners: list[PresenceViewListener] = []
        # (channel, uuid) -> (reason, state last told, timer) of a leave held back
        self._held: dict[tuple[str, str], tuple[str, State, IDelayedCall]] = {}
        self._closed = False

    def add(self, listener: PresenceViewListener) -> None:
        """Add a listener (once)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove(self, listener: PresenceViewListener) -> None:
        """Remove a listener (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def tell(self, changes: Iterable[Change]) -> None:
        """Notify every change, holding leaves back for the grace window."""
        for change in changes:
            key = (change.channel, change.uuid)
            held = self._held.pop(key, None)
            if held is not None:
                held[2].cancel()
            if change.kind == "leave" and self._grace > 0:
                told = change.state if held is None else held[1]
                timer = self._clock.callLater(self._grace, self._release, key)
                self._held[key] = (change.reason, told, timer)
            elif change.kind == "leave":
                self._call("on_leave", change.channel, change.uuid, change.reason)
            elif held is not None:  # back within the grace window
                if held[1] != change.state:
                    self._call("on_state_change", change.channel, change.uuid, change.state)
            elif change.kind == "join":
                self._call("on_join", change.channel, change.uuid, change.state)
            else:
                self._call("on_state_change", change.channel, change.uuid, change.state)

    def synced(self) -> None:
        """Tell every listener the view was reconciled."""
        self._call("on_sync")

    def disconnected(self, reason: str) -> None:
        """Tell every listener the connection was lost."""
        self._call("on_disconnected", reason)

    def reconnected(self) -> None:
        """Tell every listener the connection is back."""
        self._call("on_reconnected")

    def gave_up(self, reason: str) -> None:
        """Tell every listener the view stopped trying."""
        self._call("on_gave_up", reason)

    def _release(self, key: tuple[str, str]) -> None:
        reason, _, _ = self._held.pop(key)
        self._call("on_leave", key[0], key[1], reason)

    def _call(self, method: str, *args: Any) -> None:
        for listener in list(self._listeners):
            if self._closed:
                return
            try:
                getattr(listener, method)(*args)
            except Exception:
                _log.failure(
                    "presence view listener {listener!r} raised in {method}()",
                    listener=listener,
                    method=method,
                )

    def close(self) -> None:
        """No more calls: drop the held leaves (and their timers) and the listeners."""
        self._closed = True
        for _, _, timer in self._held.values():
            timer.cancel()
        self._held.clear()
        self._listeners.clear()
