"""The server's publish, signal and history calls, by plain HTTP, in memory.

Bodies are checked against PubNub's recorded answers (the official SDK's
fixtures: ``[1,"Sent","<tt>"]``, ``{"status": 200, "error": false,
"error_message": "", "channels": {...}}``).
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.web.client import readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from pubnub_twisted.protocol import MAX_MESSAGE_SIZE
from pubnub_twisted.server.messages.store import MessageStore, StoredMessage
from tests.test_server_harness import SUB, Reply
from tests.test_server_subscribe import TT0, SubscribeCase

PUBLISH = f"/publish/pub-c-X/{SUB}/0"
HISTORY = f"/v3/history/sub-key/{SUB}"


@implementer(IBodyProducer)
class _Body:
    """A request body written at once (no reactor needed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data) if data else UNKNOWN_LENGTH

    def startProducing(self, consumer: Any) -> Deferred[None]:
        consumer.write(self.data)
        return succeed(None)

    def pauseProducing(self) -> None:
        """Nothing to pause."""

    def resumeProducing(self) -> None:
        """Nothing to resume."""

    def stopProducing(self) -> None:
        """Nothing to stop."""


def q(value: Any) -> str:
    """JSON, percent-encoded as PubNub's SDKs send it in a path or query."""
    return urllib.parse.quote(json.dumps(value), safe="")


class MessagesCase(SubscribeCase):
    """A server on a Clock, with helpers for publish and history."""

    def send_body(self, method: bytes, target: str, data: bytes) -> Reply:
        """``method`` ``target`` with ``data`` as the body."""
        d = self.agent.request(
            method, b"http://ps.pndsn.test" + target.encode(), Headers(), _Body(data)
        )
        self.agent.flush()
        response = self.successResultOf(d)
        raw = readBody(response)
        self.agent.flush()
        return Reply(response.code, response.headers, self.successResultOf(raw))

    def publish(self, channel: str, message: Any, query: str = "", uuid: str = "pub") -> int:
        """Publish by GET; return the timetoken from ``[1, "Sent", tt]``."""
        body = self.get(f"{PUBLISH}/{channel}/0/{q(message)}?uuid={uuid}&{query}")
        self.assertEqual(body[:2], [1, "Sent"])
        return int(body[2])

    def fetch(self, channels: str, query: str = "") -> dict[str, Any]:
        """fetch_messages: the ``channels`` object of the answer."""
        body = self.get(f"{HISTORY}/channel/{channels}?uuid=me&{query}")
        self.assertEqual((body["status"], body["error"], body["error_message"]), (200, False, ""))
        channels_found: dict[str, Any] = body["channels"]
        return channels_found

    def messages(self, channel: str, query: str = "") -> list[Any]:
        """The messages history gives for ``channel``, oldest first."""
        return [item["message"] for item in self.fetch(channel, query).get(channel, [])]


class PublishTests(MessagesCase):
    """Publish by GET and POST: the answer, the delivery and what history keeps."""

    def test_get_publish_is_delivered_with_meta_publisher_and_type(self) -> None:
        """A GET publish answers [1,"Sent",tt] and reaches subscribers with i, u and cmt."""
        cursor = self.handshake("lobby", "sub")
        poll = self.poll("lobby", "sub", f"tt={cursor}")
        reply = self.request(
            f"{PUBLISH}/lobby/0/{q({'text': 'hi'})}?uuid=alice"
            f"&meta={q({'lang': 'en'})}&custom_message_type=chat-text"
        )
        self.assertEqual(reply.code, 200)
        timetoken = int(reply.body[2])
        self.assertEqual(reply.body, [1, "Sent", str(timetoken)])
        entry = self.result(poll).body["m"][0]
        self.assertEqual(
            entry,
            {
                "a": "0",
                "f": 0,
                "i": "alice",
                "p": {"t": str(timetoken), "r": 1},
                "k": SUB,
                "c": "lobby",
                "d": {"text": "hi"},
                "u": {"lang": "en"},
                "cmt": "chat-text",
            },
        )

    def test_meta_with_plus_as_space(self) -> None:
        """meta sent form-style (``+`` for a space, as the official SDK does) reads as JSON."""
        self.publish("ch", "x", "meta=%7B%22b%22%3A+%22qwer%22%7D")
        self.assertEqual(self.fetch("ch", "include_meta=true")["ch"][0]["meta"], {"b": "qwer"})

    def test_post_publish(self) -> None:
        """A POST publish takes the message from the body and answers as a GET does."""
        reply = self.send_body(b"POST", f"{PUBLISH}/ch/0?uuid=bob", b'{"online": true}')
        self.assertEqual((reply.code, reply.body[:2]), (200, [1, "Sent"]))
        self.assertEqual(self.messages("ch"), [{"online": True}])

    def test_too_large_post_is_413(self) -> None:
        """A body over 32 KiB (with the channel) gets 413 and [0,"Message Too Large",tt]."""
        big = json.dumps("x" * MAX_MESSAGE_SIZE).encode()
        reply = self.send_body(b"POST", f"{PUBLISH}/ch/0?uuid=bob", big)
        self.assertEqual((reply.code, reply.body[:2]), (413, [0, "Message Too Large"]))
        fits = json.dumps("x" * (MAX_MESSAGE_SIZE - 10)).encode()
        reply = self.send_body(b"POST", f"{PUBLISH}/ch/0?uuid=bob", fits)
        self.assertEqual(reply.code, 200)
        self.assertEqual(len(self.messages("ch")), 1)

    def test_bad_json_and_bad_key(self) -> None:
        """Invalid JSON is a 400 array; with a publish key configured, another key is refused."""
        reply = self.request(f"{PUBLISH}/ch/0/%7Bnope?uuid=u")
        self.assertEqual((reply.code, reply.body[:2]), (400, [0, "Invalid JSON in message"]))
        reply = self.request(f"{PUBLISH}/ch/0/NaN?uuid=u")
        self.assertEqual(reply.code, 400)
        self.serve(publish_key="pub-c-right")
        reply = self.request(f"{PUBLISH}/ch/0/1?uuid=u")
        self.assertEqual((reply.code, reply.body[:2]), (400, [0, "Invalid Key"]))
        self.assertEqual(self.request(f"/publish/pub-c-right/{SUB}/0/ch/0/1?uuid=u").code, 200)

    def test_store_zero_is_not_kept(self) -> None:
        """store=0 delivers but keeps nothing; store=1 and no flag keep it."""
        self.publish("ch", "gone", "store=0")
        self.publish("ch", "kept", "store=1")
        self.publish("ch", "default")
        self.assertEqual(self.messages("ch"), ["kept", "default"])

    def test_ttl_expires_on_the_clock(self) -> None:
        """ttl is in hours: the message leaves history once that time passes."""
        self.publish("ch", "short", "ttl=1")
        self.publish("ch", "long", "ttl=2")
        self.clock.advance(3600)
        self.assertEqual(self.messages("ch"), ["long"])
        self.clock.advance(3600)
        self.assertEqual(self.fetch("ch"), {})

    def test_other_methods_are_405(self) -> None:
        """POST anywhere but publish, and PUT anywhere, get 405."""
        reply = self.send_body(b"POST", f"/v2/presence/sub-key/{SUB}/channel/ch?uuid=u", b"{}")
        self.assertEqual(reply.code, 405)
        self.assertEqual(self.send_body(b"PUT", f"{PUBLISH}/ch/0?uuid=u", b"1").code, 405)

    def test_presence_channel_and_bad_custom_type_refused(self) -> None:
        """Publishing on a -pnpres channel, or with a malformed custom type, is a 400."""
        self.assertEqual(self.request(f"{PUBLISH}/ch-pnpres/0/1?uuid=u").code, 400)
        for bad in ("ab", "pn_chat", "a%20b"):
            reply = self.request(f"{PUBLISH}/ch/0/1?uuid=u&custom_message_type={bad}")
            self.assertEqual(reply.code, 400, bad)


class SignalTests(MessagesCase):
    """Signals: delivered with ``"e": 1``, never stored, 64 bytes at most."""

    def test_signal_delivered_not_stored(self) -> None:
        """A signal reaches subscribers marked e=1 and history never has it."""
        cursor = self.handshake("ch", "sub")
        poll = self.poll("ch", "sub", f"tt={cursor}")
        reply = self.request(f"/signal/pub-c-X/{SUB}/0/ch/0/{q('typing')}?uuid=alice")
        self.assertEqual((reply.code, reply.body[:2]), (200, [1, "Sent"]))
        entry = self.result(poll).body["m"][0]
        self.assertEqual((entry["e"], entry["i"], entry["d"]), (1, "alice", "typing"))
        self.assertEqual(self.fetch("ch"), {})

    def test_signal_over_64_bytes(self) -> None:
        """A 64-byte payload goes; 65 bytes get 413 [0,"Message Too Large",tt]."""
        ok = self.request(f"/signal/pub-c-X/{SUB}/0/ch/0/{q('x' * 62)}?uuid=u")
        self.assertEqual(ok.code, 200)
        big = self.request(f"/signal/pub-c-X/{SUB}/0/ch/0/{q('x' * 63)}?uuid=u")
        self.assertEqual((big.code, big.body[:2]), (413, [0, "Message Too Large"]))


class HistoryTests(MessagesCase):
    """fetch_messages: limits, ranges, included fields."""

    def test_limits_100_and_25(self) -> None:
        """One channel gives at most 100 (the newest), several at most 25 each."""
        for n in range(130):
            self.publish("a", n)
            self.publish("b", n)
        self.assertEqual(self.messages("a"), list(range(30, 130)))
        self.assertEqual(self.messages("a", "max=500"), list(range(30, 130)))
        self.assertEqual(self.messages("a", "max=3"), [127, 128, 129])
        both = self.fetch("a,b", "max=100")
        self.assertEqual([item["message"] for item in both["b"]], list(range(105, 130)))
        self.assertEqual(len(both["a"]), 25)

    def test_start_end_and_paging(self) -> None:
        """start is exclusive (older than), end inclusive (from); paging back by start."""
        stamps = [self.publish("ch", n) for n in range(10)]
        self.assertEqual(self.messages("ch", f"start={stamps[5]}"), [0, 1, 2, 3, 4])
        self.assertEqual(self.messages("ch", f"end={stamps[7]}"), [7, 8, 9])
        self.assertEqual(self.messages("ch", f"start={stamps[6]}&end={stamps[2]}"), [2, 3, 4, 5])
        pages, start = [], ""
        while True:
            page = self.fetch("ch", f"max=4{start}").get("ch", [])
            if not page:
                break
            pages.append([item["message"] for item in page])
            start = f"&start={page[0]['timetoken']}"
        self.assertEqual(pages, [[6, 7, 8, 9], [2, 3, 4, 5], [0, 1]])

    def test_included_fields(self) -> None:
        """uuid, message_type, meta and custom type come only when asked for."""
        tt = self.publish("ch", "hey", f"meta={q({'k': 1})}&custom_message_type=chat", uuid="al")
        self.assertEqual(self.fetch("ch")["ch"], [{"message": "hey", "timetoken": str(tt)}])
        query = (
            "include_meta=true&include_uuid=true&include_message_type=true"
            "&include_custom_message_type=true"
        )
        self.assertEqual(
            self.fetch("ch", query)["ch"],
            [
                {
                    "message": "hey",
                    "timetoken": str(tt),
                    "uuid": "al",
                    "message_type": None,
                    "meta": {"k": 1},
                    "custom_message_type": "chat",
                }
            ],
        )

    def test_bad_arguments(self) -> None:
        """A malformed start is a 400 in the history shape."""
        reply = self.request(f"{HISTORY}/channel/ch?uuid=me&start=soon")
        self.assertEqual(
            (reply.code, reply.body),
            (
                400,
                {
                    "status": 400,
                    "error": True,
                    "error_message": "Invalid Arguments: start",
                    "channels": {},
                },
            ),
        )

    def test_with_actions_path(self) -> None:
        """/v3/history-with-actions answers one channel, each message with ``actions``."""
        self.publish("ch", "x")
        body = self.get(f"/v3/history-with-actions/sub-key/{SUB}/channel/ch?uuid=me")
        self.assertEqual(body["channels"]["ch"][0]["actions"], {})
        many = self.request(f"/v3/history-with-actions/sub-key/{SUB}/channel/a,b?uuid=me")
        self.assertEqual(many.code, 400)


class CountAndDeleteTests(MessagesCase):
    """message_counts and delete_messages."""

    def test_counts_since_timetokens(self) -> None:
        """Counts are of messages newer than each channel's timetoken."""
        first = self.publish("a", 1)
        self.publish("a", 2)
        self.publish("b", 3)
        body = self.get(f"{HISTORY}/message-counts/a,b?uuid=me&timetoken={first}")
        self.assertEqual(
            body,
            {"status": 200, "error": False, "error_message": "", "channels": {"a": 1, "b": 1}},
        )
        body = self.get(f"{HISTORY}/message-counts/a,b?uuid=me&channelsTimetoken={first - 1},{TT0}")
        self.assertEqual(body["channels"], {"a": 2, "b": 1})
        mismatch = self.request(f"{HISTORY}/message-counts/a,b?uuid=me&channelsTimetoken=1,2,3")
        self.assertEqual(mismatch.code, 400)
        self.assertEqual(self.request(f"{HISTORY}/message-counts/a?uuid=me").code, 400)

    def test_unsigned_delete_refused(self) -> None:
        """Without a secret key on the server (nothing signed), delete gets PubNub's 403."""
        self.publish("ch", 1)
        reply = self.send_body(b"DELETE", f"{HISTORY}/channel/ch?uuid=me", b"")
        self.assertEqual(reply.code, 403)
        self.assertEqual(
            reply.body["error_message"],
            "Use of the history Delete API requires both a secret key and a signature.",
        )
        self.assertEqual(self.messages("ch"), [1])


class StoreTests(MessagesCase):
    """The store's bounds and delete ranges, without HTTP."""

    def test_bounded_per_channel_and_total(self) -> None:
        """The oldest messages go past max_per_channel, and past max_total over all channels."""
        store = MessageStore(self.clock, max_per_channel=3, max_total=5)
        for tt in range(1, 7):
            store.add(SUB, StoredMessage(tt, "a" if tt % 2 else "b", tt))
        self.assertEqual(len(store), 5)
        fetched = {
            ch: [m.message for m in store.fetch(SUB, ch, start=None, end=None, limit=10)]
            for ch in "ab"
        }
        self.assertEqual(fetched, {"a": [3, 5], "b": [2, 4, 6]})
        for tt in range(7, 10):
            store.add(SUB, StoredMessage(tt, "c", tt))
        self.assertEqual(len(store), 5)
        fetched = {
            ch: [m.message for m in store.fetch(SUB, ch, start=None, end=None, limit=10)]
            for ch in "abc"
        }
        self.assertEqual(fetched, {"a": [5], "b": [6], "c": [7, 8, 9]})

    def test_delete_range(self) -> None:
        """delete removes start < t <= end: (t - 1, t] removes exactly the message at t."""
        store = MessageStore(self.clock)
        for tt in (10, 20, 30, 40):
            store.add(SUB, StoredMessage(tt, "c", tt))
        self.assertEqual(store.delete(SUB, "c", start=19, end=20), 1)
        self.assertEqual(store.delete(SUB, "c", start=30, end=None), 1)
        self.assertEqual(
            [m.timetoken for m in store.fetch(SUB, "c", start=None, end=None, limit=9)], [10, 30]
        )
        self.assertEqual(store.delete(SUB, "c", start=None, end=None), 2)
        self.assertEqual(len(store), 0)


class HistoryV2Tests(MessagesCase):
    """The older ``/v2/history`` call (PubNub's SDKs' ``history()``)."""

    def test_shape_count_reverse_and_token(self) -> None:
        """[[messages], first, last]; count; reverse takes the oldest; include_token/meta."""
        stamps = [self.publish("ch", n, f"meta={q({'n': n})}") for n in range(5)]
        v2 = f"/v2/history/sub-key/{SUB}/channel/ch?uuid=me"
        self.assertEqual(self.get(f"{v2}&count=2"), [[3, 4], stamps[3], stamps[4]])
        self.assertEqual(self.get(f"{v2}&count=2&reverse=true"), [[0, 1], stamps[0], stamps[1]])
        self.assertEqual(
            self.get(f"{v2}&count=2&include_token=true&include_meta=true"),
            [
                [
                    {"message": 3, "timetoken": stamps[3], "meta": {"n": 3}},
                    {"message": 4, "timetoken": stamps[4], "meta": {"n": 4}},
                ],
                stamps[3],
                stamps[4],
            ],
        )
        self.assertEqual(self.get(f"{v2}&start={stamps[0]}"), [[], 0, 0])
        self.assertEqual(
            self.get(f"{v2}&start={stamps[4]}&end={stamps[1]}&reverse=true&count=2")[0], [1, 2]
        )
