"""heartbeat and leave: request building and response parsing, in memory."""

from __future__ import annotations

from typing import Any

from pubnub_twisted import (
    PNHeartbeatResult,
    PNLeaveResult,
    PNOperationType,
)
from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat
from pubnub_twisted.endpoints.presence.leave import Leave
from tests.helpers import HOSTILE, HOSTILE_Q, SUB_KEY, TAIL, EndpointCase

BASE = f"/v2/presence/sub-key/{SUB_KEY}/channel"
HEARTBEAT_ANSWER = {"status": 200, "message": "OK", "service": "Presence"}
LEAVE_ANSWER = {"status": 200, "message": "OK", "action": "leave", "service": "Presence"}


class HeartbeatTests(EndpointCase):
    """The requests heartbeat sends, its result, and what it refuses."""

    body = HEARTBEAT_ANSWER

    def test_default_timeout(self) -> None:
        """``heartbeat`` is the configured presence timeout (300 by default)."""
        uri = self.uri(self.pubnub.heartbeat().channels("ch1"))
        self.assertEqual(uri, f"{BASE}/ch1/heartbeat?heartbeat=300&{TAIL}")
        self.pubnub.config.presence_timeout = 42
        uri = self.uri(self.pubnub.heartbeat().channels("ch1"))
        self.assertEqual(uri, f"{BASE}/ch1/heartbeat?heartbeat=42&{TAIL}")

    def test_state_keyed_by_channel(self) -> None:
        """State keyed by channel, as in the research example; then ``channel-group``."""
        builder = self.pubnub.heartbeat(
            channels="ch1", channel_groups="g1", state={"ch1": {"a": 1}}, presence_timeout=60
        )
        self.assertEqual(
            self.uri(builder),
            f"{BASE}/ch1/heartbeat?heartbeat=60"
            f"&state=%7B%22ch1%22%3A%20%7B%22a%22%3A%201%7D%7D&channel-group=g1&{TAIL}",
        )

    def test_hostile_state_round_trips(self) -> None:
        """The decoded ``state`` is the JSON of the whole mapping, hostile names included."""
        state: dict[str, Any] = {name: {"k": name} for name in HOSTILE}
        self.assertEqual(
            self.sent_json(self.pubnub.heartbeat(channels=HOSTILE, state=state)), state
        )

    def test_empty_state_not_sent(self) -> None:
        """An empty state mapping sends no ``state`` parameter."""
        uri = self.uri(self.pubnub.heartbeat().channels("c").state({}))
        self.assertEqual(uri, f"{BASE}/c/heartbeat?heartbeat=300&{TAIL}")

    def test_bad_timeout(self) -> None:
        """presence_timeout must be an int of 1 or more, set here or in the config."""
        bad: list[Any] = [0, -5, True, "60", 1.5]
        for timeout in bad:
            builder = self.pubnub.heartbeat().channels("c").presence_timeout(timeout)
            self.refused(builder, "presence_timeout must be an integer 1 or more")
        self.pubnub.config.presence_timeout = 0
        self.refused(self.pubnub.heartbeat(channels="c"), "presence_timeout must be an integer")

    def test_bad_state(self) -> None:
        """A non-dict state, a non-dict channel state or a non-JSON value is refused."""
        cases: list[tuple[Any, str]] = [
            ([1], "State missing or not a dict: state must be a dict, not list"),
            (None, "State missing or not a dict"),
            ({"c": 1}, "the state of channel 'c' must be a dict, not int"),
            ({"c": {"x": float("nan")}}, "State is not JSON serializable"),
            ({"c": {1: "x"}}, "keys must be strings, got 1"),
        ]
        for state, message in cases:
            self.refused(self.pubnub.heartbeat().channels("c").state(state), message)


class LeaveTests(EndpointCase):
    """The request leave sends."""

    body = LEAVE_ANSWER

    def test_channels(self) -> None:
        """Channels in the path, then ``/leave``; no parameter of its own."""
        uri = self.uri(self.pubnub.leave().channels("ch1", "ch2"))
        self.assertEqual(uri, f"{BASE}/ch1,ch2/leave?{TAIL}")


class HeartbeatAndLeaveTests(EndpointCase):
    """What heartbeat and leave share: names, refusals, results and statuses."""

    body = LEAVE_ANSWER

    def builders(self, **names: Any) -> list[tuple[Heartbeat | Leave, str]]:
        """A heartbeat and a leave for ``names``, each with its path action and parameters."""
        return [
            (self.pubnub.heartbeat(**names), "heartbeat?heartbeat=300&"),
            (self.pubnub.leave(**names), "leave?"),
        ]

    def test_hostile_names(self) -> None:
        """Hostile channels and groups are encoded; groups alone put ``,`` in the path."""
        for builder, action in self.builders(channels=HOSTILE, channel_groups=HOSTILE):
            uri = self.uri(builder)
            self.assertEqual(uri, f"{BASE}/{HOSTILE_Q}/{action}channel-group={HOSTILE_Q}&{TAIL}")
        for builder, action in self.builders(channel_groups="gr1"):
            self.assertEqual(self.uri(builder), f"{BASE}/,/{action}channel-group=gr1&{TAIL}")

    def test_results_and_statuses(self) -> None:
        """Each answer gives its result; the status names the channels and groups."""
        (heartbeat, _), (leave, _) = self.builders(channels="a", channel_groups="g")
        for builder, result, operation in [
            (heartbeat, PNHeartbeatResult(), PNOperationType.PNHeartbeatOperation),
            (leave, PNLeaveResult(), PNOperationType.PNUnsubscribeOperation),
        ]:
            status = self.acknowledged(builder, result, operation)
            self.assertEqual((status.affected_channels, status.affected_groups), (["a"], ["g"]))

    def test_names_missing(self) -> None:
        """Neither channels nor groups, or empty ones: ``Channel or group missing``."""
        cases: list[dict[str, Any]] = [{}, {"channels": []}, {"channel_groups": ""}]
        for names in cases:
            for builder, _ in self.builders(**names):
                self.refused(builder, "Channel or group missing")

    def test_presence_names_refused(self) -> None:
        """``-pnpres`` channels or groups are refused, named, never sent."""
        for builder, _ in self.builders(channels="a,a-pnpres"):
            self.refused(builder, "Invalid argument: channel 'a-pnpres' is a presence channel")
        for builder, _ in self.builders(channels="a", channel_groups=["g", "g-pnpres"]):
            self.refused(builder, "channel group 'g-pnpres' is a presence channel")

    def test_malformed(self) -> None:
        """A body that is not a JSON object is PNMalformedResponseCategory."""
        for builder, _ in self.builders(channels="c"):
            self.malformed(builder, b"OK", "JSON decoding failed")
            self.malformed(builder, b"", "JSON decoding failed (200): empty body")
            self.malformed(builder, b"[200]", "expected a JSON object, got list")
