"""time: the service's current timetoken (``GET /time/0``)."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from pubnub_twisted.endpoints.base import Endpoint, ResponseShapeError
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models_pubsub import PNTimeResponse
from pubnub_twisted.transport import HTTPResponse

__all__ = ["Time", "TimeProbe"]


class Time(Endpoint[PNTimeResponse]):
    """``pubnub.time()``: the service's clock, as a timetoken.

    The answer is a bare JSON array holding one number, e.g.
    ``[14818963707386265]``.
    """

    _operation = PNOperationType.PNTimeOperation
    _needs_subscribe_key = False  # as in PubNub's SDKs: time() works without keys

    def _path(self, subscribe_key: str) -> str:
        return "/time/0"

    def _decode(self, data: Any) -> PNTimeResponse:
        if not isinstance(data, list) or not data:
            raise ResponseShapeError(f"expected [timetoken], got {type(data).__name__}")
        value = data[0]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ResponseShapeError(f"the timetoken is {value!r}, not a number")
        return PNTimeResponse(int(value))


class TimeProbe(Time):
    """``/time/0`` as the subscribe loop's connectivity probe: a single attempt.

    The loop spaces its probes by its own reconnection policy, so the
    transport's REST retries are not used.
    """

    def _send(self, url: str) -> Deferred[HTTPResponse]:
        config = self._pubnub.config
        return self._pubnub._transport.get(url, config.non_subscribe_request_timeout, retries=False)
