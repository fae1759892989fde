"""Results, statuses and envelopes: the typed values every call fires with.

All are immutable values with readable ``repr``/``str`` that never raise and
never show secrets.  Names follow PubNub's documentation so its examples
read the same with this SDK.  Sequences are always lists (never ``{}`` or
``None``), mappings always dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from pubnub_twisted.enums import PNOperationType, PNStatusCategory

__all__ = [
    "JSONObject",
    "PNChannelGroupsAddChannelResult",
    "PNChannelGroupsListResult",
    "PNChannelGroupsRemoveChannelResult",
    "PNChannelGroupsRemoveGroupResult",
    "PNEnvelope",
    "PNErrorData",
    "PNGetStateResult",
    "PNHeartbeatResult",
    "PNHereNowChannelData",
    "PNHereNowOccupantData",
    "PNHereNowOccupantsData",
    "PNHereNowResult",
    "PNLeaveResult",
    "PNSetStateResult",
    "PNStatus",
    "PNWhereNowResult",
]

#: A decoded JSON object (presence state is always one).
JSONObject = dict[str, Any]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PNErrorData:
    """Why a call failed: a sentence, and the exception behind it."""

    information: str
    exception: BaseException | None = None

    def __str__(self) -> str:
        return self.information


@dataclass(frozen=True, slots=True)
class PNStatus:
    """The outcome of one call: category, HTTP code and context.

    ``error_data`` is set exactly when ``error`` is true.  ``original_response``
    is the decoded JSON body when there was one (or ``None``).
    """

    category: PNStatusCategory
    operation: PNOperationType
    status_code: int | None = None
    error: bool = False
    error_data: PNErrorData | None = None
    tls_enabled: bool = False
    origin: str | None = None
    uuid: str | None = None
    affected_channels: list[str] | None = None
    affected_groups: list[str] | None = None
    original_response: Any = field(default=None, repr=False)

    def is_error(self) -> bool:
        """True when the call failed."""
        return self.error

    def __str__(self) -> str:
        text = f"{self.category.name} {self.operation.name}"
        if self.status_code is not None:
            text += f" HTTP {self.status_code}"
        if self.error_data is not None:
            text += f": {self.error_data.information}"
        return text


@dataclass(frozen=True, slots=True)
class PNEnvelope(Generic[T]):
    """What ``.deferred()`` fires with: ``result`` (``None`` on error) and ``status``."""

    result: T | None
    status: PNStatus

    def __str__(self) -> str:
        return f"{self.result} [{self.status}]"


class PNHereNowOccupantData(NamedTuple):
    """One occupant of a channel: its uuid and, when asked for, its state.

    A named tuple (immutable and cheap to build: a big here_now answer has
    hundreds of thousands of these).
    """

    uuid: str
    state: JSONObject | None = None

    def __str__(self) -> str:
        if self.state is None:
            return self.uuid
        return f"{self.uuid} {self.state}"


#: The old SDK's spelling of :class:`PNHereNowOccupantData`, kept so its imports work.
PNHereNowOccupantsData = PNHereNowOccupantData


@dataclass(frozen=True, slots=True)
class PNHereNowChannelData:
    """Presence on one channel."""

    channel_name: str
    occupancy: int
    occupants: list[PNHereNowOccupantData]

    def __str__(self) -> str:
        names = ", ".join(str(occupant) for occupant in self.occupants)
        return f"{self.channel_name}: {self.occupancy} [{names}]"


@dataclass(frozen=True, slots=True)
class PNHereNowResult:
    """here_now: who is on the channels asked about."""

    total_channels: int
    total_occupancy: int
    channels: list[PNHereNowChannelData]

    def __str__(self) -> str:
        return f"HereNow: {self.total_channels} channel(s), {self.total_occupancy} occupant(s)"


@dataclass(frozen=True, slots=True)
class PNWhereNowResult:
    """where_now: the channels a uuid is present on."""

    channels: list[str]

    def __str__(self) -> str:
        return "WhereNow: " + ", ".join(self.channels)


@dataclass(frozen=True, slots=True)
class PNSetStateResult:
    """set_state: the state the service stored (it echoes it)."""

    state: JSONObject

    def __str__(self) -> str:
        return f"SetState: {self.state}"


@dataclass(frozen=True, slots=True)
class PNGetStateResult:
    """get_state: the uuid's state per channel (``{}`` where it has none)."""

    channels: dict[str, JSONObject]

    def __str__(self) -> str:
        return f"GetState: {self.channels}"


@dataclass(frozen=True, slots=True)
class PNHeartbeatResult:
    """heartbeat: acknowledged."""

    def __str__(self) -> str:
        return "Heartbeat: OK"


@dataclass(frozen=True, slots=True)
class PNLeaveResult:
    """leave: acknowledged."""

    def __str__(self) -> str:
        return "Leave: OK"


@dataclass(frozen=True, slots=True)
class PNChannelGroupsAddChannelResult:
    """Channels were added to a channel group."""

    def __str__(self) -> str:
        return "Channels added to group"


@dataclass(frozen=True, slots=True)
class PNChannelGroupsRemoveChannelResult:
    """Channels were removed from a channel group."""

    def __str__(self) -> str:
        return "Channels removed from group"


@dataclass(frozen=True, slots=True)
class PNChannelGroupsRemoveGroupResult:
    """A channel group was deleted."""

    def __str__(self) -> str:
        return "Group removed"


@dataclass(frozen=True, slots=True)
class PNChannelGroupsListResult:
    """The channels of a channel group."""

    channels: list[str]

    def __str__(self) -> str:
        return "Group channels: " + ", ".join(self.channels)
