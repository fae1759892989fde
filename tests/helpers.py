"""Shared test fixtures: a canned in-memory HTTP resource and client factories.

No sockets: requests go through ``treq.testing.RequestTraversalAgent`` and
timers run on a ``task.Clock``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from treq.testing import RequestTraversalAgent
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import Request

from pubnub_twisted import (
    PNConfiguration,
    PNOperationType,
    PNStatusCategory,
    PubNub,
    PubNubException,
)
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.models import PNEnvelope, PNStatus
from pubnub_twisted.protocol import decode_value, parse_query
from pubnub_twisted.transport import PNSDK

SUB_KEY = "sub-c-test"
PUB_KEY = "pub-c-test"
UUID = "test-uuid"
PNSDK_Q = PNSDK.replace("/", "%2F")
TAIL = f"pnsdk={PNSDK_Q}&uuid={UUID}"
# Names that need encoding (a comma cannot be in one: PubNub's naming rules forbid it).
HOSTILE = ["a;b", "a/b c", "x&y#z", "100%", "über", "😀"]
HOSTILE_Q = "a%3Bb,a%2Fb%20c,x%26y%23z,100%25,%C3%BCber,%F0%9F%98%80"
HOSTILE_UUID = "a,b/c d&e#f%g+ü😀"
HOSTILE_UUID_Q = "a%2Cb%2Fc%20d%26e%23f%25g%2B%C3%BC%F0%9F%98%80"
A1 = "%7B%22a%22%3A%201%7D"  # {"a": 1}, as PROTOCOL.md encodes it
SET_ANSWER = {"status": 200, "message": "OK", "service": "Presence", "payload": {"a": 1}}


@dataclass
class Seen:
    """One request the canned resource received."""

    method: bytes
    uri: str
    headers: dict[bytes, list[bytes]]

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def query(self) -> str:
        return urlsplit(self.uri).query


@dataclass
class CannedResource(Resource):
    """Answers every request with one canned response and records what it saw."""

    code: int = 200
    body: bytes | Any = b'{"status": 200, "message": "OK", "service": "Presence"}'
    headers: dict[bytes, bytes] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    isLeaf = True

    def __post_init__(self) -> None:
        Resource.__init__(self)
        if not isinstance(self.body, bytes):
            self.body = json.dumps(self.body).encode()

    def render(self, request: Request) -> bytes:
        self.seen.append(
            Seen(
                request.method,
                request.uri.decode("ascii"),
                {name: list(values) for name, values in request.requestHeaders.getAllRawHeaders()},
            )
        )
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/javascript; charset=UTF-8")
        for name, value in self.headers.items():
            request.setHeader(name, value)
        assert isinstance(self.body, bytes)
        return self.body


def config(**overrides: Any) -> PNConfiguration:
    """A configuration for tests: fixed keys and uuid, plain HTTP to a fake origin."""
    conf = PNConfiguration()
    conf.subscribe_key = SUB_KEY
    conf.publish_key = PUB_KEY
    conf.uuid = UUID
    conf.origin = "pubnub.test"
    conf.ssl = False
    for name, value in overrides.items():
        setattr(conf, name, value)
    return conf


def canned_client(
    resource: Resource, **overrides: Any
) -> tuple[PubNub, Clock, RequestTraversalAgent]:
    """A client wired to ``resource`` in memory, on a fresh ``Clock``."""
    clock = Clock()
    agent = RequestTraversalAgent(resource)
    return PubNub(config(**overrides), reactor=clock, agent=agent), clock, agent


class EndpointCase(SynchronousTestCase):
    """An in-memory client answering ``body``, and helpers to send a builder or see it refused.

    Shared by the endpoint test modules.
    """

    body: Any = SET_ANSWER

    def setUp(self) -> None:
        self.resource = CannedResource(body=self.body)
        self.pubnub, self.clock, self.agent = canned_client(self.resource)

    def send(self, builder: Endpoint[Any]) -> PNEnvelope[Any]:
        """Send ``builder``; return the envelope it fires with."""
        d = builder.deferred()
        self.agent.flush()
        return self.successResultOf(d)

    def uri(self, builder: Endpoint[Any]) -> str:
        """Send ``builder``; return the one URI the resource saw (and forget it)."""
        self.send(builder)
        self.assertEqual(len(self.resource.seen), 1)
        return self.resource.seen.pop().uri

    def refused(self, builder: Endpoint[Any], message: str) -> None:
        """``builder`` is refused with ``message``, as a status and a failure; nothing sent."""
        envelope = self.successResultOf(builder.deferred())
        self.assertIsNone(envelope.result)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        assert envelope.status.error_data is not None
        self.assertIn(message, envelope.status.error_data.information)
        self.assertEqual(self.resource.seen, [])
        failure = self.failureResultOf(builder.result(), PubNubException)
        self.assertIn(message, str(failure.value))

    def sent_json(self, builder: Endpoint[Any], key: str = "state") -> Any:
        """Send ``builder``; return its query parameter ``key``, decoded and JSON-parsed."""
        self.send(builder)
        pairs = dict(parse_query(self.resource.seen.pop().query))
        return json.loads(decode_value(pairs[key]))

    def acknowledged(
        self, builder: Endpoint[Any], result: object, operation: PNOperationType
    ) -> PNStatus:
        """``builder`` gives ``result`` and an HTTP 200 acknowledgment of ``operation``."""
        envelope = self.send(builder)
        self.assertEqual(envelope.result, result)
        status = envelope.status
        self.assertFalse(status.is_error())
        self.assertEqual(status.category, PNStatusCategory.PNAcknowledgmentCategory)
        self.assertEqual((status.operation, status.status_code), (operation, 200))
        return status

    def malformed(self, builder: Endpoint[Any], body: bytes, message: str) -> None:
        """Answered with ``body``, ``builder`` gives a MalformedResponse naming ``message``."""
        self.resource.body = body
        envelope = self.send(builder)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNMalformedResponseCategory)
        assert envelope.status.error_data is not None
        self.assertIn(message, envelope.status.error_data.information)
