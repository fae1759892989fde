"""where_now: the channels our own uuid is on, with yield and with addCallback."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PNEnvelope, PNWhereNowResult, PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    # if we're using inlineCallbacks
    envelope = yield pubnub.where_now().deferred()
    print("inlineCallbacks: %s" % envelope.result.channels)

    # if we're not using inlineCallbacks
    def show(envelope: PNEnvelope[PNWhereNowResult]) -> None:
        assert envelope.result is not None
        print("addCallback: %s" % envelope.result.channels)

    d = pubnub.where_now().deferred()
    d.addCallback(show)
    yield d


if __name__ == "__main__":
    from _support import run

    run(main)
