"""set_state for the channels of channel groups (PubNub's "Set state for channels in
channel group")."""

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
    envelope = yield pubnub.set_state().channel_groups(['gr1', 'gr2', 'gr3']).state(my_state).future()
    print("state set: %s" % envelope.result.state)


if __name__ == "__main__":
    from _support import run

    run(main)
