"""``PresenceView``: a live local copy of who is present, kept in step with the service.

How it keeps in step (the recipe of research/subscribe.md section 9):

1. **Observe.**  It subscribes to ``<channel>-pnpres`` and ``<group>-pnpres``
   only, so it is an observer and not counted as present.  Presence events
   are buffered until the first snapshot is in.
2. **Snapshot.**  Once the subscription is polled (``PNConnectedCategory``,
   or ``PNSubscriptionChangedCategory`` listing its names) it asks the
   service's time ``T0``, then reads here_now with state, every page, for
   its channels and groups.
3. **Replay.**  It applies the buffered events later than ``T0``, in
   timetoken order, newest-wins per (channel, uuid): an event the snapshot
   already reflects changes nothing, and the ones it missed are put right.
4. **Live.**  Events then apply as they come, by the same rule, so
   duplicates and late events change nothing.
5. **Resync.**  ``PNReconnectedCategory`` or a new ``PNConnectedCategory``
   (events may have been lost) re-enters step 2 for everything.  An
   ``interval`` event applies its lists and then has its channel refreshed
   (alone): interval mode hides joins' states, and a leave and join between
   two intervals, which may have changed a state, appear in no list.  A
   channel whose count still differs from the occupancy the service
   reported a few seconds later is refreshed too.  The old and new data are
   compared and only the differences notified, so a resync does not flap
   what did not change.

**Liveness.**  The view holds the client's subscribe loop to its own
reconnection schedule (a :class:`~pubnub_twisted.pubsub.reconnect.Reconnection`,
by default one that never gives up), and follows the loop's statuses: a
lost connection makes it ``DISCONNECTED`` (listeners hear
``on_disconnected``), the loop's return ``SYNCING`` (``on_reconnected``)
until the resync is in (``LIVE`` again, the differences told, then
``on_sync``); a schedule that runs out makes it ``GAVE_UP``
(``on_gave_up``).

The mechanics of syncs are in :mod:`~pubnub_twisted.presence_view._sync`,
the rules for events in :mod:`~pubnub_twisted.presence_view._table`.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar
from weakref import WeakKeyDictionary

from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.callbacks import SubscribeCallback
from pubnub_twisted.endpoints.base import Names, _names
from pubnub_twisted.enums import PNOperationType, PNStatusCategory
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_INVALID_ARGUMENT,
    PNERR_SUBSCRIBE_KEY_MISSING,
    PubNubException,
)
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import PNPresenceEventResult
from pubnub_twisted.presence_view._notify import Notifier, PresenceViewListener
from pubnub_twisted.presence_view._sync import Synchronizer
from pubnub_twisted.presence_view._table import PresenceTable, State
from pubnub_twisted.protocol import PRESENCE_SUFFIX
from pubnub_twisted.pubsub import SubscribeBuilder, UnsubscribeBuilder
from pubnub_twisted.pubsub.reconnect import Reconnection

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["PresenceView", "PresenceViewPhase"]

_log = Logger(namespace="pubnub_twisted.presence_view")

_C = PNStatusCategory

#: A subscribe name: ("c", channel) or ("g", group).
_Name = tuple[str, str]

#: Per client, the ``-pnpres`` names its views subscribed, and by how many views each.
_owners: WeakKeyDictionary[PubNub, Counter[_Name]] = WeakKeyDictionary()


class PresenceViewPhase(enum.Enum):
    """Where a :class:`PresenceView` stands; only ``LIVE`` data can be trusted as current."""

    #: The first snapshot, or the resync after a reconnection, is under way.
    SYNCING = "syncing"
    #: Synced and connected: the data is as current as the events heard.
    LIVE = "live"
    #: The connection was lost; the view keeps reconnecting.  The data may be stale.
    DISCONNECTED = "disconnected"
    #: The view stopped trying (its schedule ran out, or the service refused).  Stale.
    GAVE_UP = "gave_up"
    #: Ended by :meth:`PresenceView.stop` (or with its client).  The data is frozen.
    STOPPED = "stopped"


class _Events(SubscribeCallback):
    """What the view hears from the client's subscribe loop."""

    def __init__(self, view: PresenceView) -> None:
        self._view = view

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self._view._on_status(status)

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        self._view._on_presence(event)


class PresenceView:
    """Who is present on some channels and channel groups, with their state, kept live.

    Made by :meth:`PubNub.presence_view() <pubnub_twisted.PubNub.presence_view>`,
    which starts it.  Read it with :meth:`occupants`, :meth:`occupancy`,
    :meth:`channels` and :meth:`channels_of`; :meth:`when_synced` fires
    once the first snapshot is in.  Listeners (:meth:`add_listener`) hear
    every change: on the first sync an ``on_join`` for each occupant, then
    ``on_sync``; afterwards each join, leave and state change, and after
    each resync the differences it found, then ``on_sync``.

    **An observer.**  The view subscribes to the presence of its channels
    and groups (``-pnpres`` names) only: it is not counted as present.  To
    be present as well, subscribe to the channels yourself.  :meth:`stop`
    unsubscribes the ``-pnpres`` names the view added (not those this
    client was subscribed to already, nor those another view still uses).

    **Grace.**  With ``grace`` > 0 seconds (on the client's reactor), an
    ``on_leave`` is told only once the uuid has been gone that long; if it
    comes back first, neither the leave nor the join is told (an
    ``on_state_change`` is, if it came back with another state).  The data
    read from the view always shows the latest known presence: a uuid
    that left is not among the occupants, grace or not.

    **Liveness.**  :attr:`live` says whether the data can be trusted right
    now, :attr:`phase` where the view stands (a
    :class:`PresenceViewPhase`).  The view keeps the client's subscribe
    loop reconnecting by ``reconnection`` (a
    :class:`~pubnub_twisted.pubsub.reconnect.Reconnection`; by default
    :meth:`Reconnection.for_view
    <pubnub_twisted.pubsub.reconnect.Reconnection.for_view>`: the client's
    interval and jitter, backoff capped at 30 s, never giving up),
    whatever the client's own ``reconnect_policy`` and retry limit; the
    loop is shared, so the client's other subscriptions come back with it.
    Listeners hear ``on_disconnected`` when the connection is lost,
    ``on_reconnected`` when it is back (then the differences the resync
    found, then ``on_sync``), and ``on_gave_up`` when a finite schedule runs
    out or the service refuses.

    **Costs and limits.**  A channel in interval mode (more occupants than
    the key set's announce max) is read again after each ``interval``
    event: one here_now page per 1000 occupants every interval (10 s by
    default).  So in interval mode a change shows up within one interval
    (10 s by default), plus one here_now read.  Departures keep the reason
    the events gave (an interval's ``leave`` and ``timeout`` lists, with
    presence deltas on); a uuid found gone by a resync or a refresh, with
    no event saying why, leaves with reason ``"resync"``.  A channel added
    to or removed from a channel group is noticed at the next resync.
    The view never repeats a here_now within 3 s (PubNub caches answers
    that long), but an answer another client's identical query left in the
    cache can be up to 3 s older than the snapshot's time: a change made in
    those seconds can be missed until an event of that channel reports
    another count, or the next resync.  Likewise, events the service loses
    without the connection dropping (more events between two polls than
    its catch-up buffer holds) are noticed only when a count disagrees or at
    the next resync; a lost state change with an unchanged count stays
    unnoticed until then.
    """

    def __init__(
        self,
        pubnub: PubNub,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        grace: float = 0.0,
        reconnection: Reconnection | None = None,
    ) -> None:
        self._pubnub = pubnub
        self._channels = _checked(channels, "channels")
        self._groups = _checked(channel_groups, "channel_groups")
        if not self._channels and not self._groups:
            raise PubNubException(pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)
        pubnub._name_rules.check("channel", self._channels)  # refuse before subscribing
        pubnub._name_rules.check("channel group", self._groups)
        if not pubnub.config.subscribe_key:
            raise PubNubException(pn_error=PNERR_SUBSCRIBE_KEY_MISSING)
        ok = isinstance(grace, (int, float)) and not isinstance(grace, bool)
        if not ok or not (math.isfinite(grace) and grace >= 0):
            raise PubNubException(
                f"grace must be a number of seconds, 0 or more, not {grace!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        if reconnection is None:
            reconnection = Reconnection.for_view(pubnub.config)
        elif not isinstance(reconnection, Reconnection):
            raise PubNubException(
                f"reconnection must be a Reconnection, not {reconnection!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        self._reconnection = reconnection
        self._direct = frozenset(self._channels)
        self._via = frozenset(self._groups)
        self._table = PresenceTable()
        self._notifier = Notifier(pubnub.reactor, float(grace))
        self._sync = Synchronizer(
            pubnub,
            (tuple(self._channels), tuple(self._groups)),
            self._table,
            changed=self._notifier.tell,
            synced=self._synced,
            client_stopped=lambda: self._end(Failure(CancelledError("client stopped")), False),
            retry=reconnection,
        )
        self._events = _Events(self)
        self._waiters: list[Deferred[None]] = []
        self._owned: list[_Name] = []
        self._first_done = False
        self._subscribed = False  # the loop polls the view's names
        self._phase = PresenceViewPhase.SYNCING
        self._ended: Failure | None = None
        self._hold = pubnub._subscription.hold_reconnection(reconnection, self._ran_out)
        if pubnub._subscription.reconnecting:
            self._phase = PresenceViewPhase.DISCONNECTED  # no status will say so
        self._start()

    # -- reading ------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True when the data can be trusted right now: synced, and connected since.

        False before the first snapshot is in, from a lost connection until
        the resync after the reconnection is in, after giving up and after
        :meth:`stop`.
        """
        return self._phase is PresenceViewPhase.LIVE

    @property
    def phase(self) -> PresenceViewPhase:
        """Where the view stands: syncing, live, disconnected, gave up or stopped."""
        return self._phase

    @property
    def reconnection(self) -> Reconnection:
        """The reconnection schedule the view keeps the subscribe loop to."""
        return self._reconnection

    def occupants(self, channel: str) -> dict[str, State]:
        """uuid -> state (``None``: no state) of everyone on ``channel`` (a new dict).

        Treat the states as read-only: they are the view's own.
        """
        return self._table.occupants(channel)

    def occupancy(self, channel: str) -> int:
        """How many uuids are on ``channel``."""
        return self._table.occupancy(channel)

    def channels(self) -> list[str]:
        """The channels with anyone on them, sorted (channels of the groups included)."""
        return self._table.channels()

    def channels_of(self, uuid: str) -> list[str]:
        """The channels of this view that ``uuid`` is on, sorted."""
        return self._table.channels_of(uuid)

    def when_synced(self) -> Deferred[None]:
        """A Deferred that fires once the first snapshot is in (at once if it is).

        If the view ends first it fails: ``CancelledError`` after
        :meth:`stop` or the client's ``stop()`` (or ``unsubscribe_all()``),
        ``PubNubException`` when access is denied.  Pending ones also fail
        with the ``PubNubException`` when the view gives up (a finite
        ``reconnection`` ran out); one asked for after that waits for the
        view to come back.
        """
        if self._first_done:
            return succeed(None)
        if self._ended is not None:
            return fail(self._ended)
        d: Deferred[None] = Deferred(self._waiters.remove)
        self._waiters.append(d)
        return d

    def add_listener(self, listener: PresenceViewListener) -> None:
        """Call ``listener`` on every change from now on (see :class:`PresenceViewListener`)."""
        self._notifier.add(listener)

    def remove_listener(self, listener: PresenceViewListener) -> None:
        """Stop calling ``listener``."""
        self._notifier.remove(listener)

    def stop(self) -> None:
        """Stop following presence: unsubscribe, cancel requests and timers, notify no more.

        The data stays readable.  A pending :meth:`when_synced` fails with
        ``CancelledError``; leaves held back by the grace window are dropped.
        Stop views before their client (the client's ``stop()`` ends them
        too, once its subscribe loop has started).
        """
        self._end(Failure(CancelledError("the presence view was stopped")), True)

    def __repr__(self) -> str:
        return f"PresenceView(channels={self._channels!r}, channel_groups={self._groups!r})"

    # -- subscribing --------------------------------------------------------

    def _start(self) -> None:
        pubnub = self._pubnub
        names = [("c", name + PRESENCE_SUFFIX) for name in self._channels]
        names += [("g", name + PRESENCE_SUFFIX) for name in self._groups]
        subscribed = {("c", name) for name in pubnub.get_subscribed_channels()}
        subscribed |= {("g", name) for name in pubnub.get_subscribed_channel_groups()}
        owners = _owners.setdefault(pubnub, Counter())
        for name in names:
            if owners[name] or name not in subscribed:
                owners[name] += 1
                self._owned.append(name)
        pubnub.add_listener(self._events)
        if all(name in subscribed for name in names):
            self._subscribed = True  # already polled: no status will say so
            self._sync.start()
        else:
            _with_names(pubnub.subscribe(), names).execute()

    def _polled(self, status: PNStatus) -> bool:
        channels = set(status.affected_channels or ())
        groups = set(status.affected_groups or ())
        return all(name + PRESENCE_SUFFIX in channels for name in self._channels) and all(
            name + PRESENCE_SUFFIX in groups for name in self._groups
        )

    def _on_status(self, status: PNStatus) -> None:
        category = status.category
        if category in (_C.PNConnectedCategory, _C.PNSubscriptionChangedCategory):
            if not self._subscribed and self._polled(status):
                self._subscribed = True
                self._resync()
            elif self._subscribed and category is _C.PNConnectedCategory:
                self._resync()  # a new handshake: the cursor started again
            elif self._subscribed and not self._polled(status):
                _log.warn("{view!r}: its names were unsubscribed elsewhere", view=self)
        elif category is _C.PNReconnectedCategory:
            self._subscribed = True
            self._resync()  # events may have been lost meanwhile
        elif category is _C.PNUnexpectedDisconnectCategory:
            self._disconnected(_why(status))
        elif category is _C.PNAccessDeniedCategory:
            error = status.error_data.exception if status.error_data else None
            self._end(Failure(error or PubNubException(str(status))), False, _why(status))
        elif category is _C.PNDisconnectedCategory and (
            status.operation is PNOperationType.PNUnsubscribeOperation
        ):
            why = "the client unsubscribed from everything or stopped"
            self._end(Failure(CancelledError(why)), False, why)
        elif category in (_C.PNDisconnectedCategory, _C.PNBadRequestCategory):
            # The loop stopped: every schedule ran out, or the service refused (400).
            error = status.error_data.exception if status.error_data else None
            self._ran_out(error or PubNubException(str(status)))

    def _resync(self) -> None:
        """Synchronise everything again: the connection is (back) up."""
        if self._phase in (PresenceViewPhase.DISCONNECTED, PresenceViewPhase.GAVE_UP):
            self._phase = PresenceViewPhase.SYNCING
            self._notifier.reconnected()
        elif self._phase is PresenceViewPhase.LIVE:
            self._phase = PresenceViewPhase.SYNCING
        self._sync.start()

    def _disconnected(self, reason: str) -> None:
        if self._phase in (PresenceViewPhase.SYNCING, PresenceViewPhase.LIVE):
            self._phase = PresenceViewPhase.DISCONNECTED
            _log.info("{view!r} lost its connection: {reason}", view=self, reason=reason)
            self._notifier.disconnected(reason)

    def _ran_out(self, error: BaseException) -> None:
        """The view's schedule ran out (or the loop stopped): stale until the loop is back."""
        if self._phase in (PresenceViewPhase.GAVE_UP, PresenceViewPhase.STOPPED):
            return
        self._phase = PresenceViewPhase.GAVE_UP
        _log.warn("{view!r} gave up: {error}", view=self, error=str(error))
        self._notifier.gave_up(str(error))
        self._fail_waiters(Failure(error))

    def _on_presence(self, event: PNPresenceEventResult) -> None:
        if self._ended is not None:
            return
        if event.channel not in self._direct and event.subscription not in self._via:
            return
        if self._sync.hold(event):
            return
        self._notifier.tell(self._table.apply(event))
        if event.event == "interval":
            self._sync.refresh(event.channel)
        elif event.event != "state-change":
            self._sync.check(event.channel)

    def _synced(self) -> None:
        # Only a sync of everything can end SYNCING: a refresh of one channel
        # is never under way at the same time (Synchronizer.start drops it).
        if self._phase is PresenceViewPhase.SYNCING:
            self._phase = PresenceViewPhase.LIVE
        self._notifier.synced()
        if not self._first_done:
            self._first_done = True
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)

    # -- ending -------------------------------------------------------------

    def _end(self, why: Failure, unsubscribe: bool, tell: str | None = None) -> None:
        """Stop for good: no requests, timers or notifications; fail the waiters with ``why``.

        ``tell``: the reason listeners hear with ``on_gave_up`` first (none after :meth:`stop`).
        """
        if self._ended is not None:
            return
        self._ended = why
        was_stale = self._phase is PresenceViewPhase.GAVE_UP
        self._phase = PresenceViewPhase.STOPPED
        self._sync.close()
        if tell is not None and not was_stale:
            self._notifier.gave_up(tell)
        self._notifier.close()
        self._pubnub._subscription.release_reconnection(self._hold)
        self._pubnub.remove_listener(self._events)
        owners = _owners.get(self._pubnub, Counter())
        released = []
        for name in self._owned:
            owners[name] -= 1
            if owners[name] <= 0:
                del owners[name]
                released.append(name)
        self._owned = []
        if unsubscribe and released:
            _with_names(self._pubnub.unsubscribe(), released).execute()
        self._fail_waiters(why)

    def _fail_waiters(self, why: Failure) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(why)


def _why(status: PNStatus) -> str:
    """What a status says went wrong, in a sentence."""
    if status.error_data is not None:
        return status.error_data.information
    return str(status)


def _checked(names: Names | None, what: str) -> list[str]:
    found = [] if names is None else _names((names,), what)
    for name in found:
        if name.endswith(PRESENCE_SUFFIX):
            raise PubNubException(
                f"{what}: {name!r} is a presence channel; name the data channel or group",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
    return list(dict.fromkeys(found))


_Builder = TypeVar("_Builder", SubscribeBuilder, UnsubscribeBuilder)


def _with_names(builder: _Builder, names: Iterable[_Name]) -> _Builder:
    """``builder`` (subscribe or unsubscribe) with the channel (``c``) and group (``g``) names."""
    names = list(names)
    builder.channels([name for kind, name in names if kind == "c"])
    return builder.channel_groups([name for kind, name in names if kind == "g"])
