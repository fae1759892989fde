"""A here_now snapshot for the presence view: the service's time first, then every page.

The service answers at most 1000 occupants per channel and page, so a
channel with more is read in pages (``limit``/``offset``), a few requests at
a time.  The time (``/time/0``) is asked for before the first page: every
event later than it is one the snapshot may not reflect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from twisted.internet.defer import Deferred, gatherResults

from pubnub_twisted.enums import PNStatusCategory
from pubnub_twisted.models import PNEnvelope, PNHereNowResult, PNStatus
from pubnub_twisted.presence_view._table import State, normalized
from pubnub_twisted.protocol import MAX_HERE_NOW_LIMIT

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["ClientStopped", "Snapshot", "SnapshotFailed", "take_snapshot"]

R = TypeVar("R")

#: Occupants per page: the most the service gives.
PAGE_SIZE = MAX_HERE_NOW_LIMIT
#: here_now requests in flight at once while paging.
PARALLEL_PAGES = 4
#: Channels named in one request for further pages (URLs stay well under 32 KiB).
CHANNELS_PER_PAGE = 100


class SnapshotFailed(Exception):
    """A request of the snapshot failed; ``status`` says how."""

    def __init__(self, status: PNStatus) -> None:
        super().__init__(str(status))
        self.status = status


class ClientStopped(Exception):
    """The client was stopped while the snapshot was being taken."""


@dataclass
class Snapshot:
    """Who was present, as here_now said, no earlier than ``timetoken``.

    ``occupants``: channel -> uuid -> state, for the channels listed;
    ``occupancy``: the count here_now last reported per channel.
    """

    timetoken: int
    occupants: dict[str, dict[str, State]] = field(default_factory=dict)
    occupancy: dict[str, int] = field(default_factory=dict)
    # channel -> (offset of the last page read, whether that page was full)
    _read: dict[str, tuple[int, bool]] = field(default_factory=dict)

    def add(self, result: PNHereNowResult, offset: int) -> None:
        """Take one page, read at ``offset``."""
        for entry in result.channels:
            name = entry.channel_name
            occupants = self.occupants.setdefault(name, {})
            for occupant in entry.occupants:
                occupants[occupant.uuid] = normalized(occupant.state)
            self.occupancy[name] = entry.occupancy
            last = self._read.get(name, (-1, True))[0]
            if offset > last:
                self._read[name] = (offset, len(entry.occupants) >= PAGE_SIZE)

    def next_pages(self) -> dict[int, list[str]]:
        """The pages still to read: offset -> channels (all by now-known occupancy)."""
        pages: defaultdict[int, list[str]] = defaultdict(list)
        for name, (last, full) in self._read.items():
            if full:
                for offset in range(last + PAGE_SIZE, self.occupancy[name], PAGE_SIZE):
                    pages[offset].append(name)
        return dict(pages)


def _result(envelope: PNEnvelope[R]) -> R:
    status = envelope.status
    if status.category is PNStatusCategory.PNCancelledCategory:
        raise ClientStopped(str(status))
    if status.is_error() or envelope.result is None:
        raise SnapshotFailed(status)
    return envelope.result


def _page(
    pubnub: PubNub, channels: Sequence[str], groups: Sequence[str], offset: int
) -> Deferred[PNEnvelope[PNHereNowResult]]:
    builder = pubnub.here_now().include_state(True).limit(PAGE_SIZE)
    if channels:
        builder.channels(list(channels))
    if groups:
        builder.channel_groups(list(groups))
    if offset:
        builder.offset(offset)
    return builder.deferred()


async def take_snapshot(
    pubnub: PubNub,
    channels: Sequence[str],
    groups: Sequence[str],
    *,
    channels_per_page: int = CHANNELS_PER_PAGE,
) -> Snapshot:
    """The service's time, then every occupant (with state) of ``channels`` and ``groups``.

    Further pages name at most ``channels_per_page`` channels each.  Raises
    :class:`SnapshotFailed` when a request fails and :class:`ClientStopped`
    when the client is stopped.
    """
    snapshot = Snapshot(_result(await pubnub.time().deferred()).timetoken)
    snapshot.add(_result(await _page(pubnub, channels, groups, 0)), 0)
    while pages := [
        (offset, names[start : start + channels_per_page])
        for offset, names in sorted(snapshot.next_pages().items())
        for start in range(0, len(names), channels_per_page)
    ]:
        for start in range(0, len(pages), PARALLEL_PAGES):
            batch = pages[start : start + PARALLEL_PAGES]
            requests = [_page(pubnub, names, (), offset) for offset, names in batch]
            envelopes = await gatherResults(requests, consumeErrors=True)
            for (offset, _), envelope in zip(batch, envelopes, strict=True):
                snapshot.add(_result(envelope), offset)
    return snapshot
