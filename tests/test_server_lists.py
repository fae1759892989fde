"""Lists on the wire: the server decodes, then splits on commas, as PubNub's service does.

PubNub's JavaScript SDK percent-encodes the commas between names
(``add=ch-a%2Cch-b``, ``channel-group=g%2Cg-pnpres``), other SDKs send them
literally; both separate names, in every list-valued place: channels in a
path, ``channel-group``, ``add`` and ``remove``.  Requests are written by
hand, so nothing re-encodes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tests.test_server_harness import BASE, OK, REGISTRY, SUB
from tests.test_server_subscribe import SUBSCRIBE, SubscribeCase, presence

#: A literal comma, and an encoded one in both cases of hex.
SEPARATORS = (",", "%2C", "%2c")


class ListCase(SubscribeCase):
    """A fresh server (with subscribe) for each separator."""

    def separators(self) -> Iterator[str]:
        """Each separator in turn, with a new, empty server for it."""
        for separator in SEPARATORS:
            self.serve()
            yield separator

    def group(self, group: str, *channels: str) -> None:
        """Register ``channels`` in ``group`` (one request per channel: no list involved)."""
        for channel in channels:
            self.get(f"{REGISTRY}/{group}?add={channel}&uuid=admin")

    def where(self, uuid: str) -> list[str]:
        """Where ``uuid`` is present, from the store."""
        return sorted(self.store.where_now(SUB, uuid))


class RegistryListTests(ListCase):
    """``add`` and ``remove`` of the channel registry."""

    def test_add(self) -> None:
        """``add=ch-a%2Cch-b`` adds two channels, as ``add=ch-a,ch-b`` does."""
        for sep in self.separators():
            self.get(f"{REGISTRY}/g?add=ch-a{sep}ch-b{sep}{sep}ch-c&uuid=admin")
            listed = self.get(f"{REGISTRY}/g?uuid=admin")["payload"]
            self.assertEqual(listed, {"channels": ["ch-a", "ch-b", "ch-c"], "group": "g"}, sep)

    def test_remove(self) -> None:
        """``remove=ch-a%2Cch-c`` removes two channels, as ``remove=ch-a,ch-c`` does."""
        for sep in self.separators():
            self.group("g", "ch-a", "ch-b", "ch-c")
            self.get(f"{REGISTRY}/g?remove=ch-a{sep}ch-c&uuid=admin")
            listed = self.get(f"{REGISTRY}/g?uuid=admin")["payload"]
            self.assertEqual(listed, {"channels": ["ch-b"], "group": "g"}, sep)


class PresenceListTests(ListCase):
    """Channels in a presence path and the ``channel-group`` parameter."""

    def test_heartbeat(self) -> None:
        """A heartbeat on ``a%2Cb`` with ``channel-group=g1%2Cg2`` joins a, b and both groups'."""
        for sep in self.separators():
            self.group("g1", "c")
            self.group("g2", "d")
            self.heartbeat(f"a{sep}b", "u", f"channel-group=g1{sep}g2")
            self.assertEqual(self.where("u"), ["a", "b", "c", "d"], sep)

    def test_leave(self) -> None:
        """A leave on ``a%2Cb`` with ``channel-group=g1%2Cg2`` leaves a, b and both groups'."""
        for sep in self.separators():
            self.group("g1", "c")
            self.group("g2", "d")
            self.heartbeat("a,b,c,d,e", "u")
            self.get(f"{BASE}/channel/a{sep}b/leave?uuid=u&channel-group=g1{sep}g2")
            self.assertEqual(self.where("u"), ["e"], sep)

    def test_here_now(self) -> None:
        """here_now on ``a%2Cb`` is two channels (wrapped); ``channel-group=g1%2Cg2`` two groups."""
        for sep in self.separators():
            self.group("g1", "c")
            self.group("g2", "d")
            self.heartbeat("a,b,c,d", "u")
            one = {"occupancy": 1, "uuids": ["u"]}
            channels = self.get(f"{BASE}/channel/a{sep}b?uuid=me")["payload"]
            self.assertEqual(channels["channels"], {"a": one, "b": one}, sep)
            groups = self.get(f"{BASE}/channel/,?channel-group=g1{sep}g2&uuid=me")["payload"]
            self.assertEqual(groups["channels"], {"c": one, "d": one}, sep)

    def test_set_and_get_state(self) -> None:
        """set_state and get_state on ``a%2Cb`` with ``channel-group=g%2Ch`` cover every channel."""
        for sep in self.separators():
            self.group("g", "c")
            self.group("h", "d")
            names = f"a{sep}b/uuid/u"
            query = f"channel-group=g{sep}h&uuid=u"
            self.get(f"{BASE}/channel/{names}/data?state=%7B%22k%22%3A1%7D&{query}")
            got: dict[str, Any] = self.get(f"{BASE}/channel/{names}?{query}")
            expected = {channel: {"k": 1} for channel in "abcd"}
            self.assertEqual(got, {**OK, "uuid": "u", "payload": {"channels": expected}}, sep)


class SubscribeListTests(ListCase):
    """Channels in a subscribe path and its ``channel-group`` parameter."""

    def test_channels_in_path(self) -> None:
        """A subscribe to ``a%2Cb`` makes its uuid present on a and b."""
        for sep in self.separators():
            self.handshake(f"a{sep}b", "u")
            self.assertEqual(self.where("u"), ["a", "b"], sep)

    def test_group_with_presence(self) -> None:
        """``channel-group=g%2Cg-pnpres`` (as PubNub's JS SDK sends it) is g and its presence."""
        for sep in self.separators():
            self.group("g", "ch-a")
            cursor = self.handshake(",", "u", f"channel-group=g{sep}g-pnpres")
            self.assertEqual(self.where("u"), ["ch-a"], sep)
            self.heartbeat("ch-a", "other")
            body = self.subscribe(",", "u", f"channel-group=g{sep}g-pnpres&tt={cursor}")
            joins = [
                presence("ch-a", "join", "u", 1, cursor + 1, b="g-pnpres"),
                presence("ch-a", "join", "other", 2, cursor + 2, b="g-pnpres"),
            ]
            self.assertEqual(body["m"], joins, sep)

    def test_key_is_not_a_list(self) -> None:
        """``%2C`` in the subscribe key segment is no separator: a key is one name."""
        reply = self.result(self.send(f"{SUBSCRIBE}%2Cx/ch/0?uuid=u&tt=0"))
        self.assertEqual(reply.code, 200, reply.body)
        self.assertEqual(self.store.where_now(f"{SUB},x", "u"), ["ch"])
