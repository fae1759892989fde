"""The presence keeper end to end: real HTTP over loopback to the embedded server."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer


class KeeperLoopbackTests(TestCase):
    """Many users kept from one client over real connections, then all leave on stop()."""

    @inlineCallbacks
    def test_keep_update_leave_stop(self) -> Generator[Deferred[Any], Any, None]:
        """60 members present with state, an update and a leave, few connections, stop leaves."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        pubnub = server.client("service", presence_timeout=10)
        keeper = pubnub.presence_keeper(max_in_flight=4)
        members = [
            keeper.enter(f"u{i}", channels=[f"room{i % 3}"], state={f"room{i % 3}": {"n": i}})
            for i in range(60)
        ]
        yield gatherResults([member.when_present() for member in members])
        store = server.store
        self.assertEqual(
            [store.occupancy(DEFAULT_SUBSCRIBE_KEY, f"room{k}") for k in range(3)], [20] * 3
        )
        yield members[0].update(channels=["room0", "vip"], state={"vip": {"gold": True}})
        yield members[1].leave()
        here = yield pubnub.here_now().channels(["room1", "vip"]).include_state(True).result()
        occupants = {c.channel_name: {o.uuid: o.state for o in c.occupants} for c in here.channels}
        self.assertEqual(occupants["vip"], {"u0": {"gold": True}})
        self.assertNotIn("u1", occupants["room1"])
        self.assertEqual(len(occupants["room1"]), 19)
        # Past an interval (4 s): heartbeats kept everyone, over at most 4 connections.
        yield deferLater(reactor, 4.5, lambda: None)
        self.assertEqual(store.occupancy(DEFAULT_SUBSCRIBE_KEY, "room2"), 20)
        self.assertLessEqual(len(server.server.site._channels), 4)
        yield pubnub.stop()
        self.assertEqual(store.where_now(DEFAULT_SUBSCRIBE_KEY, "u0"), [])
        self.assertEqual(
            [store.occupancy(DEFAULT_SUBSCRIBE_KEY, f"room{k}") for k in range(3)], [0, 0, 0]
        )

    @inlineCallbacks
    def test_connections_within_pool(self) -> Generator[Deferred[Any], Any, None]:
        """A keeper at full load plus the app's own calls never open more than the pool size."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        site = server.server.site
        opened: list[object] = []
        record = site._opened

        def counting(channel: Any) -> None:
            opened.append(channel)
            record(channel)

        site._opened = counting  # type: ignore[method-assign]
        pool = 6
        pubnub = server.client("service", presence_timeout=10, connection_pool_size=pool)
        keeper = pubnub.presence_keeper()  # default: half the pool in flight
        self.assertEqual(keeper.max_in_flight, pool // 2)
        members = [keeper.enter(f"u{i}", channels=[f"room{i % 5}"]) for i in range(400)]
        # The keeper is full (joins queued beyond its bound) while the app makes its own
        # calls, as many at once as the rest of the pool, several times over.
        rounds = 0
        while keeper._limit:
            self.assertEqual(keeper._limit.active, keeper.max_in_flight)
            yield gatherResults(
                [pubnub.here_now().channels("room0").result() for _ in range(pool // 2)]
            )
            rounds += 1
        self.assertGreaterEqual(rounds, 3)
        yield gatherResults([member.when_present() for member in members])
        self.assertEqual(server.store.occupancy(DEFAULT_SUBSCRIBE_KEY, "room0"), 80)
        self.assertLessEqual(len(opened), pool)
        yield pubnub.stop()
