"""where_now: request building and response parsing, in memory."""

from __future__ import annotations

from typing import Any

from pubnub_twisted import (
    PNOperationType,
    PNWhereNowResult,
)
from tests.helpers import HOSTILE_UUID, HOSTILE_UUID_Q, PNSDK_Q, SUB_KEY, UUID, EndpointCase

BASE = f"/v2/presence/sub-key/{SUB_KEY}/uuid"
ANSWER = {
    "status": 200,
    "message": "OK",
    "service": "Presence",
    "payload": {"channels": ["ch1", "ch2"]},
}


class WhereNowTests(EndpointCase):
    """The requests where_now sends, its results, and what it refuses."""

    body = ANSWER

    def test_own_uuid(self) -> None:
        """By default the path names this client's own uuid."""
        uri = self.uri(self.pubnub.where_now())
        self.assertEqual(uri, f"{BASE}/{UUID}?pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_other_uuid_hostile(self) -> None:
        """Another uuid goes in the path, encoded; the ``uuid`` parameter stays ours."""
        uri = self.uri(self.pubnub.where_now().uuid(HOSTILE_UUID))
        self.assertEqual(uri, f"{BASE}/{HOSTILE_UUID_Q}?pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_own_hostile_uuid(self) -> None:
        """A hostile own uuid is encoded in the path and in the query alike."""
        self.pubnub.config.uuid = HOSTILE_UUID
        uri = self.uri(self.pubnub.where_now())
        self.assertEqual(uri, f"{BASE}/{HOSTILE_UUID_Q}?pnsdk={PNSDK_Q}&uuid={HOSTILE_UUID_Q}")

    def test_keyword_argument_and_auth(self) -> None:
        """``where_now(uuid=...)`` sets the target; ``auth`` comes after ``uuid``."""
        self.pubnub.config.auth_key = "k&y"
        uri = self.uri(self.pubnub.where_now(uuid="other"))
        self.assertEqual(uri, f"{BASE}/other?pnsdk={PNSDK_Q}&uuid={UUID}&auth=k%26y")

    def test_longest_uuid_sent(self) -> None:
        """A target uuid of exactly 92 characters is accepted."""
        uri = self.uri(self.pubnub.where_now().uuid("u" * 92))
        self.assertTrue(uri.startswith(f"{BASE}/{'u' * 92}?"), uri)

    def test_result(self) -> None:
        """The payload's channels become ``PNWhereNowResult.channels``."""
        status = self.acknowledged(
            self.pubnub.where_now(),
            PNWhereNowResult(["ch1", "ch2"]),
            PNOperationType.PNWhereNowOperation,
        )
        self.assertEqual((status.affected_channels, status.affected_groups), (None, None))

    def test_nowhere(self) -> None:
        """A uuid present nowhere gives an empty list."""
        self.resource.body = b'{"status": 200, "payload": {"channels": []}}'
        self.assertEqual(self.send(self.pubnub.where_now()).result, PNWhereNowResult([]))

    def test_bad_target_uuid(self) -> None:
        """An empty, non-string, None or too long target uuid is refused."""
        bad: list[Any] = ["", 42, None, "u" * 93]
        for target in bad:
            self.refused(self.pubnub.where_now().uuid(target), "uuid missing or not a string")

    def test_bad_own_uuid(self) -> None:
        """An empty own uuid is refused even when the target is valid."""
        self.pubnub.config.uuid = ""
        self.refused(self.pubnub.where_now().uuid("other"), "uuid missing or not a string")

    def test_malformed(self) -> None:
        """Missing or wrong-typed keys give PNMalformedResponseCategory."""
        cases: list[tuple[bytes, str]] = [
            (b"not json", "JSON decoding failed"),
            (b"[1]", "expected a JSON object, got list"),
            (b'{"status": 200}', "missing key 'payload'"),
            (b'{"payload": ["ch1"]}', "key 'payload' has the wrong type"),
            (b'{"payload": {}}', "missing key 'channels'"),
            (b'{"payload": {"channels": "ch1"}}', "key 'channels' has the wrong type"),
            (b'{"payload": {"channels": ["a", 1]}}', "key 'channels' holds 1, not a string"),
        ]
        for body, message in cases:
            self.malformed(self.pubnub.where_now(), body, message)
