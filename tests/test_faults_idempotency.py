"""Idempotency over real sockets: a call that is not idempotent is sent at most once.

The fault server answers a first request on a keep-alive connection, then
drops that connection as the second request arrives on it.  Twisted's pool
silently sends a bodiless GET or DELETE again on a new connection when that
happens; for a call that is not idempotent (a publish by GET, a revoke) the
transport turns that off: the server counts exactly one such request, and
the call fails saying its outcome is unknown.  An idempotent GET is still
resent and succeeds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater

from pubnub_twisted import PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.transport import OUTCOME_UNKNOWN
from tests.fault_server import (
    HERE_NOW,
    RESET_BEFORE_HEADERS,
    SILENT,
    FaultServer,
    LoopbackCase,
    json_answer,
    reactor,
)
from tests.test_transport_methods import Grant, PublishByGet, Revoke

#: Our own retry policy on as well: neither layer may resend.
RETRYING = {
    "request_retry_policy": PNReconnectionPolicy.EXPONENTIAL,
    "request_retry_delay": 0.05,
}


class KeepAliveDropTests(LoopbackCase):
    """The second request on a kept-alive connection is met by the connection dropping."""

    def drop_second(self) -> FaultServer:
        """Answer, drop the connection on the next request, then answer again."""
        return self.serve(json_answer(HERE_NOW), RESET_BEFORE_HEADERS, json_answer(HERE_NOW))

    @inlineCallbacks
    def second_call(
        self, server: FaultServer, endpoint: Callable[[PubNub], Endpoint[Any]], **settings: Any
    ) -> Any:
        """A here_now to open the connection, then ``endpoint`` on it; its envelope."""
        pubnub = self.client(server.origin, server, **settings)
        first: PNEnvelope[Any] = yield self.here_now(pubnub)
        self.assertFalse(first.status.is_error())
        self.assertEqual(server.opened, 1)
        envelope: PNEnvelope[Any] = yield endpoint(pubnub).deferred()
        # Time for any retry, of either layer, to show up at the server.
        yield deferLater(reactor, 0.3, lambda: None)
        return envelope

    def assertUnknown(self, envelope: PNEnvelope[Any]) -> None:
        """The call failed as a lost connection, saying its outcome is unknown."""
        self.assertStatus(
            envelope, PNStatusCategory.PNUnexpectedDisconnectCategory, None, OUTCOME_UNKNOWN
        )

    @inlineCallbacks
    def test_publish_by_get_sent_once(self) -> Any:
        """A GET that is not idempotent: sent once, on the reused connection; outcome unknown."""
        server = self.drop_second()
        envelope = yield self.second_call(server, PublishByGet, **RETRYING)
        self.assertUnknown(envelope)
        self.assertEqual([r.method for r in server.received], [b"GET", b"GET"])
        self.assertTrue(server.requests[1].startswith("/publish/"))
        self.assertEqual(server.opened, 1)

    @inlineCallbacks
    def test_revoke_by_delete_sent_once(self) -> Any:
        """A bodiless DELETE (Twisted's pool would resend it): sent once; outcome unknown."""
        server = self.drop_second()
        envelope = yield self.second_call(server, Revoke, **RETRYING)
        self.assertUnknown(envelope)
        self.assertEqual([r.method for r in server.received], [b"GET", b"DELETE"])
        self.assertEqual(server.opened, 1)

    @inlineCallbacks
    def test_grant_by_post_sent_once(self) -> Any:
        """A POST with a body: sent once, body whole, as JSON; outcome unknown."""
        server = self.drop_second()
        envelope = yield self.second_call(server, Grant, **RETRYING)
        self.assertUnknown(envelope)
        self.assertEqual(len(server.received), 2)
        post = server.received[1]
        self.assertEqual(post.method, b"POST")
        self.assertEqual(post.headers[b"content-type"], b"application/json")
        self.assertEqual(json.loads(post.body)["ttl"], 15)

    @inlineCallbacks
    def test_idempotent_get_resent(self) -> Any:
        """An idempotent GET is resent by the pool on a new connection, and succeeds."""
        server = self.drop_second()
        envelope: PNEnvelope[Any] = yield self.second_call(
            server, lambda pubnub: pubnub.here_now().channels("a")
        )
        self.assertFalse(envelope.status.is_error())
        self.assertEqual(len(server.requests), 3)
        self.assertEqual(server.opened, 2)  # our own retries are off: the pool resent it


class NeverSentTests(LoopbackCase):
    """Where the request provably never left, the failure says so."""

    timeout_s = 3.0  # a refused connect can take a few tenths of a second here

    @inlineCallbacks
    def test_refused_post(self) -> Any:
        """A refused POST fails "connection refused", not "outcome unknown": nothing was sent."""
        pubnub = self.client(self.refused_origin(), None, **RETRYING)
        envelope: PNEnvelope[Any] = yield Grant(pubnub).deferred()
        self.assertStatus(
            envelope,
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            None,
            "connection refused",
        )
        assert envelope.status.error_data is not None
        self.assertNotIn(OUTCOME_UNKNOWN, envelope.status.error_data.information)

    @inlineCallbacks
    def test_deadline_while_connecting(self) -> Any:
        """The deadline passes before the connection opens: a timeout, outcome known."""
        pubnub = self.client(self.unanswered_origin(), None, non_subscribe_request_timeout=0.5)
        envelope: PNEnvelope[Any] = yield Grant(pubnub).deferred()
        self.assertStatus(envelope, PNStatusCategory.PNTimeoutCategory, None, "Client Timeout")
        assert envelope.status.error_data is not None
        self.assertNotIn(OUTCOME_UNKNOWN, envelope.status.error_data.information)


class DeadlineTests(LoopbackCase):
    """The deadline passing once the request is out: outcome unknown."""

    timeout_s = 0.5

    @inlineCallbacks
    def test_silent_server(self) -> Any:
        """A server that reads the POST and never answers: timeout, "outcome unknown"."""
        server = self.serve(SILENT)
        pubnub = self.client(server.origin, server, **RETRYING)
        envelope: PNEnvelope[Any] = yield Grant(pubnub).deferred()
        self.assertStatus(envelope, PNStatusCategory.PNTimeoutCategory, None, OUTCOME_UNKNOWN)
        self.assertEqual([r.method for r in server.received], [b"POST"])
