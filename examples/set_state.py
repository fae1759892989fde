"""set_state on channels (PubNub's "Set State")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    my_state = {
        'age': 20
    }
    d = pubnub.set_state().channels(['ch1', 'ch2', 'ch3']).state(my_state).deferred()
    envelope = yield d
    print("state set: %s" % envelope.result.state)


if __name__ == "__main__":
    from _support import run

    run(main)
