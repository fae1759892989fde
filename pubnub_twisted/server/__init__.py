"""An embedded PubNub-compatible presence server, on ``twisted.web``.

It speaks PubNub's presence REST protocol (here_now, where_now, get/set
state, heartbeat, leave, channel groups) so that this SDK and PubNub's own
SDKs work against it unchanged: in memory, with
``treq.testing.RequestTraversalAgent(PresenceResource(store))``, or on a
port with :func:`listen`.

In a trial test::

    clock = task.Clock()
    store = PresenceStore(clock)
    agent = RequestTraversalAgent(PresenceResource(store, here_now_cache=0))
    store.add_observer(events.append)      # join / leave / timeout / state-change
    ...
    clock.advance(300)                     # presence times out on the clock

On a real port::

    server = listen(reactor)               # 127.0.0.1, ephemeral port
    config.origin, config.ssl = server.origin, False
    ...
    yield server.stop()
"""

from pubnub_twisted.server._site import PresenceServer, PresenceSite, listen
from pubnub_twisted.server.resource import PresenceResource
from pubnub_twisted.server.store import (
    PresenceAction,
    PresenceEvent,
    PresenceObserver,
    PresenceStore,
)

__all__ = [
    "PresenceAction",
    "PresenceEvent",
    "PresenceObserver",
    "PresenceResource",
    "PresenceServer",
    "PresenceSite",
    "PresenceStore",
    "listen",
]
