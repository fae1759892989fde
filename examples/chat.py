"""A lobby chat: subscribe, publish with meta, a typing signal, then read the history."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PNMessageResult, PNSignalMessageResult, PubNub, SubscribeCallback


class Lobby(SubscribeCallback):
    """Prints what arrives; fires ``arrived`` after ``expected`` messages."""

    def __init__(self, pubnub: PubNub, expected: int) -> None:
        self.expected = expected
        self.arrived: Deferred[None] = Deferred()
        self.arrived.addTimeout(10, pubnub.reactor)
        self.connected: Deferred[None] = Deferred()

    def status(self, pubnub: PubNub, status: Any) -> None:
        if not self.connected.called:
            self.connected.callback(None)

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        print("(%s is %s)" % (signal.publisher, signal.message))

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        lang = (message.user_metadata or {}).get("lang")
        print("%s [%s]: %s" % (message.publisher, lang, message.message["text"]))
        self.expected -= 1
        if self.expected == 0:
            self.arrived.callback(None)


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    lobby = Lobby(pubnub, expected=2)
    pubnub.add_listener(lobby)
    pubnub.subscribe().channels("lobby").execute()
    yield lobby.connected

    yield pubnub.signal().channel("lobby").message("typing").deferred()
    envelope = yield pubnub.publish().channel("lobby").message({"text": "hi all"}) \
        .meta({"lang": "en"}).deferred()
    first = envelope.result.timetoken
    yield pubnub.publish().channel("lobby").message({"text": "salut"}) \
        .meta({"lang": "fr"}).deferred()
    yield lobby.arrived

    envelope = yield pubnub.fetch_messages().channels(["lobby"]).include_uuid(True) \
        .end(first).deferred()
    for item in envelope.result.channels["lobby"]:
        print("history: %s said %s" % (item.uuid, item.message["text"]))

    envelope = yield pubnub.message_counts().channels(["lobby"]) \
        .channel_timetokens([first]).deferred()
    print("since the first: %d" % envelope.result.channels["lobby"])
    pubnub.unsubscribe_all()


if __name__ == "__main__":
    from _support import run

    run(main)
