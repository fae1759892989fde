"""The heartbeat loop: keeps this client present on its data channels and groups.

While the subscribe loop runs with data names, a heartbeat goes out at once
and then every ``config.heartbeat_interval`` seconds (``presence_timeout / 2
- 1`` unless set; ``0`` or less turns heartbeats off), on the client's clock.
Each carries the state remembered per channel (see ``set_state``).
``-pnpres`` names are never sent.  A failed heartbeat is logged; the next one
goes out on time regardless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat
from pubnub_twisted.enums import PNStatusCategory
from pubnub_twisted.models import PNEnvelope, PNHeartbeatResult
from pubnub_twisted.pubsub.subscriptions import Subscriptions

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["HeartbeatLoop"]

_log = Logger(namespace="pubnub_twisted.heartbeat")


class HeartbeatLoop:
    """Periodic heartbeats for the data names of a :class:`Subscriptions`."""

    def __init__(self, pubnub: PubNub, subscriptions: Subscriptions) -> None:
        self._pubnub = pubnub
        self._subscriptions = subscriptions
        self._timer: IDelayedCall | None = None
        self._in_flight: Deferred[PNEnvelope[PNHeartbeatResult]] | None = None

    @property
    def running(self) -> bool:
        """True while heartbeats are scheduled."""
        return self._timer is not None

    def start(self) -> None:
        """Send a heartbeat now, then one every interval (restarts the period)."""
        self._cancel_timer()
        if self._pubnub.config.heartbeat_interval > 0:
            self._beat()

    def stop(self) -> None:
        """No more heartbeats; one in flight is cancelled (a leave may follow it)."""
        self._cancel_timer()
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.cancel()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _beat(self) -> None:
        self._timer = None
        channels, groups = self._subscriptions.data()
        if not channels and not groups:
            return
        if self._in_flight is None:
            builder = Heartbeat(self._pubnub).channels(sorted(channels))
            builder.channel_groups(sorted(groups)).state(self._subscriptions.states())
            d = builder.deferred()
            self._in_flight = d
            d.addBoth(self._done, d)
        interval = self._pubnub.config.heartbeat_interval
        self._timer = self._pubnub.reactor.callLater(interval, self._beat)

    def _done(
        self,
        outcome: PNEnvelope[PNHeartbeatResult] | Failure,
        d: Deferred[PNEnvelope[PNHeartbeatResult]],
    ) -> None:
        if self._in_flight is d:
            self._in_flight = None
        if isinstance(outcome, Failure):
            if not outcome.check(CancelledError):
                _log.failure("heartbeat failed unexpectedly", outcome)
            return
        status = outcome.status
        if status.is_error() and status.category is not PNStatusCategory.PNCancelledCategory:
            _log.warn("heartbeat failed: {status}", status=str(status))
