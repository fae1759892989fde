"""``PubNub``: the client object that hands out endpoint builders."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IAgent

from pubnub_twisted._presence_timeout import warn_if_short
from pubnub_twisted.access.renewal import TokenProvider, Tokens
from pubnub_twisted.access.tokens import PNToken, parse_token
from pubnub_twisted.callbacks import SubscribeCallback
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.endpoints.access.grant_token import GrantToken
from pubnub_twisted.endpoints.access.revoke_token import RevokeToken
from pubnub_twisted.endpoints.base import Names
from pubnub_twisted.endpoints.channel_groups.registration import (
    AddChannelToChannelGroup,
    ListChannelsInChannelGroup,
    RemoveChannelFromChannelGroup,
    RemoveChannelGroup,
)
from pubnub_twisted.endpoints.messages.delete_messages import DeleteMessages
from pubnub_twisted.endpoints.messages.fetch_messages import FetchMessages
from pubnub_twisted.endpoints.messages.message_counts import MessageCounts
from pubnub_twisted.endpoints.messages.publish import Fire, Publish
from pubnub_twisted.endpoints.messages.signal import Signal
from pubnub_twisted.endpoints.naming import NameRules
from pubnub_twisted.endpoints.presence.get_state import GetState
from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat
from pubnub_twisted.endpoints.presence.here_now import HereNow
from pubnub_twisted.endpoints.presence.leave import Leave
from pubnub_twisted.endpoints.presence.set_state import SetState
from pubnub_twisted.endpoints.presence.where_now import WhereNow
from pubnub_twisted.endpoints.time import Time
from pubnub_twisted.keeper import PresenceKeeper
from pubnub_twisted.models import JSONObject
from pubnub_twisted.presence_view import PresenceView
from pubnub_twisted.pubsub import (
    SubscribeBuilder,
    SubscriptionManager,
    TrackedSetState,
    UnsubscribeBuilder,
)
from pubnub_twisted.pubsub.reconnect import Reconnection
from pubnub_twisted.transport import Transport

__all__ = ["PubNub", "PubNubTwisted"]


class PubNub:
    """A PubNub Presence client for Twisted.

    ``PubNub(config)`` uses the global reactor and its own connection pool.
    Tests pass ``reactor=`` (a ``task.Clock``, say) and ``agent=`` (for
    example ``treq.testing.RequestTraversalAgent`` over the embedded
    server's resource) so that no socket is opened.  Both are keyword-only:
    the old SDK's second positional argument was a connection pool.

    Every endpoint method returns a fresh builder; its setters return the
    builder and ``.deferred()`` sends the request.  ``subscribe()`` starts
    the real-time loop, whose statuses and events reach the listeners added
    with ``add_listener()``.  ``stop()`` ends the loop, leaves, cancels what
    is in flight and closes the connections.
    """

    def __init__(
        self,
        config: PNConfiguration,
        *,
        reactor: IReactorTime | None = None,
        agent: IAgent | None = None,
    ) -> None:
        if not isinstance(config, PNConfiguration):
            raise TypeError(f"config must be a PNConfiguration, not {type(config).__name__}")
        if reactor is None:
            # Imported here, not at the top, so importing this module never
            # installs the default reactor.
            from twisted.internet import reactor as global_reactor  # noqa: PLC0415

            reactor = global_reactor
        assert reactor is not None
        #: This client's settings (a copy of the configuration it was given).
        self.config = config.copy()
        warn_if_short(self.config)
        #: The reactor (or clock) this client schedules its timers on.
        self.reactor: IReactorTime = reactor
        self._transport = Transport(self.config, reactor, agent)
        self._tokens = Tokens(reactor)
        self._name_rules = NameRules(self.config)
        self._subscription = SubscriptionManager(self)
        self._keepers: list[PresenceKeeper] = []

    @property
    def uuid(self) -> str:
        """This client's uuid."""
        return self.config.uuid

    # -- presence -----------------------------------------------------------

    def here_now(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        include_state: bool | None = None,
        include_uuids: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> HereNow:
        """Who is present: ``here_now().channels("a").include_state(True).deferred()``."""
        return HereNow(self)._configure(
            channels=channels,
            channel_groups=channel_groups,
            include_state=include_state,
            include_uuids=include_uuids,
            limit=limit,
            offset=offset,
        )

    def where_now(self, *, uuid: str | None = None) -> WhereNow:
        """Where a uuid is present (default: this client): ``where_now().deferred()``."""
        return WhereNow(self)._configure(uuid=uuid)

    def set_state(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        state: JSONObject | None = None,
        uuid: str | None = None,
    ) -> SetState:
        """Set this client's state: ``set_state().channels("a").state({"k": 1}).deferred()``.

        For channels this client is subscribed to, heartbeats carry the
        state from then on (so the service keeps it).  ``uuid`` sets another
        user's state (the service must allow it: secret key or token).
        """
        return TrackedSetState(self, self._subscription)._configure(
            channels=channels, channel_groups=channel_groups, state=state, uuid=uuid
        )

    def get_state(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        uuid: str | None = None,
    ) -> GetState:
        """A uuid's state (default: this client's): ``get_state().channels("a").deferred()``."""
        return GetState(self)._configure(
            channels=channels, channel_groups=channel_groups, uuid=uuid
        )

    def heartbeat(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        state: dict[str, JSONObject] | None = None,
        presence_timeout: int | None = None,
        uuid: str | None = None,
    ) -> Heartbeat:
        """Announce this client: ``heartbeat().channels("a").deferred()``.

        ``uuid`` announces another user instead (the service must allow it).
        """
        return Heartbeat(self)._configure(
            channels=channels,
            channel_groups=channel_groups,
            state=state,
            presence_timeout=presence_timeout,
            uuid=uuid,
        )

    def leave(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        uuid: str | None = None,
    ) -> Leave:
        """Leave channels and groups: ``leave().channels("a").deferred()``.

        ``uuid`` makes another user leave (the service must allow it).
        """
        return Leave(self)._configure(channels=channels, channel_groups=channel_groups, uuid=uuid)

    # -- channel groups ---------------------------------------------------------

    def add_channel_to_channel_group(
        self, *, channels: Names | None = None, channel_group: str | None = None
    ) -> AddChannelToChannelGroup:
        """Add channels to a group: ``...().channels("a").channel_group("g").deferred()``."""
        return AddChannelToChannelGroup(self)._configure(
            channels=channels, channel_group=channel_group
        )

    def remove_channel_from_channel_group(
        self, *, channels: Names | None = None, channel_group: str | None = None
    ) -> RemoveChannelFromChannelGroup:
        """Remove channels from a group: ``...().channels("a").channel_group("g")``."""
        return RemoveChannelFromChannelGroup(self)._configure(
            channels=channels, channel_group=channel_group
        )

    def list_channels_in_channel_group(
        self, *, channel_group: str | None = None
    ) -> ListChannelsInChannelGroup:
        """The channels of a group: ``...().channel_group("g").deferred()``."""
        return ListChannelsInChannelGroup(self)._configure(channel_group=channel_group)

    def remove_channel_group(self, *, channel_group: str | None = None) -> RemoveChannelGroup:
        """Delete a channel group: ``remove_channel_group().channel_group("g").deferred()``."""
        return RemoveChannelGroup(self)._configure(channel_group=channel_group)

    def time(self) -> Time:
        """The service's current timetoken: ``time().deferred()`` (a ``PNTimeResponse``)."""
        return Time(self)

    # -- messages -----------------------------------------------------------------

    def publish(
        self,
        *,
        channel: str | None = None,
        message: Any = None,
        meta: dict[str, Any] | None = None,
        should_store: bool | None = None,
        ttl: int | None = None,
        use_post: bool | None = None,
        custom_message_type: str | None = None,
    ) -> Publish:
        """Send a message: ``publish().channel("a").message({"text": "hi"}).deferred()``.

        Fires with a ``PNPublishResult(timetoken)``.  A publish is never sent
        twice: see :mod:`pubnub_twisted.endpoints.messages.publish`.
        """
        return Publish(self)._configure(
            channel=channel,
            message=message,
            meta=meta,
            should_store=should_store,
            ttl=ttl,
            use_post=use_post,
            custom_message_type=custom_message_type,
        )

    def fire(
        self, *, channel: str | None = None, message: Any = None, meta: dict[str, Any] | None = None
    ) -> Fire:
        """Send a message to PubNub Functions only (not stored, not delivered to subscribers)."""
        return Fire(self)._configure(channel=channel, message=message, meta=meta)

    def signal(self, *, channel: str | None = None, message: Any = None) -> Signal:
        """Send a signal (64 bytes at most): ``signal().channel("a").message("typing")``."""
        return Signal(self)._configure(channel=channel, message=message)

    def fetch_messages(self, *, channels: Names | None = None) -> FetchMessages:
        """Stored messages: ``fetch_messages().channels(["a"]).maximum_per_channel(25)``."""
        return FetchMessages(self)._configure(channels=channels)

    def message_counts(self, *, channels: Names | None = None) -> MessageCounts:
        """Counts since timetokens: ``message_counts().channels("a").channel_timetokens([tt])``."""
        return MessageCounts(self)._configure(channels=channels)

    def delete_messages(self, *, channel: str | None = None) -> DeleteMessages:
        """Delete stored messages (signed): ``delete_messages().channel("a").start(t1).end(t2)``."""
        return DeleteMessages(self)._configure(channel=channel)

    # -- real time --------------------------------------------------------------

    def add_listener(self, listener: SubscribeCallback) -> None:
        """Receive statuses, messages and presence events (in the order listeners were added)."""
        self._subscription.add_listener(listener)

    def remove_listener(self, listener: SubscribeCallback) -> None:
        """Stop calling ``listener``."""
        self._subscription.remove_listener(listener)

    def subscribe(self) -> SubscribeBuilder:
        """Subscribe: ``subscribe().channels("a").with_presence().execute()``.

        Subscribe to ``"a-pnpres"`` to observe a channel's presence without
        being counted on it.
        """
        return SubscribeBuilder(self._subscription)

    def unsubscribe(self) -> UnsubscribeBuilder:
        """Unsubscribe (and leave): ``unsubscribe().channels("a").execute()``."""
        return UnsubscribeBuilder(self._subscription)

    def unsubscribe_all(self) -> None:
        """Unsubscribe from every channel and group (and leave them)."""
        self._subscription.unsubscribe_all()

    def reconnect(self) -> None:
        """Resume a subscribe loop that gave up reconnecting, now."""
        self._subscription.reconnect()

    def get_subscribed_channels(self) -> list[str]:
        """Channels the loop polls, sorted; ``-pnpres`` names stand for presence."""
        return self._subscription.subscribed_channels()

    def get_subscribed_channel_groups(self) -> list[str]:
        """Channel groups the loop polls, sorted; ``-pnpres`` names stand for presence."""
        return self._subscription.subscribed_groups()

    def presence_view(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        grace: float = 0.0,
        reconnection: Reconnection | None = None,
    ) -> PresenceView:
        """A live local view of who is present on channels and groups, with their state.

        ``view = pubnub.presence_view(channels="lobby")``, then
        ``view.when_synced()``, ``view.occupants("lobby")`` and
        ``view.add_listener(...)``; ``view.stop()`` when done.  The view
        observes presence (``-pnpres``) without being counted as present.
        ``grace`` (seconds) hides a leave followed soon by a join from its
        notifications.  ``reconnection`` (a :class:`~pubnub_twisted.Reconnection`)
        is how the view keeps the subscribe loop reconnecting; by default it
        never gives up.  See :class:`~pubnub_twisted.PresenceView`.
        """
        return PresenceView(
            self,
            channels=channels,
            channel_groups=channel_groups,
            grace=grace,
            reconnection=reconnection,
        )

    def presence_keeper(
        self,
        *,
        presence_timeout: int | None = None,
        heartbeat_interval: float | None = None,
        max_in_flight: int | None = None,
        suppress_leave_events: bool | None = None,
    ) -> PresenceKeeper:
        """Keep many users present from this client: ``keeper.enter("alice", channels=...)``.

        ``presence_timeout`` and ``heartbeat_interval`` default to the
        configuration's (an interval of ``presence_timeout / 2 - 1`` when only
        the timeout is given), ``max_in_flight`` to half of
        ``connection_pool_size`` (at least 1: the other half is left for this
        client's other calls), ``suppress_leave_events`` to the configuration's.  The client's
        ``stop()`` stops its keepers.  See :class:`~pubnub_twisted.PresenceKeeper`.
        """
        keeper = PresenceKeeper(
            self,
            presence_timeout=presence_timeout,
            heartbeat_interval=heartbeat_interval,
            max_in_flight=max_in_flight,
            suppress_leave_events=suppress_leave_events,
        )
        self._keepers.append(keeper)
        return keeper

    def _forget_keeper(self, keeper: PresenceKeeper) -> None:
        if keeper in self._keepers:
            self._keepers.remove(keeper)

    # -- Access Manager ---------------------------------------------------------

    def grant_token(self) -> GrantToken:
        """Ask Access Manager for a token (needs the secret key: your server's call).

        ``.ttl(minutes)``, ``.channels([...])``, ``.groups([...])``,
        ``.uuids([...])`` of :class:`~pubnub_twisted.Channel` /
        :class:`~pubnub_twisted.Group` / :class:`~pubnub_twisted.UUID`,
        ``.authorized_uuid(uuid)`` and ``.meta({...})``; the result's
        ``token`` is what a client passes to :meth:`set_token`.
        """
        return GrantToken(self)

    def revoke_token(self, token: str) -> RevokeToken:
        """Make ``token`` useless from now on (needs the secret key)."""
        return RevokeToken(self, token)

    @staticmethod
    def parse_token(token: str) -> PNToken:
        """What ``token`` grants (``PubNubException`` if it is not a token)."""
        return parse_token(token)

    def set_token(self, token: str | None) -> None:
        """Send ``token`` as ``auth`` on every call from now on, instead of ``auth_key``."""
        self._tokens.set_token(token)

    def set_token_provider(self, provider: TokenProvider | None) -> None:
        """Renew the token with ``provider()`` (a Deferred of a fresh token).

        It is asked shortly before the current token expires, and once
        after a 403 saying the token expired or was revoked (the refused
        call is then repeated once).  ``None`` stops renewing.
        """
        self._tokens.set_provider(provider)

    # -- lifecycle ------------------------------------------------------------

    def stop(self) -> Deferred[None]:
        """End the subscribe loop and presence keepers, cancel calls in flight, close the pool.

        Keepers leave for their members, and the loop leaves what it is subscribed to (unless
        ``suppress_leave_events``), waiting at most
        ``non_subscribe_request_timeout`` for the answer.  Calls still in
        flight then end with ``PNCancelledCategory``.  The Deferred fires once
        the connections are closed; no timer is left behind.
        """
        self._tokens.stop()
        keepers = [keeper.stop() for keeper in list(self._keepers)]
        left = DeferredList([*keepers, self._subscription.stop()], consumeErrors=True)
        return left.addBoth(lambda _: self._transport.stop())

    def __repr__(self) -> str:
        return f"PubNub(origin={self.config.origin!r}, uuid={self.config.uuid!r})"


#: The same class, under the name PubNub's old Twisted SDK used.
PubNubTwisted = PubNub
