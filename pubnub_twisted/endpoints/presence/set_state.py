"""set_state: set this client's state on channels and channel groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pubnub_twisted.endpoints.base import (
    UNSET,
    ActingUUID,
    ChannelsAndGroups,
    check_state,
    expect,
)
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import PNERR_STATE_MISSING, PubNubException
from pubnub_twisted.models import JSONObject, PNSetStateResult
from pubnub_twisted.protocol import QueryPairs, encode

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["SetState"]


class SetState(ActingUUID, ChannelsAndGroups[PNSetStateResult]):
    """``pubnub.set_state()``: this client's state (or ``.uuid()``'s) on every channel given.

    With channel groups the state applies to every channel of each group.
    The state is a JSON object (a ``dict`` with string keys); the service
    echoes it back as the result.
    """

    _operation = PNOperationType.PNSetStateOperation

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._state: Any = UNSET
        self._state_json = ""

    def state(self, state: JSONObject) -> Self:
        """The state to set (replaces any state set before on those channels)."""
        self._state = state
        return self

    def _validate(self) -> None:
        self._require_names()
        if self._state is UNSET:
            raise PubNubException("no state given", pn_error=PNERR_STATE_MISSING)
        self._state_json = check_state(self._state)

    def _path(self, subscribe_key: str) -> str:
        uuid = encode(self._sender_uuid())
        return self._channel_path(subscribe_key, f"/uuid/{uuid}/data")

    def _query(self) -> QueryPairs:
        return [("state", self._state_json), *self._group_query()]

    def _parse(self, data: JSONObject) -> PNSetStateResult:
        return PNSetStateResult(expect(data, "payload", dict))
