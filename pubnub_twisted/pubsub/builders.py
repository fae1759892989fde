"""``pubnub.subscribe()`` / ``pubnub.unsubscribe()`` builders, and the set_state hook.

Setters take names in the same forms as the REST builders (a string split on
commas, lists or tuples of names, none holding a comma); they replace what
was set before and return the builder.  A bad argument raises
``PubNubException`` at once; ``execute()`` applies PubNub's naming rules
(a warning once per name, or a refusal with ``strict_names``).
``execute()`` hands the change to the subscribe loop, which applies all the
changes made in one reactor turn together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from pubnub_twisted.endpoints.base import Names, _names
from pubnub_twisted.endpoints.presence.set_state import SetState
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_INVALID_ARGUMENT,
    PubNubException,
)

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub
    from pubnub_twisted.pubsub.manager import SubscriptionManager

__all__ = ["SubscribeBuilder", "TrackedSetState", "UnsubscribeBuilder"]


class _Names:
    def __init__(self, manager: SubscriptionManager) -> None:
        self._manager = manager
        self._channels: list[str] = []
        self._groups: list[str] = []

    def channels(self, *names: Names) -> Self:
        """The channels: ``"a,b"``, ``"a", "b"``, ``["a", "b"]`` or ``("a", "b")``."""
        self._channels = _names(names, "channels")
        return self

    def channel_groups(self, *names: Names) -> Self:
        """The channel groups (same forms as :meth:`channels`)."""
        self._groups = _names(names, "channel_groups")
        return self

    def _require_names(self) -> None:
        if not self._channels and not self._groups:
            raise PubNubException(pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)
        rules = self._manager.name_rules
        rules.check("channel", self._channels, wildcard=True)
        rules.check("channel group", self._groups)


class SubscribeBuilder(_Names):
    """``pubnub.subscribe().channels("a").with_presence().execute()``.

    A name ending in ``-pnpres`` observes that channel's (or group's)
    presence only: ``channels("lobby-pnpres")`` delivers lobby's presence
    events without subscribing to lobby, so this client sends no heartbeat
    for it and is not counted there.  ``with_presence()`` subscribes to each
    data name and its presence.
    """

    def __init__(self, manager: SubscriptionManager) -> None:
        super().__init__(manager)
        self._presence = False
        self._timetoken: int | None = None

    def with_presence(self, enabled: bool = True) -> Self:
        """Also deliver the presence events of the channels and groups."""
        self._presence = enabled
        return self

    def with_timetoken(self, timetoken: int) -> Self:
        """Deliver what happened after ``timetoken`` (catch up from a cursor)."""
        if isinstance(timetoken, bool) or not isinstance(timetoken, int) or timetoken < 0:
            raise PubNubException(
                f"timetoken must be a non-negative integer, not {timetoken!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        self._timetoken = timetoken
        return self

    def execute(self) -> None:
        """Subscribe.  Statuses and events then reach the listeners."""
        self._require_names()
        self._manager.subscribe(self._channels, self._groups, self._presence, self._timetoken)


class UnsubscribeBuilder(_Names):
    """``pubnub.unsubscribe().channels("a").execute()``.

    ``channels("a")`` drops ``a`` and its presence; ``channels("a-pnpres")``
    drops only the presence.  A leave goes out for the data channels and
    groups no longer subscribed (unless ``suppress_leave_events``).
    """

    def execute(self) -> None:
        """Unsubscribe."""
        self._require_names()
        self._manager.unsubscribe(self._channels, self._groups)


class TrackedSetState(SetState):
    """``set_state`` that also hands the state to the subscribe loop.

    When the request goes out, the state is remembered for those of its
    channels that are subscribed, so that heartbeats (and handshakes) carry
    it from then on and never put back an older state.
    """

    def __init__(self, pubnub: PubNub, manager: SubscriptionManager) -> None:
        super().__init__(pubnub)
        self._manager = manager

    def _url(self) -> str:
        url = super()._url()
        if self._sender_uuid() == self._pubnub.config.uuid:
            # Only our own state: heartbeats of the loop are sent as us.
            self._manager.remember_state(self._channels, self._state)
        return url
