"""get_state of another uuid on several channels (PubNub's "Get State")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    d = pubnub.get_state().channels(['ch1', 'ch2', 'ch3']).uuid('such_uuid').deferred()
    envelope = yield d
    for channel, state in envelope.result.channels.items():
        print("%s: %s" % (channel, state))


if __name__ == "__main__":
    from _support import run

    run(main)
