"""Results of publish, signal, fire and the history calls.

Frozen values with readable ``repr``/``str``, named as in PubNub's Python
SDK.  Timetokens are ints (unix time x 10**7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PNDeleteMessagesResult",
    "PNFetchMessageItem",
    "PNFetchMessagesResult",
    "PNFireResult",
    "PNMessageCountResult",
    "PNPublishResult",
    "PNSignalResult",
]


@dataclass(frozen=True, slots=True)
class PNPublishResult:
    """``publish()``: the timetoken the service gave the message."""

    timetoken: int

    def __str__(self) -> str:
        return f"Publish success with timetoken {self.timetoken}"


@dataclass(frozen=True, slots=True)
class PNFireResult:
    """``fire()``: the timetoken the service gave the message (delivered to Functions only)."""

    timetoken: int

    def __str__(self) -> str:
        return f"Fire success with timetoken {self.timetoken}"


@dataclass(frozen=True, slots=True)
class PNSignalResult:
    """``signal()``: the timetoken the service gave the signal."""

    timetoken: int

    def __str__(self) -> str:
        return f"Signal success with timetoken {self.timetoken}"


@dataclass(frozen=True, slots=True)
class PNFetchMessageItem:
    """One stored message.

    ``meta``, ``uuid`` (the publisher), ``message_type`` (``None`` for a
    plain message, 4 for a file) and ``custom_message_type`` are ``None``
    unless asked for and known.  With a cipher key, ``message`` is
    decrypted; when it cannot be, it is as stored and ``error`` says why.
    """

    message: Any
    timetoken: int
    meta: Any = None
    uuid: str | None = None
    message_type: int | None = None
    custom_message_type: str | None = None
    actions: dict[str, Any] | None = None
    error: Exception | None = None

    def __str__(self) -> str:
        by = "" if self.uuid is None else f" from {self.uuid}"
        failed = "" if self.error is None else f" [not decrypted: {self.error}]"
        return f"{self.message!r}{by} @{self.timetoken}{failed}"


@dataclass(frozen=True, slots=True)
class PNFetchMessagesResult:
    """``fetch_messages()``: per channel, its messages oldest first.

    A channel with no message in the range is absent from ``channels``.
    ``start_timetoken`` and ``end_timetoken`` echo the request's bounds.
    To page back in time, fetch again with ``start`` set to the oldest
    timetoken received.
    """

    channels: dict[str, list[PNFetchMessageItem]] = field(default_factory=dict)
    start_timetoken: int | None = None
    end_timetoken: int | None = None

    def __str__(self) -> str:
        counts = ", ".join(f"{name}: {len(items)}" for name, items in self.channels.items())
        return f"Fetch messages result ({counts or 'no messages'})"


@dataclass(frozen=True, slots=True)
class PNMessageCountResult:
    """``message_counts()``: per channel, how many messages are newer than its timetoken."""

    channels: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Message count for channels: {self.channels}"


@dataclass(frozen=True, slots=True)
class PNDeleteMessagesResult:
    """``delete_messages()``: the service deleted the range."""

    def __str__(self) -> str:
        return "Messages deleted"
