"""An embedded PubNub-compatible presence server, on ``twisted.web``.

It speaks PubNub's presence REST protocol (here_now, where_now, get/set
state, heartbeat, leave, channel groups), the subscribe long-poll with
presence events, messages and signals, publish and signal, message history
(fetch, counts, signed delete, in a bounded in-memory
:class:`MessageStore`) and ``/time/0``, so that this SDK and PubNub's own SDKs
work against it unchanged: in memory, with
``treq.testing.RequestTraversalAgent(PresenceResource(store))``, or on a
port with :func:`listen`.

In a trial test::

    clock = task.Clock()
    store = PresenceStore(clock)
    resource = PresenceResource(
        store, here_now_cache=0, subscribe=SubscribeOptions(hold_time=30)
    )
    agent = RequestTraversalAgent(resource)
    store.add_observer(events.append)      # join / leave / timeout / state-change
    ...
    clock.advance(300)                     # presence times out on the clock
    resource.publish("sub-c-X", "ch", {"text": "hi"})  # a message for subscribers
    resource.stop()                        # answer held polls, cancel timers

On a real port::

    server = listen(reactor)               # 127.0.0.1, ephemeral port
    config.origin, config.ssl = server.origin, False
    ...
    yield server.stop()
"""

from pubnub_twisted.server._site import PresenceServer, PresenceSite, listen
from pubnub_twisted.server.messages.store import MessageStore, StoredMessage
from pubnub_twisted.server.presence.store import (
    PresenceAction,
    PresenceEvent,
    PresenceObserver,
    PresenceStore,
)
from pubnub_twisted.server.resource import PresenceResource
from pubnub_twisted.server.subscribe import SubscribeHub, SubscribeOptions, SubscribeRequest

__all__ = [
    "MessageStore",
    "PresenceAction",
    "PresenceEvent",
    "PresenceObserver",
    "PresenceResource",
    "PresenceServer",
    "PresenceSite",
    "PresenceStore",
    "StoredMessage",
    "SubscribeHub",
    "SubscribeOptions",
    "SubscribeRequest",
    "listen",
]
