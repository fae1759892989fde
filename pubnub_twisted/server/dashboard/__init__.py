"""A live dashboard for the embedded server: who is where, and what just happened.

``python -m pubnub_twisted serve`` serves it at ``/`` (``--no-dashboard``
turns it off); :func:`pubnub_twisted.server.listen` serves it with
``dashboard=True``.  The page (HTML, CSS and one ES module shipped in
``static/``) reads a JSON snapshot and an event stream under
``/_dashboard/``; PubNub's own paths are untouched.  On a loopback address
it is open; on any other it needs the token printed at start-up.
"""

from pubnub_twisted.server.dashboard._access import Verdict, decide, is_loopback, needs_token
from pubnub_twisted.server.dashboard._feed import DashboardFeed
from pubnub_twisted.server.dashboard.resource import PREFIX, Dashboard

__all__ = [
    "PREFIX",
    "Dashboard",
    "DashboardFeed",
    "Verdict",
    "decide",
    "is_loopback",
    "needs_token",
]
