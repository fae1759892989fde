"""A live local presence view: who is on which channel, with what state, kept in step.

``pubnub.presence_view(channels=..., channel_groups=..., grace=0.0)`` returns
a started :class:`PresenceView`::

    view = pubnub.presence_view(channels=["lobby"], grace=2.0)
    view.add_listener(MyListener())      # a PresenceViewListener
    yield view.when_synced()
    print(view.occupants("lobby"))        # {"alice": {"mood": "ok"}, "bob": None}
    view.live                             # False while disconnected or resyncing
    ...
    view.stop()

How it keeps in step with the service is described in
:mod:`pubnub_twisted.presence_view._view`.
"""

from pubnub_twisted.presence_view._notify import PresenceViewListener
from pubnub_twisted.presence_view._table import RESYNC
from pubnub_twisted.presence_view._view import PresenceView, PresenceViewPhase

__all__ = ["RESYNC", "PresenceView", "PresenceViewListener", "PresenceViewPhase"]
