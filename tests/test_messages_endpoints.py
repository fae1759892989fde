"""The message endpoints' requests and answers, in memory with a canned server.

URIs are checked byte for byte; answers are PubNub's recorded shapes.
"""

from __future__ import annotations

import json
from typing import Any

from treq.testing import RequestTraversalAgent
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Request

from pubnub_twisted import PNOperationType, PubNub
from pubnub_twisted.crypto import AesCbcCryptoModule
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_INVALID_ARGUMENT,
    PNERR_MESSAGE_MISSING,
    PNERR_MESSAGE_TOO_LARGE,
    PNERR_PUBLISH_KEY_MISSING,
)
from pubnub_twisted.models_messages import (
    PNFetchMessageItem,
    PNFetchMessagesResult,
    PNFireResult,
    PNMessageCountResult,
    PNPublishResult,
    PNSignalResult,
)
from pubnub_twisted.protocol import decode_value, parse_query
from pubnub_twisted.server import PresenceResource, PresenceStore
from tests.helpers import (
    PUB_KEY,
    SUB_KEY,
    TAIL,
    CannedResource,
    EndpointCase,
    canned_client,
    config,
)

SENT = [1, "Sent", "14820999392820954"]
TT = 14820999392820954
PUB = f"/publish/{PUB_KEY}/{SUB_KEY}/0"


class PublishTests(EndpointCase):
    """publish and fire by GET: path, parameters, results, refusals."""

    body: Any = SENT

    def test_get_publish_uri(self) -> None:
        """The message JSON goes in the path; meta, store, ttl, norep and type in the query."""
        builder = (
            self.pubnub.publish()
            .channel("lobby")
            .message({"text": "hi"})
            .meta({"lang": "en"})
            .should_store(True)
            .ttl(24)
            .replicate(False)
            .custom_message_type("chat")
        )
        self.assertEqual(
            self.uri(builder),
            f"{PUB}/lobby/0/%7B%22text%22%3A%20%22hi%22%7D?meta=%7B%22lang%22%3A%20%22en%22%7D"
            f"&store=1&ttl=24&norep=true&custom_message_type=chat&{TAIL}",
        )
        self.acknowledged(
            self.pubnub.publish().channel("a").message(1),
            PNPublishResult(TT),
            PNOperationType.PNPublishOperation,
        )

    def test_keywords_and_result(self) -> None:
        """publish(channel=..., message=...) builds the same request; the result reads well."""
        envelope = self.send(self.pubnub.publish(channel="a", message="x", should_store=False))
        self.assertEqual(str(envelope.result), f"Publish success with timetoken {TT}")
        self.assertEqual(self.resource.seen[0].uri, f"{PUB}/a/0/%22x%22?store=0&{TAIL}")

    def test_fire(self) -> None:
        """fire sends store=0 and norep=1 and gives a PNFireResult."""
        self.assertEqual(
            self.uri(self.pubnub.fire().channel("a").message(1)),
            f"{PUB}/a/0/1?store=0&norep=1&{TAIL}",
        )
        self.acknowledged(
            self.pubnub.fire(channel="a", message=1),
            PNFireResult(TT),
            PNOperationType.PNFireOperation,
        )

    def test_refusals(self) -> None:
        """Missing channel, message or publish key, bad meta or ttl: refused before sending."""
        publish = self.pubnub.publish
        self.refused(publish().message(1), PNERR_CHANNEL_OR_GROUP_MISSING)
        self.refused(publish().channel("a"), PNERR_MESSAGE_MISSING)
        self.refused(publish().channel("a-pnpres").message(1), "presence channel")
        self.refused(publish().channel("a").message({1j}), "not JSON serializable")
        self.refused(publish().channel("a").message(float("nan")), "not JSON serializable")
        self.refused(publish().channel("a").message(1).meta([1]), "meta must be a dict")  # type: ignore[arg-type]
        self.refused(publish().channel("a").message(1).ttl(-1), PNERR_INVALID_ARGUMENT)
        self.pubnub.config.publish_key = None
        self.refused(publish().channel("a").message(1), PNERR_PUBLISH_KEY_MISSING)

    def test_refused_answer_says_why(self) -> None:
        """A [0, "why", tt] answer becomes an error naming why."""
        self.resource.code = 400
        self.resource.body = b'[0,"Invalid Key","14820999375199241"]'
        envelope = self.send(self.pubnub.publish().channel("a").message(1))
        assert envelope.status.error_data is not None
        self.assertIn("Invalid Key", envelope.status.error_data.information)
        self.assertEqual(envelope.status.status_code, 400)

    def test_malformed(self) -> None:
        """An answer that is not [1, "Sent", tt] is a MalformedResponse."""
        self.malformed(self.pubnub.publish().channel("a").message(1), b'{"a": 1}', "expected [1")

    def test_encrypted_with_crypto_module(self) -> None:
        """With a crypto module, the path holds the encrypted JSON string; meta stays plain."""
        resource = CannedResource(body=SENT)
        pubnub, _, agent = canned_client(resource, cipher_key="secret")
        pubnub.config.crypto_module = AesCbcCryptoModule(pubnub.config)
        d = pubnub.publish().channel("a").message({"t": 1}).meta({"m": 2}).deferred()
        agent.flush()
        self.successResultOf(d)
        path, _, query = resource.seen[0].uri.partition("?")
        sealed = json.loads(decode_value(path.rsplit("/", 1)[1]))
        self.assertEqual(pubnub.config.crypto_module.decrypt(sealed), {"t": 1})
        self.assertEqual(decode_value(dict(parse_query(query))["meta"]), '{"m": 2}')


class SignalTests(EndpointCase):
    """signal: the path, the 64-byte limit, the result."""

    body: Any = SENT

    def test_signal(self) -> None:
        """A signal goes by GET on /signal with its JSON in the path."""
        self.assertEqual(
            self.uri(self.pubnub.signal().channel("a").message("typing").custom_message_type("ui")),
            f"/signal/{PUB_KEY}/{SUB_KEY}/0/a/0/%22typing%22?custom_message_type=ui&{TAIL}",
        )
        self.acknowledged(
            self.pubnub.signal(channel="a", message=1),
            PNSignalResult(TT),
            PNOperationType.PNSignalOperation,
        )

    def test_64_bytes(self) -> None:
        """64 bytes of JSON go; 65 are refused with a clear error, nothing sent."""
        self.assertIn("/0/%22xxx", self.uri(self.pubnub.signal().channel("a").message("x" * 62)))
        self.refused(self.pubnub.signal().channel("a").message("é" * 32), PNERR_MESSAGE_TOO_LARGE)


HISTORY = {
    "status": 200,
    "error": False,
    "error_message": "",
    "channels": {
        "a": [
            {"message": "hey", "timetoken": "16485817254069189", "meta": {"k": 1}, "uuid": "u1"},
            {"message": {"x": 1}, "timetoken": "16485817254397299", "message_type": None},
        ]
    },
}


class FetchTests(EndpointCase):
    """fetch_messages and message_counts."""

    body: Any = HISTORY

    def test_fetch_uri_and_limits(self) -> None:
        """max defaults and caps at 100 for one channel, 25 for several; flags as true/false."""
        fetch = self.pubnub.fetch_messages
        self.assertEqual(
            self.uri(fetch().channels("a")),
            f"/v3/history/sub-key/{SUB_KEY}/channel/a?max=100&{TAIL}",
        )
        self.assertEqual(
            self.uri(fetch().channels("a", "b").maximum_per_channel(80)),
            f"/v3/history/sub-key/{SUB_KEY}/channel/a,b?max=25&{TAIL}",
        )
        self.assertEqual(
            self.uri(
                fetch()
                .channels(["a"])
                .maximum_per_channel(10)
                .start(20)
                .end(10)
                .include_meta(True)
                .include_uuid(True)
                .include_message_type(False)
            ),
            f"/v3/history/sub-key/{SUB_KEY}/channel/a?max=10&start=20&end=10"
            f"&include_meta=true&include_uuid=true&include_message_type=false&{TAIL}",
        )

    def test_fetch_result(self) -> None:
        """Items are typed: int timetokens, meta, uuid; bounds echoed."""
        self.acknowledged(
            self.pubnub.fetch_messages().channels("a").start(99),
            PNFetchMessagesResult(
                {
                    "a": [
                        PNFetchMessageItem("hey", 16485817254069189, {"k": 1}, "u1"),
                        PNFetchMessageItem({"x": 1}, 16485817254397299),
                    ]
                },
                99,
                None,
            ),
            PNOperationType.PNFetchMessagesOperation,
        )

    def test_fetch_refusals(self) -> None:
        """No channel, groups, or a bad bound: refused."""
        self.refused(self.pubnub.fetch_messages(), PNERR_CHANNEL_OR_GROUP_MISSING)
        self.refused(self.pubnub.fetch_messages().channel_groups("g").channels("a"), "groups")
        self.refused(self.pubnub.fetch_messages().channels("a").start("x"), "timetoken")  # type: ignore[arg-type]

    def test_counts(self) -> None:
        """One timetoken goes as timetoken, several as channelsTimetoken; counts typed."""
        self.resource.body = json.dumps(
            {"status": 200, "error": False, "error_message": "", "channels": {"a": 1, "b": 0}}
        ).encode()
        counts = self.pubnub.message_counts
        self.assertEqual(
            self.uri(counts().channels("a", "b").channel_timetokens([5])),
            f"/v3/history/sub-key/{SUB_KEY}/message-counts/a,b?timetoken=5&{TAIL}",
        )
        self.assertEqual(
            self.uri(counts().channel(["a", "b"]).channel_timetokens([5, 6])),
            f"/v3/history/sub-key/{SUB_KEY}/message-counts/a,b?channelsTimetoken=5%2C6&{TAIL}",
        )
        self.acknowledged(
            counts().channels("a", "b").channel_timetokens([5]),
            PNMessageCountResult({"a": 1, "b": 0}),
            PNOperationType.PNMessageCountOperation,
        )
        self.resource.seen.clear()
        self.refused(counts().channels("a", "b", "c").channel_timetokens([1, 2]), "3 channels")
        self.refused(counts().channels("a"), "channel_timetokens")


class _Recording(PresenceResource):
    """The embedded server, noting each request's method, path and body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requests: list[tuple[bytes, str, bytes]] = []

    def render(self, request: Request) -> bytes | int:
        content = b"" if request.content is None else request.content.read()
        if request.content is not None:
            request.content.seek(0)
        path = request.uri.decode().partition("?")[0]
        self.requests.append((request.method, path, content))
        return super().render(request)


class MethodTests(SynchronousTestCase):
    """POST and DELETE against the embedded server in memory, signed."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1_600_000_000)
        self.server = _Recording(
            PresenceStore(self.clock), secret_key="sec", publish_key=PUB_KEY, here_now_cache=0
        )
        self.addCleanup(self.server.stop)
        self.agent = RequestTraversalAgent(self.server)
        self.pubnub = PubNub(config(secret_key="sec"), reactor=self.clock, agent=self.agent)

    def call(self, builder: Endpoint[Any]) -> Any:
        d = builder.result()
        self.agent.flush()
        return self.successResultOf(d)

    def test_use_post_sends_the_body(self) -> None:
        """use_post(True): a signed POST whose body is the message JSON; stored as sent."""
        self.call(self.pubnub.publish().channel("a").message({"k": "v"}).use_post(True))
        method, path, body = self.server.requests[-1]
        self.assertEqual((method, path, body), (b"POST", f"{PUB}/a/0", b'{"k": "v"}'))
        fetched = self.call(self.pubnub.fetch_messages().channels("a"))
        self.assertEqual(fetched.channels["a"][0].message, {"k": "v"})

    def test_long_message_switches_to_post(self) -> None:
        """A message whose GET URL would pass 32 KiB goes by POST without being asked."""
        self.call(self.pubnub.publish().channel("a").message(" " * 12_000))
        self.assertEqual(self.server.requests[-1][0], b"POST")
        self.call(self.pubnub.publish().channel("a").message(" " * 1_000))
        self.assertEqual(self.server.requests[-1][0], b"GET")

    def test_delete_is_a_signed_delete(self) -> None:
        """delete_messages sends DELETE with start/end; the server removes exactly (start, end]."""
        stamps = [
            self.call(self.pubnub.publish().channel("a").message(n)).timetoken for n in range(3)
        ]
        self.call(self.pubnub.delete_messages().channel("a").start(stamps[1] - 1).end(stamps[1]))
        self.assertEqual(
            self.server.requests[-1][:2], (b"DELETE", f"/v3/history/sub-key/{SUB_KEY}/channel/a")
        )
        fetched = self.call(self.pubnub.fetch_messages().channels("a"))
        self.assertEqual([i.message for i in fetched.channels["a"]], [0, 2])

    def test_hostile_names_and_text_round_trip(self) -> None:
        """Channels and messages with characters URLs mangle survive GET and POST, signed."""
        texts = ["a/b c+d", "x&y#z?%", "über 😀", "~!*'()", 'quote " and \\ backslash']
        for channel in ("a/b c", "x&y#z", "ümlaut+plus"):
            for use_post in (False, True):
                for text in texts:
                    self.call(
                        self.pubnub.publish()
                        .channel(channel)
                        .message({"t": text})
                        .meta({"m": text})
                        .use_post(use_post)
                    )
            fetched = self.call(self.pubnub.fetch_messages().channels(channel).include_meta(True))
            items = fetched.channels[channel]
            self.assertEqual([i.message["t"] for i in items], texts * 2)
            self.assertEqual([i.meta["m"] for i in items], texts * 2)
