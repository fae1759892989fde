"""Scriptable fake ``IAgent``s for transport and loop tests: no sockets, full control.

``FakeAgent``: each request pops the next scripted behaviour: a response
(code, headers, body chunks, whether the body ends), a failure, or "never
answer".  ``ManualAgent``: every request waits until the test answers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

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


@dataclass(frozen=True)
class Sent:
    """One request as a :class:`FakeAgent` saw it: method, URI, headers, body."""

    method: bytes
    uri: bytes
    headers: Headers
    body: bytes | None

    def header(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (``[]`` when absent)."""
        return list(self.headers.getRawHeaders(name, []))


class _Collector:
    """An ``IConsumer`` that keeps what a body producer writes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)


def produced(producer: IBodyProducer | None) -> bytes | None:
    """What ``producer`` writes when asked (at once: it must not wait)."""
    if producer is None:
        return None
    collector = _Collector()
    done = producer.startProducing(collector)
    assert done.called, "the body producer did not write at once"
    return b"".join(collector.chunks)


@implementer(IAgent)
class FakeAgent:
    """An agent that answers from a script and records every request."""

    def __init__(self, *scripts: Script) -> None:
        self.scripts = list(scripts)
        self.requests: list[bytes] = []
        #: Every request in full (method, headers and body too).
        self.sent: list[Sent] = []
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
        self.sent.append(Sent(method, uri, headers or Headers(), produced(bodyProducer)))
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


@dataclass
class PendingRequest:
    """A request a :class:`ManualAgent` received; the test answers it when it likes."""

    uri: str
    deferred: Deferred[IResponse]
    cancelled: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.uri).path

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, decoded (a list stays comma-joined)."""
        pairs = (part.partition("=") for part in urlsplit(self.uri).query.split("&") if part)
        return {key: unquote(value) for key, _, value in pairs}

    @property
    def open(self) -> bool:
        """Neither answered nor cancelled."""
        return not self.deferred.called

    def respond(self, body: bytes = b"{}", code: int = 200) -> None:
        """Answer with ``body`` (a complete response)."""
        self.deferred.callback(FakeResponse(code, [body], {}, True))

    def fail(self, exc: Exception) -> None:
        """Fail the request as a connection problem would."""
        self.deferred.errback(Failure(exc))


@implementer(IAgent)
class ManualAgent:
    """An agent whose requests wait until the test answers them (long-polls do).

    Requests whose path contains a key of ``auto`` are answered at once with
    that script instead (heartbeats, leaves, ``/time/0``).
    """

    def __init__(self, auto: dict[str, Script] | None = None) -> None:
        self.auto = dict(auto or {})
        self.requests: list[PendingRequest] = []

    def request(self, method: bytes, uri: bytes, *_: Any, **__: Any) -> Deferred[IResponse]:
        """Record the request; answer it at once if ``auto`` says so (headers ignored)."""
        pending: PendingRequest

        def cancel(_: Any) -> None:
            pending.cancelled = True

        pending = PendingRequest(uri.decode("ascii"), Deferred(cancel))
        self.requests.append(pending)
        for marker, script in self.auto.items():
            if marker in pending.path:
                if script.failure is not None:
                    pending.fail(script.failure)
                elif not script.hang:
                    pending.respond(script.body, script.code)
                break
        return pending.deferred

    def matching(self, marker: str) -> list[PendingRequest]:
        """The requests whose path contains ``marker``, oldest first."""
        return [pending for pending in self.requests if marker in pending.path]
