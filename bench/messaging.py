"""Messaging costs: publish and fetch against here_now, and the server's message store.

Two measurements, each beside its floor in the same run (repetitions
interleaved, order rotated):

* **client calls over loopback**: CPU and wall time per call of
  ``publish()`` by GET, ``publish().use_post(True)``, ``fetch_messages()``
  of 100 messages, and a one-channel ``here_now()`` (the floor: the
  presence call this library was measured on).  Client and embedded server
  share this process (the figures include the server's work; read the
  ratios).  Every answer is checked.
* **the store**: ``MessageStore.add`` per message, and ``fetch`` of the
  newest 100, against appending to and slicing a plain ``deque`` (floor).

    python bench/messaging.py
    python bench/messaging.py --reps 7 --calls 300
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from _common import machine, median, rotated, spread, summary, table
from twisted.internet import defer, reactor, task
from twisted.internet.task import Clock

from pubnub_twisted.server.messages.store import MessageStore, StoredMessage
from pubnub_twisted.testing import LocalPresenceServer


async def _calls(pubnub: Any, kind: str, calls: int) -> tuple[float, float]:
    """``calls`` calls of ``kind``, checked; (CPU ms, wall ms) per call."""
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(calls):
        if kind == "here_now":
            result = await pubnub.here_now().channels("lobby").result()
            assert result.total_channels == 1
        elif kind == "fetch (100)":
            result = await pubnub.fetch_messages().channels("hist").result()
            assert len(result.channels["hist"]) == 100
        else:
            builder = pubnub.publish().channel("lobby").message({"n": n, "text": "hello"})
            result = await builder.use_post(kind == "publish POST").result()
            assert result.timetoken > 0
    return (
        (time.process_time() - cpu) * 1000 / calls,
        (time.perf_counter() - wall) * 1000 / calls,
    )


async def client_calls(reps: int, calls: int) -> None:
    server = LocalPresenceServer.start(reactor)
    try:
        pubnub = server.client("bench")
        await pubnub.heartbeat().channels("lobby").result()
        for n in range(100):
            await pubnub.publish().channel("hist").message(n).result()
        kinds = ["here_now", "publish GET", "publish POST", "fetch (100)"]
        cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
        wall: dict[str, list[float]] = {kind: [] for kind in kinds}
        await _calls(pubnub, "publish GET", 50)  # warm up
        for rep in range(reps):
            for kind in rotated(kinds, rep):
                spent = await _calls(pubnub, kind, calls)
                cpu[kind].append(spent[0])
                wall[kind].append(spent[1])
        floor = median(cpu["here_now"])
        rows = [
            (kind, summary(cpu[kind]), f"{median(cpu[kind]) / floor:.2f}", summary(wall[kind]))
            for kind in kinds
        ]
        print(f"Client and server in one process, {reps} x {calls} calls each")
        print(table(["call", "CPU ms/call", "÷ here_now", "wall ms/call"], rows))
    finally:
        await server.stop()


def store_costs(reps: int, messages: int) -> None:
    def ours() -> tuple[float, float]:
        store = MessageStore(Clock(), max_per_channel=1000)
        start = time.perf_counter()
        for tt in range(1, messages + 1):
            store.add("sub", StoredMessage(tt, f"ch{tt % 10}", tt))
        added = time.perf_counter() - start
        start = time.perf_counter()
        for n in range(1000):
            assert len(store.fetch("sub", f"ch{n % 10}", start=None, end=None, limit=100)) == 100
        return added * 1e6 / messages, (time.perf_counter() - start) * 1e6 / 1000

    def floor() -> tuple[float, float]:
        channels: dict[str, deque[StoredMessage]] = {}
        start = time.perf_counter()
        for tt in range(1, messages + 1):
            channels.setdefault(f"ch{tt % 10}", deque(maxlen=1000)).append(
                StoredMessage(tt, f"ch{tt % 10}", tt)
            )
        added = time.perf_counter() - start
        start = time.perf_counter()
        for n in range(1000):
            assert len(list(channels[f"ch{n % 10}"])[-100:]) == 100
        return added * 1e6 / messages, (time.perf_counter() - start) * 1e6 / 1000

    runs: dict[str, list[tuple[float, float]]] = {"MessageStore": [], "deque (floor)": []}
    bench: dict[str, Callable[[], tuple[float, float]]] = {
        "MessageStore": ours,
        "deque (floor)": floor,
    }
    for rep in range(reps):
        for name in rotated(list(bench), rep):
            runs[name].append(bench[name]())
    add_floor = median(r[0] for r in runs["deque (floor)"])
    fetch_floor = median(r[1] for r in runs["deque (floor)"])
    rows = []
    for name, values in runs.items():
        adds, fetches = [v[0] for v in values], [v[1] for v in values]
        rows.append(
            (
                name,
                f"{median(adds):.2f} ({spread(adds):.0%})",
                f"{median(adds) / add_floor:.2f}",
                f"{median(fetches):.1f} ({spread(fetches):.0%})",
                f"{median(fetches) / fetch_floor:.2f}",
            )
        )
    print(f"\nThe store: {messages} messages over 10 channels, then 1,000 fetches of 100")
    print(table(["store", "add µs", "÷ floor", "fetch 100 µs", "÷ floor"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    print(machine())
    store_costs(args.reps, args.messages)
    task.react(lambda _: defer.ensureDeferred(client_calls(args.reps, args.calls)))


if __name__ == "__main__":
    main()
