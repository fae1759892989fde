"""The presence server on a real loopback port (plain HTTP through Twisted's Agent)."""

from __future__ import annotations

import json
import socket
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody

from pubnub_twisted.protocol import MAX_URL_LENGTH, encode
from pubnub_twisted.server import PresenceServer, PresenceStore, listen
from tests.test_server_harness import BASE


class LoopbackTests(TestCase):
    """``listen()`` serves the resource on 127.0.0.1 and ``stop()`` leaves nothing behind."""

    def setUp(self) -> None:
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.addCleanup(self.pool.closeCachedConnections)
        self.agent = Agent(reactor, pool=self.pool)

    def start(self, **options: Any) -> PresenceServer:
        """Listen on an ephemeral loopback port, stopped when the test ends."""
        server = listen(reactor, **options)
        self.addCleanup(server.stop)
        return server

    @inlineCallbacks
    def fetch(self, server: PresenceServer, target: str) -> Any:
        """GET ``target`` from ``server``; return (status, JSON body)."""
        response = yield self.agent.request(b"GET", (server.url + target).encode())
        body = yield readBody(response)
        return response.code, json.loads(body)

    @inlineCallbacks
    def test_round_trip(self) -> Any:
        """A heartbeat and a here_now over a real socket; origin and url name the port."""
        server = self.start(here_now_cache=0)
        self.assertEqual(server.host, "127.0.0.1")
        self.assertNotEqual(server.port, 0)
        self.assertEqual(server.origin, f"127.0.0.1:{server.port}")
        self.assertEqual(server.url, f"http://127.0.0.1:{server.port}")
        yield self.fetch(server, f"{BASE}/channel/a%3Bb/heartbeat?uuid=u%201")
        code, body = yield self.fetch(server, f"{BASE}/channel/a%3Bb?uuid=me")
        self.assertEqual(
            (code, body),
            (
                200,
                {
                    "status": 200,
                    "message": "OK",
                    "service": "Presence",
                    "uuids": ["u 1"],
                    "occupancy": 1,
                },
            ),
        )
        self.assertEqual(server.store.where_now("sub-c-X", "u 1"), ["a;b"])

    @inlineCallbacks
    def test_long_urls(self) -> Any:
        """URLs up to 32 KiB are served (beyond Twisted's 16 KiB default); longer ones get 414."""
        server = self.start()
        head = f"{BASE}/channel/ch/uuid/me/data?uuid=me&state="
        state = encode(json.dumps({"k": "x" * (MAX_URL_LENGTH // 2)}))
        code, body = yield self.fetch(server, head + state)
        self.assertEqual((code, len(body["payload"]["k"])), (200, MAX_URL_LENGTH // 2))
        code, body = yield self.fetch(
            server, head + encode(json.dumps({"k": "x" * MAX_URL_LENGTH}))
        )
        self.assertEqual(
            (code, body),
            (
                414,
                {
                    "status": 414,
                    "message": "Request URI Too Long",
                    "error": True,
                    "service": "Presence",
                },
            ),
        )

    @inlineCallbacks
    def test_stop_closes_everything(self) -> Any:
        """stop() ends listening, open keep-alive connections and the store's timer."""
        server = listen(reactor)
        yield self.fetch(server, f"{BASE}/channel/ch/heartbeat?heartbeat=300&uuid=me")
        yield server.stop()
        self.assertEqual(server.site.close_connections().called, True)

    @inlineCallbacks
    def test_shared_store(self) -> Any:
        """A store handed in is served as is, and left running by stop()."""
        store = PresenceStore(reactor)
        self.addCleanup(store.stop)
        store.heartbeat("sub-c-X", "u1", ["ch"], 60)
        server = listen(reactor, store=store, here_now_cache=0)
        code, body = yield self.fetch(server, f"{BASE}/uuid/u1?uuid=me")
        self.assertEqual((code, body["payload"]), (200, {"channels": ["ch"]}))
        yield server.stop()
        self.assertEqual(store.where_now("sub-c-X", "u1"), ["ch"])

    @inlineCallbacks
    def test_many_connects_at_once(self) -> Any:
        """120 clients connecting at once are all queued (no 50-connection backlog).

        120 stays under the kernel's smallest usual cap on listen queues (128).
        """
        server = listen(reactor)
        self.addCleanup(server.stop)
        sockets = []
        try:
            # The reactor is busy running this test, so nothing is accepted meanwhile:
            # every connection must fit in the listen queue, or connect() stalls.
            for _ in range(120):
                sock = socket.create_connection((server.host, server.port), timeout=0.5)
                sockets.append(sock)
        finally:
            for sock in sockets:
                sock.close()
        self.assertEqual(len(sockets), 120)
        yield server.stop()
