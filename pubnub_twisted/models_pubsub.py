"""Real-time results: what listeners receive, and ``time()``'s result.

Frozen values with readable ``repr``/``str``, like those in
:mod:`pubnub_twisted.models`.  Parsing from the wire lives with the subscribe
endpoint (:mod:`pubnub_twisted.endpoints.pubsub.subscribe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pubnub_twisted.models import JSONObject
from pubnub_twisted.protocol import TIMETOKENS_PER_SECOND

__all__ = ["PNMessageResult", "PNPresenceEventResult", "PNSignalMessageResult", "PNTimeResponse"]


@dataclass(frozen=True, slots=True)
class PNPresenceEventResult:
    """One presence event on a channel: join, leave, timeout, state-change or interval.

    ``channel`` is the data channel (never ends in ``-pnpres``).
    ``subscription`` is ``None`` when the event came through a direct
    subscription, else the channel group it came through (without
    ``-pnpres``).  ``timestamp`` is unix seconds; ``timetoken`` the event's
    precise time (unix time x 10**7).  ``state`` is the ``data`` the event
    carries (the new state on a state-change), ``None`` when it carries none.
    ``uuid`` is ``None`` on interval events, which carry instead the uuids
    that joined, left and timed out since the previous one in ``join``,
    ``leave`` and ``timeout`` (``None`` on every other event, and when the
    service sent none).  ``here_now_refresh`` true means the service left
    those lists out (too long): call ``here_now()`` to catch up.
    ``precise_timestamp`` is the event's time in unix milliseconds, when the
    service sent one (PubNub does since 2024, except on interval events);
    ``None`` otherwise.
    """

    event: str
    uuid: str | None
    timestamp: int
    occupancy: int
    state: JSONObject | None
    channel: str
    subscription: str | None
    timetoken: int
    join: list[str] | None = None
    leave: list[str] | None = None
    timeout: list[str] | None = None
    here_now_refresh: bool = False
    precise_timestamp: int | None = None

    def __str__(self) -> str:
        via = "" if self.subscription is None else f" via {self.subscription}"
        text = f"{self.event} {self.channel}{via}"
        if self.uuid is not None:
            text += f" {self.uuid}"
        text += f" occupancy={self.occupancy}"
        if self.state is not None:
            text += f" state={self.state}"
        for name in ("join", "leave", "timeout"):
            uuids = getattr(self, name)
            if uuids is not None:
                text += f" {name}=[{', '.join(uuids)}]"
        if self.here_now_refresh:
            text += " here_now_refresh"
        return f"{text} @{self.timetoken}"


@dataclass(frozen=True, slots=True)
class PNMessageResult:
    """A message published on a subscribed channel.

    ``subscription`` is ``None`` for a direct subscription, else the channel
    group (or wildcard) it came through.  ``publisher`` is the uuid that
    published it, when the service says.  ``user_metadata`` is the publish
    ``meta``, if any; ``custom_message_type`` the publisher's own type label.
    With a cipher key configured, ``message`` is decrypted; when it cannot
    be, ``message`` is what arrived and ``error`` says why (a
    ``PubNubException`` with ``PNERR_DECRYPTION_ERROR``; listeners also get
    a ``PNDecryptionErrorCategory`` status).
    """

    message: Any
    channel: str
    subscription: str | None
    timetoken: int
    publisher: str | None = None
    user_metadata: Any = None
    custom_message_type: str | None = None
    error: Exception | None = None

    _kind = "message"

    def __str__(self) -> str:
        via = "" if self.subscription is None else f" via {self.subscription}"
        by = "" if self.publisher is None else f" from {self.publisher}"
        kind = "" if self.custom_message_type is None else f" ({self.custom_message_type})"
        failed = "" if self.error is None else f" [not decrypted: {self.error}]"
        return (
            f"{self._kind}{kind} on {self.channel}{via}{by}: {self.message!r}"
            f" @{self.timetoken}{failed}"
        )


@dataclass(frozen=True, slots=True)
class PNSignalMessageResult(PNMessageResult):
    """A signal (a small message, never stored, never encrypted) on a subscribed channel."""

    _kind = "signal"


@dataclass(frozen=True, slots=True)
class PNTimeResponse:
    """``time()``: the service's current timetoken (unix time x 10**7)."""

    timetoken: int

    def date_time(self) -> datetime:
        """The timetoken as an aware UTC ``datetime``."""
        return datetime.fromtimestamp(self.timetoken / TIMETOKENS_PER_SECOND, UTC)

    def __int__(self) -> int:
        return self.timetoken

    def __str__(self) -> str:
        return str(self.timetoken)
