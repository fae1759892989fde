"""A harness for the presence server tests: plain HTTP requests, in memory.

No tests of its own.  Requests go through ``RequestTraversalAgent`` exactly
as written (no client library re-encodes them), so the server is checked
against PROTOCOL.md's wire format and not against our own client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from treq.testing import RequestTraversalAgent
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import readBody
from twisted.web.http_headers import Headers

from pubnub_twisted.server import PresenceEvent, PresenceResource, PresenceStore

SUB = "sub-c-X"
BASE = f"/v2/presence/sub-key/{SUB}"
REGISTRY = f"/v1/channel-registration/sub-key/{SUB}/channel-group"
PNSDK = "pnsdk=PubNub-Python%2F10.4.0"
OK: dict[str, Any] = {"status": 200, "message": "OK", "service": "Presence"}


class Reply:
    """One HTTP answer: status code, headers and the decoded JSON body."""

    def __init__(self, code: int, headers: Headers, raw: bytes) -> None:
        self.code = code
        self.headers = headers
        self.raw = raw
        self.body: Any = json.loads(raw) if raw else None

    def header(self, name: str) -> list[str]:
        """The values of a response header."""
        return list(self.headers.getRawHeaders(name, []))


class ServerCase(SynchronousTestCase):
    """A test case with an in-memory presence server on a ``Clock``.

    The here_now cache is off unless a test builds its own server with
    :meth:`serve`.  Every presence event lands in ``self.events``.
    """

    def setUp(self) -> None:
        self.serve(here_now_cache=0)

    def serve(self, **options: Any) -> None:
        """(Re)build the server with ``PresenceResource`` options."""
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.store = PresenceStore(self.clock)
        self.events: list[PresenceEvent] = []
        self.store.add_observer(self.events.append)
        self.resource = PresenceResource(self.store, **options)
        self.agent = RequestTraversalAgent(self.resource)

    def request(self, target: str | bytes, method: bytes = b"GET") -> Reply:
        """Send ``target`` (path and query, already encoded) as it is."""
        if isinstance(target, str):
            target = target.encode("utf-8")
        d = self.agent.request(method, b"http://ps.pndsn.test" + target)
        self.agent.flush()
        response = self.successResultOf(d)
        body = readBody(response)
        self.agent.flush()
        return Reply(response.code, response.headers, self.successResultOf(body))

    def get(self, target: str) -> Any:
        """GET ``target``, check it answered 200, and return the JSON body."""
        reply = self.request(target)
        self.assertEqual(reply.code, 200, reply.body)
        return reply.body

    def assertRefused(self, target: str, code: int, body: dict[str, Any]) -> Reply:
        """GET ``target`` and check the status code and the full JSON body."""
        reply = self.request(target)
        self.assertEqual((reply.code, reply.body), (code, body), target)
        return reply

    def assertAllRefused(self, targets: Iterable[str], code: int, body: dict[str, Any]) -> None:
        """Each of ``targets`` is refused with ``code`` and exactly ``body``."""
        for target in targets:
            self.assertRefused(target, code, body)

    def heartbeat(self, channels: str, uuid: str, query: str = "") -> None:
        """A heartbeat over HTTP (``channels`` and ``uuid`` already encoded)."""
        extra = f"&{query}" if query else ""
        self.get(f"{BASE}/channel/{channels}/heartbeat?uuid={uuid}{extra}")
