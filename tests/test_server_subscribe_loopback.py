"""Subscribe on a real loopback port: held polls answered, dropped and ended by stop()."""

from __future__ import annotations

import json
from typing import Any

from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool

from pubnub_twisted.server import PresenceServer, SubscribeOptions, listen
from tests.test_server_harness import BASE, SUB

SUBSCRIBE = f"/v2/subscribe/{SUB}"


class LoopbackSubscribeTests(TestCase):
    """``listen()`` with long-polls over real sockets; ``stop()`` leaves the reactor clean."""

    def setUp(self) -> None:
        pool = HTTPConnectionPool(reactor, persistent=True)
        self.addCleanup(pool.closeCachedConnections)
        self.http = HTTPClient(Agent(reactor, pool=pool))

    @inlineCallbacks
    def fetch(self, server: PresenceServer, target: str) -> Any:
        """GET ``target``; return (status, JSON body)."""
        response = yield self.http.get(server.url + target)
        body = yield response.content()
        return response.code, json.loads(body)

    @inlineCallbacks
    def until(self, condition: Any) -> Any:
        """Wait (up to about 5 s of real time) until ``condition()`` is true."""
        for _ in range(500):
            if condition():
                return
            yield deferLater(reactor, 0.01, lambda: None)
        self.fail("condition never came true")

    @inlineCallbacks
    def test_held_poll_answered_by_a_join(self) -> Any:
        """A held ``ch-pnpres`` poll is answered when a plain heartbeat makes a uuid join."""
        server = listen(reactor, subscribe=SubscribeOptions(hold_time=30))
        self.addCleanup(server.stop)  # also when the test fails; a second stop() is harmless
        _, handshake = yield self.fetch(server, f"{SUBSCRIBE}/ch-pnpres/0?uuid=watcher&tt=0")
        cursor = handshake["t"]["t"]
        poll = self.fetch(server, f"{SUBSCRIBE}/ch-pnpres/0?uuid=watcher&tt={cursor}&tr=1")
        yield self.until(lambda: server.resource.hub.held == 1)
        yield self.fetch(server, f"{BASE}/channel/ch/heartbeat?uuid=me&heartbeat=60")
        code, body = yield poll
        self.assertEqual(code, 200)
        self.assertEqual(
            [(e["c"], e["b"], e["d"]["action"], e["d"]["uuid"]) for e in body["m"]],
            [("ch-pnpres", "ch-pnpres", "join", "me")],
        )
        self.assertGreater(int(body["t"]["t"]), int(cursor))
        yield server.stop()

    @inlineCallbacks
    def test_stop_answers_held_polls(self) -> Any:
        """stop() answers a held poll with no events and closes everything."""
        server = listen(reactor, subscribe=SubscribeOptions(hold_time=30))
        self.addCleanup(server.stop)  # also when the test fails; a second stop() is harmless
        poll: Deferred[Any] = self.fetch(server, f"{SUBSCRIBE}/ch/0?uuid=me&tt=1")
        yield self.until(lambda: server.resource.hub.held == 1)
        yield server.stop()
        code, body = yield poll
        self.assertEqual((code, body["m"]), (200, []))

    @inlineCallbacks
    def test_leave_on_disconnect(self) -> Any:
        """With ``leave_on_disconnect``, a client aborting its held poll leaves its channels."""
        server = listen(reactor, subscribe=SubscribeOptions(hold_time=30, leave_on_disconnect=True))
        self.addCleanup(server.stop)
        yield self.fetch(server, f"{SUBSCRIBE}/ch/0?uuid=me&tt=0")
        self.assertEqual(server.store.where_now(SUB, "me"), ["ch"])
        poll = self.http.get(server.url + f"{SUBSCRIBE}/ch/0?uuid=me&tt=1")
        yield self.until(lambda: server.resource.hub.held == 1)
        poll.cancel()
        self.failureResultOf(poll)
        yield self.until(lambda: server.store.where_now(SUB, "me") == [])
        self.assertEqual(server.resource.hub.held, 0)
