"""here_now for channel groups (PubNub's "Here Now for Channel Groups")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    envelope = yield pubnub.here_now().channel_groups(['cg1', 'cg2', 'cg3']).\
        include_uuids(True).deferred()

    print("total_channels: %s" % envelope.result.total_channels)
    for channel_data in envelope.result.channels:
        print("channel_name: %s, occupancy: %s" % (channel_data.channel_name,
                                                   channel_data.occupancy))
        for occupant in channel_data.occupants:
            print("  uuid: %s, state: %s" % (occupant.uuid, occupant.state))


if __name__ == "__main__":
    from _support import run

    run(main)
