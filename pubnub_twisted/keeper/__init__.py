"""Keep many users present from one client: ``pubnub.presence_keeper()``.

::

    keeper = pubnub.presence_keeper()
    member = keeper.enter("alice", channels=["lobby"], state={"lobby": {"mood": "ready"}})
    yield member.when_present()
    yield member.update(channels=["lobby", "game"], state={"game": {"score": 1}})
    yield member.leave()          # or member.expire(): it times out like a crashed client
    yield keeper.stop()           # leaves everyone still kept

How it spreads heartbeats, bounds requests and retries is described in
:mod:`pubnub_twisted.keeper._keeper`.
"""

from pubnub_twisted.keeper._keeper import PresenceKeeper, PresenceKeeperListener
from pubnub_twisted.keeper._member import KeptMember

__all__ = ["KeptMember", "PresenceKeeper", "PresenceKeeperListener"]
