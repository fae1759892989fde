"""PresenceView over real HTTP on loopback, with the real reactor; and its example."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks, maybeDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from pubnub_twisted import (
    PNStatus,
    PNStatusCategory,
    PresenceViewPhase,
    PubNub,
    Reconnection,
    SubscribeCallback,
)
from pubnub_twisted.server import SubscribeOptions, listen
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer
from tests.test_examples import example
from tests.test_presence_view_support import LiveRecorder, Recorder
from tests.test_realtime_integration import eventually

Gen = Generator[Deferred[Any], Any, None]


class LoopbackTests(TestCase):
    """The view against the embedded server on a port: sync, live events, paging, reconnects."""

    def setUp(self) -> None:
        server = listen(reactor, here_now_cache=0, subscribe=SubscribeOptions(announce_max=100_000))
        self.server = LocalPresenceServer(server, reactor)
        self.addCleanup(self.server.stop)

    def client(self, uuid: str) -> PubNub:
        return self.server.client(uuid, reconnection_interval=0.05, reconnection_jitter=0.0)

    @inlineCallbacks
    def test_live(self) -> Gen:
        """The first sync, then a join, a state change and a leave as they happen."""
        alice = self.client("alice")
        yield alice.heartbeat().channels("lobby").state({"lobby": {"k": 1}}).result()
        view = self.client("viewer").presence_view(channels="lobby")
        recorder = Recorder()
        view.add_listener(recorder)
        yield view.when_synced()
        self.assertEqual(view.occupants("lobby"), {"alice": {"k": 1}})
        bob = self.client("bob")
        bob.subscribe().channels("lobby").execute()
        yield eventually(lambda: "bob" in view.occupants("lobby"))
        yield bob.set_state().channels("lobby").state({"k": 2}).result()
        yield eventually(lambda: view.occupants("lobby")["bob"] == {"k": 2})
        yield alice.leave().channels("lobby").result()
        yield eventually(lambda: "alice" not in view.occupants("lobby"))
        self.assertEqual(
            recorder.take(),
            [
                ("join", "lobby", "alice", {"k": 1}),
                ("sync",),
                ("join", "lobby", "bob", None),
                ("state", "lobby", "bob", {"k": 2}),
                ("leave", "lobby", "alice", "leave"),
            ],
        )
        view.stop()

    @inlineCallbacks
    def test_paging(self) -> Gen:
        """3500 occupants with state are read in four pages over HTTP."""
        channel = "big"
        for number in range(3500):
            self.server.store.heartbeat(
                DEFAULT_SUBSCRIBE_KEY, f"user-{number:05}", [channel], 300, {channel: {"n": number}}
            )
        view = self.client("viewer").presence_view(channels=channel)
        started = time.perf_counter()
        yield view.when_synced()
        elapsed = time.perf_counter() - started
        self.assertEqual(view.occupancy(channel), 3500)
        self.assertEqual(view.occupants(channel)["user-03499"], {"n": 3499})
        self.assertLess(elapsed, 10.0)
        view.stop()

    @inlineCallbacks
    def test_reconnect(self) -> Gen:
        """The server goes away and comes back: the client reconnects and the view resyncs."""
        self.server.store.heartbeat(DEFAULT_SUBSCRIBE_KEY, "alice", ["lobby"], 300)
        viewer = self.client("viewer")
        statuses = Statuses()
        viewer.add_listener(statuses)
        view = viewer.presence_view(channels="lobby")
        recorder = Recorder()
        view.add_listener(recorder)
        yield view.when_synced()
        served = self.server.server
        host, port = served.host, served.port
        yield maybeDeferred(served.listening_port.stopListening)
        yield served.site.close_connections()
        yield eventually(lambda: PNStatusCategory.PNUnexpectedDisconnectCategory in statuses.seen)
        self.server.store.leave(DEFAULT_SUBSCRIBE_KEY, "alice", ["lobby"])
        self.server.store.heartbeat(DEFAULT_SUBSCRIBE_KEY, "bob", ["lobby"], 300)
        # Site's annotations do not say it is a ServerFactory of its protocol (see server/_site.py).
        again = reactor.listenTCP(port, served.site, interface=host)  # type: ignore[arg-type]
        self.addCleanup(again.stopListening)
        yield eventually(lambda: recorder.calls.count(("sync",)) == 2, timeout=15)
        self.assertIn(PNStatusCategory.PNReconnectedCategory, statuses.seen)
        self.assertEqual(view.occupants("lobby"), {"bob": None})
        self.assertEqual(recorder.picture, {"lobby": {"bob": None}})
        view.stop()

    @inlineCallbacks
    def test_outage_longer_than_the_clients_give_up(self) -> Gen:
        """The server is down longer than the client's own retries last: the view still recovers.

        A plain client with the same (finite) settings gives up during the
        same outage; the view's client keeps trying, hears the server come
        back on the same port, and the view resyncs and reports what changed.
        """
        finite = {"reconnection_interval": 0.05, "maximum_reconnection_retries": 2}
        store = self.server.store
        store.heartbeat(DEFAULT_SUBSCRIBE_KEY, "alice", ["lobby"], 300)
        plain = self.server.client("plain", reconnection_jitter=0.0, **finite)
        plain_statuses = Statuses()
        plain.add_listener(plain_statuses)
        plain.subscribe().channels("elsewhere").execute()
        viewer = self.server.client("viewer", reconnection_jitter=0.0, **finite)
        statuses = Statuses()
        viewer.add_listener(statuses)
        view = viewer.presence_view(
            channels="lobby", reconnection=Reconnection(interval=0.05, maximum_interval=0.2)
        )
        recorder = LiveRecorder()
        view.add_listener(recorder)
        yield view.when_synced()
        yield eventually(lambda: PNStatusCategory.PNConnectedCategory in plain_statuses.seen)
        served = self.server.server
        host, port = served.host, served.port
        yield maybeDeferred(served.listening_port.stopListening)
        yield served.site.close_connections()
        yield eventually(lambda: not view.live)
        # The plain client's 0.05 + 0.1 s are soon spent; the outage lasts ten times that.
        yield eventually(lambda: PNStatusCategory.PNDisconnectedCategory in plain_statuses.seen)
        yield deferLater(reactor, 1.5, lambda: None)
        self.assertEqual(view.phase, PresenceViewPhase.DISCONNECTED)
        self.assertNotIn(PNStatusCategory.PNDisconnectedCategory, statuses.seen)
        store.leave(DEFAULT_SUBSCRIBE_KEY, "alice", ["lobby"])
        store.heartbeat(DEFAULT_SUBSCRIBE_KEY, "bob", ["lobby"], 300)
        # Site's annotations do not say it is a ServerFactory of its protocol (see server/_site.py).
        again = reactor.listenTCP(port, served.site, interface=host)  # type: ignore[arg-type]
        self.addCleanup(again.stopListening)
        yield eventually(lambda: view.live, timeout=15)
        self.assertEqual(view.occupants("lobby"), {"bob": None})
        kinds = [call[0] for call in recorder.take()]
        self.assertEqual(kinds[:3], ["join", "sync", "disconnected"])
        self.assertEqual(kinds[3], "reconnected")
        self.assertEqual(sorted(kinds[4:-1]), ["join", "leave"])
        self.assertEqual(kinds[-1], "sync")
        self.assertEqual(recorder.picture, {"lobby": {"bob": None}})
        view.stop()


class Statuses(SubscribeCallback):
    """Records the categories of the statuses a client announces."""

    def __init__(self) -> None:
        self.seen: list[PNStatusCategory] = []

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.seen.append(status.category)


class ExampleTests(TestCase):
    """examples/presence_view.py runs against the embedded server and prints the live view."""

    @inlineCallbacks
    def test_example(self) -> Gen:
        """The example prints the snapshot, then the state change, leave and join it makes."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        yield ensureDeferred(example("_support").seed(server))
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        yield example("presence_view").main(server.client("my-uuid"))
        lines = out.getvalue().splitlines()
        for line in [
            "+ such_uuid joined ch1 (state {'first': 'Robert', 'last': 'Plant'})",
            "+ myUuid1 joined ch1 (state None)",
            "synced: 3 on ch1",
            "live: True",
            "~ my-uuid on ch1: state {'mood': 'curious'}",
            "- my-uuid left ch1 (leave)",
            "  now on ch1: myUuid1, such_uuid",
            "+ my-uuid joined ch1 (state None)",
            "channels of my-uuid: ['ch1']",
        ]:
            self.assertIn(line, lines, out.getvalue())
