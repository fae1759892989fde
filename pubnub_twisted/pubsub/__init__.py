"""Real-time: the subscribe loop, its builders, heartbeats and reconnection.

* :mod:`.builders`: ``pubnub.subscribe()`` / ``pubnub.unsubscribe()``.
* :mod:`.manager`: the loop itself (statuses, delivery, reconnection, leave).
* :mod:`.subscriptions`: what is subscribed, and the state per channel.
* :mod:`.heartbeat`: the heartbeat timer.
* :mod:`.reconnect`: the reconnection delays.
"""

from pubnub_twisted.pubsub.builders import SubscribeBuilder, TrackedSetState, UnsubscribeBuilder
from pubnub_twisted.pubsub.manager import SubscriptionManager

__all__ = ["SubscribeBuilder", "SubscriptionManager", "TrackedSetState", "UnsubscribeBuilder"]
