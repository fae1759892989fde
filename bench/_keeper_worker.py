"""Worker of ``keeper.py``: one client keeps N users present; checks and measures as it goes.

Not run by hand.  Prints ``BENCH {json}`` records (see ``_common.emit``):
``phase`` = ``check`` for each here_now check, ``enter``, ``memory``,
``cpu``, ``here_now``, ``expire`` and ``stop`` figures, and ``final``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import treq
from _common import SUB_KEY, Record, emit, rss_mb
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, DeferredSemaphore, ensureDeferred, gatherResults
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    textFileLogObserver,
)
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, readBody

from pubnub_twisted import KeptMember, PNConfiguration, PubNub
from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat


def sleep(seconds: float) -> Deferred[None]:
    return task.deferLater(reactor, seconds, lambda: None)


def client(origin: str) -> PubNub:
    config = PNConfiguration()
    config.subscribe_key = SUB_KEY
    config.uuid = "keeper-bench"
    config.origin = origin
    config.ssl = False
    return PubNub(config)


def plan(
    members: int, channels: int, rng: random.Random
) -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    """Who is kept where: 1-3 distinct channels each, state on every one."""
    for i in range(members):
        names = rng.sample(range(channels), rng.randint(1, 3))
        chs = [f"room-{n}" for n in names]
        yield f"user-{i:05d}", chs, {ch: {"seat": i % 50, "ready": i % 2 == 0} for ch in chs}


async def server_stats(origin: str) -> dict[str, Any]:
    """The bench server's counters (``serve.py``'s ``/__stats``)."""
    response = await treq.get(f"http://{origin}/__stats", persistent=False)
    stats: dict[str, Any] = await response.json()
    return stats


async def total(pubnub: PubNub) -> int:
    """Global here_now total (uuids left out: counts only)."""
    result = await pubnub.here_now().include_uuids(False).result()
    return result.total_occupancy


async def run(args: argparse.Namespace) -> None:
    pubnub = client(args.origin)
    await pubnub.time().result()  # connections and imports warm
    # The bench's own bookkeeping (who counts where) is made before the
    # baseline, so that only the client's memory is counted as the members'.
    living = {
        uuid: len(chs) for uuid, chs, _ in plan(args.members, args.channels, random.Random(12))
    }
    keeper_members = list(living)
    gc.collect()
    baseline = rss_mb()
    keeper = pubnub.presence_keeper(presence_timeout=args.timeout)
    started = time.perf_counter()
    cpu0 = time.process_time()
    # The plan is made on the fly and not kept: the state dicts are the keeper's alone.
    kept: list[KeptMember] = [
        keeper.enter(uuid, channels=chs, state=state)
        for uuid, chs, state in plan(args.members, args.channels, random.Random(12))
    ]
    # Polled rather than gathered: 10,000 when_present() Deferreds would be the
    # bench's memory, not the keeper's, and raise the RSS high-water mark.
    # (when_present() itself is exercised by the tests.)
    if args.gather:  # as an application might wait: one Deferred per member
        await gatherResults([member.when_present() for member in kept])
    while not all(member.present for member in kept):
        if any(member.failing for member in kept):
            raise RuntimeError("members failing while entering: see the server")
        await sleep(0.1)
    emit(
        {
            "phase": "enter",
            "members": len(kept),
            "pairs": sum(len(member.channels) for member in kept),
            "seconds": time.perf_counter() - started,
            "cpu_s": time.process_time() - cpu0,
        }
    )
    expired: dict[str, int] = {}
    expired_at = None
    t0 = time.perf_counter()
    duration = args.duration
    cpu_mark: tuple[float, float] | None = None
    # cProfile over the steady state only (it slows the client: CPU figures
    # of a profiled run are not comparable).
    profiler = cProfile.Profile() if args.profile else None
    checks = failures = 0
    while (elapsed := time.perf_counter() - t0) < duration:
        await sleep(args.check_every)
        elapsed = time.perf_counter() - t0
        if cpu_mark is None and elapsed >= args.timeout:
            # steady state: one interval after the entering burst
            gc.collect()
            members = len(keeper)
            emit(
                {"phase": "memory", "baseline_mb": baseline, "rss_mb": rss_mb(), "members": members}
            )
            server_mark = await server_stats(args.origin)
            if profiler is not None:
                profiler.enable()
            cpu_mark = (time.process_time(), time.perf_counter())
        if expired_at is None and elapsed >= duration / 2 - args.timeout / 2 and args.expire:
            for member in kept[: args.expire]:
                member.expire()
                expired[member.uuid] = living.pop(member.uuid)
            expired_at = time.perf_counter()
            emit({"phase": "expire", "count": len(expired), "at_s": expired_at - t0})
        want: int | None = sum(living.values())
        since = None if expired_at is None else time.perf_counter() - expired_at
        if since is not None:
            # Each expired member's last heartbeat went out at most 1.25 intervals
            # before expire(): all are present until timeout - 1.25 intervals
            # after it, and all gone a timeout after it (plus the server's sweep).
            if since < args.timeout - 1.25 * keeper.heartbeat_interval - 0.5:
                assert want is not None
                want += sum(expired.values())
            elif since < args.timeout + 3:
                want = None  # they lapse in this window, each at its own time
        got = await total(pubnub)
        checks += 1
        ok = want is None or got == want
        failures += 0 if ok else 1
        emit(
            {
                "phase": "check",
                "t": round(elapsed, 1),
                "want": want,
                "got": got,
                "ok": ok,
                "since_expire": since,
            }
        )
    if cpu_mark is not None:
        cpu, wall = time.process_time() - cpu_mark[0], time.perf_counter() - cpu_mark[1]
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        emit({"phase": "cpu", "cpu_s": cpu, "wall_s": wall, "share": cpu / wall})
        now = await server_stats(args.origin)
        requests = now["requests"] - server_mark["requests"]
        emit(
            {
                "phase": "server",
                "requests": requests,
                "cpu_s": now["cpu_s"] - server_mark["cpu_s"],
                "ms_per_request": 1000 * (now["cpu_s"] - server_mark["cpu_s"]) / requests,
                "connections": now["connections"],
                "rss_mb": now["rss_mb"],
                "wall_s": wall,
            }
        )
    # here_now at full load: every uuid, with state, over every channel
    here_times = []
    before = await server_stats(args.origin)
    for _ in range(3):
        begun = time.perf_counter()
        result = await pubnub.here_now().include_state(True).result()
        here_times.append(time.perf_counter() - begun)
    after_stats = await server_stats(args.origin)
    emit(
        {
            "phase": "here_now",
            "seconds": here_times,
            "occupancy": result.total_occupancy,
            "server_cpu_s": after_stats["cpu_s"] - before["cpu_s"],
            "server_requests": after_stats["requests"] - before["requests"],
        }
    )
    begun = time.perf_counter()
    await pubnub.stop()
    stop_s = time.perf_counter() - begun
    after = client(args.origin)
    left = await total(after)
    await after.stop()
    emit({"phase": "stop", "seconds": stop_s, "left_present": left})
    if cpu_mark is not None and args.floor:
        # The same heartbeat URLs at the keeper's rate, bounded alike, by a bare
        # Agent: what any Twisted HTTP/1.1 client pays for this load.
        urls = [heartbeat_url(pubnub, keeper.presence_timeout, member) for member in kept]
        rate = len(keeper_members) / keeper.heartbeat_interval
        emit(await agent_floor(urls, rate, args.floor, keeper.max_in_flight))
    emit({"phase": "final", "checks": checks, "failed_checks": failures})


def heartbeat_url(pubnub: PubNub, timeout: int, member: KeptMember) -> bytes:
    """The URL of ``member``'s heartbeat, as the keeper sends it."""
    builder = Heartbeat(pubnub).channels(member.channels).presence_timeout(timeout)
    builder.uuid(member.uuid).state({c: member.states[c] for c in member.channels})
    return builder._url().encode("ascii")


async def agent_floor(urls: list[bytes], rate: float, seconds: float, in_flight: int) -> Record:
    """Send ``urls`` round-robin at ``rate`` per second with a bare ``Agent``; its CPU."""
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = in_flight
    agent = Agent(reactor, pool=pool)
    bound = DeferredSemaphore(in_flight)
    tick = 0.5
    sent = done = errors = 0

    def one(url: bytes) -> Deferred[Any]:
        return agent.request(b"GET", url).addCallback(readBody)

    def finished(result: object) -> None:
        nonlocal done, errors
        done += 1
        errors += 1 if isinstance(result, Failure) else 0

    def turn(count: int) -> None:
        nonlocal sent
        due = round(count * rate * tick)
        while sent < due:
            url = urls[sent % len(urls)]
            sent += 1
            bound.run(one, url).addBoth(finished)

    turns = [0]

    def step() -> None:
        turns[0] += 1
        turn(turns[0])

    loop = task.LoopingCall(step)
    loop.start(tick, now=False)
    await sleep(2)  # warm: connections open
    done0, cpu0, wall0 = done, time.process_time(), time.perf_counter()
    await sleep(seconds)
    cpu, wall, answered = time.process_time() - cpu0, time.perf_counter() - wall0, done - done0
    loop.stop()
    while done < sent:
        await sleep(0.1)
    await pool.closeCachedConnections()
    return {
        "phase": "floor",
        "requests": answered,
        "errors": errors,
        "cpu_s": cpu,
        "wall_s": wall,
        "share": cpu / wall,
        "ms_per_request": 1000 * cpu / max(answered, 1),
    }


def main() -> None:
    # Warnings and failures (a keeper's unexpected errors) go to stderr, to be seen.
    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr),
                [LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)],
            )
        ],
        redirectStandardIO=False,  # stdout carries the BENCH records
    )
    parser = argparse.ArgumentParser()
    parser.add_argument("--origin", required=True)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--check-every", type=float, default=10)
    parser.add_argument("--expire", type=int, default=500)
    parser.add_argument("--floor", type=float, default=30, help="seconds of the Agent floor")
    parser.add_argument("--profile", default="", help="write cProfile stats of the steady state")
    parser.add_argument("--gather", action="store_true", help="wait with when_present() each")
    args = parser.parse_args()
    task.react(lambda _: ensureDeferred(run(args)))


if __name__ == "__main__":
    main()
