"""Runs an example against the embedded server (or PubNub, if configured).

Every example defines ``main(pubnub)`` with the code from PubNub's
Python-Twisted Presence documentation, as written.  ``run(main)`` starts the
embedded presence server on a loopback port, lets a few users join so there
is something to see, and calls ``main`` with a client.  Set
``PUBNUB_ORIGIN``, ``PUBNUB_SUBSCRIBE_KEY`` and ``PUBNUB_PUBLISH_KEY`` to run
the same example against PubNub's service instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import react

from pubnub_twisted import PNConfiguration, PubNub
from pubnub_twisted.testing import LocalPresenceServer

Main = Callable[[PubNub], "Deferred[Any]"]

#: Who is where before an example runs: uuid -> (channels, state per channel).
PEOPLE: dict[str, tuple[list[str], dict[str, dict[str, Any]]]] = {
    "myUuid1": (["my_channel", "demo", "ch1"], {"my_channel": {"abcd": {"age": 15}}}),
    "such_uuid": (["ch1", "ch2", "ch3"], {"ch1": {"first": "Robert", "last": "Plant"}}),
    "some-other-uuid": (["demo", "ch2"], {}),
    "my-uuid": (["my_channel", "ch1", "ch2", "ch3"], {}),
}
GROUPS = {"cg1": ["my_channel"], "cg2": ["demo"], "gr1": ["ch1"], "gr2": ["ch2"], "gr3": ["ch3"]}


async def seed(server: LocalPresenceServer) -> None:
    """Make the example's world: people present with state, and channel groups."""
    for uuid, (channels, state) in PEOPLE.items():
        await server.client(uuid).heartbeat().channels(channels).state(state).result()
    admin = server.client("admin")
    for group, channels in GROUPS.items():
        await admin.add_channel_to_channel_group().channel_group(group).channels(channels).result()


def remote_config() -> PNConfiguration | None:
    """A configuration for PubNub's service from the environment, if it is set."""
    origin = os.environ.get("PUBNUB_ORIGIN")
    if not origin:
        return None
    config = PNConfiguration()
    config.origin = origin
    config.subscribe_key = os.environ.get("PUBNUB_SUBSCRIBE_KEY")
    config.publish_key = os.environ.get("PUBNUB_PUBLISH_KEY")
    config.uuid = os.environ.get("PUBNUB_UUID", "my-uuid")
    return config


async def _run(reactor: Any, main: Main) -> None:
    config = remote_config()
    if config is not None:
        pubnub = PubNub(config, reactor=reactor)
        try:
            await main(pubnub)
        finally:
            await pubnub.stop()
        return
    server = LocalPresenceServer.start(reactor)
    try:
        await seed(server)
        await main(server.client("my-uuid"))
    finally:
        await server.stop()


def run(main: Main) -> None:
    """Run ``main(pubnub)`` on the reactor, then exit."""
    react(lambda reactor: ensureDeferred(_run(reactor, main)))
