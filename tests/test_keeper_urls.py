"""The keeper reuses a member's heartbeat URL until something in it changes."""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted.testing import InMemoryPresence
from tests.keeper_support import gated_client, occupancy

TIMEOUT = 20  # seconds; the interval is then 9


class ReusedUrlTests(SynchronousTestCase):
    """Heartbeat URLs are built once per member and rebuilt when they would differ."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.pubnub, self.gate = gated_client(self.presence, presence_timeout=TIMEOUT)
        self.keeper = self.pubnub.presence_keeper()
        self.member = self.keeper.enter("alice", channels=["a", "b"], state={"a": {"n": 1}})

    def beats(self) -> list[str]:
        """The URLs of the heartbeats sent so far."""
        return [sent.uri for sent in self.gate.of("heartbeat")]

    def test_same_url_every_interval(self) -> None:
        """An unchanged member's heartbeats are the same request, with its state, each time."""
        self.presence.settle(3 * self.keeper.heartbeat_interval + 1)
        beats = self.gate.of("heartbeat")
        self.assertGreaterEqual(len(beats), 3)
        self.assertEqual({sent.uri for sent in beats}, {beats[0].uri})
        self.assertEqual(json.loads(beats[0].query["state"]), {"a": {"n": 1}})
        self.assertEqual(beats[0].query["uuid"], "alice")
        self.assertEqual(occupancy(self.presence, "b"), 1)

    def test_update_rebuilds(self) -> None:
        """After update(), later heartbeats carry the new channels and state."""
        self.presence.settle(self.keeper.heartbeat_interval + 1)
        self.member.update(channels=["a", "c"], state={"a": {"n": 2}, "c": {"x": True}})
        self.presence.settle(2 * self.keeper.heartbeat_interval)
        last = self.gate.of("heartbeat")[-1]
        self.assertEqual(last.channels, ["a", "c"])
        self.assertEqual(json.loads(last.query["state"]), {"a": {"n": 2}, "c": {"x": True}})

    def test_new_token_rebuilds(self) -> None:
        """A token set on the client goes out with the member's next heartbeat."""
        self.presence.settle(self.keeper.heartbeat_interval + 1)
        self.assertNotIn("auth", self.gate.of("heartbeat")[-1].query)
        self.pubnub.set_token("token-2")
        self.presence.settle(self.keeper.heartbeat_interval + 1)
        self.assertEqual(self.gate.of("heartbeat")[-1].query["auth"], "token-2")
        self.pubnub.set_token(None)
        self.presence.settle(self.keeper.heartbeat_interval + 1)
        self.assertNotIn("auth", self.gate.of("heartbeat")[-1].query)

    def test_signed_rebuilt_each_time(self) -> None:
        """With a secret key every heartbeat is signed anew, with the current timestamp."""
        pubnub, gate = gated_client(
            self.presence, presence_timeout=TIMEOUT, secret_key="sec", publish_key="pub"
        )
        pubnub.presence_keeper().enter("bob", channels=["a"])
        self.presence.settle(3 * self.keeper.heartbeat_interval + 1)
        beats = [sent for sent in gate.of("heartbeat") if sent.query["uuid"] == "bob"]
        self.assertGreaterEqual(len(beats), 3)
        stamps = [sent.query["timestamp"] for sent in beats]
        self.assertEqual(len(set(stamps)), len(stamps))
        self.assertEqual(len({sent.query["signature"] for sent in beats}), len(beats))


class CompactMemberTests(SynchronousTestCase):
    """What a kept member holds between heartbeats: little, shared where it can be."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.pubnub, self.gate = gated_client(self.presence, presence_timeout=TIMEOUT)
        self.keeper = self.pubnub.presence_keeper()

    def test_reused_url_is_not_rebuilt(self) -> None:
        """Once built, a member's heartbeat reuses its URL: its state is not even decoded."""
        member = self.keeper.enter("alice", channels=["a"], state={"a": {"n": 1}})
        self.presence.settle(1)
        filled: list[str] = []
        original = self.keeper._filled

        def counting(builder: Any, uuid: str, *rest: Any) -> Any:
            filled.append(uuid)
            return original(builder, uuid, *rest)

        self.keeper._filled = counting  # type: ignore[method-assign,assignment]
        self.presence.settle(3 * self.keeper.heartbeat_interval)
        self.assertGreaterEqual(len(self.gate.of("heartbeat")), 4)
        self.assertEqual(filled, [])
        self.assertIs(member._url_key, self.keeper._url_key)

    def test_states_are_a_copy(self) -> None:
        """``states`` reads what is sent; changing the copy changes nothing, update() does."""
        given = {"a": {"n": 1, "tags": ["x"]}}
        member = self.keeper.enter("alice", channels=["a", "b"], state=given)
        given["a"]["n"] = 99
        states = member.states
        self.assertEqual(states, {"a": {"n": 1, "tags": ["x"]}})
        states["a"]["n"] = 5
        self.assertEqual(member.states, {"a": {"n": 1, "tags": ["x"]}})
        self.presence.settle(1)
        member.update(state={"b": {"m": 2}})
        self.presence.settle(1)
        self.assertEqual(member.states, {"a": {"n": 1, "tags": ["x"]}, "b": {"m": 2}})
        self.assertEqual(self.keeper.enter("bob", channels=["a"]).states, {})

    def test_channel_names_shared(self) -> None:
        """Members on one channel share one string for its name, however it was given."""
        first = self.keeper.enter("alice", channels=["".join(["lob", "by"])])
        second = self.keeper.enter("bob", channels=["".join(["lo", "bby"])])
        self.assertIs(first.channels[0], second.channels[0])

    def test_queue_holds_members_not_deferreds(self) -> None:
        """Members waiting for a place in flight wait without a Deferred each."""
        self.gate.mode = "stalled"
        for i in range(50):
            self.keeper.enter(f"user-{i}", channels=["a"])
        limiter = self.keeper._limit
        self.assertEqual(limiter.active, self.keeper.max_in_flight)
        self.assertEqual(len(limiter), 50 - self.keeper.max_in_flight)
        self.assertEqual([d for _, _, d in limiter._queue], [None] * len(limiter))
