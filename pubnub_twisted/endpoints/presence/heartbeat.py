"""heartbeat: keep this client present on channels and channel groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pubnub_twisted.endpoints.base import ActingUUID, ChannelsAndGroups, check_state
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PNERR_STATE_MISSING, PubNubException
from pubnub_twisted.models import JSONObject, PNHeartbeatResult
from pubnub_twisted.protocol import QueryPairs

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["Heartbeat"]


def _states_json(states: Any) -> str:
    """Serialize ``{channel: state}``; ``""`` when there is none to send."""
    if isinstance(states, dict):
        if not states:
            return ""
        for channel, state in states.items():
            if not isinstance(state, dict):
                raise PubNubException(
                    f"the state of channel {channel!r} must be a dict, not {type(state).__name__}",
                    pn_error=PNERR_STATE_MISSING,
                )
    return check_state(states)


class Heartbeat(ActingUUID, ChannelsAndGroups[PNHeartbeatResult]):
    """``pubnub.heartbeat()``: announce this client on channels and groups.

    The service keeps the client present for ``presence_timeout`` seconds
    (default: the configuration's) after each heartbeat.  ``state`` maps
    channel names to the state to set there.
    """

    _operation = PNOperationType.PNHeartbeatOperation
    _wildcard_channels = True

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._state: Any = {}
        self._state_json = ""
        self._timeout: Any = None

    def state(self, state: dict[str, JSONObject]) -> Self:
        """State per channel: ``{"ch1": {"mood": "busy"}}``."""
        self._state = state
        return self

    def presence_timeout(self, seconds: int) -> Self:
        """Stay present this many seconds (1 or more) without another heartbeat."""
        self._timeout = seconds
        return self

    def _validate(self) -> None:
        self._require_names()
        self._refuse_presence_names()
        timeout = self._effective_timeout()
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
            raise PubNubException(
                f"presence_timeout must be an integer 1 or more, not {timeout!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        self._state_json = _states_json(self._state)

    def _effective_timeout(self) -> Any:
        return self._pubnub.config.presence_timeout if self._timeout is None else self._timeout

    def _path(self, subscribe_key: str) -> str:
        return self._channel_path(subscribe_key, "/heartbeat")

    def _query(self) -> QueryPairs:
        pairs: QueryPairs = [("heartbeat", str(self._effective_timeout()))]
        if self._state_json:
            pairs.append(("state", self._state_json))
        return [*pairs, *self._group_query()]

    def _parse(self, data: JSONObject) -> PNHeartbeatResult:
        return PNHeartbeatResult()
