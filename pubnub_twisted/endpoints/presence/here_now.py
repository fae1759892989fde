"""here_now: who is present on channels, groups, or the whole key set."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self

from twisted.internet.defer import Deferred

from pubnub_twisted.endpoints.base import ChannelsAndGroups, ResponseShapeError, expect
from pubnub_twisted.endpoints.presence.here_now_pages import HereNowPages
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PubNubException
from pubnub_twisted.models import (
    JSONObject,
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowResult,
)
from pubnub_twisted.protocol import MAX_HERE_NOW_LIMIT, QueryPairs, encode_names

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["HereNow"]

_new_occupant = tuple.__new__


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a big answer's values are built.

    Building 100k occupants makes the collector traverse the freshly decoded
    JSON (hundreds of thousands of objects) again and again; none of it is
    garbage yet.  Pausing it for those milliseconds halves the parse of a
    100-channel x 1,000-occupant answer.  Reference counting still frees
    everything as usual; the collector resumes (if it was on) right after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _occupants(uuids: Any) -> list[PNHereNowOccupantData]:
    """Occupants from a ``uuids`` list of strings or ``{"uuid", "state"}`` objects."""
    if not isinstance(uuids, list):
        raise ResponseShapeError(f"'uuids' is {type(uuids).__name__}, not a list")
    occupants = []
    for item in uuids:
        if isinstance(item, str):
            occupants.append(_new_occupant(PNHereNowOccupantData, (item, None)))
        elif isinstance(item, dict) and isinstance(item.get("uuid"), str):
            state = item.get("state")
            if state is not None and not isinstance(state, dict):
                raise ResponseShapeError(f"state of {item['uuid']!r} is not an object")
            occupants.append(_new_occupant(PNHereNowOccupantData, (item["uuid"], state)))
        else:
            raise ResponseShapeError(f"occupant {item!r} has no uuid")
    return occupants


def _channel(name: str, entry: Any) -> PNHereNowChannelData:
    occupancy = expect(entry, "occupancy", int)
    uuids = entry.get("uuids", [])
    return PNHereNowChannelData(name, occupancy, _occupants(uuids))


class HereNow(ChannelsAndGroups[PNHereNowResult]):
    """``pubnub.here_now()``: occupancy and occupants.

    With neither channels nor groups set it asks about every channel of the
    key set (global here_now).  Setting them to an empty list is an error,
    never a silent global query.
    """

    _operation = PNOperationType.PNHereNowOperation

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._include_state = False
        self._include_uuids = True
        self._limit: int | None = None
        self._offset: int | None = None

    def include_state(self, flag: bool = True) -> Self:
        """Also return each occupant's state (default False)."""
        self._include_state = self._flag(flag, "include_state")
        return self

    def include_uuids(self, flag: bool = True) -> Self:
        """Return the occupants' uuids (default True); False gives occupancy only."""
        self._include_uuids = self._flag(flag, "include_uuids")
        return self

    def limit(self, limit: int) -> Self:
        """At most this many occupants per channel (1 to 1000)."""
        self._limit = self._count(limit, "limit", 1, MAX_HERE_NOW_LIMIT)
        return self

    def offset(self, offset: int) -> Self:
        """Skip this many occupants per channel (for paging, with ``limit``)."""
        self._offset = self._count(offset, "offset", 0, None)
        return self

    def pages(self, page_size: int = MAX_HERE_NOW_LIMIT) -> HereNowPages:
        """Read the occupants ``page_size`` at a time (for channels over 1,000 occupants).

        ``yield pages.next()`` until it gives ``None``, or ``async for page in
        pages``; ``limit`` and ``offset`` set here are not used.  See
        :class:`~pubnub_twisted.endpoints.presence.here_now_pages.HereNowPages`.
        """
        if self._problem is not None:
            raise self._problem
        if not self._global:
            self._require_names()
        return HereNowPages(
            self._pubnub,
            channels=self._channels,
            groups=self._groups,
            include_state=self._include_state,
            page_size=page_size,
        )

    def collect(self) -> Deferred[PNHereNowResult]:
        """Every occupant, read page by page: one result (fails with ``PubNubException``)."""
        return self.pages().collect()

    def _count(self, value: Any, what: str, low: int, high: int | None) -> int | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
        if ok and (high is None or value <= high):
            return int(value)
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        self._problem = self._problem or PubNubException(
            f"{what} must be an integer {bounds}, not {value!r}", pn_error=PNERR_INVALID_ARGUMENT
        )
        return None

    @property
    def _global(self) -> bool:
        return not self._channels_given and not self._groups_given

    def _validate(self) -> None:
        if not self._global:
            self._require_names()

    def _path(self, subscribe_key: str) -> str:
        base = f"/v2/presence/sub-key/{subscribe_key}"
        if self._global:
            return base
        return f"{base}/channel/{encode_names(self._channels)}"

    def _query(self) -> QueryPairs:
        pairs = self._group_query()
        if self._include_state:
            pairs.append(("state", "1"))
        if not self._include_uuids:
            pairs.append(("disable_uuids", "1"))
        if self._limit is not None:
            pairs.append(("limit", str(self._limit)))
        if self._offset is not None:
            pairs.append(("offset", str(self._offset)))
        return pairs

    def _parse(self, data: JSONObject) -> PNHereNowResult:
        payload = data.get("payload")
        if payload is None:
            # The flat shape: exactly one channel and no group.
            if len(self._channels) != 1 or self._groups:
                raise ResponseShapeError("missing key 'payload'")
            with _collector_paused():
                channel = _channel(self._channels[0], data)
            return PNHereNowResult(1, channel.occupancy, [channel])
        entries = expect(payload, "channels", dict)
        with _collector_paused():
            channels = [_channel(name, entry) for name, entry in entries.items()]
        total_channels = payload.get("total_channels", len(channels))
        total_occupancy = payload.get("total_occupancy", sum(c.occupancy for c in channels))
        if not isinstance(total_channels, int) or not isinstance(total_occupancy, int):
            raise ResponseShapeError("totals are not integers")
        return PNHereNowResult(total_channels, total_occupancy, channels)
