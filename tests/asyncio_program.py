"""pubnub-twisted in an asyncio program, through Twisted's asyncio reactor.

Run it with ``python tests/asyncio_program.py``: it starts the embedded
presence server on a loopback port, announces two users with heartbeats and
asks who is in the lobby, awaiting each call as an asyncio future
(``Deferred.asFuture``).  tests/test_asyncio_interop.py runs it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from twisted.internet import asyncioreactor

from pubnub_twisted.testing import LocalPresenceServer  # importing installs no reactor


async def lobby_report(reactor: Any) -> None:
    """Two heartbeats, then here_now and where_now side by side, all awaited as futures."""
    loop = asyncio.get_running_loop()
    print(f"reactor: {type(reactor).__name__}")
    server = LocalPresenceServer.start(reactor)
    try:
        for uuid in ("alice", "bob"):
            beat = server.client(uuid).heartbeat().channels("lobby").deferred()
            envelope = await beat.asFuture(loop)
            print(f"{uuid} heartbeat: {envelope.status.category.name}")
        carol = server.client("carol")
        here, where = await asyncio.gather(
            carol.here_now().channels("lobby").result().asFuture(loop),
            carol.where_now().uuid("alice").result().asFuture(loop),
        )
        for channel in here.channels:
            uuids = sorted(occupant.uuid for occupant in channel.occupants)
            print(f"{channel.channel_name}: {channel.occupancy} present: {', '.join(uuids)}")
        print(f"alice is on: {', '.join(where.channels)}")
    finally:
        await server.stop().asFuture(loop)  # stops its clients too, then the server


def main() -> int:
    """Install the asyncio reactor, run the report on the asyncio loop, then stop."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    asyncioreactor.install(loop)  # before anything imports twisted.internet.reactor
    from twisted.internet import reactor

    task = loop.create_task(lobby_report(reactor))
    task.add_done_callback(lambda _: reactor.stop())
    # run() is loop.run_forever() plus Twisted's startup and shutdown: the thread
    # pool that resolves host names starts, and stops again at the end.
    reactor.run()
    task.result()  # re-raise what went wrong, if anything did
    return 0


if __name__ == "__main__":
    sys.exit(main())
