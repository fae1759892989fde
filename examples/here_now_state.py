"""here_now with state: each occupant's state comes back too (PubNub's "Returning State")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    envelope = yield pubnub.here_now().channels("my_channel").\
        include_uuids(True).include_state(True).deferred()

    result = envelope.result
    print("total_channels: %s" % result.total_channels)
    print("total_occupancy: %s" % result.total_occupancy)
    for channel_data in result.channels:
        print("channel_name: %s, occupancy: %s" % (channel_data.channel_name,
                                                   channel_data.occupancy))
        for occupant in channel_data.occupants:
            print("  uuid: %s, state: %s" % (occupant.uuid, occupant.state))


if __name__ == "__main__":
    from _support import run

    run(main)
