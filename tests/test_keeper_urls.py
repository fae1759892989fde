"""The keeper reuses a member's heartbeat URL until something in it changes."""

from __future__ import annotations

import json

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
