"""Channel-group calls: request building and response parsing, in memory."""

from __future__ import annotations

import json
from typing import Any

from pubnub_twisted import (
    PNChannelGroupsAddChannelResult,
    PNChannelGroupsListResult,
    PNChannelGroupsRemoveChannelResult,
    PNChannelGroupsRemoveGroupResult,
    PNOperationType,
)
from tests.helpers import HOSTILE, HOSTILE_Q, SUB_KEY, TAIL, EndpointCase

BASE = f"/v1/channel-registration/sub-key/{SUB_KEY}/channel-group"
ACK = {"status": 200, "message": "OK", "service": "channel-registry", "error": False}
LIST_ANSWER = {
    "status": 200,
    "payload": {"channels": ["ch1", "a,b"], "group": "g1"},
    "service": "channel-registry",
    "error": False,
}
HOSTILE_GROUP = "g;1/ &#%ü😀"
HOSTILE_GROUP_Q = "g%3B1%2F%20%26%23%25%C3%BC%F0%9F%98%80"


class ChannelGroupRequestTests(EndpointCase):
    """The exact requests the channel-group calls send."""

    body = ACK

    def test_add(self) -> None:
        """Add: the group in the path, ``add`` with the channels, then pnsdk and uuid."""
        uri = self.uri(
            self.pubnub.add_channel_to_channel_group().channels("ch1", "ch2").channel_group("g1")
        )
        self.assertEqual(uri, f"{BASE}/g1?add=ch1,ch2&{TAIL}")

    def test_remove(self) -> None:
        """Remove channels: the same path, ``remove`` with the channels."""
        builder = self.pubnub.remove_channel_from_channel_group(
            channels=["ch1"], channel_group="g1"
        )
        self.assertEqual(self.uri(builder), f"{BASE}/g1?remove=ch1&{TAIL}")

    def test_list(self) -> None:
        """List: the group path and no parameter of its own."""
        uri = self.uri(self.pubnub.list_channels_in_channel_group(channel_group="g1"))
        self.assertEqual(uri, f"{BASE}/g1?{TAIL}")

    def test_delete(self) -> None:
        """Delete a group: the group path followed by ``/remove``."""
        uri = self.uri(self.pubnub.remove_channel_group().channel_group("g1"))
        self.assertEqual(uri, f"{BASE}/g1/remove?{TAIL}")

    def test_hostile_names(self) -> None:
        """The group is one name, encoded whole; hostile channels are encoded one by one."""
        builder = self.pubnub.add_channel_to_channel_group(
            channels=HOSTILE, channel_group=HOSTILE_GROUP
        )
        self.assertEqual(self.uri(builder), f"{BASE}/{HOSTILE_GROUP_Q}?add={HOSTILE_Q}&{TAIL}")
        uri = self.uri(self.pubnub.remove_channel_group(channel_group=HOSTILE_GROUP))
        self.assertEqual(uri, f"{BASE}/{HOSTILE_GROUP_Q}/remove?{TAIL}")


class ChannelGroupResultTests(EndpointCase):
    """Answers become typed results with the right operation in the status."""

    body = ACK

    def test_acknowledgements(self) -> None:
        """Add, remove and delete answers give their results and operations."""
        cases: list[tuple[Any, Any, PNOperationType]] = [
            (
                self.pubnub.add_channel_to_channel_group(channels="a,b", channel_group="g"),
                PNChannelGroupsAddChannelResult(),
                PNOperationType.PNAddChannelsToGroupOperation,
            ),
            (
                self.pubnub.remove_channel_from_channel_group(channels="a,b", channel_group="g"),
                PNChannelGroupsRemoveChannelResult(),
                PNOperationType.PNRemoveChannelsFromGroupOperation,
            ),
            (
                self.pubnub.remove_channel_group(channel_group="g"),
                PNChannelGroupsRemoveGroupResult(),
                PNOperationType.PNRemoveGroupOperation,
            ),
        ]
        for builder, result, operation in cases:
            status = self.acknowledged(builder, result, operation)
            self.assertEqual(status.affected_groups, ["g"])

    def test_affected_channels(self) -> None:
        """Adding reports the channels and the group in the status."""
        builder = self.pubnub.add_channel_to_channel_group(channels="a,b", channel_group="g")
        status = self.send(builder).status
        self.assertEqual((status.affected_channels, status.affected_groups), (["a", "b"], ["g"]))

    def test_list(self) -> None:
        """The list answer's channels become ``PNChannelGroupsListResult.channels``."""
        self.resource.body = json.dumps(LIST_ANSWER).encode()
        self.acknowledged(
            self.pubnub.list_channels_in_channel_group(channel_group="g1"),
            PNChannelGroupsListResult(["ch1", "a,b"]),
            PNOperationType.PNChannelsForGroupOperation,
        )

    def test_list_malformed(self) -> None:
        """A list answer without a list of channel names is PNMalformedResponseCategory."""
        builder = self.pubnub.list_channels_in_channel_group(channel_group="g1")
        cases = [
            (b"{}", "missing key 'payload'"),
            (b'{"payload": {"group": "g1"}}', "missing key 'channels'"),
            (b'{"payload": {"channels": {"a": 1}}}', "key 'channels' has the wrong type"),
            (b'{"payload": {"channels": [null]}}', "key 'channels' holds None, not a string"),
            (b"<html>", "JSON decoding failed"),
        ]
        for body, message in cases:
            self.malformed(builder, body, message)

    def test_ack_malformed(self) -> None:
        """An add answer that is not a JSON object is PNMalformedResponseCategory."""
        builder = self.pubnub.add_channel_to_channel_group(channels="a", channel_group="g")
        self.malformed(builder, b"[]", "expected a JSON object, got list")


class ChannelGroupValidationTests(EndpointCase):
    """Bad input is refused with a message naming it, and nothing is sent."""

    body = ACK

    def test_group_missing(self) -> None:
        """No group, an empty one or a non-string: ``Channel group missing``."""
        bad: list[Any] = [None, "", ["g1"], 3]
        for group in bad:
            for builder in (
                self.pubnub.list_channels_in_channel_group().channel_group(group),
                self.pubnub.remove_channel_group().channel_group(group),
                self.pubnub.add_channel_to_channel_group(channels="a").channel_group(group),
            ):
                self.refused(builder, "Channel group missing: channel_group must be one")
        self.refused(self.pubnub.remove_channel_group(), "Channel group missing")

    def test_channels_missing(self) -> None:
        """Adding or removing no channels is refused, naming the channels."""
        self.refused(
            self.pubnub.add_channel_to_channel_group(channel_group="g"),
            "Channel or group missing: no channels to add given",
        )
        self.refused(
            self.pubnub.remove_channel_from_channel_group(channels=[], channel_group="g"),
            "Channel or group missing: no channels to remove given",
        )

    def test_bad_channel_names(self) -> None:
        """Channel names that are not strings are refused."""
        builder = self.pubnub.add_channel_to_channel_group(channel_group="g")
        self.refused(builder.channels([None]), "Invalid argument")  # type: ignore[list-item]
