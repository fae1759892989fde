"""A loopback HTTP/1.1 server that misbehaves on demand, for the fault suite.

HTTP is written by hand (no ``twisted.web`` on this side) because resets and
truncations are exactly what a well-behaved server never produces.  The
server listens on 127.0.0.1 only.  Each request takes the next :data:`Fault`
from the script; the last one repeats.  The server counts connections opened
and closed, so a test can tell from this side of the socket that the client
closed what it opened.

Also here: the other loopback fixtures the suite needs (a port that refuses,
a port that never finishes a connect) and :class:`LoopbackCase`, a trial
case that checks after each test that nothing was logged as an error and
that the client left no connection open.
"""

from __future__ import annotations

import gc
import json
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any, cast

from twisted.internet import defer, tcp
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IDelayedCall, IListeningPort
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.ssl import CertificateOptions
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from pubnub_twisted import PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.models import PNEnvelope
from tests.helpers import config

__all__ = [
    "HERE_NOW",
    "RESET_BEFORE_HEADERS",
    "RESET_MID_BODY",
    "RESET_MID_HEADERS",
    "SILENT",
    "STALL_AFTER_HEADERS",
    "TRUNCATED_CHUNKED",
    "Fault",
    "FaultServer",
    "LoopbackCase",
    "Received",
    "answer",
    "big_here_now",
    "deaf",
    "json_answer",
]

reactor: Any = _reactor

#: What the server does with one request.
Fault = Callable[["FaultProtocol"], None]

HERE_NOW = {"status": 200, "message": "OK", "service": "Presence", "occupancy": 1, "uuids": ["u"]}


def _head(code: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """A status line and headers."""
    lines = [f"HTTP/1.1 {code} {HTTPStatus(code).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(code: int, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> Fault:
    """A complete response with a Content-Length; the connection stays open."""
    head = _head(code, [*headers, ("Content-Length", str(len(body)))])

    def fault(protocol: FaultProtocol) -> None:
        protocol.transport.write(head + body)  # type: ignore[union-attr]

    return fault


def json_answer(data: Any, code: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Fault:
    """A complete JSON response."""
    content_type = ("Content-Type", "text/javascript; charset=UTF-8")
    return answer(code, json.dumps(data).encode(), [content_type, *headers])


def _reset(protocol: FaultProtocol, data: bytes = b"") -> None:
    """Send ``data``, then reset the connection once the client has had time to read it.

    (``abortConnection`` drops what is not yet written, so it has to wait.)
    """
    transport: Any = protocol.transport
    if not data:
        transport.abortConnection()
        return
    transport.write(data)
    protocol.later = reactor.callLater(0.05, transport.abortConnection)


def RESET_BEFORE_HEADERS(protocol: FaultProtocol) -> None:
    """Read the request, then reset the connection: no response at all."""
    _reset(protocol)


def RESET_MID_HEADERS(protocol: FaultProtocol) -> None:
    """Send half of the status line and headers, then reset."""
    _reset(protocol, b"HTTP/1.1 200 OK\r\nContent-Type: text/jav")


_PART = b'{"status": 200, "message": "OK", "occupancy": '


def RESET_MID_BODY(protocol: FaultProtocol) -> None:
    """Send the headers and part of a 1000-byte body, then reset."""
    _reset(protocol, _head(200, [("Content-Length", "1000")]) + _PART)


def STALL_AFTER_HEADERS(protocol: FaultProtocol) -> None:
    """Send the headers and part of a 1000-byte body, then nothing more."""
    protocol.transport.write(_head(200, [("Content-Length", "1000")]) + _PART)  # type: ignore[union-attr]


def TRUNCATED_CHUNKED(protocol: FaultProtocol) -> None:
    """Send one chunk of a chunked body, then close cleanly without the last chunk."""
    head = _head(200, [("Transfer-Encoding", "chunked")])
    protocol.transport.write(head + b"%x\r\n%s\r\n" % (len(_PART), _PART))  # type: ignore[union-attr]
    protocol.transport.loseConnection()  # type: ignore[union-attr]


def SILENT(protocol: FaultProtocol) -> None:
    """Read the request and never answer."""


def deaf(fault: Fault) -> Fault:
    """``fault``, then stop reading: the server never sees (or answers) a close."""

    def deafened(protocol: FaultProtocol) -> None:
        fault(protocol)
        protocol.transport.pauseProducing()  # type: ignore[union-attr]

    return deafened


@cache
def big_here_now(channels: int = 500, occupants: int = 1000) -> bytes:
    """A wrapped here_now answer of about 20 MB (``channels * occupants`` uuids)."""
    entries = {
        f"channel-{c:04d}": {
            "occupancy": occupants,
            "uuids": [f"user-{c:04d}-{o:06d}-0123456789abcdef0123" for o in range(occupants)],
        }
        for c in range(channels)
    }
    payload = {
        "channels": entries,
        "total_channels": channels,
        "total_occupancy": channels * occupants,
    }
    return json.dumps({"status": 200, "message": "OK", "payload": payload}).encode()


@dataclass(frozen=True)
class Received:
    """One request as the server read it (header names in lower case)."""

    method: bytes
    target: str
    headers: dict[bytes, bytes]
    body: bytes


class FaultProtocol(Protocol):
    """One server-side connection: reads requests, answers each with the next fault."""

    factory: FaultServer

    def __init__(self) -> None:
        self._buffer = b""
        #: A reset still to come, cancelled if the connection closes first.
        self.later: IDelayedCall | None = None

    def connectionMade(self) -> None:
        self.factory.connection_made(self)

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, _, rest_of_buffer = self._buffer.partition(b"\r\n\r\n")
            request_line, *header_lines = head.split(b"\r\n")
            method, _, rest = request_line.partition(b" ")
            if not method.isalpha() or not method.isupper() or b" HTTP/1." not in rest:
                self._not_http()
                return
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(rest_of_buffer) < length:
                return  # the body is still on its way
            body, self._buffer = rest_of_buffer[:length], rest_of_buffer[length:]
            target = rest.rsplit(b" ", 1)[0].decode("latin-1")
            self.factory.request_received(Received(method, target, headers, body))
            self.factory.next_fault()(self)
        if self._buffer[:1] and not self._buffer[:1].isalpha():
            self._not_http()

    def _not_http(self) -> None:
        """What any HTTP server does with bytes that are not HTTP (a TLS hello, say)."""
        self.transport.write(_head(400, [("Connection", "close")]))  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]
        self._buffer = b""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.later is not None and self.later.active():
            self.later.cancel()
        self.factory.connection_lost(self)


class FaultServer(Factory[FaultProtocol]):
    """A scripted loopback server that counts its connections."""

    protocol = FaultProtocol

    def __init__(self, *faults: Fault) -> None:
        self._faults = list(faults) or [json_answer(HERE_NOW)]
        self.opened = 0
        self.closed = 0
        #: Request targets (path and query) in the order they arrived.
        self.requests: list[str] = []
        #: The same requests in full: method, headers and body too.
        self.received: list[Received] = []
        self._open: set[FaultProtocol] = set()
        self._waiters: list[tuple[Callable[[], bool], Deferred[None]]] = []
        self._port: IListeningPort | None = None

    # -- lifecycle ----------------------------------------------------------

    def listen(self, tls: CertificateOptions | None = None) -> FaultServer:
        """Listen on an ephemeral port of 127.0.0.1 (with TLS when given options)."""
        if tls is None:
            self._port = reactor.listenTCP(0, self, interface="127.0.0.1")
        else:
            self._port = reactor.listenSSL(0, self, tls, interface="127.0.0.1")
        return self

    @property
    def port(self) -> int:
        assert self._port is not None
        host: Any = self._port.getHost()
        port: int = host.port
        return port

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    @inlineCallbacks
    def stop(self) -> Any:
        """Stop listening and drop (abort) any connection still open."""
        for protocol in list(self._open):
            protocol.transport.abortConnection()  # type: ignore[union-attr]
        yield self.wait_for(lambda: not self._open, "aborted connections closed")
        if self._port is not None:
            yield self._port.stopListening()

    # -- bookkeeping ----------------------------------------------------------

    def next_fault(self) -> Fault:
        return self._faults.pop(0) if len(self._faults) > 1 else self._faults[0]

    def connection_made(self, protocol: FaultProtocol) -> None:
        self.opened += 1
        self._open.add(protocol)
        self._check()

    def connection_lost(self, protocol: FaultProtocol) -> None:
        self.closed += 1
        self._open.discard(protocol)
        self._check()

    def request_received(self, received: Received) -> None:
        self.requests.append(received.target)
        self.received.append(received)
        self._check()

    def wait_for(
        self, condition: Callable[[], bool], what: str, within: float = 2.0
    ) -> Deferred[None]:
        """Fire once ``condition()`` holds; fail (saying ``what``) after ``within`` s."""
        d: Deferred[None] = Deferred()
        if condition():
            d.callback(None)
            return d
        self._waiters.append((condition, d))

        def timed_out(failure: Failure) -> None:
            failure.trap(defer.TimeoutError)
            raise AssertionError(f"not within {within:g} s: {what}")

        return d.addTimeout(within, reactor).addErrback(timed_out)

    def wait_requests(self, count: int) -> Deferred[None]:
        """Fire once ``count`` requests have arrived."""
        return self.wait_for(lambda: len(self.requests) >= count, f"{count} request(s) received")

    def wait_all_closed(self) -> Deferred[None]:
        """Fire once every connection opened so far is closed (by the client)."""
        return self.wait_for(
            lambda: self.opened > 0 and not self._open,
            f"the client closed its connections ({len(self._open)} of {self.opened} open)",
        )

    def _check(self) -> None:
        for waiter in list(self._waiters):
            condition, d = waiter
            if not d.called and condition():
                self._waiters.remove(waiter)
                d.callback(None)


def refusing_port() -> tuple[int, socket.socket]:
    """A port of 127.0.0.1 that refuses connections: bound, never listening.

    Keeping the socket bound (close it when done) stops anything else from
    taking the port meanwhile.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1], sock


def unanswered_port() -> tuple[int, list[socket.socket]]:
    """A port of 127.0.0.1 where a connect never completes.

    It listens with a backlog of 0, never accepts, and one connection already
    fills its queue: the kernel then drops further SYNs, so a client stays
    "connecting" until it gives up.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    return port, [filler, listener]


class LoopbackCase(TestCase):
    """Real reactor, loopback sockets; after each test, nothing logged as an error.

    Every logged event is kept in ``self.events``.  ``client()`` makes a
    client that is stopped after the test; ``serve()`` a fault server that is
    stopped after the client, once it has seen every connection closed (a
    client that leaves one open fails the test).
    """

    #: Overall deadline of a call, seconds.
    timeout_s = 1.0
    #: What "not past the deadline" allows for scheduling.
    slack_s = 0.5

    def setUp(self) -> None:
        self.events: list[LogEvent] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(self._no_logged_failures)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def _no_logged_failures(self) -> None:
        gc.collect()  # a Deferred that dies with an unhandled failure logs it now
        failures = [formatEvent(event) for event in self.events if "log_failure" in event]
        self.assertEqual(failures, [])

    def serve(self, *faults: Fault, tls: CertificateOptions | None = None) -> FaultServer:
        """A fault server on 127.0.0.1, stopped after the test."""
        server = FaultServer(*faults).listen(tls)
        self.addCleanup(server.stop)
        return server

    def client(self, origin: str, watch: FaultServer | None = None, **overrides: Any) -> PubNub:
        """A client for ``origin``; no retries unless asked, deadline ``timeout_s``.

        With ``watch``, the cleanup asserts that this server saw the client
        close every connection once the client was stopped.
        """
        settings: dict[str, Any] = {
            "origin": origin,
            "non_subscribe_request_timeout": self.timeout_s,
            "request_retry_policy": PNReconnectionPolicy.NONE,
            **overrides,
        }
        pubnub = PubNub(config(**settings))

        @inlineCallbacks
        def stop() -> Any:
            yield pubnub.stop()
            if watch is not None and watch.opened:
                yield watch.wait_all_closed()

        self.addCleanup(stop)
        return pubnub

    def refused_origin(self) -> str:
        """An origin on 127.0.0.1 that refuses connections (for this test)."""
        port, sock = refusing_port()
        self.addCleanup(sock.close)
        return f"127.0.0.1:{port}"

    def unanswered_origin(self) -> str:
        """An origin on 127.0.0.1 where connecting never completes (for this test)."""
        port, sockets = unanswered_port()
        for sock in sockets:
            self.addCleanup(sock.close)
        return f"127.0.0.1:{port}"

    def client_sockets(self) -> set[tcp.Client]:
        """The client-side TCP connections the reactor is watching."""
        selectables = [*reactor.getReaders(), *reactor.getWriters()]
        return {each for each in selectables if isinstance(each, tcp.Client)}

    def elapsed(self, started: float) -> float:
        seconds: float = reactor.seconds() - started
        return seconds

    def assertStatus(
        self, envelope: PNEnvelope[Any], category: PNStatusCategory, code: int | None, message: str
    ) -> None:
        """``envelope`` failed with ``category``, ``code`` and a message containing ``message``."""
        status = envelope.status
        self.assertEqual((status.category, status.status_code), (category, code))
        self.assertTrue(status.is_error())
        self.assertIsNone(envelope.result)
        assert status.error_data is not None
        self.assertIn(message, status.error_data.information)

    @inlineCallbacks
    def here_now(self, pubnub: PubNub, *channels: str) -> Any:
        """Send a here_now; return its envelope, checking it came within the deadline."""
        started = reactor.seconds()
        envelope: PNEnvelope[Any] = yield pubnub.here_now().channels(*channels or ("a",)).deferred()
        self.assertLess(self.elapsed(started), self.timeout_s + self.slack_s)
        return envelope
