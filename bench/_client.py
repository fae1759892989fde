"""A benchmark client process: one peer calling a server in another process.

Peers: ``ours`` (``pubnub.here_now().channels(...).deferred()``), ``treq``
(a plain ``treq.get`` loop with a persistent pool: the 1.00 floor) and
``agent`` (a plain ``twisted.web.client.Agent`` loop with a persistent
pool: the floor for any Twisted HTTP/1.1 client).  Every answer is checked
(``(total_occupancy, total_channels)`` as seeded).

Phases (the default): per variant (``single``: 1 channel, ``multi``: 5),
``--warmup`` calls, then ``--ops`` calls sequentially (``seq``) and with
``--concurrency`` in flight (``conc``); one ``BENCH`` record each, with the
client's CPU time, and the server's counts and CPU when ``--server-stats``.
``--memory N,N,...``: instead, here_now (single) with ``--concurrency`` in
flight until the largest count, recording RSS at each count.
``--path heartbeat``: heartbeats (rotating over 1,000 uuids) instead of
here_now (``treq`` and ``agent`` only).

Run by ``client_cpu.py``, ``client_memory.py`` and ``server.py`` (``big_answer.py``
uses its plain peers); by hand: ``python bench/_client.py --port N --peer ours``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import time
import urllib.request
import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from _common import (
    CONCURRENCY,
    MULTI,
    SUB_KEY,
    USER_ID,
    Record,
    calibrate,
    emit,
    expected_totals,
    peak_rss_mb,
    rss_mb,
    variant_channels,
)
from twisted.internet import reactor, task
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

Totals = tuple[int, int]
Call = Callable[[], Awaitable[Totals]]


class Peer:
    """One client under test: makes the call for a list of channels."""

    def __init__(self, origin: str, concurrency: int) -> None:
        self.origin = origin
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = max(concurrency, 2)
        self.pool.retryAutomatically = False

    def here_now_url(self, channels: list[str]) -> bytes:
        """The URL an SDK sends for here_now (same shape, same query as ours)."""
        names = ",".join(quote(c, safe="") for c in channels)
        return (
            f"http://{self.origin}/v2/presence/sub-key/{SUB_KEY}/channel/{names}"
            f"?pnsdk=bench%2F1.0&uuid={USER_ID}"
        ).encode("ascii")

    def heartbeat_urls(self, channel: str) -> list[bytes]:
        """Heartbeat URLs for 1,000 uuids."""
        base = f"http://{self.origin}/v2/presence/sub-key/{SUB_KEY}/channel/{channel}/heartbeat"
        return [
            f"{base}?heartbeat=300&pnsdk=bench%2F1.0&uuid=bench-user-{i}".encode("ascii")
            for i in range(1000)
        ]

    def get(self, url: bytes) -> Deferred[tuple[int, bytes]]:
        """GET ``url``: the status code and whole body."""
        raise NotImplementedError

    def here_now(self, channels: list[str]) -> Call:
        """A here_now call for ``channels``."""
        url = self.here_now_url(channels)

        async def call() -> Totals:
            code, body = await self.get(url)
            return totals(code, json.loads(body))

        return call

    def heartbeat(self, channel: str) -> Call:
        """A heartbeat call (the next uuid each time)."""
        urls = itertools.cycle(self.heartbeat_urls(channel))

        async def call() -> Totals:
            code, body = await self.get(next(urls))
            if code != 200 or json.loads(body)["status"] != 200:
                raise RuntimeError(f"HTTP {code}")
            return (0, 0)

        return call

    async def close(self) -> None:
        """Close the connections."""
        await self.pool.closeCachedConnections()


def totals(code: int, data: Any) -> Totals:
    """``(total_occupancy, total_channels)`` from a here_now answer, checked by hand."""
    if code != 200:
        raise RuntimeError(f"HTTP {code}")
    if "payload" in data:
        payload = data["payload"]
        return int(payload["total_occupancy"]), int(payload["total_channels"])
    if len(data["uuids"]) != data["occupancy"]:
        raise ValueError("uuid count mismatch")
    return int(data["occupancy"]), 1


class TreqPeer(Peer):
    """A plain ``treq.get`` loop with a persistent pool."""

    def __init__(self, origin: str, concurrency: int) -> None:
        super().__init__(origin, concurrency)
        import treq  # noqa: PLC0415 (only this peer imports it itself)

        self.treq_get = treq.get

    def get(self, url: bytes) -> Deferred[tuple[int, bytes]]:
        """``treq.get`` then ``content()``."""

        async def go() -> tuple[int, bytes]:
            response = await self.treq_get(url, pool=self.pool)
            body: bytes = await response.content()
            return response.code, body

        return ensureDeferred(go())


class AgentPeer(Peer):
    """A plain ``Agent`` loop with a persistent pool."""

    def __init__(self, origin: str, concurrency: int) -> None:
        super().__init__(origin, concurrency)
        self.agent = Agent(reactor, pool=self.pool)
        self.headers = Headers({b"User-Agent": [b"bench/1.0"]})
        # readBody warns on every call when the transport lacks abortConnection.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message="Using readBody")

    def get(self, url: bytes) -> Deferred[tuple[int, bytes]]:
        """``agent.request`` then ``readBody``."""

        async def go() -> tuple[int, bytes]:
            response = await self.agent.request(b"GET", url, self.headers)
            body = await readBody(response)
            return response.code, body

        return ensureDeferred(go())


class OursPeer(Peer):
    """This project's client."""

    def __init__(self, origin: str, concurrency: int) -> None:
        super().__init__(origin, concurrency)
        from pubnub_twisted import PNConfiguration, PubNub  # noqa: PLC0415

        config = PNConfiguration()
        config.subscribe_key = SUB_KEY
        config.uuid = USER_ID
        config.origin = origin
        config.ssl = False
        config.connection_pool_size = max(concurrency, 2)
        self.pubnub = PubNub(config)

    def here_now(self, channels: list[str]) -> Call:
        """``pubnub.here_now().channels(channels).deferred()``."""
        pubnub = self.pubnub

        async def call() -> Totals:
            envelope = await pubnub.here_now().channels(channels).deferred()
            if envelope.result is None:
                raise RuntimeError(str(envelope.status))
            return envelope.result.total_occupancy, envelope.result.total_channels

        return call

    async def close(self) -> None:
        """Stop the client (and the unused base pool)."""
        await self.pubnub.stop()
        await super().close()


PEERS: dict[str, type[Peer]] = {"ours": OursPeer, "treq": TreqPeer, "agent": AgentPeer}


class Checker:
    """Counts calls, and wrong or failed answers."""

    def __init__(self, expected: Totals | None) -> None:
        self.expected = expected
        self.done = 0
        self.bad = 0
        self.first_error: str | None = None

    async def worker(self, call: Call, budget: itertools.count[int], calls: int) -> None:
        """Make calls until ``calls`` have been taken from ``budget``."""
        while next(budget) < calls:
            try:
                got = await call()
            except Exception as exc:  # reported, not raised: the run goes on
                self.fail(f"{type(exc).__name__}: {exc}")
            else:
                if self.expected is not None and got != self.expected:
                    self.fail(f"expected {self.expected}, got {got}")
            self.done += 1

    def fail(self, why: str) -> None:
        """Count a wrong answer."""
        self.bad += 1
        self.first_error = self.first_error or why


async def run_calls(call: Call, checker: Checker, calls: int, concurrency: int) -> None:
    """``calls`` calls, ``concurrency`` at a time."""
    budget = itertools.count()
    workers = [ensureDeferred(checker.worker(call, budget, calls)) for _ in range(concurrency)]
    await gatherResults(workers)


def server_stats(origin: str) -> Record:
    """The server's ``/__stats`` (blocking: only between measured phases)."""
    with urllib.request.urlopen(f"http://{origin}/__stats", timeout=30) as answer:
        stats: Record = json.loads(answer.read())
    return stats


async def phases(peer: Peer, args: argparse.Namespace, base: Record) -> None:
    """Warmup, then each mode of each variant, one record each."""
    for variant in args.variants.split(","):
        channels = variant_channels(variant, args.channels)
        if args.path == "heartbeat":
            call, expected = peer.heartbeat(channels[0]), (0, 0)
        else:
            call, expected = peer.here_now(channels), expected_totals(channels, args.occupants)
        await run_calls(call, Checker(expected), args.warmup, 1)
        for mode in args.modes.split(","):
            concurrency = 1 if mode == "seq" else args.concurrency
            checker = Checker(expected)
            before = server_stats(peer.origin) if args.server_stats else {}
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            await run_calls(call, checker, args.ops, concurrency)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            record = dict(base, variant=variant, mode=mode, ops=args.ops, concurrency=concurrency)
            record.update(
                cpu_ms_per_op=1000 * cpu / args.ops,
                wall_ms_per_op=1000 * wall / args.ops,
                errors=checker.bad,
                first_error=checker.first_error,
                rss_mb=rss_mb(),
            )
            if args.server_stats:
                after = server_stats(peer.origin)
                counts = ("requests", "connections", "cpu_s")
                record.update({f"server_{k}": after[k] - before[k] for k in counts})
            emit(record)


async def memory(peer: Peer, args: argparse.Namespace, base: Record) -> None:
    """here_now with ``--concurrency`` in flight; RSS each time a checkpoint is passed."""
    channels = variant_channels("single")
    checkpoints = sorted(int(n) for n in args.memory.split(","))
    checker = Checker(expected_totals(channels, args.occupants))
    call = peer.here_now(channels)
    done = 0
    for checkpoint in checkpoints:
        await run_calls(call, checker, checkpoint - done, args.concurrency)
        done = checkpoint
        emit(dict(base, calls=done, rss_mb=rss_mb(), errors=checker.bad, error=checker.first_error))


def main() -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--peer", choices=sorted(PEERS), required=True)
    parser.add_argument("--ops", type=int, default=2000, help="calls per phase (default 2000)")
    parser.add_argument("--warmup", type=int, default=100, help="calls before each variant")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="in conc mode")
    parser.add_argument("--channels", type=int, default=MULTI, help="channels in 'multi'")
    parser.add_argument("--occupants", type=int, default=0, help="as given to serve.py")
    parser.add_argument("--variants", default="single,multi")
    parser.add_argument("--modes", default="seq,conc")
    parser.add_argument("--path", choices=["here_now", "heartbeat"], default="here_now")
    parser.add_argument("--server-stats", action="store_true", help="server counts per phase")
    parser.add_argument("--memory", help="checkpoints: RSS after this many calls (1000,20000)")
    args = parser.parse_args()
    if args.path == "heartbeat" and args.peer == "ours":
        parser.error("--path heartbeat is for the plain peers (treq, agent)")
    origin = f"127.0.0.1:{args.port}"

    async def run(_: Any) -> None:
        base: Record = {"peer": args.peer, "calibration_s": calibrate()}
        base["rss_start_mb"] = rss_mb()
        peer = PEERS[args.peer](origin, args.concurrency)
        try:
            await (memory if args.memory else phases)(peer, args, base)
        finally:
            await peer.close()
        emit(dict(base, final=True, rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb()))

    task.react(lambda r: ensureDeferred(run(r)))


if __name__ == "__main__":
    main()
