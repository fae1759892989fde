"""Load with nothing lost, for minutes: the test suite's load scenario, longer, and client memory.

The scenario is ``tests/test_load.py``'s :class:`LoadRun`: 60 clients (each
its own uuid and pool, one reactor) writing state, heartbeating and reading
here_now, 20 more workers reading here_now, every 4th client leaving; then
an audit over the wire: every uuid's final state is its last acknowledged
write, every channel's occupants are exactly the clients still present,
and no call failed.  Here the server runs in a process of its own (CPU 0;
here_now cache off, so a client can read its own writes), so the resident
memory reported (at 1k and 20k requests, then every 20k, and at the end)
is the clients' alone: it must stay flat.

    python bench/load.py                          # 2 minutes
    python bench/load.py --minutes 10 --clients 100 --readers 40
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from _common import SUB_KEY, machine, pin, rss_mb, server, table
from twisted.internet import task
from twisted.internet.defer import Deferred, ensureDeferred

from pubnub_twisted import PNConfiguration, PubNub
from tests.test_load import LoadPlan, LoadRun


class Memory:
    """RSS after 1k and 20k requests, then every ``every``."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.samples: list[tuple[int, float, float]] = []  # requests, RSS MB, seconds
        self.started = time.perf_counter()

    def __call__(self, requests: int) -> None:
        """Called after each request."""
        if requests == 1000 or requests % self.every == 0:
            self.samples.append((requests, rss_mb(), time.perf_counter() - self.started))


def client(origin: str, uuid: str) -> PubNub:
    """A client of the bench server."""
    config = PNConfiguration()
    config.subscribe_key = SUB_KEY
    config.uuid = uuid
    config.origin = origin
    config.ssl = False
    return PubNub(config)


async def measure(args: argparse.Namespace) -> int:
    """Run, audit, report; the exit code."""
    print(machine())
    plan = LoadPlan(
        clients=args.clients,
        rounds=None,
        duration=args.minutes * 60,
        leave_after=args.leave_after,
        readers=args.readers,
    )
    memory = Memory(args.every)
    with server("--here-now-cache", "0", "--channels", "0") as presence:
        pin(1)
        clients = [client(presence.origin, f"load-user-{i:03}") for i in range(plan.clients)]
        auditor = client(presence.origin, "auditor")
        load = LoadRun(plan, clients, memory)
        await load.run()
        memory.samples.append((load.requests, rss_mb(), time.perf_counter() - memory.started))
        await load.audit(auditor)
        for pubnub in [*clients, auditor]:
            await pubnub.stop()
        stats = presence.stats()
    seconds = memory.samples[-1][2]
    print(
        f"{load.requests:,} requests in {seconds:.0f} s ({load.requests / seconds:.0f}/s), "
        f"{load.writes:,} writes, peak {load.peak_in_flight} in flight, "
        f"{len(load.left)} clients left; the server saw {stats['requests']:,} requests "
        f"on {stats['connections']} connections"
    )
    first = memory.samples[0][1]
    rows = [
        [f"{n:,}", f"{s:.0f}", f"{rss:.1f}", f"{rss - first:+.1f}"] for n, rss, s in memory.samples
    ]
    print(table(["requests", "after s", "client RSS MB", "vs at 1k"], rows))
    base = next((rss for n, rss, _ in memory.samples if n == 20_000), first)
    print(f"RSS growth from 20k requests to the end: {memory.samples[-1][1] - base:+.1f} MB")
    if load.problems:
        print(f"{len(load.problems)} PROBLEMS:", *load.problems[:20], sep="\n  ")
        return 1
    print(
        "nothing lost: no error, every final state is the last acknowledged write, occupancy exact"
    )
    return 0


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="how long (default 2)")
    parser.add_argument("--clients", type=int, default=60, help="writers (default 60)")
    parser.add_argument("--readers", type=int, default=20, help="here_now-only workers (20)")
    parser.add_argument("--leave-after", type=int, default=50, help="rounds before leaving")
    parser.add_argument("--every", type=int, default=20_000, help="RSS every N requests")
    args = parser.parse_args()
    code = [0]

    async def run(_: Any) -> None:
        code[0] = await measure(args)

    def start(reactor: Any) -> Deferred[None]:
        return ensureDeferred(run(reactor))

    try:
        task.react(start)
    except SystemExit as end:
        sys.exit(end.code or code[0])


if __name__ == "__main__":
    main()
