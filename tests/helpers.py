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
from twisted.web.resource import Resource
from twisted.web.server import Request

from pubnub_twisted import PNConfiguration, PubNub

SUB_KEY = "sub-c-test"
PUB_KEY = "pub-c-test"
UUID = "test-uuid"


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
