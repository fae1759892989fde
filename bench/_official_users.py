"""Worker of ``keeper.py``: PubNub's official asyncio SDK keeping N users present.

The only way it can: one ``PubNubAsyncio`` instance per user (its uuid is
configuration), each sending its user's heartbeat (channels and state) every
interval.  Not run by hand; prints ``BENCH {json}`` records.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import time
from typing import Any

from _common import SUB_KEY, emit, rss_mb
from pubnub.pnconfiguration import PNConfiguration
from pubnub.pubnub_asyncio import PubNubAsyncio


async def keep(
    pn: Any, user: tuple[list[str], dict[str, Any]], interval: float, stop: asyncio.Event
) -> int:
    """Heartbeat for one user every ``interval`` until ``stop``; how many failed."""
    channels, state = user
    errors = 0
    while not stop.is_set():
        try:
            await pn.heartbeat().channels(channels).state(state).future()
        except Exception:
            errors += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return errors


async def run(args: argparse.Namespace) -> None:
    def instance(uuid: str) -> Any:
        config = PNConfiguration()
        config.subscribe_key = SUB_KEY
        config.user_id = uuid
        config.origin = args.origin
        config.ssl = False
        config.set_presence_timeout(args.timeout)
        return PubNubAsyncio(config)

    warm = instance("warm-up")
    await warm.time().future()
    await warm.stop()
    gc.collect()
    baseline = rss_mb()
    rng = random.Random(12)
    interval = args.timeout / 2 - 1
    stop = asyncio.Event()
    instances = []
    tasks = []
    for i in range(args.users):
        names = rng.sample(range(args.channels), rng.randint(1, 3))
        chs = [f"room-{n}" for n in names]
        pn = instance(f"official-{i:05d}")
        instances.append(pn)
        state = {ch: {"seat": i % 50, "ready": i % 2 == 0} for ch in chs}
        tasks.append(asyncio.ensure_future(keep(pn, (chs, state), interval, stop)))
        await asyncio.sleep(interval / args.users)  # spread them, as the keeper does
    await asyncio.sleep(interval)
    gc.collect()
    emit({"phase": "memory", "baseline_mb": baseline, "rss_mb": rss_mb(), "users": args.users})
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(args.duration)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    emit({"phase": "cpu", "cpu_s": cpu, "wall_s": wall, "share": cpu / wall, "users": args.users})
    stop.set()
    errors = sum(await asyncio.gather(*tasks))
    for pn in instances:
        await pn.stop()
    emit({"phase": "final", "errors": errors})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--origin", required=True)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--duration", type=float, default=60)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
