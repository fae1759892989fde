"""The fault suite: a misbehaving server on loopback, a real reactor, real sockets.

For each fault: the envelope's category, status code and message; the call
ends by its deadline; the client leaves no connection open (checked from the
server side) and no timer behind (trial's reactor check); nothing is logged
as an error.  Then retries against the real server, and cancellation at
every stage of a call.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred, gatherResults, inlineCallbacks
from twisted.internet.task import deferLater

from pubnub_twisted import PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.models import PNEnvelope
from tests.fault_server import (
    HERE_NOW,
    RESET_BEFORE_HEADERS,
    RESET_MID_BODY,
    RESET_MID_HEADERS,
    SILENT,
    STALL_AFTER_HEADERS,
    TRUNCATED_CHUNKED,
    Fault,
    FaultServer,
    LoopbackCase,
    answer,
    big_here_now,
    json_answer,
    reactor,
)

Category = PNStatusCategory

BAD_GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


class FaultTests(LoopbackCase):
    """Each fault gives the right category, status code and message, by the deadline."""

    @inlineCallbacks
    def fault(
        self, fault: Fault, category: Category, code: int | None, message: str, *channels: str
    ) -> Any:
        """One here_now against ``fault``: check its status; return the envelope."""
        server = self.serve(fault)
        pubnub = self.client(server.origin, server)
        envelope: PNEnvelope[Any] = yield self.here_now(pubnub, *channels)
        self.assertStatus(envelope, category, code, message)
        self.assertEqual(len(server.requests), 1)
        return envelope

    def test_refused(self) -> Any:
        """A closed port: UnexpectedDisconnect, "connection refused", at once."""
        pubnub = self.client(self.refused_origin())
        return self.here_now(pubnub).addCallback(
            self.assertStatus,
            Category.PNUnexpectedDisconnectCategory,
            None,
            "Connection Error: connection refused",
        )

    def test_reset_before_headers(self) -> Any:
        """A reset before any response byte: UnexpectedDisconnect, lost before the response."""
        return self.fault(
            RESET_BEFORE_HEADERS,
            Category.PNUnexpectedDisconnectCategory,
            None,
            "Connection Error: connection lost before the response",
        )

    def test_reset_mid_headers(self) -> Any:
        """A reset in the middle of the headers: UnexpectedDisconnect, lost in the headers."""
        return self.fault(
            RESET_MID_HEADERS,
            Category.PNUnexpectedDisconnectCategory,
            None,
            "Connection Error: connection lost while reading the response headers",
        )

    def test_reset_mid_body(self) -> Any:
        """A reset in the middle of the body: UnexpectedDisconnect, body cut short."""
        return self.fault(
            RESET_MID_BODY,
            Category.PNUnexpectedDisconnectCategory,
            None,
            "Connection Error: connection lost while reading the response body",
        )

    def test_truncated_chunked(self) -> Any:
        """A chunked body closed without its last chunk: UnexpectedDisconnect, body truncated."""
        return self.fault(
            TRUNCATED_CHUNKED,
            Category.PNUnexpectedDisconnectCategory,
            None,
            "Connection Error: connection closed before the whole response body arrived",
        )

    def test_stall_after_headers(self) -> Any:
        """Headers, then a body that never ends: Timeout at the deadline."""
        return self.fault(
            STALL_AFTER_HEADERS,
            Category.PNTimeoutCategory,
            None,
            "Client Timeout: no complete response within 1 s "
            "(waiting for the rest of the response body)",
        )

    def test_no_answer(self) -> Any:
        """A server that reads the request and never answers: Timeout at the deadline."""
        return self.fault(
            SILENT,
            Category.PNTimeoutCategory,
            None,
            "Client Timeout: no complete response within 1 s "
            "(waiting for a connection and the response headers)",
        )

    def test_500(self) -> Any:
        """500 with PubNub's JSON error: Unknown, 500, the server's message."""
        body = {"status": 500, "error": True, "message": "Internal Server Error: shard down"}
        return self.fault(
            json_answer(body, 500),
            Category.PNUnknownCategory,
            500,
            "HTTP Server Error (500): Internal Server Error: shard down",
        )

    def test_502_html(self) -> Any:
        """502 with an HTML page: Unknown, 502, the reason and the start of the page."""
        return self.fault(
            answer(502, BAD_GATEWAY_PAGE, [("Content-Type", "text/html")]),
            Category.PNUnknownCategory,
            502,
            "HTTP Server Error (502): Bad Gateway; body is not JSON: '<html><head><title>502",
        )

    def test_503_retry_after(self) -> Any:
        """503 with Retry-After and retries off: Unknown, 503, Service Unavailable."""
        return self.fault(
            answer(503, b"", [("Retry-After", "1")]),
            Category.PNUnknownCategory,
            503,
            "HTTP Server Error (503): Service Unavailable; empty body",
        )

    def test_429_retry_after(self) -> Any:
        """429 with Retry-After and retries off: Unknown, 429, the server's message."""
        body = {"status": 429, "error": True, "message": "Too many requests"}
        return self.fault(
            json_answer(body, 429, [("Retry-After", "1")]),
            Category.PNUnknownCategory,
            429,
            "HTTP Client Error (429): Too many requests",
        )

    def test_invalid_json(self) -> Any:
        """200 with a body that is not JSON: MalformedResponse, 200, JSON decoding failed."""
        return self.fault(
            answer(200, b'{"status": 200, "occupancy": 1,'),
            Category.PNMalformedResponseCategory,
            200,
            'JSON decoding failed (200): body is not JSON: \'{"status": 200',
        )

    def test_json_array(self) -> Any:
        """200 with a JSON array: MalformedResponse, 200, not a JSON object."""
        return self.fault(
            json_answer([1, 2, 3]),
            Category.PNMalformedResponseCategory,
            200,
            "Malformed response (200): expected a JSON object, got list",
        )

    def test_missing_key(self) -> Any:
        """200 without the key the result needs: MalformedResponse naming the key."""
        return self.fault(
            json_answer({"status": 200, "uuids": []}),
            Category.PNMalformedResponseCategory,
            200,
            "Malformed response (200): missing key 'occupancy'",
        )

    def test_wrong_type(self) -> Any:
        """200 with a key of the wrong type: MalformedResponse naming key and type."""
        payload = {"channels": {"a": {"occupancy": "many"}, "b": {"occupancy": 1}}}
        return self.fault(
            json_answer({"status": 200, "payload": payload}),
            Category.PNMalformedResponseCategory,
            200,
            "Malformed response (200): key 'occupancy' has the wrong type (str)",
            "a",
            "b",
        )

    def test_empty_body(self) -> Any:
        """200 with an empty body: MalformedResponse, 200, "empty body" (no hang)."""
        return self.fault(
            answer(200, b""),
            Category.PNMalformedResponseCategory,
            200,
            "JSON decoding failed (200): empty body",
        )


class BigAnswerTests(LoopbackCase):
    """A 20 MB here_now is read whole and parsed."""

    timeout_s = 10.0

    @inlineCallbacks
    def test_20_mb_here_now(self) -> Any:
        """500 channels of 1000 occupants (20 MB): every channel and occupant arrives."""
        body = big_here_now()
        self.assertGreaterEqual(len(body), 20_000_000)
        server = self.serve(answer(200, body))
        pubnub = self.client(server.origin, server)
        names = [f"channel-{c:04d}" for c in range(500)]
        envelope = yield self.here_now(pubnub, "channel-0000", "channel-0001")
        self.assertEqual(envelope.status.category, Category.PNAcknowledgmentCategory)
        result = envelope.result
        self.assertEqual((result.total_channels, result.total_occupancy), (500, 500_000))
        self.assertEqual([c.channel_name for c in result.channels], names)
        self.assertEqual(sum(len(c.occupants) for c in result.channels), 500_000)
        self.assertEqual(
            result.channels[-1].occupants[-1].uuid, "user-0499-000999-0123456789abcdef0123"
        )


class RetryTests(LoopbackCase):
    """Retries against a real server, inside the deadline."""

    timeout_s = 3.0

    def retrying(self, server: FaultServer) -> PubNub:
        return self.client(
            server.origin,
            server,
            request_retry_policy=PNReconnectionPolicy.LINEAR,
            request_retry_delay=0.1,
        )

    @inlineCallbacks
    def test_503_then_200(self) -> Any:
        """503, then 200: the call succeeds with the second answer."""
        server = self.serve(answer(503, b""), json_answer(HERE_NOW))
        envelope = yield self.here_now(self.retrying(server))
        self.assertEqual(envelope.status.category, Category.PNAcknowledgmentCategory)
        self.assertEqual(envelope.result.total_occupancy, 1)
        self.assertEqual(len(server.requests), 2)

    @inlineCallbacks
    def test_429_retry_after(self) -> Any:
        """429 with Retry-After: 1 waits a second, then succeeds."""
        server = self.serve(answer(429, b"{}", [("Retry-After", "1")]), json_answer(HERE_NOW))
        started = reactor.seconds()
        envelope = yield self.here_now(self.retrying(server))
        self.assertGreaterEqual(self.elapsed(started), 1.0)
        self.assertEqual(envelope.status.status_code, 200)
        self.assertEqual(len(server.requests), 2)

    @inlineCallbacks
    def test_reset_then_200(self) -> Any:
        """A reset before the response is retried on a new connection."""
        server = self.serve(RESET_BEFORE_HEADERS, json_answer(HERE_NOW))
        envelope = yield self.here_now(self.retrying(server))
        self.assertEqual(envelope.status.status_code, 200)
        self.assertEqual((len(server.requests), server.opened), (2, 2))

    @inlineCallbacks
    def test_gives_up_at_deadline(self) -> Any:
        """A server that always answers 503: the last 503 is reported by the deadline."""
        self.timeout_s = 1.0
        server = self.serve(answer(503, b""))
        pubnub = self.client(
            server.origin,
            server,
            request_retry_policy=PNReconnectionPolicy.LINEAR,
            request_retry_delay=0.2,
            request_max_retries=100,
        )
        envelope = yield self.here_now(pubnub)
        self.assertStatus(
            envelope,
            Category.PNUnknownCategory,
            503,
            "HTTP Server Error (503): Service Unavailable",
        )
        self.assertIn(len(server.requests), (4, 5))  # at 0, 0.2, 0.4, 0.6 and 0.8 s


class CancellationTests(LoopbackCase):
    """Cancelling at any stage: CancelledError at once, and the connection is closed."""

    timeout_s = 5.0

    @inlineCallbacks
    def cancelled(self, d: Deferred[Any]) -> Any:
        """Cancel ``d``: it fails with CancelledError at once."""
        started = reactor.seconds()
        d.cancel()
        yield self.assertFailure(d, CancelledError)
        self.assertLess(self.elapsed(started), 0.1)

    @inlineCallbacks
    def test_connecting(self) -> Any:
        """Cancel while the TCP connect is pending: the connecting socket is closed."""
        pubnub = self.client(self.unanswered_origin())
        d = pubnub.here_now().channels("a").deferred()
        yield deferLater(reactor, 0.2, lambda: None)
        self.assertEqual(len(self.client_sockets()), 1)  # still connecting
        yield self.cancelled(d)
        self.assertEqual(self.client_sockets(), set())

    @inlineCallbacks
    def test_connect_timeout(self) -> Any:
        """A connect that never completes: Timeout at the deadline, connecting socket closed."""
        self.timeout_s = 1.0
        pubnub = self.client(self.unanswered_origin())
        envelope = yield self.here_now(pubnub)
        self.assertStatus(
            envelope,
            Category.PNTimeoutCategory,
            None,
            "Client Timeout: no complete response within 1 s "
            "(waiting for a connection and the response headers)",
        )
        self.assertEqual(self.client_sockets(), set())

    @inlineCallbacks
    def at_stage(self, fault: Fault, wait: float = 0.0) -> Any:
        """Cancel a call once ``fault`` has the request (and ``wait`` s more)."""
        server = self.serve(fault)
        pubnub = self.client(server.origin, server)
        d = pubnub.here_now().channels("a").deferred()
        yield server.wait_requests(1)
        yield deferLater(reactor, wait, lambda: None)
        yield self.cancelled(d)
        yield server.wait_all_closed()
        self.assertEqual((server.opened, server.closed), (1, 1))

    def test_waiting_for_headers(self) -> Any:
        """Cancel while waiting for the headers: the server sees the connection closed."""
        return self.at_stage(SILENT)

    def test_reading_body(self) -> Any:
        """Cancel while the body is arriving: the server sees the connection closed."""
        return self.at_stage(STALL_AFTER_HEADERS, 0.2)

    @inlineCallbacks
    def test_waiting_for_retry(self) -> Any:
        """Cancel between attempts: no second request is ever made."""
        server = self.serve(answer(503, b""), json_answer(HERE_NOW))
        pubnub = self.client(
            server.origin,
            server,
            request_retry_policy=PNReconnectionPolicy.LINEAR,
            request_retry_delay=0.3,
        )
        d = pubnub.here_now().channels("a").deferred()
        yield server.wait_requests(1)
        yield deferLater(reactor, 0.1, lambda: None)
        yield self.cancelled(d)
        yield deferLater(reactor, 0.4, lambda: None)
        self.assertEqual(len(server.requests), 1)

    @inlineCallbacks
    def test_deadline_while_reading_body(self) -> Any:
        """The deadline fires mid-body: Timeout, and the server sees the connection closed."""
        self.timeout_s = 0.5
        server = self.serve(STALL_AFTER_HEADERS)
        pubnub = self.client(server.origin, server)
        envelope = yield self.here_now(pubnub)
        self.assertStatus(
            envelope,
            Category.PNTimeoutCategory,
            None,
            "Client Timeout: no complete response within 0.5 s "
            "(waiting for the rest of the response body)",
        )
        yield server.wait_all_closed()

    @inlineCallbacks
    def test_stop(self) -> Any:
        """stop() ends calls at every stage with PNCancelledCategory and closes every socket."""
        silent = self.serve(SILENT)
        stalled = self.serve(STALL_AFTER_HEADERS)
        busy = self.serve(answer(503, b""))
        idle = self.serve(json_answer(HERE_NOW))
        idle_client = self.client(idle.origin, idle)
        pooled = yield self.here_now(idle_client)
        self.assertFalse(pooled.status.is_error())
        retrying = {"request_retry_policy": PNReconnectionPolicy.LINEAR}
        clients = [
            self.client(self.unanswered_origin()),
            self.client(silent.origin, silent),
            self.client(stalled.origin, stalled),
            self.client(busy.origin, busy, request_retry_delay=3.0, **retrying),
        ]
        calls = [pubnub.here_now().channels("a").deferred() for pubnub in clients]
        for server in (silent, stalled, busy):
            yield server.wait_requests(1)
        yield deferLater(reactor, 0.2, lambda: None)
        self.assertEqual(len(self.client_sockets()), 5)
        yield gatherResults([pubnub.stop() for pubnub in [*clients, idle_client]])
        for d in calls:
            envelope = yield d
            self.assertStatus(
                envelope,
                Category.PNCancelledCategory,
                None,
                "Request Cancelled: the client was stopped",
            )
        self.assertEqual(self.client_sockets(), set())
