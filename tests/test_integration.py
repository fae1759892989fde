"""The whole stack over real HTTP: our client against the embedded server on loopback."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase

from pubnub_twisted import (
    PNGetStateResult,
    PNHereNowOccupantData,
    PNStatusCategory,
    PNWhereNowResult,
    PubNubException,
)
from pubnub_twisted.testing import LocalPresenceServer

Gen = Generator[Deferred[Any], Any, None]


class LoopbackTests(TestCase):
    """Every endpoint, client to server, over a loopback port."""

    def setUp(self) -> None:
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)
        self.alice = self.server.client("alice")
        self.bob = self.server.client("bob")

    @inlineCallbacks
    def test_heartbeat_here_now_where_now(self) -> Gen:
        """Heartbeats make users present; here_now and where_now see them."""
        yield self.alice.heartbeat().channels("lobby", "game").result()
        yield self.bob.heartbeat().channels("lobby").result()
        result = yield self.bob.here_now().channels("lobby").result()
        self.assertEqual(result.total_occupancy, 2)
        self.assertEqual([o.uuid for o in result.channels[0].occupants], ["alice", "bob"])
        several = yield self.bob.here_now().channels("lobby", "game").result()
        self.assertEqual(
            {c.channel_name: c.occupancy for c in several.channels}, {"lobby": 2, "game": 1}
        )
        where = yield self.bob.where_now().uuid("alice").result()
        self.assertEqual(where, PNWhereNowResult(["lobby", "game"]))
        everywhere = yield self.bob.here_now().result()
        self.assertEqual((everywhere.total_channels, everywhere.total_occupancy), (2, 3))

    @inlineCallbacks
    def test_state(self) -> Gen:
        """set_state then get_state and here_now with state, for channels and groups."""
        yield self.alice.heartbeat().channels("ch1", "ch2").result()
        yield self.alice.set_state().channels("ch1").state({"mood": "happy"}).result()
        state = yield self.bob.get_state().channels("ch1", "ch2").uuid("alice").result()
        self.assertEqual(state, PNGetStateResult({"ch1": {"mood": "happy"}, "ch2": {}}))
        yield self.alice.add_channel_to_channel_group().channel_group("g").channels("ch2").result()
        yield self.alice.set_state().channel_groups("g").state({"age": 20}).result()
        state = yield self.bob.get_state().channels("ch2").uuid("alice").result()
        self.assertEqual(state.channels, {"ch2": {"age": 20}})
        here = yield self.bob.here_now().channels("ch1").include_state(True).result()
        self.assertEqual(
            here.channels[0].occupants, [PNHereNowOccupantData("alice", {"mood": "happy"})]
        )

    @inlineCallbacks
    def test_leave(self) -> Gen:
        """leave removes the user at once."""
        yield self.alice.heartbeat().channels("lobby").result()
        yield self.alice.leave().channels("lobby").result()
        result = yield self.bob.here_now().channels("lobby").result()
        self.assertEqual(result.channels[0].occupancy, 0)

    @inlineCallbacks
    def test_channel_groups(self) -> Gen:
        """Group registry calls, and here_now over a group."""
        yield (
            self.alice.add_channel_to_channel_group().channel_group("g").channels("a", "b").result()
        )
        listed = yield self.alice.list_channels_in_channel_group().channel_group("g").result()
        self.assertEqual(listed.channels, ["a", "b"])
        yield self.alice.heartbeat().channel_groups("g").result()
        result = yield self.bob.here_now().channel_groups("g").result()
        self.assertEqual(sorted(c.channel_name for c in result.channels), ["a", "b"])
        yield (
            self.alice.remove_channel_from_channel_group().channel_group("g").channels("a").result()
        )
        listed = yield self.alice.list_channels_in_channel_group().channel_group("g").result()
        self.assertEqual(listed.channels, ["b"])
        yield self.alice.remove_channel_group().channel_group("g").result()
        listed = yield self.alice.list_channels_in_channel_group().channel_group("g").result()
        self.assertEqual(listed.channels, [])

    @inlineCallbacks
    def test_hostile_names(self) -> Gen:
        """Names with semicolons, slashes, &, #, %, spaces and emoji round-trip exactly."""
        names = ["a;b", "a/b c", "x&y#z", "100%", "über 😀"]
        weird = self.server.client("u,/ &#%😀")
        yield weird.heartbeat().channels(names).result()
        where = yield self.bob.where_now().uuid("u,/ &#%😀").result()
        self.assertEqual(where.channels, names)
        here = yield self.bob.here_now().channels(names).result()
        self.assertEqual(sorted(c.channel_name for c in here.channels), sorted(names))

    @inlineCallbacks
    def test_signed_requests(self) -> Gen:
        """With a secret key on both sides every call is signed and accepted."""
        server = LocalPresenceServer.start(reactor, secret_key="sec-c-s", publish_key="pub-c-p")
        self.addCleanup(server.stop)
        signed = server.client("alice", secret_key="sec-c-s", publish_key="pub-c-p")
        yield signed.heartbeat().channels(["a b;c"]).state({"a b;c": {"k": "~v"}}).result()
        result = yield signed.here_now().channels(["a b;c"]).include_state(True).result()
        self.assertEqual(
            result.channels[0].occupants, [PNHereNowOccupantData("alice", {"k": "~v"})]
        )
        wrong = server.client("eve", secret_key="sec-c-wrong", publish_key="pub-c-p")
        failure = yield self.assertFailure(wrong.here_now().result(), PubNubException)
        self.assertEqual(failure.status.category, PNStatusCategory.PNAccessDeniedCategory)

    @inlineCallbacks
    def test_auth_keys(self) -> Gen:
        """With allowed auth keys, another key gets 403 AccessDenied."""
        server = LocalPresenceServer.start(reactor, auth_keys={"good"})
        self.addCleanup(server.stop)
        yield server.client("a", auth_key="good").here_now().result()
        envelope = yield server.client("b", auth_key="bad").here_now().deferred()
        self.assertEqual(envelope.status.category, PNStatusCategory.PNAccessDeniedCategory)
        self.assertEqual(envelope.status.status_code, 403)

    @inlineCallbacks
    def test_connections_reused(self) -> Gen:
        """Sequential calls reuse one persistent connection."""
        for _ in range(5):
            yield self.alice.here_now().channels("x").result()
        self.assertEqual(len(self.server.server.site._channels), 1)
