"""Channel groups: add and remove channels, list a group's channels, delete a group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from pubnub_twisted.endpoints.base import (
    Endpoint,
    Names,
    expect,
    expect_names,
    require_encodable,
)
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_GROUP_MISSING,
    PubNubException,
)
from pubnub_twisted.models import (
    JSONObject,
    PNChannelGroupsAddChannelResult,
    PNChannelGroupsListResult,
    PNChannelGroupsRemoveChannelResult,
    PNChannelGroupsRemoveGroupResult,
)
from pubnub_twisted.protocol import QueryPairs, encode

if TYPE_CHECKING:
    from pubnub_twisted.endpoints.naming import NameRules
    from pubnub_twisted.pubnub import PubNub

__all__ = [
    "AddChannelToChannelGroup",
    "ListChannelsInChannelGroup",
    "RemoveChannelFromChannelGroup",
    "RemoveChannelGroup",
]

R = TypeVar("R")


class _GroupEndpoint(Endpoint[R]):
    """A call about one channel group (``.channel_group(name)``)."""

    #: What follows the group in the path (``/remove`` to delete it).
    _path_suffix: ClassVar[str] = ""

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._group: Any = None

    def channel_group(self, name: str) -> Self:
        """The channel group: one name (a comma in it is refused: PubNub forbids it)."""
        self._group = name
        return self

    def _validate(self) -> None:
        if not isinstance(self._group, str) or not self._group:
            raise PubNubException(
                f"channel_group must be one non-empty string, not {self._group!r}",
                pn_error=PNERR_GROUP_MISSING,
            )
        require_encodable(self._group, "channel_group", PNERR_GROUP_MISSING)

    def _check_names(self, rules: NameRules) -> None:
        rules.check("channel group", [self._group])

    def _path(self, subscribe_key: str) -> str:
        base = f"/v1/channel-registration/sub-key/{subscribe_key}/channel-group"
        return f"{base}/{encode(self._group)}{self._path_suffix}"

    def _affected(self) -> tuple[list[str] | None, list[str] | None]:
        return None, [self._group] if isinstance(self._group, str) else None


class _ChangeGroup(_GroupEndpoint[R]):
    """Add channels to a group, or remove them from it."""

    #: The query parameter that carries the channels: ``add`` or ``remove``.
    _action: ClassVar[str]

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._channels: list[str] = []

    def channels(self, *names: Names) -> Self:
        """The channels: ``"a,b"``, ``"a", "b"``, ``["a", "b"]`` or ``("a", "b")``."""
        self._channels = self._names(names, "channels")
        return self

    def _validate(self) -> None:
        super()._validate()
        if not self._channels:
            raise PubNubException(
                f"no channels to {self._action} given", pn_error=PNERR_CHANNEL_OR_GROUP_MISSING
            )

    def _check_names(self, rules: NameRules) -> None:
        super()._check_names(rules)
        rules.check("channel", self._channels)

    def _query(self) -> QueryPairs:
        return [(self._action, list(self._channels))]

    def _affected(self) -> tuple[list[str] | None, list[str] | None]:
        return list(self._channels), super()._affected()[1]


class AddChannelToChannelGroup(_ChangeGroup[PNChannelGroupsAddChannelResult]):
    """``pubnub.add_channel_to_channel_group()``: add channels to a group (creating it)."""

    _operation = PNOperationType.PNAddChannelsToGroupOperation
    _action = "add"

    def _parse(self, data: JSONObject) -> PNChannelGroupsAddChannelResult:
        return PNChannelGroupsAddChannelResult()


class RemoveChannelFromChannelGroup(_ChangeGroup[PNChannelGroupsRemoveChannelResult]):
    """``pubnub.remove_channel_from_channel_group()``: remove channels from a group."""

    _operation = PNOperationType.PNRemoveChannelsFromGroupOperation
    _action = "remove"

    def _parse(self, data: JSONObject) -> PNChannelGroupsRemoveChannelResult:
        return PNChannelGroupsRemoveChannelResult()


class ListChannelsInChannelGroup(_GroupEndpoint[PNChannelGroupsListResult]):
    """``pubnub.list_channels_in_channel_group()``: the channels of a group."""

    _operation = PNOperationType.PNChannelsForGroupOperation

    def _parse(self, data: JSONObject) -> PNChannelGroupsListResult:
        return PNChannelGroupsListResult(expect_names(expect(data, "payload", dict), "channels"))


class RemoveChannelGroup(_GroupEndpoint[PNChannelGroupsRemoveGroupResult]):
    """``pubnub.remove_channel_group()``: delete a channel group."""

    _operation = PNOperationType.PNRemoveGroupOperation
    _path_suffix = "/remove"

    def _parse(self, data: JSONObject) -> PNChannelGroupsRemoveGroupResult:
        return PNChannelGroupsRemoveGroupResult()
