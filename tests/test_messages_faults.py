"""A publish is never sent twice, and big messages go by POST, over real loopback sockets.

The fault server answers a first request on a keep-alive connection and
drops the connection when the publish arrives on it: the publish is counted
once by the server (neither our retry policy nor Twisted's pool resends it)
and the envelope says its outcome is unknown.  Against the embedded server,
a message too long for a URL goes by POST, and one over 32 KiB gets PubNub's
413.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater

from pubnub_twisted import PNReconnectionPolicy, PNStatusCategory, PubNub
from pubnub_twisted.errors import PNERR_PUBLISH_OUTCOME_UNKNOWN
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.protocol import MAX_MESSAGE_SIZE
from pubnub_twisted.testing import LocalPresenceServer
from tests.fault_server import (
    HERE_NOW,
    RESET_BEFORE_HEADERS,
    LoopbackCase,
    json_answer,
    reactor,
)

RETRYING = {
    "request_retry_policy": PNReconnectionPolicy.EXPONENTIAL,
    "request_retry_delay": 0.05,
}


class PublishSentOnceTests(LoopbackCase):
    """The connection drops under a publish: one request at the server, outcome unknown."""

    @inlineCallbacks
    def dropped_publish(self, use_post: bool) -> Any:
        server = self.serve(json_answer(HERE_NOW), RESET_BEFORE_HEADERS, json_answer(HERE_NOW))
        pubnub = self.client(server.origin, server, **RETRYING)
        first: PNEnvelope[Any] = yield pubnub.here_now().channels("a").deferred()
        self.assertFalse(first.status.is_error())
        envelope: PNEnvelope[Any] = yield (
            pubnub.publish().channel("lobby").message({"n": 1}).use_post(use_post).deferred()
        )
        yield deferLater(reactor, 0.3, lambda: None)  # room for any resend to show up
        publishes = [r for r in server.received if r.target.startswith("/publish/")]
        self.assertEqual(len(publishes), 1)
        self.assertIsNone(envelope.result)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNUnexpectedDisconnectCategory)
        error = envelope.status.error_data
        assert error is not None
        self.assertIn(PNERR_PUBLISH_OUTCOME_UNKNOWN, error.information)
        self.assertIn("not sent again", error.information)
        return publishes[0]

    @inlineCallbacks
    def test_get_publish_sent_once(self) -> Any:
        """By GET (which Twisted's pool would resend): sent once, outcome unknown."""
        sent = yield self.dropped_publish(False)
        self.assertEqual(sent.method, b"GET")

    @inlineCallbacks
    def test_post_publish_sent_once(self) -> Any:
        """By POST, body whole: sent once, outcome unknown."""
        sent = yield self.dropped_publish(True)
        self.assertEqual((sent.method, json.loads(sent.body)), (b"POST", {"n": 1}))


class BigMessageTests(LoopbackCase):
    """Size limits against the embedded server on loopback."""

    timeout_s = 10.0

    def setUp(self) -> None:
        super().setUp()
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)

    def pubnub(self) -> PubNub:
        return self.server.client("big", non_subscribe_request_timeout=10.0)

    @inlineCallbacks
    def test_long_message_goes_by_post(self) -> Any:
        """A message too long for a URL goes by POST by itself, and is stored whole."""
        pubnub = self.pubnub()
        text = "a, b! " * 4000  # 24 KB of JSON, 60 KB once percent-encoded: no GET carries it
        envelope: PNEnvelope[Any] = yield pubnub.publish().channel("big").message(text).deferred()
        self.assertFalse(envelope.status.is_error(), envelope.status)
        fetched = yield pubnub.fetch_messages().channels("big").result()
        self.assertEqual([item.message for item in fetched.channels["big"]], [text])

    @inlineCallbacks
    def test_over_32_kib_is_413(self) -> Any:
        """Over 32 KiB the server answers 413 [0, "Message Too Large", tt]; nothing stored."""
        pubnub = self.pubnub()
        envelope: PNEnvelope[Any] = yield (
            pubnub.publish().channel("big").message("x" * MAX_MESSAGE_SIZE).deferred()
        )
        self.assertEqual(envelope.status.status_code, 413)
        assert envelope.status.error_data is not None
        self.assertIn("Message Too Large", envelope.status.error_data.information)
        counts = yield pubnub.message_counts().channels("big").channel_timetokens([0]).result()
        self.assertEqual(counts.channels, {"big": 0})
