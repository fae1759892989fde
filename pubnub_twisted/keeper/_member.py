"""One user kept present by a :class:`~pubnub_twisted.keeper.PresenceKeeper`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IDelayedCall

from pubnub_twisted.endpoints.base import Names
from pubnub_twisted.models import JSONObject

if TYPE_CHECKING:
    from pubnub_twisted.keeper._beat import UrlKey
    from pubnub_twisted.keeper._keeper import PresenceKeeper
    from pubnub_twisted.keeper._requests import Piece

__all__ = ["KeptMember", "decode_states", "encode_states"]


def encode_states(states: dict[str, JSONObject]) -> str:
    """``{channel: state}`` as the compact JSON a member keeps ("" for none)."""
    return json.dumps(states, separators=(",", ":"), allow_nan=False) if states else ""


def decode_states(encoded: str) -> dict[str, JSONObject]:
    """What :func:`encode_states` made, as dicts again."""
    states: dict[str, JSONObject] = json.loads(encoded) if encoded else {}
    return states


class KeptMember:
    """A user the keeper heartbeats for: its channels, groups and state per channel.

    Made by :meth:`PresenceKeeper.enter`.  Its heartbeats go out once per
    interval (and at once when it enters or joins channels); a failed one is
    retried before the user could time out.
    """

    __slots__ = (
        "_again",
        "_beat",
        "_failing",
        "_failures",
        "_keeper",
        "_lapse_at",
        "_next_waiters",
        "_pieces",
        "_present",
        "_present_waiters",
        "_queued",
        "_refusal",
        "_retry",
        "_sent_at",
        "_slot",
        "_state",
        "_url",
        "_url_key",
        "active",
        "channel_groups",
        "channels",
        "uuid",
    )

    def __init__(  # noqa: PLR0917 (made by the keeper only)
        self,
        keeper: PresenceKeeper,
        uuid: str,
        channels: tuple[str, ...],
        groups: tuple[str, ...],
        state: str,
        pieces: list[Piece] | None,
        now: float,
    ) -> None:
        self._keeper = keeper
        #: The user's uuid.
        self.uuid = uuid
        #: Channels the user is kept on.
        self.channels = channels
        #: Channel groups the user is kept on.
        self.channel_groups = groups
        # The state per channel as compact JSON ("" for none): a third of what
        # the dicts cost, and decoded only when a heartbeat is built anew.
        self._state = state
        #: False once the member left, expired or the keeper stopped.
        self.active = True
        self._pieces = pieces
        #: The last heartbeat URL and what it was built under (see ``_beat``).
        self._url: str | None = None
        self._url_key: UrlKey | None = None
        self._slot = -1
        self._sent_at = now
        self._lapse_at = now + keeper.presence_timeout
        self._queued = False
        self._beat: Deferred[Any] | None = None
        self._again = False
        self._retry: IDelayedCall | None = None
        self._failures = 0
        self._failing = False
        self._present = False
        self._refusal: Exception | None = None
        self._present_waiters: list[Deferred[None]] | None = None
        self._next_waiters: list[Deferred[None]] | None = None

    @property
    def states(self) -> dict[str, JSONObject]:
        """The user's state per channel (only channels that have one), as sent.

        A new copy at each access: change the state with :meth:`update`.
        """
        return decode_states(self._state)

    @property
    def present(self) -> bool:
        """True once a heartbeat was acknowledged (and the member is still kept)."""
        return self._present and self.active

    @property
    def failing(self) -> bool:
        """True while its heartbeats fail and it could time out (listeners were told)."""
        return self._failing

    def when_present(self) -> Deferred[None]:
        """Fires once a heartbeat of this member is acknowledged.

        Fails with ``PubNubException`` if the service refused the last one
        (HTTP 4xx),
        and with ``CancelledError`` if the member leaves or expires first.
        Transient failures are retried: the Deferred keeps waiting.
        """
        if self._present:
            return succeed(None)
        if not self.active:
            return fail(self._keeper._gone(self))
        if self._refusal is not None:
            return fail(self._refusal)
        d: Deferred[None] = Deferred()
        if self._present_waiters is None:
            self._present_waiters = []
        self._present_waiters.append(d)
        return d

    def update(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        state: dict[str, JSONObject] | None = None,
    ) -> Deferred[None]:
        """Change the member's channels, groups or state; fires when the service has it.

        ``channels`` and ``channel_groups`` replace the lists (omit one to keep
        it).  Added ones get a heartbeat at once; removed ones get a leave for
        exactly them.  ``state`` maps channels to their new state (channels not
        named keep theirs); changes on channels the member was already on go
        out at once with set_state, and later heartbeats carry them.  Bad
        input raises ``PubNubException`` and changes nothing.
        """
        return self._keeper._update(self, channels, channel_groups, state)

    def leave(self) -> Deferred[None]:
        """Leave exactly the member's channels and groups and stop heartbeating.

        Fires when the leave is acknowledged (at once with
        ``suppress_leave_events``); fails with ``PubNubException`` if it was
        not.
        """
        return self._keeper._leave(self)

    def expire(self) -> None:
        """Stop heartbeating without a leave: the user times out like a crashed client."""
        self._keeper._drop(self)

    def __repr__(self) -> str:
        return (
            f"KeptMember(uuid={self.uuid!r}, channels={list(self.channels)!r}, "
            f"channel_groups={list(self.channel_groups)!r}, active={self.active})"
        )
