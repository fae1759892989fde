"""get_state: a uuid's state on channels and channel groups."""

from __future__ import annotations

from pubnub_twisted.endpoints.base import (
    ChannelsAndGroups,
    ResponseShapeError,
    TargetUUID,
    expect,
)
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import JSONObject, PNGetStateResult
from pubnub_twisted.protocol import QueryPairs

__all__ = ["GetState"]


class GetState(TargetUUID, ChannelsAndGroups[PNGetStateResult]):
    """``pubnub.get_state()``: the state of a uuid (by default this client's).

    The result maps every channel to the uuid's state there, ``{}`` where it
    has none, whether one channel or several were asked about.
    """

    _operation = PNOperationType.PNGetState

    def _validate(self) -> None:
        self._require_names()
        self._target_segment()

    def _path(self, subscribe_key: str) -> str:
        return self._channel_path(subscribe_key, f"/uuid/{self._target_segment()}")

    def _query(self) -> QueryPairs:
        return self._group_query()

    def _parse(self, data: JSONObject) -> PNGetStateResult:
        payload = expect(data, "payload", dict)
        if len(self._channels) == 1 and not self._groups:
            # The flat shape: the payload is the state on the one channel.
            return PNGetStateResult({self._channels[0]: payload})
        states: dict[str, JSONObject] = {channel: {} for channel in self._channels}
        for channel, state in expect(payload, "channels", dict).items():
            if not isinstance(state, dict):
                raise ResponseShapeError(f"state on {channel!r} is not an object")
            states[channel] = state
        return PNGetStateResult(states)
