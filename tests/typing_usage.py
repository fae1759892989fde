"""Pins the public types of the builder chains: mypy (strict) checks this file.

``typing.assert_type`` fails the type check when an inferred type drifts, for
example if ``here_now().deferred()`` stopped being a
``Deferred[PNEnvelope[PNHereNowResult]]``.  pyproject's ``[tool.mypy]`` lists
``tests``, so ``mypy`` (in .ci/run) covers it.  Trial never collects it (its
name does not start with ``test_``) and importing it runs nothing;
tests/test_release.py also runs the chains once, in memory.
"""

from __future__ import annotations

from typing import Any, assert_type

from twisted.internet.defer import Deferred

from pubnub_twisted import (
    UUID,
    Channel,
    Group,
    PNChannelGroupsAddChannelResult,
    PNChannelGroupsListResult,
    PNChannelGroupsRemoveChannelResult,
    PNChannelGroupsRemoveGroupResult,
    PNConfiguration,
    PNEnvelope,
    PNGetStateResult,
    PNGrantTokenResult,
    PNHeartbeatResult,
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowResult,
    PNLeaveResult,
    PNRevokeTokenResult,
    PNSetStateResult,
    PNStatus,
    PNTimeResponse,
    PNToken,
    PNWhereNowResult,
    PubNub,
    PubNubTwisted,
)
from pubnub_twisted.endpoints.access.grant_token import GrantToken
from pubnub_twisted.endpoints.channel_groups.registration import (
    AddChannelToChannelGroup,
    ListChannelsInChannelGroup,
    RemoveChannelFromChannelGroup,
    RemoveChannelGroup,
)
from pubnub_twisted.endpoints.messages.publish import Publish
from pubnub_twisted.endpoints.presence.get_state import GetState
from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat
from pubnub_twisted.endpoints.presence.here_now import HereNow
from pubnub_twisted.endpoints.presence.leave import Leave
from pubnub_twisted.endpoints.presence.set_state import SetState
from pubnub_twisted.endpoints.presence.where_now import WhereNow
from pubnub_twisted.endpoints.time import Time
from pubnub_twisted.models_messages import (
    PNDeleteMessagesResult,
    PNFetchMessageItem,
    PNFireResult,
    PNPublishResult,
    PNSignalResult,
)
from pubnub_twisted.pubsub import SubscribeBuilder, UnsubscribeBuilder


def client(config: PNConfiguration) -> PubNub:
    """``PubNubTwisted`` is the same class as ``PubNub``."""
    return assert_type(PubNubTwisted(config), PubNub)


def presence_chains(pubnub: PubNub) -> list[Deferred[Any]]:
    """Every presence builder: setters keep the builder's type; both terminals are typed."""
    here_now = pubnub.here_now().channels("a", ["b"]).channel_groups(("g",))
    assert_type(here_now.include_state(True).include_uuids(True).limit(10).offset(0), HereNow)
    assert_type(pubnub.here_now(channels="a", include_state=True), HereNow)
    assert_type(here_now.deferred(), Deferred[PNEnvelope[PNHereNowResult]])
    assert_type(here_now.future(), Deferred[PNEnvelope[PNHereNowResult]])
    assert_type(here_now.result(), Deferred[PNHereNowResult])

    where_now = assert_type(pubnub.where_now().uuid("bob"), WhereNow)
    assert_type(where_now.result(), Deferred[PNWhereNowResult])

    set_state = assert_type(pubnub.set_state().channels("a").state({"mood": "ok"}), SetState)
    assert_type(set_state.channel_groups("g"), SetState)
    assert_type(set_state.result(), Deferred[PNSetStateResult])

    get_state = assert_type(pubnub.get_state().channels("a").uuid("bob"), GetState)
    assert_type(get_state.channel_groups("g"), GetState)
    assert_type(get_state.result(), Deferred[PNGetStateResult])

    heartbeat = assert_type(pubnub.heartbeat().channels("a").presence_timeout(60), Heartbeat)
    assert_type(heartbeat.state({"a": {"mood": "ok"}}).channel_groups("g"), Heartbeat)
    assert_type(heartbeat.result(), Deferred[PNHeartbeatResult])

    leave = assert_type(pubnub.leave().channels("a").channel_groups("g"), Leave)
    assert_type(leave.result(), Deferred[PNLeaveResult])

    time = assert_type(pubnub.time(), Time)
    assert_type(time.deferred(), Deferred[PNEnvelope[PNTimeResponse]])
    return [
        here_now.deferred(),
        where_now.deferred(),
        set_state.result(),
        get_state.result(),
        heartbeat.result(),
        leave.result(),
        time.result(),
    ]


def group_chains(pubnub: PubNub) -> list[Deferred[Any]]:
    """The channel-group builders."""
    add = pubnub.add_channel_to_channel_group().channel_group("g").channels("a", "b")
    assert_type(add, AddChannelToChannelGroup)
    assert_type(add.result(), Deferred[PNChannelGroupsAddChannelResult])
    listed = pubnub.list_channels_in_channel_group(channel_group="g")
    assert_type(listed, ListChannelsInChannelGroup)
    assert_type(listed.result(), Deferred[PNChannelGroupsListResult])
    remove = pubnub.remove_channel_from_channel_group().channel_group("g").channels("a")
    assert_type(remove, RemoveChannelFromChannelGroup)
    assert_type(remove.result(), Deferred[PNChannelGroupsRemoveChannelResult])
    delete = assert_type(pubnub.remove_channel_group().channel_group("g"), RemoveChannelGroup)
    assert_type(delete.result(), Deferred[PNChannelGroupsRemoveGroupResult])
    return [add.result(), listed.result(), remove.result(), delete.result()]


async def awaited(pubnub: PubNub) -> int:
    """What ``await`` gives in ``async def``: envelopes, results and their fields."""
    assert_type(await pubnub.heartbeat().channels("a").result(), PNHeartbeatResult)
    envelope = await pubnub.here_now().channels("a").include_state(True).deferred()
    assert_type(envelope, PNEnvelope[PNHereNowResult])
    assert_type(envelope.status, PNStatus)
    assert_type(envelope.result, PNHereNowResult | None)
    result = await pubnub.here_now().channels("a").result()
    assert_type(result, PNHereNowResult)
    channel = assert_type(result.channels[0], PNHereNowChannelData)
    occupant = assert_type(channel.occupants[0], PNHereNowOccupantData)
    assert_type(occupant.state, dict[str, Any] | None)
    states = await pubnub.get_state().channels("a").result()
    assert_type(states.channels, dict[str, dict[str, Any]])
    where = await pubnub.where_now().result()
    assert_type(where.channels, list[str])
    now = await pubnub.time().result()
    assert_type(now.timetoken, int)
    return result.total_occupancy


def realtime(pubnub: PubNub) -> Deferred[None]:
    """Subscribe builders keep their types; execute() returns nothing; stop() is a Deferred."""
    subscribe = pubnub.subscribe().channels("a").channel_groups("g").with_presence()
    assert_type(subscribe.with_timetoken(0), SubscribeBuilder)
    assert_type(subscribe.execute(), None)
    unsubscribe = assert_type(pubnub.unsubscribe().channels("a"), UnsubscribeBuilder)
    assert_type(unsubscribe.channel_groups("g").execute(), None)
    assert_type(pubnub.get_subscribed_channels(), list[str])
    return assert_type(pubnub.stop(), Deferred[None])


async def messaging(pubnub: PubNub) -> int:
    """Message builders keep their types; results are typed down to the items."""
    publish = pubnub.publish().channel("a").message({"k": 1}).meta({"m": 1})
    publish = publish.should_store(True).ttl(1).replicate(True).use_post(False)
    assert_type(publish.custom_message_type("t"), Publish)
    assert_type(publish.deferred(), Deferred[PNEnvelope[PNPublishResult]])
    sent = assert_type(await publish.result(), PNPublishResult)
    assert_type(await pubnub.fire(channel="a", message=1).result(), PNFireResult)
    assert_type(await pubnub.signal(channel="a", message="x").result(), PNSignalResult)
    fetch = pubnub.fetch_messages().channels("a").maximum_per_channel(5).start(2).end(1)
    fetched = await fetch.include_meta(True).include_uuid(True).result()
    item = assert_type(fetched.channels["a"][0], PNFetchMessageItem)
    assert_type(item.timetoken, int)
    counts = await pubnub.message_counts().channels("a").channel_timetokens([1]).result()
    assert_type(counts.channels, dict[str, int])
    deleted = pubnub.delete_messages().channel("a").start(1).end(2)
    assert_type(await deleted.result(), PNDeleteMessagesResult)
    return sent.timetoken


def access_chains(pubnub: PubNub) -> Deferred[PNRevokeTokenResult]:
    """grant_token's chain keeps its type; tokens parse to a PNToken; permissions chain."""
    channel = assert_type(Channel.pattern("^room-").read().write(), Channel)
    assert_type(Group.id("g").manage(), Group)
    assert_type(UUID.id("u").get().update(), UUID)
    grant = pubnub.grant_token().ttl(15).authorized_uuid("alice").channels([channel])
    grant = assert_type(grant.groups([Group.id("g").read()]).meta({"role": "x"}), GrantToken)
    assert_type(grant.result(), Deferred[PNGrantTokenResult])
    token = assert_type(pubnub.parse_token("qEF2"), PNToken)
    assert_type(token.resources.channels["a"].read, bool)
    pubnub.set_token("qEF2")
    return assert_type(pubnub.revoke_token("qEF2").result(), Deferred[PNRevokeTokenResult])
