"""``PresenceKeeper``: keeps many users present from one client.

How it works, in short:

* Each member's heartbeat covers all its channels and groups, with its state
  per channel, as its own uuid (the per-call ``uuid`` of heartbeat).  When
  the URL would be too long it is split into pieces, sent one after the
  other.
* Members sit on a timing wheel (:mod:`._wheel`): one timer turns it a slot at
  a time and the members of each slot are due, so heartbeats are spread
  evenly over the interval whatever the order members arrived in.
* Every request goes through one :class:`._limiter.Limiter`: at most
  ``max_in_flight`` are in flight.  The default, half the client's
  ``connection_pool_size`` (at least 1), leaves the other half of the pool
  to the application's own calls on the same client: Twisted's pool bounds
  only the *idle* connections it keeps, so more requests at once than its
  size open extra connections, closed again when they come back.
* Entering or joining channels queues a heartbeat at once; removed channels
  get a leave for exactly them; a state change goes out with set_state.
  Leaves and set_states wait for a heartbeat already in flight, so an older
  heartbeat can never arrive after them and undo them.
* A failed heartbeat is retried with backoff, fitted into the time left
  before the member could time out (``presence_timeout`` after the last
  acknowledged heartbeat was sent).  Listeners hear that a member is
  failing only when one more attempt might not land in time, or when the
  service refused it (HTTP 4xx); they hear it recovered when a heartbeat is
  acknowledged again.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import (
    CancelledError,
    Deferred,
    DeferredList,
    FirstError,
    fail,
    gatherResults,
    succeed,
)
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.endpoints.base import Endpoint, Names, _names, check_uuid
from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat
from pubnub_twisted.endpoints.presence.leave import Leave
from pubnub_twisted.endpoints.presence.set_state import SetState
from pubnub_twisted.enums import PNStatusCategory
from pubnub_twisted.errors import (
    PNERR_INVALID_ARGUMENT,
    PNERR_REQUEST_CANCELLED,
    PNERR_STATE_MISSING,
    PNERR_URL_TOO_LONG,
    PubNubException,
)
from pubnub_twisted.keeper._beat import KeptHeartbeat, UrlKey, url_key
from pubnub_twisted.keeper._limiter import Limiter
from pubnub_twisted.keeper._member import KeptMember, encode_states
from pubnub_twisted.keeper._requests import Names as NameTuple
from pubnub_twisted.keeper._requests import Piece, send_in_turn, split
from pubnub_twisted.keeper._wheel import Wheel
from pubnub_twisted.models import JSONObject, PNStatus
from pubnub_twisted.protocol import json_dumps

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["PresenceKeeper", "PresenceKeeperListener"]

_log = Logger(namespace="pubnub_twisted.keeper")

#: Seconds per slot of the wheel (about): heartbeats go out in small batches
#: this far apart.
_TICK = 0.5
_CANCELLED = PNStatusCategory.PNCancelledCategory
#: Shortest wait before retrying a failed heartbeat.
_MIN_RETRY = 0.25


class PresenceKeeperListener:
    """Subclass it and override what you need; each method does nothing by default.

    Register with :meth:`PresenceKeeper.add_listener`.  An exception raised
    by a listener is logged and does not stop the keeper.
    """

    def on_member_failing(self, uuid: str, status: PNStatus) -> None:
        """``uuid``'s heartbeats fail and it may time out; ``status`` is the last failure."""

    def on_member_recovered(self, uuid: str, status: PNStatus) -> None:
        """A heartbeat of ``uuid`` was acknowledged again after it was reported failing."""


class PresenceKeeper:
    """Keeps many users present on their channels from one client.

    Made by ``pubnub.presence_keeper()``; see :meth:`enter`.  ``stop()`` (or
    the client's ``stop()``) leaves everyone, unless
    ``suppress_leave_events``.
    """

    def __init__(
        self,
        pubnub: PubNub,
        *,
        presence_timeout: int | None = None,
        heartbeat_interval: float | None = None,
        max_in_flight: int | None = None,
        suppress_leave_events: bool | None = None,
    ) -> None:
        config = pubnub.config
        timeout = config.presence_timeout if presence_timeout is None else presence_timeout
        if heartbeat_interval is not None:
            interval = heartbeat_interval
        elif presence_timeout is not None:
            interval = presence_timeout / 2 - 1
        else:
            interval = config.heartbeat_interval
        in_flight = (
            default_max_in_flight(config.connection_pool_size)
            if max_in_flight is None
            else max_in_flight
        )
        _check(
            isinstance(timeout, int) and not isinstance(timeout, bool) and timeout >= 1,
            f"presence_timeout must be an integer 1 or more, not {timeout!r}",
        )
        _check(
            isinstance(interval, (int, float)) and 0 < interval < timeout,
            f"heartbeat_interval must be more than 0 and less than presence_timeout "
            f"({timeout}), not {interval!r}",
        )
        _check(
            isinstance(in_flight, int) and not isinstance(in_flight, bool) and in_flight >= 1,
            f"max_in_flight must be an integer 1 or more, not {in_flight!r}",
        )
        self._pubnub = pubnub
        self._clock = pubnub.reactor
        #: Seconds the service keeps a member present after a heartbeat.
        self.presence_timeout: int = timeout
        #: Seconds between a member's heartbeats.
        self.heartbeat_interval: float = float(interval)
        #: Most requests in flight at once.
        self.max_in_flight: int = in_flight
        #: No leaves at all: members removed, left or stopped time out instead.
        self.suppress_leave_events = (
            config.suppress_leave_events if suppress_leave_events is None else suppress_leave_events
        )
        self._limit = Limiter(in_flight)
        self._members: dict[str, KeptMember] = {}
        slots = max(1, min(7200, round(self.heartbeat_interval / _TICK)))
        self._wheel: Wheel[KeptMember] = Wheel(slots)
        self._tick = self.heartbeat_interval / slots
        self._loop: LoopingCall | None = None
        self._listeners: list[PresenceKeeperListener] = []
        self._stopped = False
        #: After stop(): the failure that showed the service unreachable, if any.
        self._unreachable: PNStatus | None = None
        self._rng: Callable[[], float] = random.random
        #: The client's side of the heartbeat URLs members keep (see ``_beat``).
        self._url_key: UrlKey | None = None
        # Time an attempt may take: a member with less left than this before
        # it would time out is in danger (listeners hear of it).
        self._margin = min(config.non_subscribe_request_timeout, timeout / 4)

    # -- public ------------------------------------------------------------

    def enter(
        self,
        uuid: str,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        state: dict[str, JSONObject] | None = None,
    ) -> KeptMember:
        """Start keeping ``uuid`` present on ``channels`` and ``channel_groups``.

        ``state`` maps channels to the user's state there; change it with
        :meth:`KeptMember.update` (the heartbeat is encoded once and reused,
        so changing the dicts given here reaches nobody).  The first
        heartbeat goes out at once (see :meth:`KeptMember.when_present`).
        Bad input, a uuid kept already or a stopped keeper raise
        ``PubNubException``.
        """
        if self._stopped:
            raise PubNubException(
                "the presence keeper was stopped", pn_error=PNERR_REQUEST_CANCELLED
            )
        uuid = check_uuid(uuid)
        if uuid in self._members:
            raise PubNubException(
                f"{uuid!r} is kept already (use its update())", pn_error=PNERR_INVALID_ARGUMENT
            )
        chs = _unique(channels, "channels")
        groups = _unique(channel_groups, "channel_groups")
        states = _merged_states({}, chs, state)
        pieces = split(self._heartbeat_maker(uuid, states), chs, groups)
        encoded = encode_states(states)
        member = KeptMember(self, uuid, chs, groups, encoded, pieces, self._clock.seconds())
        self._members[uuid] = member
        member._slot = self._wheel.place(member, _weight(pieces))
        self._start()
        self._queue_beat(member)
        return member

    def members(self) -> list[str]:
        """The uuids kept now, in the order they entered."""
        return list(self._members)

    def member(self, uuid: str) -> KeptMember | None:
        """The member kept for ``uuid``, if any."""
        return self._members.get(uuid)

    def __len__(self) -> int:
        return len(self._members)

    def add_listener(self, listener: PresenceKeeperListener) -> None:
        """Tell ``listener`` about members whose heartbeats fail and recover."""
        self._listeners.append(listener)

    def remove_listener(self, listener: PresenceKeeperListener) -> None:
        """Stop telling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def slot_loads(self) -> list[int]:
        """Heartbeat requests due in each slot of the interval (how evenly they spread)."""
        return self._wheel.loads()

    def stop(self) -> Deferred[None]:
        """Stop keeping everyone; leave them all (unless ``suppress_leave_events``).

        Fires when every leave is answered (failures are logged).  Once a
        leave finds the service unreachable, the leaves still waiting are
        not sent.  Later calls fire at once.
        """
        if self._stopped:
            return succeed(None)
        self._stopped = True
        loop, self._loop = self._loop, None
        if loop is not None and loop.running:
            loop.stop()
        self._pubnub._forget_keeper(self)
        members = list(self._members.values())
        for member in members:
            self._drop(member)
        if self.suppress_leave_events:
            return succeed(None)
        leaves = [self._leave_after_beat(m, m.channels, m.channel_groups) for m in members]
        return DeferredList(leaves, consumeErrors=True).addCallback(self._stopped_with)

    def __repr__(self) -> str:
        return (
            f"PresenceKeeper(members={len(self._members)}, "
            f"presence_timeout={self.presence_timeout}, "
            f"heartbeat_interval={self.heartbeat_interval:g}, max_in_flight={self.max_in_flight})"
        )

    # -- member operations (called by KeptMember) -----------------------------

    def _update(
        self,
        member: KeptMember,
        channels: Names | None,
        channel_groups: Names | None,
        state: dict[str, JSONObject] | None,
    ) -> Deferred[None]:
        if not member.active:
            return fail(self._gone(member))
        chs = member.channels if channels is None else _unique(channels, "channels")
        groups = (
            member.channel_groups
            if channel_groups is None
            else _unique(channel_groups, "channel_groups")
        )
        old_states = member.states
        states = _merged_states({c: s for c, s in old_states.items() if c in chs}, chs, state)
        pieces = split(self._heartbeat_maker(member.uuid, states), chs, groups)
        had_channels, had_groups = set(member.channels), set(member.channel_groups)
        now_channels, now_groups = set(chs), set(groups)
        removed = (
            tuple(c for c in member.channels if c not in now_channels),
            tuple(g for g in member.channel_groups if g not in now_groups),
        )
        added = not (now_channels <= had_channels and now_groups <= had_groups)
        changed = {
            c: s for c, s in (state or {}).items() if c in had_channels and old_states.get(c) != s
        }
        member.channels, member.channel_groups = chs, groups
        member._state = encode_states(states)
        member._pieces = pieces
        member._url = member._url_key = None  # built anew from what changed
        self._wheel.reweigh(member, member._slot, _weight(pieces))
        waits: list[Deferred[None]] = []
        if (removed[0] or removed[1]) and not self.suppress_leave_events:
            waits.append(self._leave_after_beat(member, *removed))
        if changed:
            waits.append(self._set_states_after_beat(member, changed))
        if added:
            joined: Deferred[None] = Deferred()
            if member._next_waiters is None:
                member._next_waiters = []
            member._next_waiters.append(joined)
            waits.append(joined)
            self._queue_beat(member)
        return gatherResults(waits, consumeErrors=True).addCallbacks(_none, _first_error)

    def _leave(self, member: KeptMember) -> Deferred[None]:
        if not member.active:
            return fail(self._gone(member))
        self._drop(member)
        if self.suppress_leave_events:
            return succeed(None)
        return self._leave_after_beat(member, member.channels, member.channel_groups)

    def _drop(self, member: KeptMember) -> None:
        """Stop keeping ``member`` (no leave here)."""
        if not member.active:
            return
        member.active = False
        del self._members[member.uuid]
        moved = self._wheel.remove(member, member._slot)
        if moved is not None:
            moved[0]._slot = moved[1]
        retry, member._retry = member._retry, None
        if retry is not None and retry.active():
            retry.cancel()
        for waiters in (member._present_waiters, member._next_waiters):
            for d in waiters or ():
                d.errback(Failure(self._gone(member)))
        member._present_waiters = member._next_waiters = None

    def _gone(self, member: KeptMember) -> CancelledError:
        return CancelledError(f"{member.uuid!r} is no longer kept by this presence keeper")

    # -- heartbeats -----------------------------------------------------------

    def _heartbeat_maker(
        self, uuid: str, states: dict[str, JSONObject]
    ) -> Callable[[NameTuple, NameTuple], Endpoint[Any]]:
        def make(channels: NameTuple, groups: NameTuple) -> Endpoint[Any]:
            return self._filled(Heartbeat(self._pubnub), uuid, states, channels, groups)

        return make

    def _filled(
        self,
        builder: Heartbeat,
        uuid: str,
        states: dict[str, JSONObject],
        channels: NameTuple,
        groups: NameTuple,
    ) -> Heartbeat:
        builder.channels(channels).channel_groups(groups)
        builder.presence_timeout(self.presence_timeout).uuid(uuid)
        if states:
            builder.state({c: states[c] for c in channels if c in states})
        return builder

    def _beat_builders(self, member: KeptMember) -> list[Endpoint[Any]]:
        """The requests of ``member``'s heartbeat; one unsplit reuses its last URL."""
        if member._pieces is not None:
            make = self._heartbeat_maker(member.uuid, member.states)
            return [make(*piece) for piece in member._pieces]
        key = self._current_url_key()
        builder = KeptHeartbeat(self._pubnub, member)
        if member._url is not None and key is not None and member._url_key is key:
            # The URL is ready (validated when built): only what the status reports.
            builder._channels, builder._groups = list(member.channels), list(member.channel_groups)
            builder._acting = member.uuid
            builder._bare = True
            return [builder]
        chs, groups = member.channels, member.channel_groups
        return [self._filled(builder, member.uuid, member.states, chs, groups)]

    def _current_url_key(self) -> UrlKey | None:
        """The client's side of heartbeat URLs now: one object, shared by the members' URLs."""
        key = url_key(self._pubnub)
        if key != self._url_key:
            self._url_key = key
        return self._url_key

    def _start(self) -> None:
        if self._loop is None:
            self._loop = LoopingCall.withCount(self._turn)
            self._loop.clock = self._clock
            started = self._loop.start(self._tick, now=False)
            started.addErrback(lambda f: _log.failure("the presence keeper's wheel broke", f))

    def _turn(self, count: int) -> None:
        """The wheel moved ``count`` slots: queue the heartbeats due there."""
        now = self._clock.seconds()
        recent = self.heartbeat_interval / 4
        for _ in range(min(count, len(self._wheel))):
            for member in self._wheel.turn():
                idle = member._beat is None and member._retry is None
                if idle and now - member._sent_at >= recent:
                    self._queue_beat(member)

    def _queue_beat(self, member: KeptMember) -> None:
        """Heartbeat ``member`` when a place in flight frees (built then, so it is current)."""
        if member._queued:
            return
        if member._beat is not None:
            member._again = True
            return
        retry, member._retry = member._retry, None
        if retry is not None and retry.active():
            retry.cancel()
        member._queued = True
        # Only the member waits in the queue (no Deferred until it is sent):
        # 10,000 members entering at once must not leave 10,000 pending
        # Deferreds' worth of memory in the allocator.
        self._limit.start_soon(self._send_beat, member)

    def _send_beat(self, member: KeptMember) -> Deferred[Any] | None:
        """Send ``member``'s heartbeat now (its turn in flight came)."""
        member._queued = False
        if not member.active:
            return None
        waiters, member._next_waiters = member._next_waiters, None
        sent_at = member._sent_at = self._clock.seconds()
        beat = send_in_turn(self._beat_builders(member))
        beat.addCallback(self._split_again_if_too_long, member)
        beat.addCallback(lambda status: (status, sent_at, waiters))
        # In flight from here: leaves and set_states wait for it (_after_beat).
        member._beat = beat
        return beat.addBoth(self._beat_done, member, beat)

    def _split_again_if_too_long(
        self, status: PNStatus, member: KeptMember
    ) -> PNStatus | Deferred[PNStatus]:
        """Split ``member`` again, and send, when its pieces no longer fit.

        Pieces are sized when a member enters or changes; a token set or
        renewed since then is sent as ``auth`` too and may push a piece past
        PubNub's URL limit.  Nothing was sent then, so sending anew is safe.
        """
        error = status.error_data
        if (
            not member.active
            or error is None
            or not isinstance(error.exception, PubNubException)
            or error.exception.pn_error != PNERR_URL_TOO_LONG
        ):
            return status
        make = self._heartbeat_maker(member.uuid, member.states)
        try:
            pieces = split(make, member.channels, member.channel_groups)
        except PubNubException:
            return status  # one name alone is too long: refused, as on entering
        member._pieces = pieces
        self._wheel.reweigh(member, member._slot, _weight(pieces))
        pieces = pieces or [(member.channels, member.channel_groups)]
        return send_in_turn([make(*piece) for piece in pieces])

    def _beat_done(self, outcome: Any, member: KeptMember, beat: Deferred[Any]) -> None:
        if member._beat is beat:
            member._beat = None
        if isinstance(outcome, Failure):
            _log.failure("a presence keeper heartbeat failed unexpectedly", outcome)
            outcome = None
        if outcome is None or not member.active:
            return
        status, sent_at, waiters = outcome
        if status.is_error():
            self._failed(member, status, waiters)
        else:
            self._acknowledged(member, status, sent_at, waiters)
        if member._again and member.active:
            member._again = False
            self._queue_beat(member)

    def _acknowledged(
        self,
        member: KeptMember,
        status: PNStatus,
        sent_at: float,
        waiters: list[Deferred[None]] | None,
    ) -> None:
        member._lapse_at = sent_at + self.presence_timeout
        member._failures = 0
        member._refusal = None
        if not member._present:
            member._present = True
            present, member._present_waiters = member._present_waiters, None
            for d in present or ():
                d.callback(None)
        for d in waiters or ():
            d.callback(None)
        if member._failing:
            member._failing = False
            self._tell("on_member_recovered", member.uuid, status)

    def _failed(
        self, member: KeptMember, status: PNStatus, waiters: list[Deferred[None]] | None
    ) -> None:
        refused = _refused(status)
        if refused:
            exc = member._refusal = _exception(status)
            present, member._present_waiters = member._present_waiters, None
            for d in [*(present or ()), *(waiters or ())]:
                d.errback(Failure(exc))
        elif waiters:
            # Still waiting: the retry carries them.
            member._next_waiters = [*waiters, *(member._next_waiters or ())]
        member._failures += 1
        now = self._clock.seconds()
        remaining = member._lapse_at - now
        backoff = min(2.0 ** (member._failures - 1), self.heartbeat_interval)
        backoff *= 0.5 + self._rng() / 2
        margin = self._margin
        if remaining > 0:
            delay = max(_MIN_RETRY, min(backoff, (remaining - margin) / 2))
        else:
            delay = max(_MIN_RETRY, backoff)
        if not member._failing and (refused or now + delay + margin >= member._lapse_at):
            member._failing = True
            self._tell("on_member_failing", member.uuid, status)
        if member.active:
            member._retry = self._clock.callLater(delay, self._retry_beat, member)

    def _retry_beat(self, member: KeptMember) -> None:
        member._retry = None
        if member.active:
            self._queue_beat(member)

    # -- leaves and set_state -------------------------------------------------

    def _after_beat(self, member: KeptMember) -> Deferred[None]:
        """Fires once the heartbeat ``member`` has in flight (if any) is done."""
        beat = member._beat
        if beat is None:
            return succeed(None)
        done: Deferred[None] = Deferred()

        def fire(result: Any) -> Any:
            done.callback(None)
            return result

        beat.addBoth(fire)
        return done

    def _leave_after_beat(
        self, member: KeptMember, channels: NameTuple, groups: NameTuple
    ) -> Deferred[None]:
        uuid = member.uuid

        def make(chs: NameTuple, grs: NameTuple) -> Endpoint[Any]:
            return Leave(self._pubnub).channels(chs).channel_groups(grs).uuid(uuid)

        return self._after_beat(member).addCallback(lambda _: self._send(make, channels, groups))

    def _set_states_after_beat(
        self, member: KeptMember, changed: dict[str, JSONObject]
    ) -> Deferred[None]:
        uuid = member.uuid
        by_state: dict[str, tuple[JSONObject, list[str]]] = {}
        for channel, state in changed.items():
            by_state.setdefault(json_dumps(state), (state, []))[1].append(channel)

        def sender(state: JSONObject, channels: list[str]) -> Callable[[Any], Deferred[None]]:
            def make(chs: NameTuple, grs: NameTuple) -> Endpoint[Any]:
                return SetState(self._pubnub).channels(chs).state(state).uuid(uuid)

            return lambda _: self._send(make, tuple(channels), ())

        sends = [
            self._after_beat(member).addCallback(sender(state, channels))
            for state, channels in by_state.values()
        ]
        return gatherResults(sends, consumeErrors=True).addCallbacks(_none, _first_error)

    def _send(
        self,
        make: Callable[[NameTuple, NameTuple], Endpoint[Any]],
        channels: NameTuple,
        groups: NameTuple,
    ) -> Deferred[None]:
        """Send (split if need be) one request; fails with ``PubNubException`` on an error."""
        pieces: list[Piece] = split(make, channels, groups) or [(channels, groups)]
        builders = [make(*piece) for piece in pieces]
        sent: Deferred[PNStatus] = self._limit.run(self._send_unless_unreachable, builders)
        return sent.addCallback(_raise_error)

    def _send_unless_unreachable(self, builders: list[Endpoint[Any]]) -> Deferred[PNStatus]:
        """Send, unless stop()'s leaves already found the service unreachable.

        Otherwise stopping with thousands of members and no service would
        wait a request deadline for every member in turn.
        """
        if self._unreachable is not None:
            return succeed(self._unreachable)
        return send_in_turn(builders).addCallback(self._note_unreachable)

    def _note_unreachable(self, status: PNStatus) -> PNStatus:
        no_answer = status.is_error() and status.status_code is None
        if self._stopped and no_answer and status.category is not _CANCELLED:
            self._unreachable = status
        return status

    # -- helpers --------------------------------------------------------------

    def _tell(self, method: str, uuid: str, status: PNStatus) -> None:
        for listener in list(self._listeners):
            try:
                getattr(listener, method)(uuid, status)
            except Exception:
                _log.failure("presence keeper listener {method} raised", method=method)

    def _stopped_with(self, results: list[tuple[bool, Any]]) -> None:
        failed = [outcome for ok, outcome in results if not ok]
        if failed:
            _log.warn(
                "the presence keeper stopped; {count} leaves failed (first: {first})",
                count=len(failed),
                first=failed[0].getErrorMessage(),
            )


def default_max_in_flight(pool_size: int) -> int:
    """The keeper's default bound: half the pool (at least 1), the rest for other calls."""
    return max(1, pool_size // 2)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise PubNubException(message, pn_error=PNERR_INVALID_ARGUMENT)


def _unique(names: Names | None, what: str) -> tuple[str, ...]:
    if names is None:
        return ()
    # Interned: members on the same channel share one string for its name.
    return tuple(dict.fromkeys(map(sys.intern, _names((names,), what))))


def _merged_states(
    states: dict[str, JSONObject], channels: tuple[str, ...], given: Any
) -> dict[str, JSONObject]:
    """``states`` with ``given`` (channel -> state) applied; checks ``given``."""
    if given is None:
        return states
    if not isinstance(given, dict):
        raise PubNubException(
            f"state must map channels to their state, not {type(given).__name__}",
            pn_error=PNERR_STATE_MISSING,
        )
    merged = dict(states)
    for channel, state in given.items():
        if channel not in channels:
            raise PubNubException(
                f"state given for {channel!r}, which is not one of the member's channels",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        if not isinstance(state, dict):
            raise PubNubException(
                f"the state of channel {channel!r} must be a dict, not {type(state).__name__}",
                pn_error=PNERR_STATE_MISSING,
            )
        merged[channel] = state
    return merged


def _weight(pieces: list[Piece] | None) -> int:
    return 1 if pieces is None else len(pieces)


def _refused(status: PNStatus) -> bool:
    """An answer that retrying will not change by itself (HTTP 4xx but 408 and 429)."""
    if status.category is PNStatusCategory.PNBadRequestCategory:
        return True
    code = status.status_code
    return code is not None and 400 <= code < 500 and code not in (408, 429)


def _exception(status: PNStatus) -> PubNubException:
    error_data = status.error_data
    if error_data is not None and isinstance(error_data.exception, PubNubException):
        return error_data.exception
    return PubNubException(str(status), status=status)


def _raise_error(status: PNStatus) -> None:
    if status.is_error():
        raise _exception(status)


def _none(_: object) -> None:
    return None


def _first_error(failure: Failure) -> Failure:
    if failure.check(FirstError):
        value = failure.value
        assert isinstance(value, FirstError)
        return value.subFailure
    return failure
