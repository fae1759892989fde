"""``SubscribeCallback``, what a listener of the subscribe loop implements, and
``SubscribeListener``, a listener that gives Deferreds for what one waits for."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from twisted.internet.defer import Deferred, succeed

from pubnub_twisted.enums import PNStatusCategory

if TYPE_CHECKING:
    from pubnub_twisted.models import PNStatus
    from pubnub_twisted.models_pubsub import (
        PNMessageResult,
        PNPresenceEventResult,
        PNSignalMessageResult,
    )
    from pubnub_twisted.pubnub import PubNub

__all__ = ["SubscribeCallback", "SubscribeListener"]

T = TypeVar("T")


class SubscribeCallback:
    """Subclass it and override what you need; each method does nothing by default.

    Register with ``pubnub.add_listener(listener)``.  Listeners are called on
    the reactor thread, in the order they were added, never on other
    threads.  An exception raised by a listener is logged (``twisted.logger``)
    and does not stop the loop or the other listeners.  Methods should not
    block: the reactor waits for them.
    """

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        """The loop's state changed: connected, reconnected, disconnected, ..."""

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        """A message arrived on a subscribed channel."""

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        """A presence event (join, leave, timeout, state-change, interval) arrived."""

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        """A signal arrived on a subscribed channel."""


class _Queue(Generic[T]):
    """Items that arrived, and waiters for items still to come; each item goes to one taker."""

    def __init__(self, keep: int) -> None:
        self._items: deque[T] = deque(maxlen=keep)
        self._waiters: list[tuple[Callable[[T], bool], Deferred[T]]] = []

    def put(self, item: T) -> None:
        for waiter in self._waiters:
            matches, d = waiter
            if matches(item):
                self._waiters.remove(waiter)
                d.callback(item)
                return
        self._items.append(item)

    def take(self, matches: Callable[[T], bool]) -> Deferred[T]:
        for item in self._items:
            if matches(item):
                self._items.remove(item)
                return succeed(item)

        def forget(d: Deferred[T]) -> None:
            self._waiters.remove((matches, d))

        waiting: Deferred[T] = Deferred(forget)
        self._waiters.append((matches, waiting))
        return waiting


class SubscribeListener(SubscribeCallback):
    """A listener that gives Deferreds for what a test or a script waits for.

    Like the ``SubscribeListener`` of PubNub's asyncio SDK: statuses,
    presence events and messages are queued as they arrive (the last
    ``keep`` of each), and each ``wait_for_...`` fires with the first queued
    one that matches and was not handed out before, or with the next one to
    arrive.  So an event that arrived before the wait began is not missed,
    and two waits never get the same event.  Cancel the Deferred (or use
    ``d.addTimeout(seconds, clock)``) to stop waiting::

        listener = SubscribeListener()
        pubnub.add_listener(listener)
        pubnub.subscribe().channels("lobby").with_presence().execute()
        yield listener.wait_for_connect()
        event = yield listener.wait_for_presence(channel="lobby", uuid="alice", event="join")
    """

    def __init__(self, keep: int = 1000) -> None:
        self._statuses: _Queue[PNStatus] = _Queue(keep)
        self._presence: _Queue[PNPresenceEventResult] = _Queue(keep)
        self._messages: _Queue[PNMessageResult] = _Queue(keep)
        self._signals: _Queue[PNSignalMessageResult] = _Queue(keep)

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        """Queue the status for :meth:`wait_for_status`."""
        self._statuses.put(status)

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        """Queue the event for :meth:`wait_for_presence`."""
        self._presence.put(event)

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        """Queue the message for :meth:`wait_for_message`."""
        self._messages.put(message)

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        """Queue the signal for :meth:`wait_for_signal`."""
        self._signals.put(signal)

    def wait_for_status(self, *categories: PNStatusCategory) -> Deferred[PNStatus]:
        """The next status in one of ``categories`` (any status when none are given)."""
        wanted = set(categories)
        return self._statuses.take(lambda status: not wanted or status.category in wanted)

    def wait_for_connect(self) -> Deferred[PNStatus]:
        """The next ``PNConnectedCategory`` or ``PNReconnectedCategory`` status."""
        return self.wait_for_status(
            PNStatusCategory.PNConnectedCategory, PNStatusCategory.PNReconnectedCategory
        )

    def wait_for_disconnect(self) -> Deferred[PNStatus]:
        """The next ``PNDisconnectedCategory`` or ``PNUnexpectedDisconnectCategory`` status."""
        return self.wait_for_status(
            PNStatusCategory.PNDisconnectedCategory,
            PNStatusCategory.PNUnexpectedDisconnectCategory,
        )

    def wait_for_presence(
        self,
        *,
        channel: str | None = None,
        uuid: str | None = None,
        event: str | None = None,
        match: Callable[[PNPresenceEventResult], bool] | None = None,
    ) -> Deferred[PNPresenceEventResult]:
        """The next presence event on ``channel``, of ``uuid``, of kind ``event``
        (``"join"``, ``"leave"``, ...), for which ``match(event)`` is true; ``None`` matches
        anything."""

        def matches(item: PNPresenceEventResult) -> bool:
            return (
                (channel is None or item.channel == channel)
                and (uuid is None or item.uuid == uuid)
                and (event is None or item.event == event)
                and (match is None or match(item))
            )

        return self._presence.take(matches)

    def wait_for_message(
        self,
        *,
        channel: str | None = None,
        match: Callable[[PNMessageResult], bool] | None = None,
    ) -> Deferred[PNMessageResult]:
        """The next message on ``channel`` for which ``match(message)`` is true."""

        def matches(item: PNMessageResult) -> bool:
            return (channel is None or item.channel == channel) and (match is None or match(item))

        return self._messages.take(matches)

    def wait_for_signal(self, *, channel: str | None = None) -> Deferred[PNSignalMessageResult]:
        """The next signal on ``channel`` (on any channel when ``None``)."""
        return self._signals.take(lambda item: channel is None or item.channel == channel)
