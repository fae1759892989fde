"""The transport's Agent parses each origin once and sends what Twisted's Agent sends."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from pubnub_twisted.transport import Transport, _OriginAgent
from tests.helpers import config


class _Recorder(Resource):
    """Answers anything with 200 and records the request line and Host it got."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bytes, bytes, bytes | None]] = []

    def render(self, request: Request) -> bytes:
        self.seen.append((request.method, request.uri, request.getHeader(b"host")))
        return b'{"status": 200}'


class OriginAgentTests(TestCase):
    """Over loopback, against a plain ``Agent`` sending the same URLs."""

    def setUp(self) -> None:
        self.recorder = _Recorder()
        port = reactor.listenTCP(0, Site(self.recorder), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        self.origin = f"127.0.0.1:{port.getHost().port}"  # type: ignore[attr-defined]
        self.transport = Transport(config(origin=self.origin), reactor)
        self.addCleanup(self.transport.stop)
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        self.plain = Agent(reactor, pool=pool)

    @inlineCallbacks
    def test_same_request_as_agent(self) -> Generator[Deferred[Any], Any, None]:
        """Each URL reaches the server as the plain Agent sends it; the origin is parsed once."""
        agent = self.transport._agent
        assert isinstance(agent, _OriginAgent)
        urls = [
            f"http://{self.origin}/v2/presence/sub-key/s/channel/a,b%2Cc/heartbeat?uuid=u&x=%20",
            f"http://{self.origin}/time/0",
            f"http://{self.origin}/v2/presence/sub-key/s/uuid/u;p=1?state=%7B%7D",
            f"http://{self.origin}/frag/ment?q=1#part",
            f"http://{self.origin}?q=/not/a/path",
        ]
        for url in urls:
            ours = yield self.transport.get(url, 5)
            self.assertEqual(ours.code, 200)
            plain = yield self.plain.request(b"GET", url.encode("ascii"))
            yield readBody(plain)
        self.assertEqual(len(self.recorder.seen), 2 * len(urls))
        self.assertEqual(self.recorder.seen[0::2], self.recorder.seen[1::2])
        self.assertEqual(self.recorder.seen[0][2], self.origin.encode("ascii"))
        self.assertEqual(list(agent._origins), [f"http://{self.origin}".encode("ascii")])
        self.assertTrue(self.recorder.seen[-1][1].endswith(b"?q=/not/a/path"))

    @inlineCallbacks
    def test_request_knows_its_url(self) -> Generator[Deferred[Any], Any, None]:
        """The response's request carries the whole URL, as with the plain Agent."""
        url = f"http://{self.origin}/v2/presence/sub-key/s/channel/a/leave?uuid=u".encode()
        agent = self.transport._agent
        for _ in range(2):  # the first parses the origin, the second reuses it
            response = yield agent.request(b"GET", url)
            yield readBody(response)
            self.assertEqual(response.request.absoluteURI, url)

    def test_refuses_what_agent_refuses(self) -> None:
        """A URL Agent would refuse is refused alike, whether or not its origin is known."""
        agent = self.transport._agent
        for url in (b"http://h.test/a b", b"http://h.test/\xe9", b"http://h.test/a\r\nX: y"):
            with self.assertRaises(ValueError):
                self.plain.request(b"GET", url)
            with self.assertRaises(ValueError):
                agent.request(b"GET", url)
        self.assertEqual(self.successResultOf(self.transport.stop()), None)
        self.assertFailure(agent.request(b"GET", b"gopher://h.test/x"), Exception)
