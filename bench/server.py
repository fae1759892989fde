"""The embedded server's costs: here_now vs occupants, heartbeat, mass timeouts, memory.

Each figure beside its floor, measured in the same run:

* **memory** per present uuid (``tracemalloc``: what Python allocated, and
  the process's RSS growth) for 100,000 uuids on 100 channels, without and
  with state; floor: a ``dict`` of the same uuid strings to a deadline.
* **here_now** CPU per call with 1k, 10k and 100k occupants on one channel
  (the resource's own answer, in process, cache off), per occupant, and
  against ``json.dumps`` of the same answer (the encoding any server pays).
  Linear when the cost per occupant stays flat.
* **heartbeat**: server CPU per request over loopback (the server in a
  process of its own on CPU 0, a plain Agent loop on CPU 1 sending
  heartbeats for 1,000 uuids, one at a time and 20 in flight) against the
  smallest ``twisted.web`` resource answering the same request with the
  same bytes (``serve.py --minimal``).  Target: at most 2x.
* **expiry**: the longest reactor pause while 100,000 present uuids time
  out at once (a 1 ms ``LoopingCall`` records the gaps between its ticks),
  against the longest gap of the same ticker on the idle reactor just
  before.  Target: at most 100 ms.  With the uuids spread over 100 channels
  (interval mode) and over 100,000 channels (a presence event each).

    python bench/server.py                          # everything (about 2 minutes)
    python bench/server.py --parts here_now,expiry --reps 7
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _common import (
    SUB_KEY,
    USER_ID,
    channel_name,
    median,
    occupant_uuid,
    pin,
    rotated,
    rss_mb,
    run_worker,
    server,
    spread,
    summary,
    table,
)
from _common import machine as machine_line
from serve import seed
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from zope.interface import implementer

from pubnub_twisted.server import PresenceEvent, PresenceResource, PresenceStore

PARTS = ("memory", "here_now", "heartbeat", "expiry")


def cpu_per_call(work: Callable[[], object], calls: int, reps: int) -> list[float]:
    """CPU seconds per call of ``work``, one figure per repetition of ``calls`` calls."""
    figures = []
    for _ in range(reps):
        gc.collect()
        started = time.process_time()
        for _ in range(calls):
            work()
        figures.append((time.process_time() - started) / calls)
    return figures


# -- memory -------------------------------------------------------------------------


def _store(uuids: int, channels: int, with_state: bool) -> PresenceStore:
    store = PresenceStore(task.Clock())
    seed(store, channels, uuids // channels, with_state)
    return store


def _floor(uuids: int, channels: int) -> dict[str, float]:
    per = uuids // channels
    names = (channel_name(c) for c in range(channels))
    return {occupant_uuid(name, i): 300.0 for name in names for i in range(per)}


def memory(args: argparse.Namespace) -> str:
    """Bytes per present uuid."""
    n, channels = args.uuids, 100
    builds: dict[str, Callable[[], object]] = {
        "dict uuid -> deadline (floor)": lambda: _floor(n, channels),
        "store, no state": lambda: _store(n, channels, False),
        "store, with state": lambda: _store(n, channels, True),
    }
    rows = []
    floor = 0.0
    for name, build in builds.items():
        gc.collect()
        before = rss_mb()
        kept = build()
        grown = (rss_mb() - before) * 2**20 / n
        del kept
        gc.collect()
        tracemalloc.start()
        kept = build()
        allocated = tracemalloc.get_traced_memory()[0] / n
        tracemalloc.stop()
        del kept
        floor = floor or allocated
        rows.append([name, f"{allocated:.0f}", f"{allocated / floor:.2f}", f"{grown:.0f}"])
    headers = ["what", "bytes per uuid (tracemalloc)", "÷ floor", "RSS growth per uuid"]
    return f"Memory, {n:,} uuids on {channels} channels:\n\n" + table(headers, rows)


# -- here_now -----------------------------------------------------------------------


def _here_now_costs(
    occupants: int, with_state: bool, reps: int
) -> tuple[int, list[float], list[float], list[float]]:
    """Body size; CPU per call: the resource's, with the collector off, json.dumps's."""
    store = PresenceStore(task.Clock())
    seed(store, 1, occupants, with_state)
    resource = PresenceResource(store, here_now_cache=0)
    query = f"uuid={USER_ID}" + ("&state=1" if with_state else "")
    uri = f"/v2/presence/sub-key/{SUB_KEY}/channel/{channel_name(0)}?{query}".encode()
    status, body, _ = resource.respond(b"GET", uri)
    data = json.loads(body)
    assert status == 200 and data["occupancy"] == occupants, body[:200]
    calls = max(1, 100_000 // occupants)
    ours = cpu_per_call(lambda: resource.respond(b"GET", uri), calls, reps)
    floor = cpu_per_call(lambda: json.dumps(data, separators=(",", ":")), calls, reps)
    gc.disable()
    try:
        bare = cpu_per_call(lambda: resource.respond(b"GET", uri), calls, reps)
    finally:
        gc.enable()
    return len(body), ours, bare, floor


def here_now(args: argparse.Namespace) -> str:
    """here_now CPU per call and per occupant, against json.dumps of the same answer."""
    rows = []
    per_occupant_1k: dict[bool, float] = {}
    for with_state in (False, True):
        for occupants in (1_000, 10_000, 100_000):
            size, ours, bare, floor = _here_now_costs(occupants, with_state, args.reps)
            per = median(ours) / occupants * 1e9
            per_occupant_1k.setdefault(with_state, per)
            rows.append(
                [
                    f"{occupants:,}" + (" with state" if with_state else ""),
                    f"{size:,}",
                    summary([v * 1000 for v in ours], 3),
                    f"{per:.0f}",
                    f"{per / per_occupant_1k[with_state]:.2f}",
                    f"{median(bare) / occupants * 1e9:.0f}",
                    f"{median(floor) * 1000:.3f}",
                    f"{median(ours) / median(floor):.2f}",
                ]
            )
    headers = [
        "occupants",
        "body bytes",
        "ms per call: median (min-max, spread)",
        "ns per occupant",
        "per occupant ÷ at 1k (1.00 = linear)",
        "ns per occupant, collector off",
        "json.dumps ms (floor)",
        "÷ floor",
    ]
    return "here_now, one channel, cache off:\n\n" + table(headers, rows)


# -- heartbeat ----------------------------------------------------------------------


def heartbeat(args: argparse.Namespace) -> str:
    """Server CPU per heartbeat, ours against the minimal resource, over loopback."""
    # (server, mode) -> rep -> ms of server CPU per request
    cost: dict[tuple[str, str], dict[int, float]] = {}
    with server() as ours, server("--minimal") as minimal:
        ports = {"ours": ours.port, "minimal": minimal.port}
        for rep in range(args.reps):
            for name in rotated(list(ports), rep):
                found = run_worker(
                    "_client.py",
                    [
                        f"--port={ports[name]}",
                        "--peer=agent",
                        "--path=heartbeat",
                        "--server-stats",
                        "--variants=single",
                        f"--ops={args.ops}",
                        "--warmup=200",
                    ],
                )
                for record in found:
                    if record.get("final"):
                        continue
                    if record["errors"] or record["server_requests"] != args.ops:
                        raise RuntimeError(f"{name}: {record}")
                    per_request = record["server_cpu_s"] * 1000 / record["server_requests"]
                    cost.setdefault((name, record["mode"]), {})[rep] = per_request
    rows = []
    for mode in ("seq", "conc"):
        mine, floor = cost["ours", mode], cost["minimal", mode]
        ratios = [mine[rep] / floor[rep] for rep in mine]
        rows.append(
            [
                "1 at a time" if mode == "seq" else "20 in flight",
                summary(list(mine.values()), 3),
                summary(list(floor.values()), 3),
                f"{median(ratios):.2f} (spread {spread(ratios):.0%})",
            ]
        )
    headers = [
        "heartbeats",
        "ours: server CPU ms/request",
        "minimal twisted.web resource",
        "÷ minimal (paired per rep)",
    ]
    return f"Heartbeat, {args.ops:,} requests per run, {args.reps} runs each:\n\n" + table(
        headers, rows
    )


# -- expiry -------------------------------------------------------------------------


class Ticker:
    """A 1 ms LoopingCall that records the gaps between its ticks (ms)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self._loop = task.LoopingCall(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    def start(self) -> None:
        """Start ticking."""
        self._last = time.perf_counter()
        self._loop.start(0.001)

    def stop(self) -> list[float]:
        """Stop; the gaps seen."""
        self._loop.stop()
        return self.gaps


class CollectorWatch:
    """The longest run of Python's cyclic garbage collector while in a ``with`` block (ms)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        """A ``gc.callbacks`` entry."""
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, (time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> CollectorWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


def sleep(seconds: float) -> Deferred[None]:
    """Fire after ``seconds`` on the reactor."""
    return task.deferLater(reactor, seconds, lambda: None)


@implementer(IReactorTime)
class HeldClock:
    """The reactor's time, held still while :attr:`held` is set: seeded uuids expire together."""

    def __init__(self) -> None:
        self.held: float | None = None

    def seconds(self) -> float:
        """The held time, or the reactor's."""
        return reactor.seconds() if self.held is None else self.held

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: object, **kwargs: object
    ) -> IDelayedCall:
        """The reactor's ``callLater``."""
        return reactor.callLater(delay, callable, *args, **kwargs)

    def getDelayedCalls(self) -> Any:
        """The reactor's delayed calls."""
        return reactor.getDelayedCalls()


async def expiry_run(uuids: int, channels: int) -> list[object]:
    """One mass timeout: idle ticker, seeding, then every uuid times out at the same instant."""
    clock = HeldClock()
    store = PresenceStore(clock)
    resource = PresenceResource(store)  # with its subscribe hub observing the store
    timeouts = [0, 0.0, 0.0]  # how many, when the first and the last came
    done: Deferred[None] = Deferred()

    def observe(event: PresenceEvent) -> None:
        if event.action == "timeout":
            timeouts[0] += 1
            timeouts[2] = time.perf_counter()
            timeouts[1] = timeouts[1] or timeouts[2]
            if timeouts[0] == uuids:
                done.callback(None)

    store.add_observer(observe)
    idle = Ticker()
    idle.start()
    await sleep(1.0)
    idle_gaps = idle.stop()
    per = uuids // channels
    seeding = time.perf_counter()
    clock.held = reactor.seconds()
    for c in range(channels):
        name = channel_name(c)
        for i in range(per):
            store.heartbeat(SUB_KEY, f"{name}/{i}", [name], 1)
    clock.held = None
    seeding = time.perf_counter() - seeding
    busy = Ticker()
    busy.start()
    with CollectorWatch() as collector:
        await done
    await sleep(0.05)
    gaps = busy.stop()
    resource.stop()
    store.stop()
    longest, idle_longest = max(gaps), max(idle_gaps)
    return [
        f"{uuids:,} on {channels:,} channel(s)",
        f"{seeding:.1f}",
        f"{(timeouts[2] - timeouts[1]) * 1000:.0f}",
        f"{longest:.1f}",
        f"{sorted(gaps)[int(len(gaps) * 0.99)]:.1f}",
        sum(1 for gap in gaps if gap > 10),
        f"{collector.longest:.1f}",
        f"{idle_longest:.1f}",
        f"{longest / idle_longest:.1f}",
    ]


async def expiry(args: argparse.Namespace) -> str:
    """The longest reactor pause while 100k uuids time out."""
    rows = []
    for channels in (100, args.uuids):
        for _ in range(args.expiry_reps):
            rows.append(await expiry_run(args.uuids, channels))
    headers = [
        "uuids timing out",
        "seeding s",
        "first to last timeout ms",
        "longest pause ms",
        "p99 gap ms",
        "gaps > 10 ms",
        "longest collector run ms",
        "idle reactor: longest gap ms (floor)",
        "÷ floor",
    ]
    return "Mass timeout (the reactor's longest pause):\n\n" + table(headers, rows)


async def measure(args: argparse.Namespace) -> None:
    """Run the chosen parts, printing each table as it is done."""
    print(machine_line())
    parts = args.parts.split(",")
    pin(1)  # in-process parts on the client CPU; server processes go to CPU 0
    if "memory" in parts:
        print(memory(args), end="\n\n", flush=True)
    if "here_now" in parts:
        print(here_now(args), end="\n\n", flush=True)
    if "heartbeat" in parts:
        print(heartbeat(args), end="\n\n", flush=True)
    if "expiry" in parts:
        print(await expiry(args), flush=True)


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"some of {','.join(PARTS)}")
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--ops", type=int, default=4000, help="heartbeats per run (default 4000)")
    parser.add_argument("--uuids", type=int, default=100_000, help="for memory and expiry")
    parser.add_argument("--expiry-reps", type=int, default=2, help="mass timeouts of each kind")
    args = parser.parse_args()
    if not set(args.parts.split(",")) <= set(PARTS):
        parser.error(f"--parts: choose among {', '.join(PARTS)}")

    def run(_: Any) -> Deferred[None]:
        return ensureDeferred(measure(args))

    task.react(run)


if __name__ == "__main__":
    main()
