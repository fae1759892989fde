"""Walking here_now page by page, and collecting every occupant of big channels.

The service answers at most 1,000 occupants per channel and request
(``limit``), so a channel with more is read in pages (``offset``).
:class:`HereNowPages` asks for one page at a time: the first names the
channels and groups asked about; each later one names only the channels that
still have occupants to read, at the next offset (at most
:data:`CHANNELS_PER_REQUEST` channels per request, so URLs stay short).

How consistent is the result?  Each page is a separate request, and PubNub
caches each here_now answer (each URL) for 3 seconds.  Occupants who join or
leave while the walk goes on shift the later pages: one may be missed or
read twice.  :meth:`HereNowPages.collect` drops repeats (a uuid is listed
once per channel, with the state of its last page), so the list is every
occupant present throughout the walk, plus or minus those who came or went
during it.  ``occupancy`` is what the last page of each channel reported.
For a picture kept exact as people come and go, use a presence view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, ensureDeferred, succeed

from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PubNubException
from pubnub_twisted.models import PNHereNowChannelData, PNHereNowOccupantData, PNHereNowResult
from pubnub_twisted.protocol import MAX_HERE_NOW_LIMIT

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["CHANNELS_PER_REQUEST", "HereNowPages"]

#: Channels named in one request for a later page.
CHANNELS_PER_REQUEST = 100


class HereNowPages:
    """here_now one page at a time: ``yield pages.next()`` or ``async for``.

    Made by ``pubnub.here_now()...pages(page_size)``.  :meth:`next` fires
    with the next page (a :class:`PNHereNowResult` holding the channels that
    page read) or ``None`` when every occupant has been read; a failed page
    fails with :class:`PubNubException` (and the walk may be resumed by
    calling :meth:`next` again).  In a coroutine, ``async for page in
    pages`` does the same.  Cancelling the Deferred cancels the request.
    """

    def __init__(
        self,
        pubnub: PubNub,
        *,
        channels: Sequence[str],
        groups: Sequence[str],
        include_state: bool,
        page_size: int = MAX_HERE_NOW_LIMIT,
    ) -> None:
        ok = isinstance(page_size, int) and not isinstance(page_size, bool)
        if not ok or not 1 <= page_size <= MAX_HERE_NOW_LIMIT:
            raise PubNubException(
                f"page_size must be an integer from 1 to {MAX_HERE_NOW_LIMIT}, not {page_size!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        self._pubnub = pubnub
        self._channels = list(channels)
        self._groups = list(groups)
        self._include_state = include_state
        self._page_size = page_size
        self._started = False
        # channel -> offset of its next page, for channels whose last page was full
        self._more: dict[str, int] = {}

    def next(self) -> Deferred[PNHereNowResult | None]:
        """The next page, or ``None`` once every occupant has been read."""
        if not self._started:
            return self._read(self._channels, self._groups, 0)
        if not self._more:
            return succeed(None)
        offset = min(self._more.values())
        names = [name for name, at in self._more.items() if at == offset]
        return self._read(names[:CHANNELS_PER_REQUEST], [], offset)

    def _read(
        self, channels: list[str], groups: list[str], offset: int
    ) -> Deferred[PNHereNowResult | None]:
        builder = self._pubnub.here_now().include_state(self._include_state)
        builder.limit(self._page_size)
        if offset:
            builder.offset(offset)
        if channels:
            builder.channels(channels)
        if groups:
            builder.channel_groups(groups)

        def took(page: PNHereNowResult) -> PNHereNowResult:
            self._started = True
            for name in channels:
                self._more.pop(name, None)
            for channel in page.channels:
                read = offset + len(channel.occupants)
                if len(channel.occupants) >= self._page_size and read < channel.occupancy:
                    self._more[channel.channel_name] = read
                else:
                    self._more.pop(channel.channel_name, None)
            return page

        return builder.result().addCallback(took)

    def __aiter__(self) -> HereNowPages:
        return self

    async def __anext__(self) -> PNHereNowResult:
        page = await self.next()
        if page is None:
            raise StopAsyncIteration
        return page

    def collect(self) -> Deferred[PNHereNowResult]:
        """Read every page; fire with one :class:`PNHereNowResult` of every occupant.

        See the module's notes on how consistent the list is.
        """
        return ensureDeferred(self._collect())

    async def _collect(self) -> PNHereNowResult:
        occupants: dict[str, dict[str, PNHereNowOccupantData]] = {}
        occupancy: dict[str, int] = {}
        while (page := await self.next()) is not None:
            for channel in page.channels:
                name = channel.channel_name
                listed = occupants.setdefault(name, {})
                for occupant in channel.occupants:
                    listed[occupant.uuid] = occupant
                occupancy[name] = channel.occupancy
        channels = [
            PNHereNowChannelData(name, occupancy[name], list(listed.values()))
            for name, listed in occupants.items()
        ]
        return PNHereNowResult(len(channels), sum(occupancy.values()), channels)
