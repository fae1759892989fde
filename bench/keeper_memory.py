"""What a kept member costs in memory: the keeper's structures per member, by tracemalloc.

In one process, no server: ``--members`` users (default 10,000) enter a
keeper on 1-3 of 1,000 channels with a state on each, with sending turned
off (so only what stays per member is counted: the member, its channel
tuple, its states, the heartbeat URL it keeps between heartbeats, its place
on the wheel and in the keeper's table).  The
RSS figure of ``keeper.py`` also holds what the entering burst left in the
allocator; this one is the steady cost.

    python bench/keeper_memory.py
"""

from __future__ import annotations

import argparse
import gc
import random
import tracemalloc

from pubnub_twisted.testing import InMemoryPresence


def main() -> None:
    """Enter the members, print bytes per member."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()
    keeper = InMemoryPresence().client("bench", presence_timeout=60).presence_keeper()
    keeper._queue_beat = lambda member: None  # type: ignore[method-assign]
    rng = random.Random(12)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(args.members):
        channels = [f"room-{n}" for n in rng.sample(range(1000), rng.randint(1, 3))]
        state = {ch: {"seat": i % 50, "ready": i % 2 == 0} for ch in channels}
        member = keeper.enter(f"user-{i:05d}", channels=channels, state=state)
        for request in keeper._beat_builders(member):
            request._url()  # the heartbeat URL the member keeps between heartbeats
    gc.collect()
    after = tracemalloc.take_snapshot()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    print(
        f"{args.members} members: {grown / args.members:.0f} bytes per member "
        "(the member, its names, its states, its heartbeat URL, wheel and table entries)"
    )


if __name__ == "__main__":
    main()
