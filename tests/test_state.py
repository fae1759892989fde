"""set_state and get_state: request building, signing and response parsing, in memory."""

from __future__ import annotations

import json
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNGetStateResult,
    PNOperationType,
    PNSetStateResult,
)
from pubnub_twisted.protocol import decode_value, parse_query, sign
from tests.helpers import (
    A1,
    HOSTILE,
    HOSTILE_Q,
    HOSTILE_UUID,
    HOSTILE_UUID_Q,
    PNSDK_Q,
    SET_ANSWER,
    SUB_KEY,
    TAIL,
    UUID,
    CannedResource,
    EndpointCase,
    canned_client,
)

BASE = f"/v2/presence/sub-key/{SUB_KEY}/channel"


class SetStateTests(EndpointCase):
    """The requests set_state sends, its result, and what it refuses."""

    def test_protocol_example(self) -> None:
        """The URL is PROTOCOL.md's example: state JSON-encoded, then pnsdk and uuid."""
        self.pubnub.config.subscribe_key = "sub-c-X"
        self.pubnub.config.uuid = "me"
        uri = self.uri(self.pubnub.set_state().channels("ch1").state({"a": 1}))
        self.assertEqual(
            uri,
            f"/v2/presence/sub-key/sub-c-X/channel/ch1/uuid/me/data"
            f"?state={A1}&pnsdk={PNSDK_Q}&uuid=me",
        )

    def test_groups_only(self) -> None:
        """Groups alone are allowed: ``,`` in the path, ``channel-group`` after ``state``."""
        uri = self.uri(self.pubnub.set_state(channel_groups=HOSTILE, state={"a": 1}))
        self.assertEqual(
            uri, f"{BASE}/,/uuid/{UUID}/data?state={A1}&channel-group={HOSTILE_Q}&{TAIL}"
        )

    def test_hostile_channels_and_uuid(self) -> None:
        """Hostile channels and own uuid are encoded in the path and query."""
        self.pubnub.config.uuid = HOSTILE_UUID
        uri = self.uri(self.pubnub.set_state().channels(HOSTILE).state({"a": 1}))
        self.assertEqual(
            uri,
            f"{BASE}/{HOSTILE_Q}/uuid/{HOSTILE_UUID_Q}/data"
            f"?state={A1}&pnsdk={PNSDK_Q}&uuid={HOSTILE_UUID_Q}",
        )

    def test_state_value_round_trips(self) -> None:
        """The decoded ``state`` value is the JSON of the state, nested and non-ASCII too."""
        state = {"name": "Zoë & co/😀", "tags": ["a,b", None], "n": {"x": 1.5, "ok": True}}
        self.assertEqual(self.sent_json(self.pubnub.set_state(channels="c", state=state)), state)

    def test_empty_state(self) -> None:
        """An empty dict is a valid state (it clears the state)."""
        uri = self.uri(self.pubnub.set_state().channels("c").state({}))
        self.assertEqual(uri, f"{BASE}/c/uuid/{UUID}/data?state=%7B%7D&{TAIL}")

    def test_result_and_status(self) -> None:
        """The echoed payload is the result; the status names channels and groups."""
        status = self.acknowledged(
            self.pubnub.set_state(channels="a,b", channel_groups="g", state={}),
            PNSetStateResult({"a": 1}),
            PNOperationType.PNSetStateOperation,
        )
        self.assertEqual((status.affected_channels, status.affected_groups), (["a", "b"], ["g"]))

    def test_names_missing(self) -> None:
        """Neither channels nor groups, or empty lists: ``Channel or group missing``."""
        self.refused(self.pubnub.set_state(state={"a": 1}), "Channel or group missing")
        builder = self.pubnub.set_state(channels=[], channel_groups="", state={})
        self.refused(builder, "Channel or group missing")

    def test_state_missing_or_not_a_dict(self) -> None:
        """No state, None, a list or a string: ``State missing or not a dict``."""
        self.refused(self.pubnub.set_state(channels="c"), "State missing or not a dict")
        bad: list[Any] = [None, [1], "a=1", 5]
        for state in bad:
            builder = self.pubnub.set_state().channels("c").state(state)
            self.refused(builder, "State missing or not a dict: state must be a dict")

    def test_state_not_serializable(self) -> None:
        """Non-JSON values, NaN, infinities and non-string keys are refused, named."""
        cases: list[tuple[Any, str]] = [
            ({"s": {1, 2}}, "not JSON serializable"),
            ({"o": object()}, "not JSON serializable"),
            ({"x": float("nan")}, "Out of range float values are not JSON compliant"),
            ({"x": [float("inf")]}, "Out of range float values"),
            ({1: "a"}, "keys must be strings, got 1"),
            ({"nested": {"deep": [{2: "b"}]}}, "keys must be strings, got 2"),
        ]
        for state, message in cases:
            builder = self.pubnub.set_state().channels("c").state(state)
            self.refused(builder, "State is not JSON serializable")
            self.refused(builder, message)

    def test_malformed(self) -> None:
        """An answer without an object payload is PNMalformedResponseCategory."""
        builder = self.pubnub.set_state(channels="c", state={})
        self.malformed(builder, b'{"status": 200}', "missing key 'payload'")
        self.malformed(builder, b'{"payload": [1]}', "key 'payload' has the wrong type")
        self.malformed(builder, b"<html>", "JSON decoding failed")


class SigningTests(SynchronousTestCase):
    """set_state with a secret key is signed as PROTOCOL.md section 4 says."""

    def test_signature_verifies(self) -> None:
        """The sent signature verifies, and matches the vector under the vector's pnsdk."""
        resource = CannedResource(body=SET_ANSWER)
        pubnub, clock, agent = canned_client(
            resource,
            secret_key="sec-c-secret",
            publish_key="pub-c-abc",
            subscribe_key="sub-c-xyz",
            uuid="my-uuid",
        )
        clock.advance(1600000000)
        d = pubnub.set_state().channels("ch1").state({"a": 1}).deferred()
        agent.flush()
        self.assertFalse(self.successResultOf(d).status.is_error())
        seen = resource.seen[0]
        path = "/v2/presence/sub-key/sub-c-xyz/channel/ch1/uuid/my-uuid/data"
        self.assertEqual(seen.path, path)
        pairs = [(key, decode_value(raw)) for key, raw in parse_query(seen.query)]
        self.assertEqual(
            [key for key, _ in pairs], ["state", "pnsdk", "uuid", "timestamp", "signature"]
        )
        signed, (_, signature) = pairs[:-1], pairs[-1]
        self.assertEqual(dict(signed)["timestamp"], "1600000000")
        self.assertEqual(sign("sec-c-secret", "pub-c-abc", path, signed), signature)
        as_vector = [
            (key, "PubNub-Python-Twisted/4.8.1" if key == "pnsdk" else value)
            for key, value in signed
        ]
        self.assertEqual(
            sign("sec-c-secret", "pub-c-abc", path, as_vector),
            "v2.CqPeNMjfWr4PZvTTv0sK6BchtxSRsqO7_YElP6yj7Ws",
        )


GET_FLAT = {
    "status": 200,
    "message": "OK",
    "service": "Presence",
    "uuid": "u1",
    "channel": "ch1",
    "payload": {"age": 20},
}
GET_WRAPPED = {
    "status": 200,
    "message": "OK",
    "service": "Presence",
    "uuid": "u1",
    "payload": {"channels": {"ch1": {"age": 20}, "ch2": {}}},
}


class GetStateTests(EndpointCase):
    """The requests get_state sends, both answer shapes, and what it refuses."""

    body = GET_WRAPPED

    def test_own_uuid(self) -> None:
        """By default the path names this client's uuid; no ``/data``."""
        uri = self.uri(self.pubnub.get_state().channels("ch1", "ch2"))
        self.assertEqual(uri, f"{BASE}/ch1,ch2/uuid/{UUID}?{TAIL}")

    def test_other_uuid_and_hostile_names(self) -> None:
        """Another uuid, hostile channels and groups: all encoded, groups in the query."""
        builder = self.pubnub.get_state(channels=HOSTILE, channel_groups=HOSTILE, uuid=HOSTILE_UUID)
        uri = self.uri(builder)
        self.assertEqual(
            uri, f"{BASE}/{HOSTILE_Q}/uuid/{HOSTILE_UUID_Q}?channel-group={HOSTILE_Q}&{TAIL}"
        )

    def test_groups_only(self) -> None:
        """Groups alone: ``,`` in the path."""
        uri = self.uri(self.pubnub.get_state().channel_groups("g1").uuid("u1"))
        self.assertEqual(uri, f"{BASE}/,/uuid/u1?channel-group=g1&{TAIL}")

    def test_flat_answer(self) -> None:
        """One channel and no group: the flat payload is that channel's state."""
        self.resource.body = json.dumps(GET_FLAT).encode()
        status = self.acknowledged(
            self.pubnub.get_state().channels("ch1").uuid("u1"),
            PNGetStateResult({"ch1": {"age": 20}}),
            PNOperationType.PNGetState,
        )
        self.assertEqual((status.affected_channels, status.affected_groups), (["ch1"], []))

    def test_flat_state_with_channels_key(self) -> None:
        """A one-channel state that itself has a ``channels`` key is not mistaken."""
        self.resource.body = b'{"status": 200, "payload": {"channels": {"x": {}}}}'
        result = self.send(self.pubnub.get_state().channels("ch1")).result
        self.assertEqual(result, PNGetStateResult({"ch1": {"channels": {"x": {}}}}))

    def test_flat_no_state(self) -> None:
        """One channel without state gives ``{}`` for it."""
        self.resource.body = b'{"status": 200, "channel": "c", "payload": {}}'
        self.assertEqual(
            self.send(self.pubnub.get_state().channels("c")).result, PNGetStateResult({"c": {}})
        )

    def test_wrapped_answer(self) -> None:
        """Several channels: ``payload.channels`` maps each channel to its state."""
        envelope = self.send(self.pubnub.get_state().channels("ch1", "ch2"))
        self.assertEqual(envelope.result, PNGetStateResult({"ch1": {"age": 20}, "ch2": {}}))

    def test_wrapped_fills_missing_channels(self) -> None:
        """A requested channel the answer leaves out gives ``{}``; group channels are kept."""
        self.resource.body = b'{"status": 200, "payload": {"channels": {"g-ch": {"k": 1}}}}'
        result = self.send(self.pubnub.get_state(channels="ch1", channel_groups="g")).result
        self.assertEqual(result, PNGetStateResult({"ch1": {}, "g-ch": {"k": 1}}))

    def test_refused(self) -> None:
        """No channels or groups, or a bad target uuid, are refused before sending."""
        self.refused(self.pubnub.get_state(uuid="u1"), "Channel or group missing")
        bad: list[Any] = ["", 7, None, "u" * 93]
        for target in bad:
            builder = self.pubnub.get_state().channels("c").uuid(target)
            self.refused(builder, "uuid missing or not a string")

    def test_malformed(self) -> None:
        """Missing or wrong-typed keys in either shape are PNMalformedResponseCategory."""
        one = self.pubnub.get_state(channels="c")
        two = self.pubnub.get_state(channels="c,d")
        self.malformed(one, b'{"status": 200, "channel": "c"}', "missing key 'payload'")
        self.malformed(one, b'{"payload": "x"}', "key 'payload' has the wrong type")
        self.malformed(two, b'{"payload": {}}', "missing key 'channels'")
        self.malformed(two, b'{"payload": {"channels": []}}', "key 'channels' has the wrong")
        self.malformed(two, b'{"payload": {"channels": {"c": 1}}}', "state on 'c' is not an")
        self.malformed(two, b"[]", "expected a JSON object, got list")
