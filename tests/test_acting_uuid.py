"""heartbeat, leave and set_state made for another uuid (``.uuid()`` / ``uuid=``)."""

from __future__ import annotations

from typing import Any

from pubnub_twisted.testing import InMemoryPresence
from tests.helpers import (
    A1,
    HOSTILE_UUID,
    HOSTILE_UUID_Q,
    PNSDK_Q,
    SET_ANSWER,
    SUB_KEY,
    UUID,
    EndpointCase,
)

BASE = f"/v2/presence/sub-key/{SUB_KEY}/channel"


class ActingUUIDRequestTests(EndpointCase):
    """The ``uuid`` a request carries when it is made for another user."""

    body: Any = SET_ANSWER

    def test_heartbeat_for_another_uuid(self) -> None:
        """heartbeat(uuid=...) sends that uuid as the ``uuid`` parameter, encoded."""
        uri = self.uri(self.pubnub.heartbeat(channels="c", uuid=HOSTILE_UUID))
        self.assertEqual(
            uri, f"{BASE}/c/heartbeat?heartbeat=300&pnsdk={PNSDK_Q}&uuid={HOSTILE_UUID_Q}"
        )

    def test_leave_for_another_uuid(self) -> None:
        """leave().uuid(...) sends that uuid as the ``uuid`` parameter."""
        uri = self.uri(self.pubnub.leave().channels("c").uuid("bob"))
        self.assertEqual(uri, f"{BASE}/c/leave?pnsdk={PNSDK_Q}&uuid=bob")

    def test_set_state_for_another_uuid(self) -> None:
        """set_state(uuid=...) names that uuid in the path and the query."""
        uri = self.uri(self.pubnub.set_state(channels="c", state={"a": 1}, uuid="bob"))
        self.assertEqual(uri, f"{BASE}/c/uuid/bob/data?state={A1}&pnsdk={PNSDK_Q}&uuid=bob")

    def test_default_is_own_uuid(self) -> None:
        """Without ``uuid`` the request is made as the client's own uuid."""
        uri = self.uri(self.pubnub.leave(channels="c"))
        self.assertEqual(uri, f"{BASE}/c/leave?pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_status_names_the_acting_uuid(self) -> None:
        """The status of a call made for another uuid reports that uuid."""
        envelope = self.send(self.pubnub.leave(channels="c", uuid="bob"))
        self.assertEqual(envelope.status.uuid, "bob")

    def test_bad_uuid_refused(self) -> None:
        """An empty, non-string or too long uuid is refused before anything is sent."""
        bad: list[Any] = ["", 7, "x" * 93]
        for uuid in bad:
            self.refused(self.pubnub.heartbeat().channels("c").uuid(uuid), "uuid")
            self.refused(self.pubnub.leave().channels("c").uuid(uuid), "uuid")
            self.refused(self.pubnub.set_state().channels("c").state({}).uuid(uuid), "uuid")


class ActingUUIDServerTests(EndpointCase):
    """One client keeps several users present on the embedded server."""

    def test_two_users_from_one_client(self) -> None:
        """Heartbeats for two uuids make both present, with state; a leave removes one."""
        presence = InMemoryPresence()
        client = presence.client("server")
        for uuid in ("alice", "bob"):
            envelope = presence.call(client.heartbeat(channels="lobby", uuid=uuid))
            self.assertFalse(envelope.status.is_error())
        presence.call(client.set_state(channels="lobby", state={"mood": "ok"}, uuid="bob"))
        here = presence.call(client.here_now(channels="lobby", include_state=True)).result
        assert here is not None
        occupants = {o.uuid: o.state for o in here.channels[0].occupants}
        self.assertEqual(occupants, {"alice": None, "bob": {"mood": "ok"}})
        presence.call(client.leave(channels="lobby", uuid="alice"))
        here = presence.call(client.here_now(channels="lobby")).result
        assert here is not None
        self.assertEqual([o.uuid for o in here.channels[0].occupants], ["bob"])
