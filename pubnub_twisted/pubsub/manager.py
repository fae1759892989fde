"""The subscribe loop: long-polls, statuses, reconnection, heartbeats and leaves.

One loop per client, entirely on the client's reactor (or ``task.Clock``):
no threads, no blocking, every timer a ``callLater``.

* **Handshake, then cursor.**  The first request has ``tt=0``; the service
  answers at once with a cursor (``t.t``, ``t.r``), announced as
  ``PNConnectedCategory``.  Each later request carries the last cursor and
  is held by the service until something happens.
* **Changes.**  ``subscribe()``/``unsubscribe()`` update the names at once;
  all the changes of one reactor turn are applied together a moment later
  (``callLater(0)``): the poll is restarted once, *with the stored cursor*
  (no new handshake, so nothing published meanwhile is lost), and
  ``PNSubscriptionChangedCategory`` is announced.  The replaced poll is
  cancelled silently.  A leave goes out for exactly the data names no longer
  subscribed.  When nothing is left: ``PNDisconnectedCategory``.
* **Delivery.**  Events for names no longer subscribed are dropped, and an
  event seen recently (redelivered after a reconnect) is delivered once.
* **Failures.**  A poll that reaches ``subscribe_request_timeout`` is the
  normal end of a long-poll: the next one starts at once, no status.  403:
  ``PNAccessDeniedCategory``, and everything is unsubscribed.  400 (or a
  request that cannot be built): that status, and the loop stops.  Anything
  else: ``PNUnexpectedDisconnectCategory``, then ``/time/0`` probes spaced by
  the reconnection policy; the first that succeeds resumes polling from the
  stored cursor (``PNReconnectedCategory``).  Past the retry limit:
  ``PNDisconnectedCategory`` with ``error_data`` saying why; a later change
  or ``reconnect()`` starts again.
* **Holds.**  A presence view asks the loop to keep to its own schedule as
  well (:meth:`SubscriptionManager.hold_reconnection`), by default one that
  never gives up.  While holds are in force the loop keeps trying as long as
  any schedule (the configuration's or a hold's) does, after the shortest
  delay among them; a hold whose own schedule runs out is told so (once per
  outage) while the loop carries on for the others.  With no hold, the
  configuration's schedule alone decides, as above.
"""

from __future__ import annotations

import enum
import random
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.callbacks import SubscribeCallback
from pubnub_twisted.crypto import PubNubCryptoModule, crypto_module_of
from pubnub_twisted.endpoints.presence.leave import Leave
from pubnub_twisted.endpoints.pubsub.subscribe import Subscribe, SubscribeResponse
from pubnub_twisted.endpoints.time import TimeProbe
from pubnub_twisted.enums import PNOperationType, PNReconnectionPolicy, PNStatusCategory
from pubnub_twisted.errors import PNERR_CONNECTION_ERROR, PNERR_DECRYPTION_ERROR, PubNubException
from pubnub_twisted.models import JSONObject, PNEnvelope, PNErrorData, PNLeaveResult, PNStatus
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
    PNTimeResponse,
)
from pubnub_twisted.pubsub.heartbeat import HeartbeatLoop
from pubnub_twisted.pubsub.reconnect import Reconnection, next_delay
from pubnub_twisted.pubsub.subscriptions import Subscriptions

if TYPE_CHECKING:
    from pubnub_twisted.endpoints.naming import NameRules
    from pubnub_twisted.pubnub import PubNub

__all__ = ["RecentEvents", "ReconnectionHold", "SubscriptionManager"]

_log = Logger(namespace="pubnub_twisted.subscribe")

#: A poll that lasted this close to its deadline timed out as long-polls do.
_DEADLINE_SLACK = 0.001


class _Phase(enum.Enum):
    IDLE = "idle"  # nothing to poll (nothing subscribed yet, or any more)
    HANDSHAKING = "handshaking"  # a tt=0 request is out
    RECEIVING = "receiving"  # a request from the cursor is out
    RECONNECTING = "reconnecting"  # waiting to probe /time/0, or probing
    STOPPED = "stopped"  # gave up or refused; names kept; a change restarts
    CLOSED = "closed"  # pubnub.stop(): for good


_ACTIVE = (_Phase.HANDSHAKING, _Phase.RECEIVING, _Phase.RECONNECTING)


class RecentEvents:
    """The keys of the last ``size`` events delivered (least recently seen forgotten)."""

    def __init__(self, size: int = 1000) -> None:
        self._size = size
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def seen(self, key: Hashable) -> bool:
        """True if ``key`` was seen recently; remembers it either way."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        self._keys[key] = None
        if len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return False


class ReconnectionHold:
    """A schedule the loop keeps to besides the configuration's, and whom to tell when it runs out.

    Made by :meth:`SubscriptionManager.hold_reconnection`; hand it back to
    :meth:`SubscriptionManager.release_reconnection`.
    """

    def __init__(
        self, reconnection: Reconnection, gave_up: Callable[[PubNubException], object]
    ) -> None:
        self.reconnection = reconnection
        self.gave_up = gave_up

    def __repr__(self) -> str:
        return f"ReconnectionHold({self.reconnection!r})"


class SubscriptionManager:
    """The subscribe loop of one :class:`~pubnub_twisted.PubNub` client."""

    def __init__(self, pubnub: PubNub, rng: Callable[[], float] = random.random) -> None:
        self._pubnub = pubnub
        self._rng = rng
        self._subscriptions = Subscriptions()
        self._heartbeat = HeartbeatLoop(pubnub, self._subscriptions)
        self._listeners: list[SubscribeCallback] = []
        self._recent = RecentEvents()
        self._crypto = crypto_module_of(pubnub.config)
        self._phase = _Phase.IDLE
        self._timetoken = 0
        self._region: int | None = None
        self._restore: int | None = None
        # Data names the service was told about (leave targets).
        self._applied: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
        # Names of the current (or last) poll.
        self._polled: tuple[list[str], list[str]] = ([], [])
        self._pending: IDelayedCall | None = None
        self._poll_d: Deferred[Any] | None = None
        self._poll_started = 0.0
        self._retry_timer: IDelayedCall | None = None
        self._probe_d: Deferred[Any] | None = None
        self._attempt = 0
        self._last_error: PNStatus | None = None
        self._holds: list[ReconnectionHold] = []
        # Holds told this outage that their schedule ran out.
        self._spent: list[ReconnectionHold] = []

    # -- listeners ------------------------------------------------------------

    def add_listener(self, listener: SubscribeCallback) -> None:
        """Add a listener (once; adding it again changes nothing)."""
        if not isinstance(listener, SubscribeCallback):
            raise TypeError(f"listener must be a SubscribeCallback, not {type(listener).__name__}")
        if listener not in self._listeners:
            self._listeners.append(listener)

    def remove_listener(self, listener: SubscribeCallback) -> None:
        """Remove a listener (no error if it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    @property
    def name_rules(self) -> NameRules:
        """The client's use of PubNub's naming rules (for the builders)."""
        return self._pubnub._name_rules

    def _tell(self, method: str, value: Any) -> None:
        for listener in list(self._listeners):
            try:
                getattr(listener, method)(self._pubnub, value)
            except Exception:
                _log.failure(
                    "listener {listener!r} raised in {method}()",
                    listener=listener,
                    method=method,
                )

    # -- what is subscribed ---------------------------------------------------

    def subscribe(
        self, channels: list[str], groups: list[str], with_presence: bool, timetoken: int | None
    ) -> None:
        """Add names (see :class:`~pubnub_twisted.pubsub.builders.SubscribeBuilder`)."""
        if self._refused("subscribe"):
            return
        self._subscriptions.add(channels, groups, with_presence)
        if timetoken is not None:
            self._restore = timetoken
        self._changed()

    def unsubscribe(self, channels: list[str], groups: list[str]) -> None:
        """Drop names (see :class:`~pubnub_twisted.pubsub.builders.UnsubscribeBuilder`)."""
        if self._refused("unsubscribe"):
            return
        self._subscriptions.remove(channels, groups)
        self._changed()

    def unsubscribe_all(self) -> None:
        """Drop every name."""
        if self._refused("unsubscribe_all"):
            return
        self._subscriptions.clear()
        self._changed()

    def subscribed_channels(self) -> list[str]:
        """Channels polled, ``-pnpres`` names included, sorted."""
        return self._subscriptions.request_channels()

    def subscribed_groups(self) -> list[str]:
        """Channel groups polled, ``-pnpres`` names included, sorted."""
        return self._subscriptions.request_groups()

    def remember_state(self, channels: Iterable[str], state: JSONObject) -> None:
        """State set through ``set_state``: heartbeats carry it from now on."""
        self._subscriptions.remember_state(channels, state)

    def reconnect(self) -> None:
        """Resume a loop that gave up (or is waiting to retry) now."""
        if self._phase in (_Phase.STOPPED, _Phase.RECONNECTING):
            self._stop_reconnecting()
            self._reset_attempts()
            if not self._subscriptions.is_empty():
                self._resume()

    @property
    def reconnecting(self) -> bool:
        """True between a failed poll and the next good one (or giving up)."""
        return self._phase is _Phase.RECONNECTING

    def hold_reconnection(
        self, reconnection: Reconnection, gave_up: Callable[[PubNubException], object]
    ) -> ReconnectionHold:
        """Keep reconnecting by ``reconnection`` too, until the hold is released.

        ``gave_up(exception)`` is called (once per outage) when the loop's
        attempts go past what ``reconnection`` allows; the loop itself only
        gives up when every schedule in force does.
        """
        hold = ReconnectionHold(reconnection, gave_up)
        self._holds.append(hold)
        return hold

    def release_reconnection(self, hold: ReconnectionHold) -> None:
        """Stop keeping to ``hold``'s schedule (no error if it was released already)."""
        if hold in self._holds:
            self._holds.remove(hold)
        if hold in self._spent:
            self._spent.remove(hold)

    def _refused(self, what: str) -> bool:
        if self._phase is _Phase.CLOSED:
            _log.warn("{what}() after stop() is ignored", what=what)
            return True
        return False

    def _changed(self) -> None:
        if self._pending is None:
            self._pending = self._pubnub.reactor.callLater(0, self._apply)

    def _apply(self) -> None:
        """Apply the changes of the last reactor turn: one restart, one leave."""
        self._pending = None
        data = self._subscriptions.data()
        gone = (self._applied[0] - data[0], self._applied[1] - data[1])
        self._applied = data
        phase = self._phase
        if self._subscriptions.is_empty():
            self._halt()
            self._phase = _Phase.IDLE
            self._timetoken, self._region, self._restore = 0, None, None
            self._leave(gone)
            if phase in _ACTIVE:
                self._tell("status", self._unsubscribed())
            return
        wanted = (self._subscriptions.request_channels(), self._subscriptions.request_groups())
        if phase is _Phase.IDLE or (phase is _Phase.HANDSHAKING and wanted != self._polled):
            self._phase = _Phase.HANDSHAKING
            self._poll()
        elif phase is _Phase.STOPPED:
            self._reset_attempts()
            self._resume()
        elif phase is _Phase.RECEIVING:
            if self._restore is not None:
                self._timetoken, self._restore = self._restore, None
            elif wanted == self._polled:
                self._leave(gone)
                return
            self._poll()
            self._sync_heartbeat()
            self._tell("status", self._status(PNStatusCategory.PNSubscriptionChangedCategory))
        self._leave(gone)

    def _sync_heartbeat(self) -> None:
        channels, groups = self._subscriptions.data()
        if not channels and not groups:
            self._heartbeat.stop()
        elif not self._heartbeat.running:
            self._heartbeat.start()

    # -- polling --------------------------------------------------------------

    def _poll(self) -> None:
        """Send the next request (a handshake while handshaking), replacing any."""
        self._cancel_poll()
        channels = self._subscriptions.request_channels()
        groups = self._subscriptions.request_groups()
        if not channels and not groups:
            return
        builder = Subscribe(self._pubnub).channels(channels).channel_groups(groups)
        if self._phase is _Phase.HANDSHAKING:
            builder.timetoken(0).state(self._subscriptions.states())
        else:
            builder.timetoken(self._timetoken).region(self._region)
        self._polled = (channels, groups)
        self._poll_started = self._pubnub.reactor.seconds()
        d = builder.deferred()
        self._poll_d = d
        d.addCallback(self._polled_ok, d).addErrback(self._poll_error, d)

    def _cancel_poll(self) -> None:
        poll, self._poll_d = self._poll_d, None
        if poll is not None:
            poll.cancel()

    def _poll_error(self, failure: Failure, d: Deferred[Any]) -> None:
        if not failure.check(CancelledError):
            _log.failure("the subscribe loop failed", failure)

    def _polled_ok(self, envelope: PNEnvelope[SubscribeResponse], d: Deferred[Any]) -> None:
        if d is not self._poll_d:
            return
        self._poll_d = None
        response = envelope.result
        if envelope.status.is_error() or response is None:
            self._poll_failed(envelope.status)
            return
        self._reset_attempts()
        handshake = self._phase is _Phase.HANDSHAKING
        self._timetoken, self._region = response.timetoken, response.region
        if handshake:
            if self._restore is not None:
                self._timetoken, self._restore = self._restore, None
            self._phase = _Phase.RECEIVING
            self._tell("status", self._status(PNStatusCategory.PNConnectedCategory))
            self._sync_heartbeat()
        self._deliver(response)
        if self._phase is _Phase.RECEIVING and self._poll_d is None:
            self._poll()

    def _deliver(self, response: SubscribeResponse) -> None:
        for entry, why in response.malformed:
            _log.warn("skipped a subscribe entry ({why}): {entry!r}", why=why, entry=entry)
        wanted = self._subscriptions
        for event in response.events:
            if self._phase is _Phase.CLOSED:
                return
            key: tuple[Any, ...]
            if isinstance(event, PNPresenceEventResult):
                if not wanted.wants_presence(event.channel, event.subscription):
                    continue
                key = ("presence", event.channel, event.timetoken, event.event, event.uuid)
                method = "presence"
            else:
                if not wanted.wants_message(event.channel, event.subscription):
                    continue
                method = "signal" if isinstance(event, PNSignalMessageResult) else "message"
                key = (method, event.channel, event.timetoken)
            if self._recent.seen(key):
                continue
            if method == "message" and self._crypto is not None:
                assert isinstance(event, PNMessageResult)
                self._tell(method, self._decrypted(event, self._crypto))
            else:
                self._tell(method, event)

    def _decrypted(self, event: PNMessageResult, crypto: PubNubCryptoModule) -> PNMessageResult:
        """The message decrypted, or as it came with ``error`` set (and a status said so)."""
        try:
            if not isinstance(event.message, str):
                raise PubNubException(
                    "the message is not encrypted text", pn_error=PNERR_DECRYPTION_ERROR
                )
            return replace(event, message=crypto.decrypt(event.message))
        except PubNubException as exc:
            _log.warn(
                "could not decrypt a message on {channel}: {why}", channel=event.channel, why=exc
            )
            self._tell(
                "status",
                self._status(
                    PNStatusCategory.PNDecryptionErrorCategory, PNErrorData(str(exc), exc)
                ),
            )
            return replace(event, error=exc)

    def _poll_failed(self, status: PNStatus) -> None:
        category = status.category
        timeout = self._pubnub.config.subscribe_request_timeout
        elapsed = self._pubnub.reactor.seconds() - self._poll_started
        if category is PNStatusCategory.PNCancelledCategory:
            return  # the client is stopping
        if category is PNStatusCategory.PNTimeoutCategory and elapsed >= timeout - _DEADLINE_SLACK:
            self._poll()  # a long-poll that ran its course
        elif category is PNStatusCategory.PNAccessDeniedCategory:
            self._halt()
            self._subscriptions.clear()
            self._applied = (frozenset(), frozenset())
            self._timetoken, self._region, self._restore = 0, None, None
            self._phase = _Phase.IDLE
            self._tell("status", status)
        elif category is PNStatusCategory.PNBadRequestCategory:
            self._halt()
            self._phase = _Phase.STOPPED
            self._tell("status", status)
        else:
            self._heartbeat.stop()
            self._phase = _Phase.RECONNECTING
            self._last_error = status
            unexpected = replace(status, category=PNStatusCategory.PNUnexpectedDisconnectCategory)
            self._tell("status", unexpected)
            if self._phase is _Phase.RECONNECTING and self._retry_timer is None:
                self._retry_later()

    # -- reconnection ---------------------------------------------------------

    def _reset_attempts(self) -> None:
        self._attempt = 0
        self._spent = []

    def _retry_later(self) -> None:
        self._attempt += 1
        holds = list(self._holds)
        schedules = [Reconnection.from_config(self._pubnub.config)]
        schedules += [hold.reconnection for hold in holds]
        delay, done = next_delay(schedules, self._attempt, self._rng)
        for index in done:
            hold = holds[index - 1] if index else None
            if hold is not None and hold not in self._spent and hold in self._holds:
                self._spent.append(hold)
                exc = PubNubException(
                    self._gave_up_why(hold.reconnection), pn_error=PNERR_CONNECTION_ERROR
                )
                try:
                    hold.gave_up(exc)
                except Exception:
                    _log.failure("{hold!r} raised when told it ran out", hold=hold)
        if self._phase is not _Phase.RECONNECTING or self._retry_timer is not None:
            return  # stopped or resumed meanwhile
        if delay is None:
            self._give_up()
        else:
            self._retry_timer = self._pubnub.reactor.callLater(delay, self._probe)

    def _gave_up_why(
        self, reconnection: Reconnection, names: tuple[str, str] = ("policy", "maximum_retries")
    ) -> str:
        """Why the loop (or a hold) gave up; ``names``: what its two settings are called."""
        last = self._last_error
        why = "unknown" if last is None or last.error_data is None else last.error_data.information
        if reconnection.policy is PNReconnectionPolicy.NONE:
            return f"reconnection is off ({names[0]} NONE); last error: {why}"
        return (
            f"gave up reconnecting after {self._attempt - 1} attempt(s) "
            f"({names[1]} {reconnection.maximum_retries}); last error: {why}"
        )

    def _probe(self) -> None:
        self._retry_timer = None
        d = TimeProbe(self._pubnub).deferred()
        self._probe_d = d
        d.addCallback(self._probed, d).addErrback(self._poll_error, d)

    def _probed(self, envelope: PNEnvelope[PNTimeResponse], d: Deferred[Any]) -> None:
        if d is not self._probe_d:
            return
        self._probe_d = None
        status = envelope.status
        if status.category is PNStatusCategory.PNCancelledCategory:
            return
        if status.is_error():
            self._last_error = status
            self._retry_later()
        else:
            self._resume()

    def _resume(self) -> None:
        """Poll again: from the stored cursor if there is one, else by a handshake."""
        if self._region is None:
            self._phase = _Phase.HANDSHAKING
            self._poll()
            return
        if self._restore is not None:
            self._timetoken, self._restore = self._restore, None
        self._phase = _Phase.RECEIVING
        self._tell("status", self._status(PNStatusCategory.PNReconnectedCategory))
        if self._phase is _Phase.RECEIVING:
            self._sync_heartbeat()
            if self._poll_d is None:
                self._poll()

    def _give_up(self) -> None:
        config = self._pubnub.config
        last = self._last_error
        information = self._gave_up_why(
            Reconnection.from_config(config), ("reconnect_policy", "maximum_reconnection_retries")
        )
        self._halt()
        self._phase = _Phase.STOPPED
        exc = PubNubException(information, pn_error=PNERR_CONNECTION_ERROR)
        status = self._status(
            PNStatusCategory.PNDisconnectedCategory,
            error=PNErrorData(str(exc), exc),
            status_code=None if last is None else last.status_code,
        )
        exc.status = status
        self._tell("status", status)

    def _stop_reconnecting(self) -> None:
        timer, self._retry_timer = self._retry_timer, None
        if timer is not None and timer.active():
            timer.cancel()
        probe, self._probe_d = self._probe_d, None
        if probe is not None:
            probe.cancel()

    # -- endings --------------------------------------------------------------

    def _halt(self) -> None:
        """Cancel the poll, the reconnection and the heartbeats."""
        self._cancel_poll()
        self._stop_reconnecting()
        self._heartbeat.stop()

    def _leave(self, gone: tuple[frozenset[str], frozenset[str]]) -> Deferred[None]:
        """Leave the data names in ``gone`` (unless leaves are suppressed)."""
        channels, groups = gone
        if (not channels and not groups) or self._pubnub.config.suppress_leave_events:
            return succeed(None)
        builder = Leave(self._pubnub).channels(sorted(channels)).channel_groups(sorted(groups))
        return builder.deferred().addBoth(_left)

    def stop(self) -> Deferred[None]:
        """End the loop for good and leave what the service knows we are on.

        The Deferred fires when the leave is answered (or fails: it is
        bounded by ``non_subscribe_request_timeout``).  When the loop was
        running, listeners get ``PNDisconnectedCategory`` first.
        """
        if self._phase is _Phase.CLOSED:
            return succeed(None)
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None
        was_active = self._phase in _ACTIVE
        self._halt()
        self._phase = _Phase.CLOSED
        gone, self._applied = self._applied, (frozenset(), frozenset())
        if was_active:
            self._tell("status", self._unsubscribed())
        self._subscriptions.clear()
        return self._leave(gone)

    # -- statuses -------------------------------------------------------------

    def _unsubscribed(self) -> PNStatus:
        """``PNDisconnectedCategory`` after unsubscribing from everything (or stop())."""
        return self._status(
            PNStatusCategory.PNDisconnectedCategory,
            operation=PNOperationType.PNUnsubscribeOperation,
        )

    def _status(
        self,
        category: PNStatusCategory,
        error: PNErrorData | None = None,
        status_code: int | None = None,
        operation: PNOperationType = PNOperationType.PNSubscribeOperation,
    ) -> PNStatus:
        config = self._pubnub.config
        channels, groups = self._polled
        return PNStatus(
            category=category,
            operation=operation,
            status_code=status_code,
            error=error is not None,
            error_data=error,
            tls_enabled=config.ssl,
            origin=config.origin,
            uuid=config.uuid,
            affected_channels=list(channels),
            affected_groups=list(groups),
        )


def _left(outcome: PNEnvelope[PNLeaveResult] | Failure) -> None:
    if isinstance(outcome, Failure):
        if not outcome.check(CancelledError):
            _log.failure("leave failed unexpectedly", outcome)
    elif outcome.status.is_error():
        _log.warn("leave failed: {status}", status=str(outcome.status))
