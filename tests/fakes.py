"""A scriptable fake ``IAgent`` for transport tests: no sockets, full control.

Each request pops the next scripted behaviour: a response (code, headers,
body chunks, whether the body ends), a failure, or "never answer".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IProtocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgent, IBodyProducer, IResponse
from zope.interface import implementer


@dataclass
class BodyTransport:
    """Stands in for the connection a response body arrives on."""

    closed: bool = False

    def loseConnection(self) -> None:
        self.closed = True

    def stopProducing(self) -> None:
        self.closed = True

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass


@implementer(IResponse)
class FakeResponse:
    """A response whose body is delivered as scripted."""

    version = (b"HTTP", 1, 1)
    request = None
    previousResponse = None

    def __init__(
        self, code: int, body: list[bytes], headers: dict[bytes, bytes], ends: bool
    ) -> None:
        self.code = code
        self.phrase = b"Phrase"
        self.headers = Headers({name: [value] for name, value in headers.items()})
        self.length = UNKNOWN_LENGTH
        self._body = body
        self._ends = ends
        self.transport = BodyTransport()
        self.protocol: IProtocol | None = None

    def deliverBody(self, protocol: IProtocol) -> None:
        self.protocol = protocol
        protocol.makeConnection(self.transport)  # type: ignore[arg-type]
        for chunk in self._body:
            protocol.dataReceived(chunk)
        if self._ends:
            protocol.connectionLost(Failure(ResponseDone()))

    def setPreviousResponse(self, response: IResponse) -> None:
        pass


@dataclass
class Script:
    """One scripted answer: a response, a failure, or silence (``hang``)."""

    code: int = 200
    body: bytes = b'{"status": 200, "occupancy": 0, "uuids": []}'
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body_ends: bool = True
    failure: Exception | None = None
    hang: bool = False


@implementer(IAgent)
class FakeAgent:
    """An agent that answers from a script and records every request."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.requests: list[bytes] = []
        self.pending: list[Deferred[IResponse]] = []
        self.cancelled = 0
        self.responses: list[FakeResponse] = []

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        self.requests.append(uri)
        script = self.scripts.pop(0) if self.scripts else Script()
        if script.hang:

            def cancel(_: Any) -> None:
                self.cancelled += 1

            d: Deferred[IResponse] = Deferred(cancel)
            self.pending.append(d)
            return d
        if script.failure is not None:
            failed: Deferred[IResponse] = Deferred()
            failed.errback(Failure(script.failure))
            return failed
        response = FakeResponse(script.code, [script.body], script.headers, script.body_ends)
        self.responses.append(response)
        return succeed(response)
