"""Requests other than GET: method, body and headers on the wire, and idempotency rules.

On a Clock with a scripted in-memory agent: the same deadline, cancellation
and redaction guarantees as GET, and the retry rule for calls that are not
idempotent (retried only where the request provably never reached the
server; otherwise "outcome unknown").
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, cast

from OpenSSL import SSL
from twisted.internet import error as neterror
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web._newclient import RequestNotSent, RequestTransmissionFailed
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from pubnub_twisted import PNOperationType, PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.endpoints.base import Endpoint, json_body
from pubnub_twisted.models import JSONObject, PNEnvelope
from pubnub_twisted.transport import (
    JSON_CONTENT_TYPE,
    OUTCOME_UNKNOWN,
    PNSDK,
    HTTPResponse,
    Transport,
    TransportFailure,
)
from tests.fakes import FakeAgent, Script
from tests.helpers import config

URL = "http://pubnub.test/v3/pam/sub-c-test/grant?uuid=u&auth=SECRET-AUTH&signature=v2.SIG"
BODY = b'{"ttl": 15, "token": "SECRET-TOKEN-IN-BODY"}'
JSON = {"Content-Type": JSON_CONTENT_TYPE}

#: Failures after which the request provably never reached the server.
NEVER_SENT: list[Exception] = [
    neterror.ConnectionRefusedError(),
    neterror.DNSLookupError("no such host"),
    neterror.TimeoutError(),  # the connect timed out
    neterror.NoRouteError(),
    RequestNotSent(),
]


def lost() -> Failure:
    """A connection-lost reason, as Twisted wraps them."""
    return Failure(neterror.ConnectionLost("gone"))


#: Failures after which the request may have reached the server.
MAYBE_SENT: list[Exception] = [
    ResponseNeverReceived([lost()]),
    RequestTransmissionFailed([lost()]),
    # ConnectionRefusedError wrapped: the leaf says "refused", but Twisted
    # wraps only what happens after it started writing.
    ResponseNeverReceived([Failure(neterror.ConnectionRefusedError())]),
]


def transport(agent: FakeAgent, **overrides: Any) -> tuple[Transport, Clock]:
    clock = Clock()
    settings: dict[str, Any] = {"request_retry_delay": 0.1, **overrides}
    return Transport(config(**settings), clock, agent), clock


def failure_of(case: SynchronousTestCase, d: Deferred[HTTPResponse]) -> TransportFailure:
    value = case.failureResultOf(d, TransportFailure).value
    assert isinstance(value, TransportFailure)
    return value


class WireTests(SynchronousTestCase):
    """What goes on the wire for each method."""

    def test_post_with_body(self) -> None:
        """A POST sends its method, its body whole, its Content-Type and the User-Agent."""
        agent = FakeAgent(Script())
        sender, _ = transport(agent)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY, headers=JSON)
        self.assertEqual(self.successResultOf(d).code, 200)
        [sent] = agent.sent
        self.assertEqual((sent.method, sent.uri, sent.body), (b"POST", URL.encode(), BODY))
        self.assertEqual(sent.header(b"content-type"), [b"application/json"])
        self.assertEqual(sent.header(b"user-agent"), [PNSDK.encode()])

    def test_delete_without_body(self) -> None:
        """A DELETE without a body sends no body producer and no Content-Type."""
        agent = FakeAgent(Script())
        sender, _ = transport(agent)
        self.successResultOf(sender.request("delete", URL, 5, idempotent=False))
        [sent] = agent.sent
        self.assertEqual((sent.method, sent.body), (b"DELETE", None))
        self.assertEqual(sent.header(b"content-type"), [])

    def test_get_unchanged(self) -> None:
        """get() still sends a bodiless GET with only the User-Agent added."""
        agent = FakeAgent(Script())
        sender, _ = transport(agent)
        self.successResultOf(sender.get(URL, 5))
        [sent] = agent.sent
        self.assertEqual((sent.method, sent.body), (b"GET", None))
        self.assertEqual(sent.header(b"content-type"), [])
        self.assertEqual(sent.header(b"user-agent"), [PNSDK.encode()])

    def test_empty_body(self) -> None:
        """An empty body is still a body: sent as zero bytes, not left out."""
        agent = FakeAgent(Script())
        sender, _ = transport(agent)
        self.successResultOf(sender.request("POST", URL, 5, idempotent=False, body=b""))
        self.assertEqual(agent.sent[0].body, b"")

    def test_headers_do_not_leak(self) -> None:
        """Headers given for one call are not sent with the next."""
        agent = FakeAgent(Script(), Script())
        sender, _ = transport(agent)
        first = sender.request("POST", URL, 5, idempotent=False, body=BODY, headers=JSON)
        self.successResultOf(first)
        self.successResultOf(sender.get(URL, 5))
        self.assertEqual(agent.sent[1].header(b"content-type"), [])

    def test_unknown_method(self) -> None:
        """A method the transport does not send is a programming error: ValueError."""
        sender, _ = transport(FakeAgent())
        self.assertRaises(ValueError, sender.request, "BREW", URL, 5, idempotent=True)


class DeadlineAndCancelTests(SynchronousTestCase):
    """Deadline and cancellation hold for requests with bodies too."""

    def test_deadline_covers_post(self) -> None:
        """A POST never answered ends at its deadline, its request cancelled, no timer left."""
        agent = FakeAgent(Script(hang=True))
        sender, clock = transport(agent)
        d = sender.request("POST", URL, 3, idempotent=True, body=BODY, headers=JSON)
        clock.advance(2.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        problem = failure_of(self, d)
        self.assertEqual(problem.category, PNStatusCategory.PNTimeoutCategory)
        self.assertEqual(agent.cancelled, 1)
        self.assertFalse(problem.outcome_unknown)  # idempotent: nothing to warn about
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_deadline_body_stalls(self) -> None:
        """A POST whose answer's body stalls: timeout at the deadline, connection closed."""
        agent = FakeAgent(Script(body=b"[1,", body_ends=False))
        sender, clock = transport(agent)
        d = sender.request("POST", URL, 2, idempotent=False, body=BODY)
        clock.advance(2)
        problem = failure_of(self, d)
        self.assertEqual(problem.category, PNStatusCategory.PNTimeoutCategory)
        self.assertTrue(agent.responses[0].transport.closed)
        self.assertTrue(problem.outcome_unknown)

    def test_cancel_post(self) -> None:
        """Cancelling a POST in flight: CancelledError, request cancelled, no timer left."""
        agent = FakeAgent(Script(hang=True))
        sender, clock = transport(agent)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(agent.cancelled, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stop_post(self) -> None:
        """stop() ends a POST in flight as cancelled, saying its outcome is unknown."""
        agent = FakeAgent(Script(hang=True))
        sender, _ = transport(agent)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
        self.successResultOf(sender.stop())
        problem = failure_of(self, d)
        self.assertEqual(problem.category, PNStatusCategory.PNCancelledCategory)
        self.assertTrue(problem.outcome_unknown)


class IdempotencyTests(SynchronousTestCase):
    """Retries of calls that are not idempotent: only where nothing reached the server."""

    def test_never_sent_retried(self) -> None:
        """Refused, DNS, connect timeout, no route, RequestNotSent: retried, then answered."""
        for failure in NEVER_SENT:
            agent = FakeAgent(Script(failure=failure), Script())
            sender, clock = transport(agent)
            d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
            clock.advance(0.1)
            self.assertEqual(self.successResultOf(d).code, 200, failure)
            self.assertEqual([s.body for s in agent.sent], [BODY, BODY])

    def test_maybe_sent_not_retried(self) -> None:
        """A failure after writing began: one attempt only, failing "outcome unknown"."""
        for failure in MAYBE_SENT:
            agent = FakeAgent(Script(failure=failure), Script())
            sender, clock = transport(agent)
            d = sender.request("GET", URL, 5, idempotent=False)
            problem = failure_of(self, d)
            clock.advance(5)
            self.assertEqual(len(agent.sent), 1, failure)
            self.assertTrue(problem.outcome_unknown, failure)
            self.assertIn(f"; {OUTCOME_UNKNOWN}: the request may have reached", problem.detail)
            self.assertEqual(problem.category, PNStatusCategory.PNUnexpectedDisconnectCategory)

    def test_idempotent_still_retried(self) -> None:
        """The same failures are retried for an idempotent call, and never "outcome unknown"."""
        for failure in MAYBE_SENT:
            agent = FakeAgent(Script(failure=failure), Script(failure=failure))
            sender, clock = transport(agent, request_max_retries=1)
            d = sender.request("POST", URL, 5, idempotent=True, body=BODY)
            clock.advance(0.1)
            problem = failure_of(self, d)
            self.assertEqual(len(agent.sent), 2, failure)
            self.assertFalse(problem.outcome_unknown)

    def test_status_not_retried(self) -> None:
        """503 and 429 are answers to a call that is not idempotent: returned, not retried."""
        for code in (429, 500, 503):
            agent = FakeAgent(Script(code=code, headers={b"Retry-After": b"1"}), Script())
            sender, clock = transport(agent)
            d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
            self.assertEqual(self.successResultOf(d).code, code)
            clock.advance(5)
            self.assertEqual(len(agent.sent), 1)

    def test_body_lost_not_retried(self) -> None:
        """The answer's body cut off: not retried, "outcome unknown"."""
        agent = FakeAgent(Script(body=b"[1,", body_ends=False), Script())
        sender, clock = transport(agent)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
        body_reader = agent.responses[0].protocol
        assert body_reader is not None
        body_reader.connectionLost(Failure(ResponseFailed([lost()])))
        problem = failure_of(self, d)
        self.assertTrue(problem.outcome_unknown)
        self.assertIn("connection lost while reading the response body", problem.detail)
        clock.advance(5)
        self.assertEqual(len(agent.sent), 1)

    def test_refused_until_deadline_is_known(self) -> None:
        """Refused on every attempt: the failure says refused and not "outcome unknown"."""
        agent = FakeAgent(*[Script(failure=neterror.ConnectionRefusedError())] * 10)
        sender, clock = transport(agent, request_max_retries=2)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY)
        clock.pump([0.1] * 30)
        problem = failure_of(self, d)
        self.assertEqual(len(agent.sent), 3)
        self.assertIn("connection refused", problem.detail)
        self.assertFalse(problem.outcome_unknown)

    def test_deadline_after_unsent_attempt(self) -> None:
        """Refused, then the retry hangs until the deadline: that one may have been sent."""
        agent = FakeAgent(Script(failure=neterror.ConnectionRefusedError()), Script(hang=True))
        sender, clock = transport(
            agent,
            request_retry_delay=1.0,
            request_retry_policy=PNReconnectionPolicy.LINEAR,
        )
        d = sender.request("POST", URL, 4, idempotent=False, body=BODY)
        clock.advance(4)
        self.assertTrue(failure_of(self, d).outcome_unknown)  # the retry was out

    def test_untrusted_certificate_known(self) -> None:
        """An untrusted certificate (checked before any data flows): not "outcome unknown"."""
        untrusted = SSL.Error([("SSL routines", "", "certificate verify failed")])
        agent = FakeAgent(Script(failure=ResponseNeverReceived([Failure(untrusted)])))
        sender, _ = transport(agent)
        problem = failure_of(self, sender.request("POST", URL, 5, idempotent=False, body=BODY))
        self.assertEqual(problem.category, PNStatusCategory.PNTLSUntrustedCertificateCategory)
        self.assertFalse(problem.outcome_unknown)
        self.assertEqual(len(agent.sent), 1)

    def test_no_retries(self) -> None:
        """retries=False: a refused connect is not retried either."""
        agent = FakeAgent(Script(failure=neterror.ConnectionRefusedError()), Script())
        sender, _ = transport(agent)
        d = sender.request("POST", URL, 5, idempotent=False, body=BODY, retries=False)
        self.assertFalse(failure_of(self, d).outcome_unknown)
        self.assertEqual(len(agent.sent), 1)


class SecretsTests(SynchronousTestCase):
    """Neither the body, the auth key nor the signature reaches a log or a message."""

    def setUp(self) -> None:
        self.events: list[LogEvent] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

    def logged(self) -> str:
        texts = [formatEvent(event) + repr(sorted(event.items())) for event in self.events]
        return "\n".join(texts)

    def test_failures_and_logs(self) -> None:
        """Every outcome of a grant-like POST: its body, auth and signature in no log or status."""
        secret = 'ResponseNeverReceived: "POST /grant?auth=SECRET-AUTH&signature=v2.SIG"'
        scripts = [
            Script(body=b'{"status": 200, "data": {}}'),
            Script(failure=ResponseNeverReceived([Failure(ValueError(secret))])),
            Script(code=503, body=b'{"error": "overloaded"}'),
            Script(hang=True),
        ]
        texts = []
        for script in scripts:
            agent = FakeAgent(script)
            pubnub, clock = client(agent, log_requests=True, auth_key="SECRET-AUTH")
            d = Grant(pubnub).deferred()
            clock.advance(10)
            envelope = self.successResultOf(d)
            texts.append(repr(envelope))
            if envelope.status.error_data is not None:
                texts.append(envelope.status.error_data.information)
        texts.append(self.logged())
        self.assertTrue(self.events)
        for text in texts:
            for word in ("SECRET-TOKEN-IN-BODY", "SECRET-AUTH", "SECRET-KEY", "v2.SIG"):
                self.assertNotIn(word, text)


class Grant(Endpoint[JSONObject]):
    """A grant-like endpoint: a signed POST with a JSON body that holds a secret."""

    _operation: ClassVar[PNOperationType] = PNOperationType.PNTimeOperation

    def _method(self) -> str:
        return "POST"

    def _body(self) -> bytes | None:
        return json_body({"ttl": 15, "meta": {"token": "SECRET-TOKEN-IN-BODY"}})

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/pam/{subscribe_key}/grant"

    def _parse(self, data: JSONObject) -> JSONObject:
        return data


class Revoke(Grant):
    """A revoke-like endpoint: a signed DELETE without a body."""

    def _method(self) -> str:
        return "DELETE"

    def _body(self) -> None:
        return None


class PublishByGet(Grant):
    """A publish-like GET that changes something, so is not idempotent."""

    def _method(self) -> str:
        return "GET"

    def _body(self) -> None:
        return None

    def _idempotent(self) -> bool:
        return False

    def _path(self, subscribe_key: str) -> str:
        return f"/publish/pub-c-test/{subscribe_key}/0/ch/0/%22hi%22"


def client(agent: FakeAgent, **overrides: Any) -> tuple[PubNub, Clock]:
    clock = Clock()
    settings: dict[str, Any] = {"secret_key": "SECRET-KEY", **overrides}
    return PubNub(config(**settings), reactor=clock, agent=agent), clock


class EndpointTests(SynchronousTestCase):
    """The endpoint base sends an endpoint's method and body, and signs both."""

    def test_post_body_sent_and_signed(self) -> None:
        """A POST endpoint: its JSON body, Content-Type, and a v2 signature over the body."""
        agent = FakeAgent(Script(body=b'{"status": 200}'))
        pubnub, _ = client(agent)
        envelope = self.successResultOf(Grant(pubnub).deferred())
        self.assertFalse(envelope.status.is_error())
        [sent] = agent.sent
        self.assertEqual(sent.method, b"POST")
        self.assertEqual(json.loads(cast(bytes, sent.body))["ttl"], 15)
        self.assertEqual(sent.header(b"content-type"), [b"application/json"])
        self.assertIn(b"signature=v2.", sent.uri)

    def test_signature_depends_on_method_and_body(self) -> None:
        """Same path and query: POST with a body, DELETE and GET all sign differently."""
        signatures = set()
        for endpoint in (Grant, Revoke, PublishByGet):
            agent = FakeAgent(Script(body=b"{}"))
            pubnub, _ = client(agent)
            self.successResultOf(endpoint(pubnub).deferred())
            signatures.add(agent.sent[0].uri.partition(b"signature=")[2])
        self.assertEqual(len(signatures), 3)

    def test_body_not_json(self) -> None:
        """A body JSON cannot hold: an error envelope saying why, nothing sent."""

        class Bad(Grant):
            def _body(self) -> bytes | None:
                return json_body({"when": float("nan"), "what": {1, 2}})

        agent = FakeAgent()
        pubnub, _ = client(agent)
        envelope = self.successResultOf(Bad(pubnub).deferred())
        self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        assert envelope.status.error_data is not None
        information = envelope.status.error_data.information
        self.assertIn("the request body cannot be sent as JSON", information)
        self.assertEqual(agent.sent, [])

    def test_default_idempotency(self) -> None:
        """By default GET is idempotent and POST and DELETE are not."""
        pubnub, _ = client(FakeAgent())
        self.assertFalse(Grant(pubnub)._idempotent())
        self.assertFalse(Revoke(pubnub)._idempotent())
        self.assertTrue(Endpoint(pubnub)._idempotent())
        self.assertEqual(Endpoint(pubnub)._method(), "GET")

    def test_post_not_retried(self) -> None:
        """A POST endpoint whose answer never came: one request, an envelope saying so."""
        agent = FakeAgent(Script(failure=ResponseNeverReceived([lost()])), Script())
        pubnub, clock = client(agent)
        envelope = self.successResultOf(Grant(pubnub).deferred())
        clock.advance(10)
        self.assertEqual(len(agent.sent), 1)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNUnexpectedDisconnectCategory)
        assert envelope.status.error_data is not None
        self.assertIn(OUTCOME_UNKNOWN, envelope.status.error_data.information)

    def test_publish_by_get_not_retried(self) -> None:
        """A GET declared not idempotent is not retried after the connection was lost."""
        agent = FakeAgent(Script(failure=ResponseNeverReceived([lost()])), Script())
        pubnub, clock = client(agent)
        envelope: PNEnvelope[Any] = self.successResultOf(PublishByGet(pubnub).deferred())
        clock.advance(10)
        self.assertEqual([s.method for s in agent.sent], [b"GET"])
        self.assertTrue(envelope.status.is_error())

    def test_presence_get_retried(self) -> None:
        """Presence calls stay idempotent GETs: retried after the connection was lost."""
        agent = FakeAgent(Script(failure=ResponseNeverReceived([lost()])), Script())
        pubnub, clock = client(agent, request_retry_delay=0.1)
        d = pubnub.here_now().channels("a").deferred()
        clock.advance(0.1)
        self.assertFalse(self.successResultOf(d).status.is_error())
        self.assertEqual([(s.method, s.body) for s in agent.sent], [(b"GET", None)] * 2)
