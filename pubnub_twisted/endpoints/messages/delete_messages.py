"""delete_messages: remove stored messages of one channel.

``DELETE /v3/history/sub-key/{sub}/channel/{ch}`` with ``start``
(exclusive) and ``end`` (inclusive): to delete the message published at
``t``, pass ``start(t - 1)`` and ``end(t)``.  PubNub accepts it only signed
(configure ``secret_key``) or with a token that grants delete.
"""

from __future__ import annotations

from pubnub_twisted.endpoints.messages._common import OneChannel, TimeRange
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import JSONObject
from pubnub_twisted.models_messages import PNDeleteMessagesResult
from pubnub_twisted.protocol import QueryPairs, encode

__all__ = ["DeleteMessages"]


class DeleteMessages(TimeRange, OneChannel[PNDeleteMessagesResult]):
    """``pubnub.delete_messages()``: ``.channel("lobby").start(t1).end(t2).deferred()``."""

    _operation = PNOperationType.PNHistoryDeleteOperation

    def _validate(self) -> None:
        self._checked_channel()

    def _method(self) -> str:
        return "DELETE"

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/history/sub-key/{subscribe_key}/channel/{encode(self._checked_channel())}"

    def _query(self) -> QueryPairs:
        return self._range_query()

    def _parse(self, data: JSONObject) -> PNDeleteMessagesResult:
        return PNDeleteMessagesResult()
