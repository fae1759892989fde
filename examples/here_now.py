"""here_now: get a list of UUIDs subscribed to channels (PubNub's "Basic Usage")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PubNub


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    envelope = yield pubnub.here_now()\
        .channels("my_channel", "demo")\
        .include_uuids(True)\
        .deferred()

    if envelope.status.is_error():
        print("error: %s" % envelope.status)
        return

    for channel_data in envelope.result.channels:
        print("channel: %s" % channel_data.channel_name)
        print("occupancy: %s" % channel_data.occupancy)

        print("occupants: %s" % channel_data.channel_name)
        for occupant in channel_data.occupants:
            print("uuid: %s, state: %s" % (occupant.uuid, occupant.state))


if __name__ == "__main__":
    from _support import run

    run(main)
