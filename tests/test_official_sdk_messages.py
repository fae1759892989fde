"""Messaging through PubNub's official Python SDK against ``pubnub_twisted serve``.

publish (GET and POST, meta, custom type, store), signal, fetch_messages with
its include flags and paging, and message_counts, all with the official
SDK's own requests and parsers.
"""

from __future__ import annotations

import queue
from typing import Any

from tests.test_official_sdk import OfficialCase

try:
    from pubnub.callbacks import SubscribeCallback
except ImportError:  # pragma: no cover - the dev extra installs it
    SubscribeCallback = object


class Received(SubscribeCallback):  # type: ignore[misc]
    """An official SDK listener: events into a queue, as tuples."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def status(self, pubnub: Any, status: Any) -> None:
        self.queue.put(("status", status.category.name))

    def presence(self, pubnub: Any, event: Any) -> None:
        """Presence is not what these tests watch."""

    def message(self, pubnub: Any, message: Any) -> None:
        self.queue.put(
            (
                "message",
                message.channel,
                message.message,
                message.publisher,
                message.user_metadata,
                message.custom_message_type,
                message.timetoken,
            )
        )

    def signal(self, pubnub: Any, signal: Any) -> None:
        self.queue.put(("signal", signal.channel, signal.message, signal.publisher))


class OfficialPublishTests(OfficialCase):
    """The official SDK publishes, signals, receives and reads history on our server."""

    def test_publish_get_post_and_receive(self) -> None:
        """GET and POST publishes reach a subscribed official client with meta and type."""
        received = Received()
        listener = self.official("listener")
        listener.add_listener(received)
        listener.subscribe().channels("lobby").execute()
        self.assertEqual(received.queue.get(timeout=10), ("status", "PNConnectedCategory"))
        sent = (
            self.pubnub.publish()
            .channel("lobby")
            .message({"text": "hi"})
            .meta({"lang": "en"})
            .custom_message_type("chat-text")
            .sync()
        )
        got = received.queue.get(timeout=10)
        self.assertEqual(
            got,
            (
                "message",
                "lobby",
                {"text": "hi"},
                "official",
                {"lang": "en"},
                "chat-text",
                sent.result.timetoken,
            ),
        )
        self.pubnub.publish().channel("lobby").message(["by", "post"]).use_post(True).sync()
        self.assertEqual(received.queue.get(timeout=10)[2], ["by", "post"])
        self.pubnub.signal().channel("lobby").message("typing").sync()
        self.assertEqual(received.queue.get(timeout=10), ("signal", "lobby", "typing", "official"))
        listener.unsubscribe_all()

    def test_fetch_messages_and_counts(self) -> None:
        """fetch_messages (flags, start/end paging) and message_counts parse our answers."""
        stamps = []
        for n in range(5):
            envelope = self.pubnub.publish().channel("hist").message(n).meta({"n": n}).sync()
            stamps.append(envelope.result.timetoken)
        self.pubnub.publish().channel("hist").message("unstored").should_store(False).sync()
        self.pubnub.signal().channel("hist").message("sig").sync()
        fetched = (
            self.pubnub.fetch_messages()
            .channels(["hist"])
            .include_meta(True)
            .include_uuid(True)
            .include_message_type(True)
            .sync()
            .result.channels["hist"]
        )
        self.assertEqual([item.message for item in fetched], [0, 1, 2, 3, 4])
        self.assertEqual([item.timetoken for item in fetched], [str(tt) for tt in stamps])
        self.assertEqual(fetched[2].meta, {"n": 2})
        self.assertEqual(fetched[2].uuid, "official")
        page = (
            self.pubnub.fetch_messages()
            .channels(["hist"])
            .start(stamps[3])
            .end(stamps[1])
            .sync()
            .result.channels["hist"]
        )
        self.assertEqual([item.message for item in page], [1, 2])
        counts = (
            self.pubnub.message_counts()
            .channel(["hist", "empty"])
            .channel_timetokens([stamps[2], stamps[0]])
            .sync()
        )
        self.assertEqual(counts.result.channels, {"hist": 2, "empty": 0})

    def test_v2_history(self) -> None:
        """The official SDK's older history() reads the same store, with timetokens."""
        stamps = [
            self.pubnub.publish().channel("old").message(n).sync().result.timetoken
            for n in range(4)
        ]
        history = self.pubnub.history().channel("old").count(3).include_timetoken(True).sync()
        self.assertEqual([item.entry for item in history.result.messages], [1, 2, 3])
        self.assertEqual([item.timetoken for item in history.result.messages], stamps[1:])
        oldest = self.pubnub.history().channel("old").count(2).reverse(True).sync()
        self.assertEqual([item.entry for item in oldest.result.messages], [0, 1])
