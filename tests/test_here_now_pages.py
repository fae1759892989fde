"""here_now paging: pages() walks big channels page by page; collect() gathers everyone."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PubNubException
from pubnub_twisted.models import PNHereNowResult
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence

SUB = DEFAULT_SUBSCRIBE_KEY


class PagingTests(SynchronousTestCase):
    """Pages of at most page_size occupants per channel, until every occupant is read."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.addCleanup(self.presence.store.stop)
        self.pubnub = self.presence.client("reader")
        for n in range(2_500):
            self.presence.store.heartbeat(SUB, f"u{n:04d}", ["big"], 300, {"big": {"n": n}})
        for n in range(30):
            self.presence.store.heartbeat(SUB, f"s{n:02d}", ["small"], 300)

    def walk(self, pages: Any) -> list[PNHereNowResult]:
        """Every page, read with next() until None."""
        results: list[PNHereNowResult] = []
        while True:
            d = pages.next()
            self.presence.settle()
            page = self.successResultOf(d)
            if page is None:
                return results
            results.append(page)

    def test_pages(self) -> None:
        """The first page names everything; later ones only the channels with more to read."""
        pages = self.pubnub.here_now().channels("big", "small").pages(1_000)
        results = self.walk(pages)
        self.assertEqual(
            [{c.channel_name: len(c.occupants) for c in page.channels} for page in results],
            [{"big": 1_000, "small": 30}, {"big": 1_000}, {"big": 500}],
        )
        uuids = [o.uuid for page in results for c in page.channels for o in c.occupants]
        self.assertEqual(len(uuids), len(set(uuids)))
        # Asking again after the end keeps answering None, with no request.
        sent = self.presence.agent.sent
        self.assertIsNone(self.successResultOf(pages.next()))
        self.assertEqual(self.presence.agent.sent, sent)

    def test_collect_with_state(self) -> None:
        """collect() gives every occupant once, with state when asked, and the totals."""
        d = self.pubnub.here_now().channels("big", "small").include_state(True).collect()
        self.presence.settle()
        result = self.successResultOf(d)
        by_name = {c.channel_name: c for c in result.channels}
        self.assertEqual((result.total_channels, result.total_occupancy), (2, 2_530))
        self.assertEqual(by_name["big"].occupancy, 2_500)
        self.assertEqual(len({o.uuid for o in by_name["big"].occupants}), 2_500)
        self.assertEqual({o.uuid: o.state for o in by_name["big"].occupants}["u1234"], {"n": 1234})

    def test_groups_and_async_for(self) -> None:
        """Channels reached through a group are paged too; ``async for`` walks the pages."""
        added = self.pubnub.add_channel_to_channel_group().channel_group("rooms")
        self.presence.call(added.channels(["big", "small"]))

        async def count() -> list[int]:
            sizes = []
            async for page in self.pubnub.here_now().channel_groups("rooms").pages(1_000):
                sizes.append(sum(len(c.occupants) for c in page.channels))
            return sizes

        d = ensureDeferred(count())
        self.presence.settle()
        self.assertEqual(self.successResultOf(d), [1_030, 1_000, 500])

    def test_someone_leaves_during_the_walk(self) -> None:
        """A leave between pages shifts the later pages: nobody is listed twice."""
        pages = self.pubnub.here_now().channels("big").pages(1_000)
        d = pages.next()
        self.presence.settle()
        first = self.successResultOf(d)
        assert first is not None
        self.presence.store.leave(SUB, "u0000", ["big"])
        rest = self.walk(pages)
        uuids = [o.uuid for page in [first, *rest] for c in page.channels for o in c.occupants]
        self.assertEqual(len(uuids), len(set(uuids)))
        # One occupant slid from page 2 into page 1's range and was not read.
        self.assertEqual(len(uuids), 2_499)

    def test_bad_page_size(self) -> None:
        """A page size outside 1..1000 is a clear PubNubException."""
        for size in (0, 1_001, True, "10"):
            with self.assertRaises(PubNubException) as raised:
                self.pubnub.here_now().channels("big").pages(size)  # type: ignore[arg-type]
            self.assertIn("page_size must be an integer from 1 to 1000", str(raised.exception))

    def test_failed_page(self) -> None:
        """A page that fails fails next() with PubNubException; the walk can go on after."""
        guarded = InMemoryPresence(auth_keys={"allowed"})
        self.addCleanup(guarded.store.stop)
        guarded.store.heartbeat(SUB, "alice", ["big"], 300)
        reader = guarded.client("reader", auth_key="refused")
        pages = reader.here_now().channels("big").pages(1_000)
        d = pages.next()
        guarded.settle()
        self.assertEqual(self.failureResultOf(d, PubNubException).value.get_status_code(), 403)
        reader.config.auth_key = "allowed"
        d = pages.next()
        guarded.settle()
        page = self.successResultOf(d)
        assert page is not None
        self.assertEqual(page.channels[0].occupants[0].uuid, "alice")
