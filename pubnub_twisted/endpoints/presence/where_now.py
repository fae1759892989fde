"""where_now: the channels a uuid is present on."""

from __future__ import annotations

from pubnub_twisted.endpoints.base import Endpoint, TargetUUID, expect, expect_names
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import JSONObject, PNWhereNowResult

__all__ = ["WhereNow"]


class WhereNow(TargetUUID, Endpoint[PNWhereNowResult]):
    """``pubnub.where_now()``: where a uuid (by default this client's) is present."""

    _operation = PNOperationType.PNWhereNowOperation

    def _validate(self) -> None:
        self._target_segment()

    def _path(self, subscribe_key: str) -> str:
        return f"/v2/presence/sub-key/{subscribe_key}/uuid/{self._target_segment()}"

    def _parse(self, data: JSONObject) -> PNWhereNowResult:
        return PNWhereNowResult(expect_names(expect(data, "payload", dict), "channels"))
