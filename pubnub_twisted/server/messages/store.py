"""The message store: published messages kept per channel for history.

Pure logic with no HTTP in it.  Every subscribe key is a separate key
space.  The store is bounded: at most ``max_per_channel`` messages per
channel and ``max_total`` over all channels, the oldest going first.  A
message published with a ``ttl`` (hours) expires on the injected clock;
``default_ttl`` (hours, ``None``: never) applies to the others.

Time ranges follow PubNub's history API:

* :meth:`MessageStore.fetch`: ``start`` is exclusive and newer, ``end``
  inclusive and older (``end <= t < start``); the newest ``limit`` of the
  range come back, oldest first.  Paging backwards means passing the
  oldest timetoken received as the next ``start``.
* :meth:`MessageStore.count`: messages newer than a timetoken (``t > since``).
* :meth:`MessageStore.delete`: ``start < t <= end``, the form PubNub's
  docs use to delete one message (``start = t - 1``, ``end = t``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from twisted.internet.interfaces import IReactorTime

__all__ = ["DEFAULT_MAX_PER_CHANNEL", "DEFAULT_MAX_TOTAL", "MessageStore", "StoredMessage"]

#: Messages kept per channel by default.
DEFAULT_MAX_PER_CHANNEL: Final = 1000
#: Messages kept over all channels by default.
DEFAULT_MAX_TOTAL: Final = 100_000
_HOUR: Final = 3600.0


@dataclass(eq=False, slots=True)
class StoredMessage:
    """One stored message.  ``expires`` is a clock time in seconds (``None``: never)."""

    timetoken: int
    channel: str
    message: object
    publisher: str | None = None
    meta: object = None
    custom_message_type: str | None = None
    expires: float | None = None
    removed: bool = field(default=False, repr=False)


_Key = tuple[str, str]


class MessageStore:
    """Messages per ``(subscribe key, channel)``, in timetoken order, bounded."""

    def __init__(
        self,
        clock: IReactorTime,
        *,
        max_per_channel: int = DEFAULT_MAX_PER_CHANNEL,
        max_total: int = DEFAULT_MAX_TOTAL,
        default_ttl: float | None = None,
    ) -> None:
        if max_per_channel < 1 or max_total < 1:
            raise ValueError("max_per_channel and max_total must be at least 1")
        if default_ttl is not None and not default_ttl > 0:
            raise ValueError("default_ttl must be positive (or None: keep until evicted)")
        self.clock = clock
        self.max_per_channel = max_per_channel
        self.max_total = max_total
        self.default_ttl = default_ttl
        self._channels: dict[_Key, deque[StoredMessage]] = {}
        # Every live message in timetoken order (plus removed ones, dropped lazily).
        self._all: deque[tuple[_Key, StoredMessage]] = deque()
        self._count = 0
        # Channels holding messages with an expiry (only those are scanned for it).
        self._expiring: set[_Key] = set()

    def __len__(self) -> int:
        """How many messages are stored (expired ones until they are noticed)."""
        return self._count

    def add(
        self,
        sub_key: str,
        message: StoredMessage,
        ttl: float | None = None,
    ) -> None:
        """Store ``message``; ``ttl`` in hours (``None`` or 0: the store's default).

        Timetokens must grow: the subscribe hub hands them out in order.
        """
        hours = ttl if ttl else self.default_ttl
        if hours is not None:
            message.expires = self.clock.seconds() + hours * _HOUR
        key = (sub_key, message.channel)
        if message.expires is not None:
            self._expiring.add(key)
        channel = self._channels.setdefault(key, deque())
        channel.append(message)
        self._all.append((key, message))
        self._count += 1
        if len(channel) > self.max_per_channel:
            self._drop(key, channel.popleft())
        while self._count > self.max_total:
            oldest_key, oldest = self._all.popleft()
            if not oldest.removed:
                # The oldest live message overall is its channel's oldest too.
                self._drop(oldest_key, self._channels[oldest_key].popleft())
        if len(self._all) > 2 * self._count + 64:
            self._all = deque(item for item in self._all if not item[1].removed)

    def _drop(self, key: _Key, message: StoredMessage) -> None:
        message.removed = True
        self._count -= 1
        if not self._channels.get(key):
            self._channels.pop(key, None)
            self._expiring.discard(key)

    def _live(self, sub_key: str, channel: str) -> deque[StoredMessage]:
        """The channel's messages, expired ones removed first."""
        key = (sub_key, channel)
        messages = self._channels.get(key)
        if not messages:
            return deque()
        if key not in self._expiring:
            return messages
        now = self.clock.seconds()
        if not any(m.expires is not None for m in messages):
            self._expiring.discard(key)
        elif any(m.expires is not None and m.expires <= now for m in messages):
            kept: deque[StoredMessage] = deque()
            for message in messages:
                if message.expires is not None and message.expires <= now:
                    message.removed = True
                    self._count -= 1
                else:
                    kept.append(message)
            if kept:
                self._channels[key] = kept
            else:
                del self._channels[key]
                self._expiring.discard(key)
            messages = kept
        return messages

    def fetch(
        self,
        sub_key: str,
        channel: str,
        *,
        start: int | None,
        end: int | None,
        limit: int,
        oldest: bool = False,
    ) -> list[StoredMessage]:
        """The newest ``limit`` messages with ``end <= t < start``, oldest first.

        ``oldest``: the oldest ``limit`` of the range instead (v2 history's ``reverse``).
        """
        found: list[StoredMessage] = []
        messages = self._live(sub_key, channel)
        for message in messages if oldest else reversed(messages):
            if start is not None and message.timetoken >= start:
                if oldest:
                    break
                continue
            if end is not None and message.timetoken < end:
                if oldest:
                    continue
                break
            found.append(message)
            if len(found) >= limit:
                break
        if not oldest:
            found.reverse()
        return found

    def count(self, sub_key: str, channel: str, since: int) -> int:
        """How many messages on ``channel`` are newer than ``since``."""
        total = 0
        for message in reversed(self._live(sub_key, channel)):
            if message.timetoken <= since:
                break
            total += 1
        return total

    def delete(self, sub_key: str, channel: str, *, start: int | None, end: int | None) -> int:
        """Delete the messages with ``start < t <= end`` (bounds optional); return how many."""
        key = (sub_key, channel)
        messages = self._live(sub_key, channel)
        kept: deque[StoredMessage] = deque()
        deleted = 0
        for message in messages:
            after = start is None or message.timetoken > start
            before = end is None or message.timetoken <= end
            if after and before:
                message.removed = True
                self._count -= 1
                deleted += 1
            else:
                kept.append(message)
        if kept:
            self._channels[key] = kept
        else:
            self._channels.pop(key, None)
            self._expiring.discard(key)
        return deleted

    def channels(self, sub_key: str) -> Iterable[str]:
        """The channels of ``sub_key`` that hold messages (expired ones perhaps)."""
        return [channel for key, channel in self._channels if key == sub_key]
