"""``SubscribeCallback``: what a listener of the subscribe loop implements."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pubnub_twisted.models import PNStatus
    from pubnub_twisted.models_pubsub import (
        PNMessageResult,
        PNPresenceEventResult,
        PNSignalMessageResult,
    )
    from pubnub_twisted.pubnub import PubNub

__all__ = ["SubscribeCallback"]


class SubscribeCallback:
    """Subclass it and override what you need; each method does nothing by default.

    Register with ``pubnub.add_listener(listener)``.  Listeners are called on
    the reactor thread, in the order they were added, never on other
    threads.  An exception raised by a listener is logged (``twisted.logger``)
    and does not stop the loop or the other listeners.  Methods should not
    block: the reactor waits for them.
    """

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        """The loop's state changed: connected, reconnected, disconnected, ..."""

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        """A message arrived on a subscribed channel."""

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        """A presence event (join, leave, timeout, state-change, interval) arrived."""

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        """A signal arrived on a subscribed channel."""
