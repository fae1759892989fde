"""The dashboard with 10,000 present users on 1,000 channels: server cost and the page.

Run from the repository root: ``python bench/dashboard.py`` (~1 min; the browser part
needs selenium, chromium and chromedriver, as tests/test_dashboard_browser.py, and is
skipped without them).

Server side, on a ``task.Clock`` (no sockets), each against its floor in the same run:

- heartbeats that join 10,000 uuids on 1,000 channels, through the store with the
  dashboard observing it and one browser attached, against the same store with no
  dashboard (floor 1.00);
- a snapshot of that server (time and size) and one batch of a 1,000-event burst.

Browser side, on a loopback server holding the same presence:

- time until the page lists all 1,000 channels, against the page fetching and parsing the
  same snapshot with no DOM work (floor 1.00);
- during 10 s of churn (about 1,000 joins and leaves per second), the longest gap between
  animation frames (the page's worst freeze), against the same measure while idle, and the
  time for one marked join to appear on the page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyRequest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from pubnub_twisted.server import PresenceResource, PresenceStore, listen  # noqa: E402
from pubnub_twisted.server.dashboard import Dashboard  # noqa: E402

KEY = "sub-c-bench"


class _Sink(DummyRequest):
    """An event-stream request that keeps nothing (a browser that reads everything)."""

    def __init__(self) -> None:
        DummyRequest.__init__(self, [])
        self.bytes = 0

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """A push producer: nothing to drive."""

    def unregisterProducer(self) -> None:
        """Nothing registered."""

    def write(self, data: bytes) -> None:
        self.bytes += len(data)


def _populate(store: PresenceStore, users: int, channels: int) -> None:
    for n in range(users):
        store.heartbeat(KEY, f"user-{n:05d}", [f"ch-{n % channels:04d}"], 300, {})


def server_side(users: int, channels: int, reps: int) -> None:
    ratios, plain_times = [], []
    for _ in range(reps):
        for with_dashboard in (False, True):
            clock = task.Clock()
            store = PresenceStore(clock)
            resource = PresenceResource(store)
            board = Dashboard(resource) if with_dashboard else None
            sink = _Sink()
            if board is not None:
                board.feed.attach(cast(Request, sink))
            start = time.perf_counter()
            _populate(store, users, channels)
            clock.advance(0.25)
            spent = time.perf_counter() - start
            if board is None:
                plain_times.append(spent)
            else:
                ratios.append(spent / plain_times[-1])
                start = time.perf_counter()
                snap = json.dumps(board.feed.snapshot()).encode()
                snap_time = time.perf_counter() - start
                board.stop()
            resource.stop()
            store.stop()
    print(f"joins of {users:,} uuids on {channels:,} channels, one browser attached:")
    print(f"  without dashboard (floor)  {statistics.median(plain_times) * 1000:8.1f} ms   1.00")
    print(f"  with the dashboard        {'':12}      {statistics.median(ratios):.2f}")
    print(f"  snapshot: {len(snap) / 1024:.0f} KiB in {snap_time * 1000:.1f} ms")


_FRAMES = """
window.__gaps = []; let last = performance.now();
function tick(now) { window.__gaps.push(now - last); last = now; requestAnimationFrame(tick); }
requestAnimationFrame(tick);
"""
_MAX_GAP = "const g = window.__gaps; window.__gaps = []; return g.length ? Math.max(...g) : 0;"
_FLOOR = """
const done = arguments[arguments.length - 1]; const t = performance.now();
fetch('/_dashboard/api/snapshot').then(r => r.json())
  .then(s => done([performance.now() - t, s.channels.length]));
"""


def _row(label: str, ms: float, ratio: float | None = None) -> None:
    print(f"  {label:38} {ms:8.0f} ms" + ("" if ratio is None else f"   {ratio:.2f}"))


async def browser_side(reactor: Any, users: int, channels: int) -> None:
    sys.path.append(str(ROOT))
    from tests.test_dashboard_browser import _missing, quit_browser, start_browser  # noqa: PLC0415

    missing = _missing()
    if missing:
        print(f"browser part skipped: {missing}")
        return
    server = listen(reactor, dashboard=True, here_now_cache=0)
    _populate(server.store, users, channels)
    driver, profile = await deferToThread(start_browser)
    try:
        driver.set_script_timeout(60)
        rows = (
            "return document.querySelectorAll('#channels tbody tr').length >= arguments[0]"
            " ? performance.now() : 0;"
        )

        def load() -> float:
            """Milliseconds from navigation start until every channel is listed."""
            driver.get(server.url + "/")
            while not (shown := driver.execute_script(rows, channels)):
                time.sleep(0.01)
            return float(shown) / 1000

        await deferToThread(load)  # the first navigation also starts the browser's caches
        page = await deferToThread(load)
        floor, listed = await deferToThread(driver.execute_async_script, _FLOOR)
        print(f"page in headless Chromium, {listed:,} channels listed:")
        _row("fetch + parse the snapshot (floor)", floor, 1.0)
        _row("page load until all rows shown", page * 1000, page * 1000 / floor)
        await deferToThread(driver.execute_script, _FRAMES)
        await task.deferLater(reactor, 3, lambda: None)
        idle = await deferToThread(driver.execute_script, _MAX_GAP)
        n = 0
        churn_end = reactor.seconds() + 10
        while reactor.seconds() < churn_end:
            for _ in range(100):  # 100 every 0.1 s: about 1,000 changes a second
                uuid = f"churn-{n % 5000:05d}"
                channel = [f"ch-{n % channels:04d}"]
                if n // 5000 % 2:
                    server.store.leave(KEY, uuid, channel)
                else:
                    server.store.heartbeat(KEY, uuid, channel, 300, {})
                n += 1
            await task.deferLater(reactor, 0.1, lambda: None)
        busy = await deferToThread(driver.execute_script, _MAX_GAP)
        marked = "ch-0007"
        start = time.perf_counter()
        server.store.heartbeat(KEY, "the-marked-one", [marked], 300, {})
        seen = "return !!document.querySelector('#events li[data-uuid=\"the-marked-one\"]');"

        def appear() -> float:
            while not driver.execute_script(seen):
                time.sleep(0.01)
            return time.perf_counter() - start

        latency = await deferToThread(appear)
        _row("longest frame gap idle (floor)", idle, 1.0)
        _row(f"longest frame gap, {n / 10:,.0f} changes/s", busy, busy / max(idle, 1))
        _row("one join to the page after churn", latency * 1000)
    finally:
        await deferToThread(quit_browser, driver, profile)
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    server_side(args.users, args.channels, args.reps)
    if not args.no_browser:
        task.react(
            lambda reactor: Deferred.fromCoroutine(browser_side(reactor, args.users, args.channels))
        )


if __name__ == "__main__":
    main()
