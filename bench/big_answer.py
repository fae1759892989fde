"""Big answers: a here_now of 100 channels x 1,000 occupants with state, against json.loads.

Two measurements, each against the floor ``json.loads`` of the same body,
timed in the same run (order alternated, repetitions interleaved):

* **parse**: the body bytes to a ``PNHereNowResult`` through the here_now
  endpoint's own response handling (what ``.deferred()`` runs once the body
  is in), in this process, no network.  Target: at most 1.5x json.loads.
* **end to end**: ``pubnub.here_now().channels(100).include_state(True)
  .deferred()`` against the embedded server in another process over
  loopback (its answer cached, so the server only writes it), beside a
  plain treq loop and a plain Agent loop getting the same body and running
  json.loads on it.  The result is checked in full: 100 channels, 1,000
  occupants each, every state as seeded, so the whole body (about 10 MB,
  hundreds of reads) was read.

    python bench/big_answer.py
    python bench/big_answer.py --reps 9 --channels 100 --occupants 1000
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

from _client import AgentPeer, TreqPeer
from _common import (
    SUB_KEY,
    USER_ID,
    channel_name,
    machine,
    median,
    occupant_state,
    occupant_uuid,
    pin,
    server,
    summary,
    table,
)
from serve import seed
from twisted.internet import task
from twisted.internet.defer import ensureDeferred
from twisted.web.http_headers import Headers

from pubnub_twisted import PNConfiguration, PNHereNowResult, PubNub
from pubnub_twisted.server import PresenceResource, PresenceStore
from pubnub_twisted.testing import InMemoryPresence
from pubnub_twisted.transport import HTTPResponse

Timings = dict[str, list[float]]


def make_body(channels: int, occupants: int) -> bytes:
    """The server's own here_now answer (with state) for the seeded channels."""
    store = PresenceStore(task.Clock())
    seed(store, channels, occupants, with_state=True)
    names = ",".join(channel_name(c) for c in range(channels))
    uri = f"/v2/presence/sub-key/{SUB_KEY}/channel/{names}?state=1&uuid={USER_ID}"
    status, body, _ = PresenceResource(store, here_now_cache=0).respond(b"GET", uri.encode())
    assert status == 200, body[:200]
    return body


def check(result: PNHereNowResult | None, channels: int, occupants: int) -> None:
    """Every channel, occupant and state is there, as seeded."""
    assert result is not None
    assert (result.total_channels, result.total_occupancy) == (channels, channels * occupants)
    assert len(result.channels) == channels
    for entry in result.channels:
        name = entry.channel_name
        assert entry.occupancy == len(entry.occupants) == occupants, entry.channel_name
        for i, occupant in enumerate(entry.occupants):
            assert occupant == (occupant_uuid(name, i), occupant_state(i)), occupant


def timed(timings: Timings, name: str, work: Callable[[], Any], clock: Callable[[], float]) -> Any:
    """Run ``work`` once (after a full collection), adding its ``clock`` ms to ``timings[name]``."""
    gc.collect()
    started = clock()
    value = work()
    timings.setdefault(name, []).append((clock() - started) * 1000)
    return value


def parse(body: bytes, args: argparse.Namespace) -> Timings:
    """Our endpoint's response handling against json.loads, in process."""
    client = InMemoryPresence().client(USER_ID)
    names = [channel_name(c) for c in range(args.channels)]
    response = HTTPResponse(200, Headers(), body)
    timings: Timings = {}
    jobs: list[tuple[str, Callable[[], Any]]] = [
        ("json.loads (CPU)", lambda: json.loads(body)),
        (
            "ours: parse (CPU)",
            lambda: client.here_now().channels(names).include_state(True)._on_response(response),
        ),
    ]
    for _, job in jobs:  # once untimed: the process grows its heap for the first
        job()
    for rep in range(args.reps):
        for name, job in jobs[rep % 2 :] + jobs[: rep % 2]:
            answer = timed(timings, name, job, time.process_time)
            if name.startswith("ours"):
                check(answer.result, args.channels, args.occupants)
            del answer  # before the next one: a live result makes the collector slower
    return timings


async def end_to_end(args: argparse.Namespace, port: int, timings: Timings) -> None:
    """The whole call over loopback: ours, treq + json.loads, Agent + json.loads."""
    origin = f"127.0.0.1:{port}"
    config = PNConfiguration()
    config.subscribe_key, config.uuid, config.origin, config.ssl = SUB_KEY, USER_ID, origin, False
    config.non_subscribe_request_timeout = 60
    pubnub = PubNub(config)
    names = [channel_name(c) for c in range(args.channels)]
    plain = {"treq": TreqPeer(origin, 1), "Agent": AgentPeer(origin, 1)}
    url = plain["treq"].here_now_url(names) + b"&state=1"

    async def ours() -> Callable[[], None]:
        envelope = await pubnub.here_now().channels(names).include_state(True).deferred()
        return lambda: check(envelope.result, args.channels, args.occupants)

    async def floor(name: str) -> Callable[[], None]:
        code, body = await plain[name].get(url)
        data = json.loads(body)

        def checked() -> None:
            assert code == 200
            assert data["payload"]["total_occupancy"] == args.channels * args.occupants

        return checked

    jobs = [
        ("ours: end to end", ours),
        *((f"{n} + json.loads", lambda n=n: floor(n)) for n in plain),
    ]
    for _, job in jobs:  # warm the connections (and the server's cache)
        (await job())()
    for rep in range(args.reps):
        for name, job in jobs[rep % 3 :] + jobs[: rep % 3]:
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            verify = await job()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            timings.setdefault(f"{name} (wall)", []).append(wall * 1000)
            timings.setdefault(f"{name} (client CPU)", []).append(cpu * 1000)
            verify()  # not timed: it rebuilds every expected uuid and state
            del verify
    await pubnub.stop()
    for peer in plain.values():
        await peer.close()


async def measure(args: argparse.Namespace) -> None:
    """Measure, print the table."""
    print(machine())
    pin(1)
    body = make_body(args.channels, args.occupants)
    print(f"body: {len(body):,} bytes, {args.channels * args.occupants:,} occupants with state")
    timings = parse(body, args)
    if not args.no_end_to_end:
        occupancy = ["--channels", str(args.channels), "--occupants", str(args.occupants)]
        with server("--here-now-cache", "3600", "--state", *occupancy) as presence:
            await end_to_end(args, presence.port, timings)
    floor = timings["json.loads (CPU)"]
    rows = [
        [name, summary(values, 1), f"{median(values) / median(floor):.2f}"]
        for name, values in timings.items()
    ]
    print(table(["what", "ms: median (min-max, spread)", "÷ json.loads (medians)"], rows))


def main() -> None:
    """Parse the options and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="repetitions (default 7)")
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--occupants", type=int, default=1000, help="per channel")
    parser.add_argument("--no-end-to-end", action="store_true", help="only the in-process parse")
    args = parser.parse_args()
    task.react(lambda _: ensureDeferred(measure(args)))


if __name__ == "__main__":
    main()
