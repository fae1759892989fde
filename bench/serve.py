"""The embedded presence server for benchmarks, seeded, and counting what it serves.

Run by the other scripts in a process of its own (so that its CPU is not
counted as the client's); prints ``PORT n`` once listening and runs until
SIGTERM.  ``GET /__stats`` answers ``{"requests", "connections", "cpu_s",
"rss_mb"}``: presence requests served, connections that carried at least
one of them (the stats calls are not counted), the server's CPU seconds and
resident memory.

``--minimal`` serves instead the smallest ``twisted.web`` resource that
answers a heartbeat as the server does (same headers and body, nothing
checked or stored): the floor for the heartbeat benchmark.

    python bench/serve.py --port 8090 --channels 100 --occupants 1000 --state
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any
from weakref import WeakSet

from _common import SUB_KEY, channel_name, occupancy_of, occupant_state, occupant_uuid, rss_mb
from twisted.internet import reactor
from twisted.web.http import HTTPChannel
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from pubnub_twisted.server import PresenceResource, PresenceSite, PresenceStore

_HEARTBEAT_ANSWER = b'{"status":200,"message":"OK","service":"Presence"}'
_HEADERS = (
    (b"Content-Type", b'text/javascript; charset="UTF-8"'),
    (b"Cache-Control", b"no-cache"),
    (b"Access-Control-Allow-Origin", b"*"),
)


class Counter:
    """Counts requests and the connections that carried them; answers ``/__stats``."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0
        self._seen: WeakSet[HTTPChannel] = WeakSet()

    def stats(self, request: Request) -> bytes | None:
        """The stats answer for a ``/__stats`` request, or ``None`` (after counting it)."""
        if request.uri == b"/__stats":
            answer = {
                "requests": self.requests,
                "connections": self.connections,
                "cpu_s": time.process_time(),
                "rss_mb": rss_mb(),
            }
            return json.dumps(answer).encode()
        self.requests += 1
        channel = request.channel
        if channel not in self._seen:
            self._seen.add(channel)
            self.connections += 1
        return None


class CountedPresence(PresenceResource):
    """The presence server's resource, counted."""

    def __init__(self, store: PresenceStore, counter: Counter, here_now_cache: float) -> None:
        super().__init__(store, here_now_cache=here_now_cache)
        self.counter = counter

    def render(self, request: Request) -> bytes | int:
        """Stats, or the presence answer."""
        return self.counter.stats(request) or super().render(request)


class Minimal(Resource):
    """A heartbeat's answer for any request: the least a twisted.web server can do."""

    isLeaf = True

    def __init__(self, counter: Counter) -> None:
        Resource.__init__(self)
        self.counter = counter

    def render(self, request: Request) -> bytes:
        """Stats, or the heartbeat answer."""
        stats = self.counter.stats(request)
        if stats is not None:
            return stats
        for name, value in _HEADERS:
            request.setHeader(name, value)
        return _HEARTBEAT_ANSWER


def seed(store: PresenceStore, channels: int, occupants: int, with_state: bool) -> int:
    """Make occupants present (for a day) on ``bench-ch-0..``; how many were seeded."""
    seeded = 0
    for c in range(channels):
        name = channel_name(c)
        for i in range(occupancy_of(name, occupants)):
            states = {name: occupant_state(i)} if with_state else None
            store.heartbeat(SUB_KEY, occupant_uuid(name, i), [name], 86400, states)
            seeded += 1
    return seeded


def main() -> None:
    """Parse the options, seed, listen, serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port (default)")
    parser.add_argument("--here-now-cache", type=float, default=3.0, help="seconds (PubNub: 3)")
    parser.add_argument("--channels", type=int, default=5, help="channels to seed (default 5)")
    parser.add_argument(
        "--occupants", type=int, default=0, help="occupants per channel (0: 20 to 24, by name)"
    )
    parser.add_argument("--state", action="store_true", help="seed every occupant with a state")
    parser.add_argument("--minimal", action="store_true", help="serve the minimal resource")
    args = parser.parse_args()
    counter = Counter()
    site: Site
    if args.minimal:
        site = Site(Minimal(counter))
    else:
        store = PresenceStore(reactor)
        seed(store, args.channels, args.occupants, args.state)
        site = PresenceSite(CountedPresence(store, counter, args.here_now_cache))
    site.noisy = False
    # Site's annotations do not say it is a ServerFactory of its channel type.
    port: Any = reactor.listenTCP(args.port, site, 1024, "127.0.0.1")  # type: ignore[arg-type]
    print(f"PORT {port.getHost().port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
