"""message_counts: how many messages each channel got since a timetoken.

``GET /v3/history/sub-key/{sub}/message-counts/{chs}`` with ``timetoken``
(one for every channel) or ``channelsTimetoken`` (one per channel, in order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pubnub_twisted.endpoints.base import ChannelsAndGroups, Names, ResponseShapeError, expect
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_INVALID_ARGUMENT,
    PubNubException,
)
from pubnub_twisted.models import JSONObject
from pubnub_twisted.models_messages import PNMessageCountResult
from pubnub_twisted.protocol import QueryPairs, encode_names

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["MessageCounts"]


class MessageCounts(ChannelsAndGroups[PNMessageCountResult]):
    """``pubnub.message_counts()``: ``.channels(["a", "b"]).channel_timetokens([tt]).deferred()``.

    One timetoken applies to every channel; otherwise give one per channel.
    """

    _operation = PNOperationType.PNMessageCountOperation

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._timetokens: list[Any] = []

    def channel(self, *names: Names) -> Self:
        """The same as :meth:`channels` (PubNub's SDK spells it this way)."""
        return self.channels(*names)

    def channel_timetokens(self, timetokens: list[int]) -> Self:
        """Count messages newer than these timetokens (one, or one per channel)."""
        self._timetokens = list(timetokens)
        return self

    def _validate(self) -> None:
        if not self._channels:
            raise PubNubException(pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)
        tokens = self._timetokens
        if not tokens or any(
            isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in tokens
        ):
            raise PubNubException(
                f"channel_timetokens must be timetokens (ints), not {tokens!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        if len(tokens) not in (1, len(self._channels)):
            raise PubNubException(
                f"{len(self._channels)} channels but {len(tokens)} timetokens: give one, or one "
                "per channel",
                pn_error=PNERR_INVALID_ARGUMENT,
            )

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/history/sub-key/{subscribe_key}/message-counts/{encode_names(self._channels)}"

    def _query(self) -> QueryPairs:
        if len(self._timetokens) == 1:
            return [("timetoken", str(self._timetokens[0]))]
        return [("channelsTimetoken", ",".join(str(t) for t in self._timetokens))]

    def _parse(self, data: JSONObject) -> PNMessageCountResult:
        channels = expect(data, "channels", dict)
        counts = {}
        for name, count in channels.items():
            if isinstance(count, bool) or not isinstance(count, int):
                raise ResponseShapeError(f"count for {name!r} is {count!r}")
            counts[name] = count
        return PNMessageCountResult(counts)
