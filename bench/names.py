"""What checking PubNub's naming rules costs the embedded server, per request.

For heartbeats naming 1, 10 and 100 valid channels, times in one process,
alternating every repetition: the whole request
(``PresenceResource.respond``, the floor 1.00) and the name check alone
(the server's ``NameGuard`` on the routed call).  Prints the check's share
of the request: the ratio is what to read, absolute times move with the
machine.

Usage: ``python bench/names.py [--reps 7] [--calls 2000]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from _common import machine, rotated, summary, table
from twisted.internet.task import Clock

from pubnub_twisted.server import PresenceResource, PresenceStore
from pubnub_twisted.server._names import NameGuard
from pubnub_twisted.server._request import parse, route


def per_call(work: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``work``, over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls


def measure(count: int, reps: int, calls: int) -> list[object]:
    """One table row: the request and the check for a heartbeat naming ``count`` channels."""
    channels = ",".join(f"room-{i}.lobby" for i in range(count))
    uri = f"/v2/presence/sub-key/s/channel/{channels}/heartbeat?uuid=u&heartbeat=60".encode()
    resource = PresenceResource(PresenceStore(Clock()), here_now_cache=0)
    guard, call = NameGuard(), route(parse(uri))
    works: dict[str, Callable[[], object]] = {
        "request": lambda: resource.respond(b"GET", uri),
        "check": lambda: guard.check(call),
    }
    times: dict[str, list[float]] = {name: [] for name in works}
    for rep in range(reps):
        for name in rotated(list(works), rep):
            times[name].append(per_call(works[name], calls))
    shares = [c / r for c, r in zip(times["check"], times["request"], strict=True)]
    return [
        count,
        summary([t * 1e6 for t in times["request"]], 1),
        summary([t * 1e6 for t in times["check"]], 1),
        summary(shares),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    rows = [measure(count, options.reps, options.calls) for count in (1, 10, 100)]
    print(machine())
    print(table(["channels", "request us", "name check us", "check / request"], rows))


if __name__ == "__main__":
    main()
