"""fetch_messages: stored messages of one or more channels.

``GET /v3/history/sub-key/{sub}/channel/{chs}`` with ``max``, ``start``,
``end`` and the ``include_*`` flags.  ``start`` is exclusive and newer,
``end`` inclusive and older; the newest ``max`` messages of the range come
back, oldest first.  ``max`` is at most 100 for one channel and 25 for
several (larger values are lowered, as PubNub's SDK does).  With a cipher
key the messages are decrypted; one that cannot be keeps its stored form
and its ``error``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pubnub_twisted.endpoints.base import ChannelsAndGroups, ResponseShapeError
from pubnub_twisted.endpoints.messages._common import TimeRange, decrypt_item
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_INVALID_ARGUMENT,
    PubNubException,
)
from pubnub_twisted.models import JSONObject
from pubnub_twisted.models_messages import PNFetchMessageItem, PNFetchMessagesResult
from pubnub_twisted.protocol import (
    MAX_HISTORY_MULTIPLE,
    MAX_HISTORY_SINGLE,
    QueryPairs,
    encode_names,
)

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["FetchMessages"]


def _timetoken(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ResponseShapeError(f"{what} is {value!r}, not a timetoken")
    return int(value)


class FetchMessages(TimeRange, ChannelsAndGroups[PNFetchMessagesResult]):
    """``pubnub.fetch_messages()``: ``.channels(["lobby"]).maximum_per_channel(25).deferred()``."""

    _operation = PNOperationType.PNFetchMessagesOperation

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._count: int | None = None
        self._flags: dict[str, bool] = {}

    def maximum_per_channel(self, count: int) -> Self:
        """Messages per channel (at most 100 for one channel, 25 for several)."""
        self._count = self._timetoken_arg(count, "maximum_per_channel")
        return self

    #: PubNub's older name.
    count = maximum_per_channel

    def _include(self, name: str, value: bool) -> Self:
        self._flags[name] = self._flag(value, name)
        return self

    def include_meta(self, include: bool) -> Self:
        """Each message's publish ``meta``."""
        return self._include("include_meta", include)

    def include_uuid(self, include: bool) -> Self:
        """Each message's publisher."""
        return self._include("include_uuid", include)

    def include_message_type(self, include: bool) -> Self:
        """Each message's PubNub type (None: a message; 4: a file)."""
        return self._include("include_message_type", include)

    def include_custom_message_type(self, include: bool) -> Self:
        """Each message's custom type."""
        return self._include("include_custom_message_type", include)

    def _validate(self) -> None:
        if not self._channels:
            raise PubNubException(pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)
        if self._groups:
            raise PubNubException(
                "fetch_messages takes channels, not channel groups", pn_error=PNERR_INVALID_ARGUMENT
            )

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/history/sub-key/{subscribe_key}/channel/{encode_names(self._channels)}"

    def _query(self) -> QueryPairs:
        cap = MAX_HISTORY_SINGLE if len(self._channels) == 1 else MAX_HISTORY_MULTIPLE
        count = self._count if self._count else cap
        pairs: QueryPairs = [("max", str(min(count, cap)))]
        pairs.extend(self._range_query())
        pairs.extend((name, "true" if on else "false") for name, on in self._flags.items())
        return pairs

    def _item(self, raw: Any) -> PNFetchMessageItem:
        if not isinstance(raw, dict) or "message" not in raw:
            raise ResponseShapeError(f"a message entry is {raw!r}"[:200])
        message, error = decrypt_item(self._pubnub, raw["message"])
        uuid, kind, custom = (
            raw.get("uuid"),
            raw.get("message_type"),
            raw.get("custom_message_type"),
        )
        actions = raw.get("actions")
        return PNFetchMessageItem(
            message=message,
            timetoken=_timetoken(raw.get("timetoken"), "timetoken"),
            meta=raw.get("meta") or None,
            uuid=uuid if isinstance(uuid, str) else None,
            message_type=_timetoken(kind, "message_type") if kind not in (None, "") else None,
            custom_message_type=custom if isinstance(custom, str) else None,
            actions=actions if isinstance(actions, dict) else None,
            error=error,
        )

    def _parse(self, data: JSONObject) -> PNFetchMessagesResult:
        channels = data.get("channels") or {}
        if not isinstance(channels, dict):
            raise ResponseShapeError(f"'channels' is {type(channels).__name__}, not an object")
        found = {}
        for name, items in channels.items():
            if not isinstance(items, list):
                raise ResponseShapeError(f"channel {name!r} holds {type(items).__name__}")
            found[name] = [self._item(item) for item in items]
        return PNFetchMessagesResult(found, self._start, self._end)
