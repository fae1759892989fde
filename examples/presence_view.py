"""A live presence view of ch1: who is there with what state, printed as it changes."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks

from pubnub_twisted import PresenceView, PresenceViewListener, PubNub


class Printer(PresenceViewListener):
    """Prints each change, then who is on the channel now."""

    def __init__(self, view: PresenceView, channel: str) -> None:
        self.view = view
        self.channel = channel
        self.waiting: Deferred[None] | None = None

    def on_join(self, channel: str, uuid: str, state: Any) -> None:
        self.show("+ %s joined %s (state %s)" % (uuid, channel, state))

    def on_leave(self, channel: str, uuid: str, reason: str) -> None:
        self.show("- %s left %s (%s)" % (uuid, channel, reason))

    def on_state_change(self, channel: str, uuid: str, state: Any) -> None:
        self.show("~ %s on %s: state %s" % (uuid, channel, state))

    def on_sync(self) -> None:
        print("synced: %d on %s" % (self.view.occupancy(self.channel), self.channel))

    # The view's own liveness: while it is not live its data may be stale.
    def on_disconnected(self, reason: str) -> None:
        print("! disconnected (%s): the view may be stale until it reconnects" % reason)

    def on_reconnected(self) -> None:
        print("! reconnected: resyncing (what changed meanwhile follows)")

    def on_gave_up(self, reason: str) -> None:
        print("! gave up (%s): the view is stale" % reason)

    def show(self, line: str) -> None:
        print(line)
        print("  now on %s: %s" % (self.channel, ", ".join(sorted(self.view.occupants(self.channel)))))
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.callback(None)

    def next_change(self, pubnub: PubNub) -> Deferred[None]:
        """A Deferred that fires at the next change (or fails after 10 s)."""
        self.waiting = Deferred()
        return self.waiting.addTimeout(10, pubnub.reactor)


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    view = pubnub.presence_view(channels="ch1")
    printer = Printer(view, "ch1")
    view.add_listener(printer)
    yield view.when_synced()
    print("live: %s" % view.live)

    # Change things, and watch the view follow.
    change = printer.next_change(pubnub)
    yield pubnub.set_state().channels("ch1").state({"mood": "curious"}).deferred()
    yield change

    change = printer.next_change(pubnub)
    yield pubnub.leave().channels("ch1").deferred()
    yield change

    change = printer.next_change(pubnub)
    yield pubnub.heartbeat().channels("ch1").deferred()
    yield change

    print("channels of %s: %s" % (pubnub.uuid, view.channels_of(pubnub.uuid)))
    view.stop()


if __name__ == "__main__":
    from _support import run

    run(main)
