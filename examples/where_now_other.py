"""where_now for another uuid (PubNub's "Obtain information about ... some other UUID")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    d = pubnub.where_now().uuid('some-other-uuid').deferred()
    envelope = yield d
    print("some-other-uuid is on: %s" % envelope.result.channels)


if __name__ == "__main__":
    from _support import run

    run(main)
