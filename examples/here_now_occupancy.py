"""here_now, occupancy only: uuids off (PubNub's "Return Occupancy Only")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    envelope = yield pubnub.here_now().channels("my_channel").\
        include_uuids(False).deferred()

    for channel_data in envelope.result.channels:
        print("channel_name: %s, occupancy: %s, occupants: %s" % (
            channel_data.channel_name, channel_data.occupancy, channel_data.occupants))


if __name__ == "__main__":
    from _support import run

    run(main)
