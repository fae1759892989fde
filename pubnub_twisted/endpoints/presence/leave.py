"""leave: tell the service this client left channels and channel groups."""

from __future__ import annotations

from pubnub_twisted.endpoints.base import ActingUUID, ChannelsAndGroups
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import JSONObject, PNLeaveResult
from pubnub_twisted.protocol import QueryPairs

__all__ = ["Leave"]


class Leave(ActingUUID, ChannelsAndGroups[PNLeaveResult]):
    """``pubnub.leave()``: leave channels, and every channel of the groups given.

    Presence channels (``-pnpres``) are refused: a leave names data
    channels and groups only.
    """

    _operation = PNOperationType.PNUnsubscribeOperation
    _wildcard_channels = True

    def _validate(self) -> None:
        self._require_names()
        self._refuse_presence_names()

    def _path(self, subscribe_key: str) -> str:
        return self._channel_path(subscribe_key, "/leave")

    def _query(self) -> QueryPairs:
        return self._group_query()

    def _parse(self, data: JSONObject) -> PNLeaveResult:
        return PNLeaveResult()
