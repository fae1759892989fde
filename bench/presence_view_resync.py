"""How long a presence view takes to sync a big channel, and to resync it after a reconnect.

Runs the embedded server on loopback (here_now answered fresh, no cache),
puts N uuids with state on one channel, then for each N:

* **first sync**: from ``presence_view()`` until ``when_synced()`` fires
  (``/time/0``, then here_now with state, every page of 1000);
* **resync**: the server stops listening and drops its connections; while
  it is away 1% of the uuids leave, 1% join and 1% change state; it comes
  back; measured from the client's ``PNReconnectedCategory`` until the
  view's ``on_sync`` (snapshot, diff, notifications), with the changes
  told counted and the view checked against the server.

Usage: ``python bench/presence_view_resync.py [N ...]`` (default 1000 10000 50000).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred, maybeDeferred
from twisted.internet.task import deferLater, react

from pubnub_twisted import (
    PNStatus,
    PNStatusCategory,
    PresenceViewListener,
    PubNub,
    SubscribeCallback,
)
from pubnub_twisted.server import SubscribeOptions, listen
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer

CHANNEL = "big"
SUB = DEFAULT_SUBSCRIBE_KEY


class Timer(PresenceViewListener, SubscribeCallback):
    """Notes when the client reconnects and when the view syncs; counts the changes told."""

    def __init__(self) -> None:
        self.disconnected: Deferred[None] = Deferred()
        self.reconnected: float | None = None
        self.synced: Deferred[float] | None = None
        self.told = 0

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        if status.category is PNStatusCategory.PNUnexpectedDisconnectCategory:
            if not self.disconnected.called:
                self.disconnected.callback(None)
        elif status.category is PNStatusCategory.PNReconnectedCategory:
            self.reconnected = time.perf_counter()

    def on_join(self, channel: str, uuid: str, state: Any) -> None:
        self.told += 1

    def on_leave(self, channel: str, uuid: str, reason: str) -> None:
        self.told += 1

    def on_state_change(self, channel: str, uuid: str, state: Any) -> None:
        self.told += 1

    def on_sync(self) -> None:
        synced, self.synced = self.synced, None
        if synced is not None:
            synced.callback(time.perf_counter())


async def measure(reactor: Any, size: int) -> tuple[float, float, int, int]:
    """(first sync s, resync s, changes told by the resync, pages per snapshot) for ``size``."""
    server = LocalPresenceServer(
        listen(reactor, here_now_cache=0, subscribe=SubscribeOptions(announce_max=10**9)), reactor
    )
    store = server.store
    try:
        for number in range(size):
            store.heartbeat(SUB, f"user-{number:06}", [CHANNEL], 3600, {CHANNEL: {"n": number}})
        viewer = server.client("viewer", reconnection_interval=0.05, reconnection_jitter=0.0)
        timer = Timer()
        viewer.add_listener(timer)
        started = time.perf_counter()
        view = viewer.presence_view(channels=CHANNEL)
        view.add_listener(timer)
        await view.when_synced()
        first = time.perf_counter() - started
        assert view.occupancy(CHANNEL) == size

        await deferLater(reactor, 3.2, lambda: None)  # past here_now's 3 s cache
        served = server.server
        host, port = served.host, served.port
        await maybeDeferred(served.listening_port.stopListening)
        await served.site.close_connections()
        await timer.disconnected
        step = 100
        for number in range(0, size, step):
            store.leave(SUB, f"user-{number:06}", [CHANNEL])
            store.set_state(SUB, f"user-{number + 1:06}", [CHANNEL], {"n": -1})
            store.heartbeat(SUB, f"new-{number:06}", [CHANNEL], 3600)
        timer.told = 0
        synced: Deferred[float] = Deferred()
        timer.synced = synced
        again = reactor.listenTCP(port, served.site, interface=host)
        done = await synced
        assert timer.reconnected is not None
        resync = done - timer.reconnected
        truth = {
            o.uuid: o.state for c in store.here_now(SUB, [CHANNEL]).channels for o in c.occupants
        }
        assert view.occupants(CHANNEL) == truth, "the view differs from the server"
        view.stop()
        await again.stopListening()
        return first, resync, timer.told, -(-size // 1000)
    finally:
        await server.stop()


async def run(reactor: Any, sizes: list[int]) -> None:
    print(f"{'occupants':>10} {'pages':>6} {'first sync':>11} {'resync':>8} {'changes told':>13}")
    for size in sizes:
        first, resync, told, pages = await measure(reactor, size)
        print(f"{size:>10} {pages:>6} {first:>10.3f}s {resync:>7.3f}s {told:>13}")


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [1000, 10000, 50000]
    react(lambda reactor: ensureDeferred(run(reactor, sizes)))


if __name__ == "__main__":
    main()
