"""Real-time presence end to end: our subscribe loop against the embedded server on loopback."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from pubnub_twisted import PNStatusCategory, PubNub, SubscribeCallback
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import PNPresenceEventResult
from pubnub_twisted.testing import LocalPresenceServer

Gen = Generator[Deferred[Any], Any, None]


class Watcher(SubscribeCallback):
    """Records presence events as (event, uuid, occupancy, state) and statuses."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, int, Any]] = []
        self.statuses: list[PNStatusCategory] = []

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        self.events.append((event.event, event.uuid, event.occupancy, event.state))

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.statuses.append(status.category)


@inlineCallbacks
def eventually(check: Callable[[], bool], timeout: float = 10.0) -> Gen:
    """Wait (on the real reactor) until ``check()`` is true; fail after ``timeout`` s."""
    waited = 0.0
    while not check():
        if waited > timeout:
            raise AssertionError("timed out waiting for a condition")
        yield deferLater(reactor, 0.02, lambda: None)
        waited += 0.02


class RealtimeTests(TestCase):
    """A watcher sees every presence change once, in order, with occupancy and state."""

    def setUp(self) -> None:
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)

    def client(self, uuid: str) -> PubNub:
        return self.server.client(
            uuid, reconnection_interval=0.05, reconnection_jitter=0.0, connection_pool_size=4
        )

    @inlineCallbacks
    def test_watch_join_state_leave_timeout(self) -> Gen:
        """join, state-change, leave and timeout arrive once each, in order."""
        watcher, events = self.client("watcher"), Watcher()
        watcher.add_listener(events)
        watcher.subscribe().channels("lobby-pnpres").execute()  # observe, not counted
        yield eventually(lambda: PNStatusCategory.PNConnectedCategory in events.statuses)
        alice, bob = self.client("alice"), self.client("bob")
        alice.subscribe().channels("lobby").execute()
        yield eventually(lambda: len(events.events) == 1)
        yield alice.set_state().channels("lobby").state({"mood": "happy"}).result()
        yield eventually(lambda: len(events.events) == 2)
        yield bob.heartbeat().channels("lobby").presence_timeout(1).result()
        yield eventually(lambda: len(events.events) == 3)
        alice.unsubscribe().channels("lobby").execute()
        yield eventually(lambda: len(events.events) == 4)
        yield eventually(lambda: len(events.events) == 5)
        yield deferLater(reactor, 0.3, lambda: None)  # nothing more (no duplicates)
        self.assertEqual(
            events.events,
            [
                ("join", "alice", 1, None),
                ("state-change", "alice", 1, {"mood": "happy"}),
                ("join", "bob", 2, None),
                ("leave", "alice", 1, None),
                ("timeout", "bob", 0, None),
            ],
        )
        here = yield watcher.here_now().channels("lobby").result()
        self.assertEqual(here.total_occupancy, 0)

    @inlineCallbacks
    def test_connections_dropped_mid_poll(self) -> Gen:
        """The server drops every connection mid-poll; the event of the gap still arrives."""
        watcher, events = self.client("watcher"), Watcher()
        watcher.add_listener(events)
        watcher.subscribe().channels("room-pnpres").execute()
        yield eventually(lambda: PNStatusCategory.PNConnectedCategory in events.statuses)
        yield deferLater(reactor, 0.1, lambda: None)  # the watcher's poll is now held
        yield self.server.server.site.close_connections()
        yield self.client("carol").heartbeat().channels("room").result()  # during the gap
        yield eventually(lambda: len(events.events) >= 1)
        yield deferLater(reactor, 0.2, lambda: None)
        # Delivered once: the poll resumed from its cursor on a new connection
        # (Twisted's pool re-sends an idempotent GET whose reused connection
        # closed before any answer; otherwise the loop reconnects itself).
        self.assertEqual(events.events, [("join", "carol", 1, None)])
        self.assertNotIn(PNStatusCategory.PNDisconnectedCategory, events.statuses)

    @inlineCallbacks
    def test_subscriber_is_present_and_leaves_on_stop(self) -> Gen:
        """A subscriber is present (with its state) until stop() sends its leave."""
        alice = self.client("alice")
        alice.subscribe().channels("lobby", "game").with_presence().execute()
        yield eventually(lambda: alice.get_subscribed_channels() != [])
        observer = self.server.client("observer")

        @inlineCallbacks
        def where() -> Generator[Deferred[Any], Any, list[str]]:
            result = yield observer.where_now().uuid("alice").result()
            return list(result.channels)

        channels: list[str] = []

        @inlineCallbacks
        def present() -> Gen:
            channels[:] = yield where()

        for _ in range(200):
            yield present()
            if sorted(channels) == ["game", "lobby"]:
                break
            yield deferLater(reactor, 0.02, lambda: None)
        self.assertEqual(sorted(channels), ["game", "lobby"])
        yield alice.stop()
        yield present()
        self.assertEqual(channels, [])
