"""Transport: deadlines, retries, cancellation and stop, on a Clock with a fake agent."""

from __future__ import annotations

from typing import Any

from twisted.internet import error as neterror
from twisted.internet.defer import CancelledError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseNeverReceived

from pubnub_twisted import PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.transport import RetryPolicy, retry_after
from tests.fakes import FakeAgent, Script
from tests.helpers import config


def client(agent: FakeAgent, **overrides: Any) -> tuple[PubNub, Clock]:
    clock = Clock()
    return PubNub(config(**overrides), reactor=clock, agent=agent), clock


def information(envelope: PNEnvelope[Any]) -> str:
    assert envelope.status.error_data is not None
    return envelope.status.error_data.information


class DeadlineTests(SynchronousTestCase):
    """The whole call (headers and body) ends by its deadline."""

    def test_no_headers(self) -> None:
        """A server that never answers: Client Timeout at the deadline, request cancelled."""
        agent = FakeAgent(Script(hang=True))
        pubnub, clock = client(agent, non_subscribe_request_timeout=4)
        d = pubnub.here_now().channels("a").deferred()
        clock.advance(3.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNTimeoutCategory)
        self.assertIn("Client Timeout: no complete response within 4 s", information(envelope))
        self.assertEqual(agent.cancelled, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_body_never_ends(self) -> None:
        """Headers arrive but the body stalls: timeout, and the connection is closed."""
        agent = FakeAgent(Script(body=b'{"status"', body_ends=False))
        pubnub, clock = client(agent, non_subscribe_request_timeout=2)
        d = pubnub.here_now().channels("a").deferred()
        self.assertNoResult(d)
        clock.advance(2)
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNTimeoutCategory)
        self.assertTrue(agent.responses[0].transport.closed)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_success_cancels_deadline(self) -> None:
        """A completed call leaves no timer behind."""
        agent = FakeAgent(Script())
        pubnub, clock = client(agent)
        envelope = self.successResultOf(pubnub.here_now().channels("a").deferred())
        self.assertFalse(envelope.status.is_error())
        self.assertEqual(clock.getDelayedCalls(), [])


class CancellationTests(SynchronousTestCase):
    """Cancelling a returned Deferred aborts the work at any stage."""

    def test_cancel_waiting_for_headers(self) -> None:
        """Cancel while waiting for headers: CancelledError, request cancelled, no timers."""
        agent = FakeAgent(Script(hang=True))
        pubnub, clock = client(agent)
        d = pubnub.here_now().channels("a").deferred()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(agent.cancelled, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_cancel_reading_body(self) -> None:
        """Cancel while the body is arriving: the connection is closed."""
        agent = FakeAgent(Script(body=b"{", body_ends=False))
        pubnub, clock = client(agent)
        d = pubnub.here_now().channels("a").result()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertTrue(agent.responses[0].transport.closed)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_cancel_waiting_for_retry(self) -> None:
        """Cancel between attempts: no further attempt is made."""
        agent = FakeAgent(Script(code=503, body=b"{}"), Script())
        pubnub, clock = client(agent)
        d = pubnub.here_now().channels("a").deferred()
        self.assertEqual(len(agent.requests), 1)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        clock.advance(60)
        self.assertEqual(len(agent.requests), 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stop(self) -> None:
        """stop() ends calls in flight with PNCancelledCategory, and later calls too."""
        agent = FakeAgent(Script(hang=True))
        pubnub, clock = client(agent)
        d = pubnub.here_now().channels("a").deferred()
        self.successResultOf(pubnub.stop())
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNCancelledCategory)
        self.assertEqual(agent.cancelled, 1)
        later = self.successResultOf(pubnub.here_now().channels("a").deferred())
        self.assertEqual(later.status.category, PNStatusCategory.PNCancelledCategory)
        self.assertIn("stopped", information(later))
        self.assertEqual(clock.getDelayedCalls(), [])


class RetryTests(SynchronousTestCase):
    """Retries: only for failures worth retrying, within the deadline."""

    def test_503_then_success(self) -> None:
        """A 503 is retried after the backoff; the second answer is the result."""
        agent = FakeAgent(Script(code=503, body=b"{}"), Script())
        pubnub, clock = client(agent, request_retry_delay=1.0)
        d = pubnub.here_now().channels("a").deferred()
        self.assertNoResult(d)
        clock.advance(0.49)
        self.assertEqual(len(agent.requests), 1)
        clock.advance(0.51)  # first backoff is between 0.5 and 1.0 s
        envelope = self.successResultOf(d)
        self.assertFalse(envelope.status.is_error())
        self.assertEqual(len(agent.requests), 2)

    def test_retry_after_honoured(self) -> None:
        """429 with Retry-After: 2 waits two seconds, not the shorter backoff."""
        agent = FakeAgent(Script(code=429, body=b"{}", headers={b"Retry-After": b"2"}), Script())
        pubnub, clock = client(agent)
        d = pubnub.here_now().channels("a").deferred()
        clock.advance(1.99)
        self.assertEqual(len(agent.requests), 1)
        clock.advance(0.01)
        self.assertFalse(self.successResultOf(d).status.is_error())

    def test_retry_after_too_long(self) -> None:
        """A Retry-After beyond the maximum delay is not waited for: 429 is reported."""
        agent = FakeAgent(Script(code=429, body=b"{}", headers={b"Retry-After": b"120"}))
        pubnub, _ = client(agent)
        envelope = self.successResultOf(pubnub.here_now().channels("a").deferred())
        self.assertEqual(envelope.status.status_code, 429)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNUnknownCategory)
        self.assertEqual(len(agent.requests), 1)

    def test_gives_up_with_last_answer(self) -> None:
        """After the maximum retries the last attempt's status is reported."""
        agent = FakeAgent(*[Script(code=500, body=b"{}") for _ in range(3)], Script(code=502))
        pubnub, clock = client(agent, request_max_retries=2, request_retry_delay=0.1)
        d = pubnub.here_now().channels("a").deferred()
        clock.pump([0.1] * 10)
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.status_code, 500)
        self.assertEqual(len(agent.requests), 3)

    def test_4xx_not_retried(self) -> None:
        """400, 403 and 404 are answers, not faults: never retried."""
        for code in (400, 403, 404):
            agent = FakeAgent(Script(code=code, body=b"{}"), Script())
            pubnub, clock = client(agent)
            envelope = self.successResultOf(pubnub.here_now().channels("a").deferred())
            self.assertEqual(envelope.status.status_code, code)
            clock.advance(60)
            self.assertEqual(len(agent.requests), 1)

    def test_connection_refused_retried(self) -> None:
        """Connection refused is retried, then reported as an unexpected disconnect."""
        refused = ResponseNeverReceived([])
        agent = FakeAgent(
            Script(failure=neterror.ConnectionRefusedError()),
            Script(failure=refused),
            Script(failure=neterror.ConnectionRefusedError()),
        )
        pubnub, clock = client(agent, request_retry_delay=0.1)
        d = pubnub.here_now().channels("a").deferred()
        clock.pump([0.1] * 10)
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNUnexpectedDisconnectCategory)
        self.assertIn("Connection Error: connection refused", information(envelope))
        self.assertEqual(len(agent.requests), 3)

    def test_bounded_by_deadline(self) -> None:
        """No retry starts that could not finish before the deadline."""
        agent = FakeAgent(*[Script(code=503, body=b"{}") for _ in range(10)])
        pubnub, clock = client(
            agent,
            request_max_retries=10,
            request_retry_delay=2.0,
            request_retry_policy=PNReconnectionPolicy.LINEAR,
            non_subscribe_request_timeout=5,
        )
        d = pubnub.here_now().channels("a").deferred()
        clock.pump([1] * 10)
        envelope = self.successResultOf(d)
        self.assertEqual(envelope.status.status_code, 503)
        self.assertEqual(len(agent.requests), 3)  # at 0, 2 and 4 s; 6 s is past the deadline

    def test_policy_none(self) -> None:
        """PNReconnectionPolicy.NONE: one attempt only."""
        agent = FakeAgent(Script(code=503, body=b"{}"), Script())
        pubnub, _ = client(agent, request_retry_policy=PNReconnectionPolicy.NONE)
        envelope = self.successResultOf(pubnub.here_now().channels("a").deferred())
        self.assertEqual(envelope.status.status_code, 503)


class RetryPolicyTests(SynchronousTestCase):
    """The delay computation on its own."""

    def test_exponential_with_jitter(self) -> None:
        """Exponential backoff doubles, with equal jitter, capped by max_delay."""
        low = RetryPolicy(PNReconnectionPolicy.EXPONENTIAL, 5, 1.0, 5.0, rng=lambda: 0.0)
        high = RetryPolicy(PNReconnectionPolicy.EXPONENTIAL, 5, 1.0, 5.0, rng=lambda: 0.999999)
        self.assertEqual([low.delay(n, None) for n in (1, 2, 3, 4)], [0.5, 1.0, 2.0, 2.5])
        self.assertEqual(
            [round(high.delay(n, None) or 0, 3) for n in (1, 2, 3, 4)], [1.0, 2.0, 4.0, 5.0]
        )
        self.assertIsNone(low.delay(6, None))

    def test_linear(self) -> None:
        """Linear waits the base delay every time."""
        policy = RetryPolicy(PNReconnectionPolicy.LINEAR, 3, 0.7, 5.0)
        self.assertEqual([policy.delay(n, None) for n in (1, 2, 3)], [0.7, 0.7, 0.7])

    def test_retry_after_parsing(self) -> None:
        """Retry-After accepts seconds and HTTP dates."""
        from twisted.web.http_headers import Headers

        self.assertEqual(retry_after(Headers({b"Retry-After": [b"7"]}), 0.0), 7.0)
        date = Headers({b"Retry-After": [b"Thu, 01 Jan 1970 00:00:30 GMT"]})
        self.assertEqual(retry_after(date, 10.0), 20.0)
        self.assertIsNone(retry_after(Headers({b"Retry-After": [b"soon"]}), 0.0))
        self.assertIsNone(retry_after(Headers(), 0.0))
