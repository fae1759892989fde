"""The presence server over plain HTTP: every call and its exact response shape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pubnub_twisted.protocol import encode, encode_names
from pubnub_twisted.server import PresenceEvent
from tests.test_server_harness import BASE, OK, PNSDK, REGISTRY, SUB, ServerCase

HOSTILE_CHANNELS = ["a;b", "x/y", "q&r=s", "h#sh", "100%", "p+q", "sp ace", "über", "😀", "~t"]
HOSTILE_UUID = "u,/&#% +😀"
HOSTILE_GROUP = "g;/&#% 😀"
#: Any name PubNub can carry: non-empty text (no lone surrogates: not UTF-8), no comma (the
#: list separator), not a ``-pnpres`` presence name.
NAMES = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda name: not name.endswith("-pnpres") and "," not in name
)
REGISTRY_OK = {"status": 200, "message": "OK", "service": "channel-registry", "error": False}


def wrapped(channels: dict[str, Any], total_channels: int, total_occupancy: int) -> dict[str, Any]:
    """A wrapped here_now body."""
    payload = {
        "channels": channels,
        "total_channels": total_channels,
        "total_occupancy": total_occupancy,
    }
    return {**OK, "payload": payload}


class ProtocolExampleTests(ServerCase):
    """The example URLs of research/protocol.md section 1.4, sent verbatim."""

    def test_examples_in_order(self) -> None:
        """Each example URL gets the documented response shape."""
        self.get(f"{REGISTRY}/gr1?add=ch2&{PNSDK}&uuid=me")
        self.heartbeat("ch1,ch2", "other-user", "state=%7B%22ch2%22%3A%7B%22b%22%3A2%7D%7D")
        hb = (
            f"{BASE}/channel/ch1/heartbeat?heartbeat=300"
            f"&state=%7B%22ch1%22%3A%20%7B%22a%22%3A%201%7D%7D&{PNSDK}&uuid=me"
        )
        self.assertEqual(self.get(hb), OK)
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?limit=1000&{PNSDK}&uuid=me"),
            {**OK, "uuids": ["other-user", "me"], "occupancy": 2},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch2?state=1&{PNSDK}&uuid=me"),
            wrapped(
                {
                    "ch1": {
                        "occupancy": 2,
                        "uuids": [{"uuid": "other-user"}, {"uuid": "me", "state": {"a": 1}}],
                    },
                    "ch2": {"occupancy": 1, "uuids": [{"uuid": "other-user", "state": {"b": 2}}]},
                },
                2,
                3,
            ),
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/,?channel-group=gr1&{PNSDK}&uuid=me"),
            wrapped({"ch2": {"occupancy": 1, "uuids": ["other-user"]}}, 1, 1),
        )
        self.assertEqual(
            self.get(f"{BASE}?disable_uuids=1&{PNSDK}&uuid=me"),
            wrapped({"ch1": {"occupancy": 2}, "ch2": {"occupancy": 1}}, 2, 3),
        )
        self.assertEqual(
            self.get(f"{BASE}/uuid/other-user?{PNSDK}&uuid=me"),
            {**OK, "payload": {"channels": ["ch1", "ch2"]}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1/uuid/me/data?state=%7B%22a%22%3A%201%7D&{PNSDK}&uuid=me"),
            {**OK, "payload": {"a": 1}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch2/uuid/me?{PNSDK}&uuid=me"),
            {**OK, "uuid": "me", "payload": {"channels": {"ch1": {"a": 1}, "ch2": {}}}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/,/leave?channel-group=gr1&{PNSDK}&uuid=other-user"),
            {"status": 200, "message": "OK", "action": "leave", "service": "Presence"},
        )
        self.assertEqual(
            self.get(f"{BASE}/uuid/other-user?{PNSDK}&uuid=me")["payload"], {"channels": ["ch1"]}
        )

    def test_recorded_twisted_set_state(self) -> None:
        """The recorded set_state exchange of PubNub's Twisted SDK gets the recorded answer."""
        body = self.get(
            f"/v2/presence/sub-key/{SUB}/channel/twisted-test-0,twisted-test-1/uuid/someuuid/data"
            "?state=%7B%22whatever%22%3A%20%22something%22%7D"
            "&pnsdk=PubNub-Python-Twisted%2F4.0.4&uuid=someuuid"
        )
        self.assertEqual(
            body,
            {
                "status": 200,
                "message": "OK",
                "payload": {"whatever": "something"},
                "service": "Presence",
            },
        )

    def test_sub_key_with_underscore(self) -> None:
        """``sub_key`` in the path (as PubNub's Go, C# and Swift SDKs send it) is accepted."""
        self.get(f"/v2/presence/sub_key/{SUB}/channel/ch/heartbeat?heartbeat=10&uuid=a")
        self.get(f"/v1/channel-registration/sub_key/{SUB}/channel-group/g?add=ch&uuid=a")
        self.assertEqual(
            self.get(f"/v2/presence/sub_key/{SUB}/channel/ch?disable_uuids=1&state=0&uuid=me"),
            {**OK, "occupancy": 1},
        )
        self.assertEqual(self.get(f"{REGISTRY}/g?uuid=me")["payload"]["channels"], ["ch"])
        self.assertEqual(
            self.get(f"/v2/presence/sub_key/{SUB}/channel/ch/leave?uuid=a")["action"], "leave"
        )

    def test_ignored_parameters(self) -> None:
        """pnsdk, ee, requestid, instanceid, l_* and on-demand are accepted and ignored."""
        self.heartbeat(
            "ch", "a", "ee=1&requestid=r-1&instanceid=i-1&l_pres=0.12&on-demand=1&callback=x"
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch?uuid=a&l_pres=0.1&ee"),
            {**OK, "uuids": ["a"], "occupancy": 1},
        )


class HereNowTests(ServerCase):
    """here_now's flat and wrapped shapes, flags and paging."""

    def setUp(self) -> None:
        super().setUp()
        self.heartbeat("ch1", "u1", "state=%7B%22ch1%22%3A%7B%22age%22%3A15%7D%7D")
        self.heartbeat("ch1,ch2", "u2")

    def test_flat(self) -> None:
        """One channel, no group: the flat shape."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?uuid=me"), {**OK, "uuids": ["u1", "u2"], "occupancy": 2}
        )

    def test_flat_with_state(self) -> None:
        """``state=1``: occupants as objects, ``state`` only where there is some."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?state=1&uuid=me"),
            {**OK, "uuids": [{"uuid": "u1", "state": {"age": 15}}, {"uuid": "u2"}], "occupancy": 2},
        )

    def test_flat_occupancy_only(self) -> None:
        """``disable_uuids=1``: no ``uuids`` key, even with ``state=1``."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?disable_uuids=1&state=1&uuid=me"), {**OK, "occupancy": 2}
        )

    def test_flat_empty(self) -> None:
        """An empty channel: occupancy 0 and an empty list (no list when uuids are disabled)."""
        self.assertEqual(
            self.get(f"{BASE}/channel/nobody?uuid=me"), {**OK, "uuids": [], "occupancy": 0}
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/nobody?disable_uuids=1&uuid=me"), {**OK, "occupancy": 0}
        )

    def test_wrapped_leaves_out_empty_and_duplicates(self) -> None:
        """Several channels: empty ones left out, a duplicated one listed once."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch2,empty,ch2?uuid=me"),
            wrapped({"ch2": {"occupancy": 1, "uuids": ["u2"]}}, 1, 1),
        )
        self.assertEqual(self.get(f"{BASE}/channel/empty,void?uuid=me"), wrapped({}, 0, 0))

    def test_wrapped_occupancy_only(self) -> None:
        """Wrapped with ``disable_uuids=1``: entries hold only ``occupancy``."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch2?disable_uuids=1&uuid=me"),
            wrapped({"ch1": {"occupancy": 2}, "ch2": {"occupancy": 1}}, 2, 3),
        )

    def test_channel_and_group_is_wrapped(self) -> None:
        """One channel plus a group is the wrapped shape, over both."""
        self.get(f"{REGISTRY}/g?add=ch2&uuid=me")
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?channel-group=g&uuid=me"),
            wrapped(
                {
                    "ch1": {"occupancy": 2, "uuids": ["u1", "u2"]},
                    "ch2": {"occupancy": 1, "uuids": ["u2"]},
                },
                2,
                3,
            ),
        )

    def test_unknown_group_is_empty(self) -> None:
        """A group with no channels contributes nothing."""
        self.assertEqual(
            self.get(f"{BASE}/channel/,?channel-group=nope&uuid=me"), wrapped({}, 0, 0)
        )

    def test_global(self) -> None:
        """No channel at all: every occupied channel of the key, wrapped."""
        self.assertEqual(
            self.get(f"{BASE}?state=1&uuid=me"),
            wrapped(
                {
                    "ch1": {
                        "occupancy": 2,
                        "uuids": [{"uuid": "u1", "state": {"age": 15}}, {"uuid": "u2"}],
                    },
                    "ch2": {"occupancy": 1, "uuids": [{"uuid": "u2"}]},
                },
                2,
                3,
            ),
        )
        self.assertEqual(self.get("/v2/presence/sub-key/empty-key?uuid=me"), wrapped({}, 0, 0))

    def test_paging_is_stable(self) -> None:
        """limit and offset page occupants in join order; occupancy stays the total."""
        for i in range(3, 8):
            self.heartbeat("ch1", f"u{i}")
        self.heartbeat("ch1", "u1")  # a refresh does not reorder
        pages = [
            self.get(f"{BASE}/channel/ch1?limit=3&offset={offset}&uuid=me")
            for offset in (0, 3, 6, 9)
        ]
        self.assertEqual(
            [page["uuids"] for page in pages], [["u1", "u2", "u3"], ["u4", "u5", "u6"], ["u7"], []]
        )
        self.assertEqual({page["occupancy"] for page in pages}, {7})
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch2?limit=1&offset=1&uuid=me"),
            wrapped(
                {"ch1": {"occupancy": 7, "uuids": ["u2"]}, "ch2": {"occupancy": 1, "uuids": []}},
                2,
                8,
            ),
        )

    def test_limit_without_value_is_everyone(self) -> None:
        """``limit`` without a value, or ``-1``, lists every occupant; ``0`` lists none."""
        self.assertEqual(self.get(f"{BASE}/channel/ch1?limit&uuid=me")["uuids"], ["u1", "u2"])
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?limit=&offset=&uuid=me")["uuids"], ["u1", "u2"]
        )
        self.assertEqual(self.get(f"{BASE}/channel/ch1?limit=-1&uuid=me")["uuids"], ["u1", "u2"])
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1?limit=0&uuid=me"), {**OK, "uuids": [], "occupancy": 2}
        )

    def test_limit_capped_at_1000(self) -> None:
        """A limit over 1000 gives 1000; no limit gives everyone."""
        for i in range(1001):
            self.store.heartbeat(SUB, f"m{i}", ["big"], 60)
        self.assertEqual(len(self.get(f"{BASE}/channel/big?limit=5000&uuid=me")["uuids"]), 1000)
        self.assertEqual(len(self.get(f"{BASE}/channel/big?uuid=me")["uuids"]), 1001)


class WhereNowAndStateTests(ServerCase):
    """where_now, set_state and get_state."""

    def test_where_now(self) -> None:
        """where_now lists the target's channels; nowhere gives an empty list."""
        self.heartbeat("b,a", "u1")
        self.assertEqual(
            self.get(f"{BASE}/uuid/u1?uuid=me"), {**OK, "payload": {"channels": ["b", "a"]}}
        )
        self.assertEqual(self.get(f"{BASE}/uuid/u2?uuid=me"), {**OK, "payload": {"channels": []}})

    def test_set_and_get_state(self) -> None:
        """set_state echoes; get_state gives the flat shape for one channel, wrapped otherwise."""
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch2/uuid/u1/data?state=%7B%22age%22%3A20%7D&uuid=u1"),
            {**OK, "payload": {"age": 20}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1/uuid/u1?uuid=me"),
            {**OK, "uuid": "u1", "channel": "ch1", "payload": {"age": 20}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch1,ch3/uuid/u1?uuid=me"),
            {**OK, "uuid": "u1", "payload": {"channels": {"ch1": {"age": 20}, "ch3": {}}}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/nowhere/uuid/u1?uuid=me"),
            {**OK, "uuid": "u1", "channel": "nowhere", "payload": {}},
        )
        self.assertEqual(self.events, [])  # u1 is not present: stored silently

    def test_state_through_groups(self) -> None:
        """set_state and get_state with a group act on every channel of the group."""
        self.get(f"{REGISTRY}/g?add=a,b&uuid=me")
        self.heartbeat("a", "u1")
        self.get(f"{BASE}/channel/,/uuid/u1/data?channel-group=g&state=%7B%22k%22%3A1%7D&uuid=u1")
        self.assertEqual(
            self.get(f"{BASE}/channel/,/uuid/u1?channel-group=g&uuid=me"),
            {**OK, "uuid": "u1", "payload": {"channels": {"a": {"k": 1}, "b": {"k": 1}}}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/a/uuid/u1?channel-group=g&uuid=me")["payload"],
            {"channels": {"a": {"k": 1}, "b": {"k": 1}}},
        )
        self.assertEqual([e.action for e in self.events], ["join", "state-change"])

    def test_state_change_over_http(self) -> None:
        """set_state for a present uuid emits state-change; the same state again emits nothing."""
        self.heartbeat("ch", "u1")
        now = int(self.clock.seconds())
        for _ in range(2):
            self.get(f"{BASE}/channel/ch/uuid/u1/data?state=%7B%22n%22%3A1%7D&uuid=u1")
        self.assertEqual(
            self.events[1:],
            [PresenceEvent(SUB, "ch", "state-change", "u1", 1, now, {"n": 1}, now * 1000)],
        )


class HeartbeatAndLeaveTests(ServerCase):
    """heartbeat and leave: presence, timeouts and state over HTTP."""

    def test_timeout_over_http(self) -> None:
        """A uuid stays until its heartbeat timeout passes; a heartbeat extends it."""
        self.heartbeat("ch", "u1", "heartbeat=5")
        self.clock.advance(4)
        self.heartbeat("ch", "u1", "heartbeat=5")
        self.clock.advance(4.5)
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["occupancy"], 1)
        self.clock.advance(0.5)
        self.assertEqual(
            self.get(f"{BASE}/channel/ch?uuid=me"), {**OK, "uuids": [], "occupancy": 0}
        )
        self.assertEqual(
            [(e.action, e.occupancy) for e in self.events], [("join", 1), ("timeout", 0)]
        )

    def test_one_second_heartbeat(self) -> None:
        """A 1-second heartbeat is accepted (short timeouts make tests fast)."""
        self.heartbeat("ch", "u1", "heartbeat=1")
        self.clock.advance(1)
        self.assertEqual(self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": []})

    def test_default_heartbeat(self) -> None:
        """Without ``heartbeat`` the timeout is 300 seconds."""
        self.heartbeat("ch", "u1")
        self.clock.advance(299)
        self.assertEqual(self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": ["ch"]})
        self.clock.advance(1)
        self.assertEqual(self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": []})

    def test_heartbeat_state_keyed_by_channel(self) -> None:
        """Heartbeat state is keyed by channel; channels not named keep no state."""
        self.heartbeat("a,b", "u1", "state=%7B%22a%22%3A%7B%22x%22%3A1%7D%2C%22zzz%22%3A%7B%7D%7D")
        self.assertEqual(
            self.get(f"{BASE}/channel/a,b/uuid/u1?uuid=me")["payload"],
            {"channels": {"a": {"x": 1}, "b": {}}},
        )
        self.assertEqual(self.events[0].state, {"x": 1})

    def test_heartbeat_and_leave_with_groups(self) -> None:
        """heartbeat and leave with groups act on every channel of each group."""
        self.get(f"{REGISTRY}/g1?add=a,b&uuid=me")
        self.get(f"{REGISTRY}/g2?add=b,c&uuid=me")
        self.heartbeat(",", "u1", "channel-group=g1,g2&state=%7B%22g1%22%3A%7B%22k%22%3A1%7D%7D")
        self.assertEqual(
            self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": ["a", "b", "c"]}
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/,/uuid/u1?channel-group=g1,g2&uuid=me")["payload"],
            {"channels": {"a": {"k": 1}, "b": {"k": 1}, "c": {}}},
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/c/leave?channel-group=g1&uuid=u1"),
            {"status": 200, "message": "OK", "action": "leave", "service": "Presence"},
        )
        self.assertEqual(self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": []})
        self.assertEqual([e.action for e in self.events], ["join"] * 3 + ["leave"] * 3)

    def test_leave_drops_state(self) -> None:
        """After a leave, the uuid's state on that channel is gone."""
        self.heartbeat("ch", "u1", "state=%7B%22ch%22%3A%7B%22n%22%3A1%7D%7D")
        self.get(f"{BASE}/channel/ch/leave?uuid=u1")
        self.assertEqual(self.get(f"{BASE}/channel/ch/uuid/u1?uuid=me")["payload"], {})
        self.assertEqual(self.get(f"{BASE}/channel/ch/leave?uuid=u1")["action"], "leave")

    def test_pnpres_names_not_tracked(self) -> None:
        """A heartbeat naming ``ch-pnpres`` does not make anyone present on it."""
        self.heartbeat("ch,ch-pnpres", "u1")
        self.assertEqual(self.get(f"{BASE}/uuid/u1?uuid=me")["payload"], {"channels": ["ch"]})


class ChannelGroupTests(ServerCase):
    """The channel-registration calls."""

    def test_add_list_remove_delete(self) -> None:
        """add dedupes and keeps order; remove and delete answer the registry shape."""
        self.assertEqual(self.get(f"{REGISTRY}/g1?add=b,a&uuid=me"), REGISTRY_OK)
        self.assertEqual(self.get(f"{REGISTRY}/g1?add=a,c&uuid=me"), REGISTRY_OK)
        self.assertEqual(
            self.get(f"{REGISTRY}/g1?uuid=me"),
            {
                "status": 200,
                "payload": {"channels": ["b", "a", "c"], "group": "g1"},
                "service": "channel-registry",
                "error": False,
            },
        )
        self.assertEqual(self.get(f"{REGISTRY}/g1?remove=a&uuid=me"), REGISTRY_OK)
        self.assertEqual(self.get(f"{REGISTRY}/g1?uuid=me")["payload"]["channels"], ["b", "c"])
        self.assertEqual(self.get(f"{REGISTRY}/g1/remove?uuid=me"), REGISTRY_OK)
        self.assertEqual(
            self.get(f"{REGISTRY}/g1?uuid=me")["payload"], {"channels": [], "group": "g1"}
        )

    def test_unknown_group_lists_empty(self) -> None:
        """Listing a group that does not exist gives no channels."""
        self.assertEqual(
            self.get(f"{REGISTRY}/nope?uuid=me")["payload"], {"channels": [], "group": "nope"}
        )


class HostileNameTests(ServerCase):
    """Names with slashes, &, #, %, +, spaces and emoji (uuids with commas) survive."""

    def test_round_trip(self) -> None:
        """Encoded as PROTOCOL.md says, every name comes back exactly."""
        chs, uuid, group = (
            encode_names(HOSTILE_CHANNELS),
            encode(HOSTILE_UUID),
            encode(HOSTILE_GROUP),
        )
        self.get(f"{REGISTRY}/{group}?add={chs}&uuid={uuid}")
        self.assertEqual(
            self.get(f"{REGISTRY}/{group}?uuid={uuid}")["payload"]["channels"], HOSTILE_CHANNELS
        )
        state = encode('{"' + HOSTILE_CHANNELS[0] + '": {"name": "😀 & co"}}')
        self.heartbeat(",", uuid, f"channel-group={group}&state={state}")
        self.assertEqual(
            self.get(f"{BASE}/uuid/{uuid}?uuid={uuid}")["payload"]["channels"], HOSTILE_CHANNELS
        )
        body = self.get(f"{BASE}/channel/{chs}?state=1&uuid={uuid}")
        self.assertEqual(list(body["payload"]["channels"]), HOSTILE_CHANNELS)
        self.assertEqual(
            body["payload"]["channels"]["a;b"]["uuids"],
            [{"uuid": HOSTILE_UUID, "state": {"name": "😀 & co"}}],
        )
        flat = self.get(f"{BASE}/channel/{encode('a;b')}?uuid={uuid}")
        self.assertEqual(flat, {**OK, "uuids": [HOSTILE_UUID], "occupancy": 1})
        single = self.get(f"{BASE}/channel/{encode('a;b')}/uuid/{uuid}?uuid=me")
        self.assertEqual((single["channel"], single["uuid"]), ("a;b", HOSTILE_UUID))
        self.get(f"{BASE}/channel/{chs}/leave?uuid={uuid}")
        self.assertEqual(self.get(f"{BASE}/uuid/{uuid}?uuid=me")["payload"]["channels"], [])

    @settings(max_examples=30, deadline=None)
    @given(
        names=st.lists(NAMES, min_size=1, max_size=4, unique=True),
        uuid=NAMES,
        state=st.dictionaries(NAMES, st.text() | st.integers() | st.booleans(), max_size=3),
    )
    def test_any_names_round_trip(self, names: list[str], uuid: str, state: dict[str, Any]) -> None:
        """Any non-empty names and any state come back exactly (property test)."""
        self.serve(here_now_cache=0)
        keyed = encode(json.dumps({names[0]: state}))
        self.heartbeat(encode_names(names), encode(uuid), f"state={keyed}")
        self.assertEqual(
            self.get(f"{BASE}/uuid/{encode(uuid)}?uuid=me")["payload"]["channels"], names
        )
        body = self.get(f"{BASE}/channel/{encode(names[0])}/uuid/{encode(uuid)}?uuid=me")
        self.assertEqual((body["channel"], body["uuid"], body["payload"]), (names[0], uuid, state))

    def test_plus_in_query_is_a_space(self) -> None:
        """In a query ``+`` is a space and ``%2B`` a plus; in a path ``+`` is a plus."""
        self.heartbeat("ch", "a%2Bb")
        self.heartbeat("ch", "c+d")
        self.heartbeat("x+y", "e")
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["uuids"], ["a+b", "c d"])
        self.assertEqual(self.get(f"{BASE}/uuid/e?uuid=me")["payload"]["channels"], ["x+y"])


class IsolationTests(ServerCase):
    """Subscribe keys over HTTP."""

    def test_two_keys(self) -> None:
        """Presence, state and groups on one subscribe key are not seen on another."""
        other = "/v2/presence/sub-key/sub-c-Y"
        self.heartbeat("ch", "u1", "state=%7B%22ch%22%3A%7B%22n%22%3A1%7D%7D")
        self.get(f"{REGISTRY}/g?add=ch&uuid=me")
        self.assertEqual(
            self.get(f"{other}/channel/ch?uuid=me"), {**OK, "uuids": [], "occupancy": 0}
        )
        self.assertEqual(self.get(f"{other}/uuid/u1?uuid=me")["payload"], {"channels": []})
        self.assertEqual(self.get(f"{other}/channel/ch/uuid/u1?uuid=me")["payload"], {})
        self.assertEqual(
            self.get("/v1/channel-registration/sub-key/sub-c-Y/channel-group/g?uuid=me")["payload"][
                "channels"
            ],
            [],
        )
        self.get(f"{other}/channel/ch/leave?uuid=u1")
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["occupancy"], 1)


class HeaderTests(ServerCase):
    """Response headers, as PubNub's service sends them."""

    def test_headers_on_success_and_error(self) -> None:
        """text/javascript with a quoted UTF-8 charset, no-cache and open CORS, always."""
        for target in (
            f"{BASE}/channel/ch?uuid=me",
            f"{BASE}/nope?uuid=me",
            f"{BASE}/channel/ch?uuid=",
        ):
            reply = self.request(target)
            self.assertEqual(reply.header("Content-Type"), ['text/javascript; charset="UTF-8"'])
            self.assertEqual(reply.header("Cache-Control"), ["no-cache"])
            self.assertEqual(reply.header("Access-Control-Allow-Origin"), ["*"])


class CacheTests(ServerCase):
    """The here_now cache (PubNub caches here_now answers for 3 seconds)."""

    def test_default_three_seconds(self) -> None:
        """A change shows in an identical here_now only once 3 seconds have passed."""
        self.serve()
        self.heartbeat("ch", "u1")
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me&pnsdk=a")["occupancy"], 1)
        self.heartbeat("ch", "u2")
        self.clock.advance(2.9)
        self.assertEqual(
            self.get(f"{BASE}/channel/ch?uuid=other&pnsdk=b&requestid=x")["occupancy"], 1
        )
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me&state=1")["occupancy"], 2)
        self.assertEqual(self.get(f"{BASE}?uuid=me")["payload"]["total_occupancy"], 2)
        self.clock.advance(0.1)
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me&pnsdk=a")["occupancy"], 2)
        self.assertEqual(self.get(f"{BASE}/uuid/u2?uuid=me")["payload"], {"channels": ["ch"]})

    def test_cache_never_serves_a_refusal(self) -> None:
        """A request that must be refused is refused even when its answer is cached."""
        self.serve()
        self.get(f"{BASE}/channel/ch?uuid=me")
        self.assertEqual(self.request(f"{BASE}/channel/ch?uuid=").code, 400)

    def test_configurable(self) -> None:
        """A 10-second cache holds for 10 seconds."""
        self.serve(here_now_cache=10)
        self.get(f"{BASE}/channel/ch?uuid=me")
        self.heartbeat("ch", "u1")
        self.clock.advance(9)
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["occupancy"], 0)
        self.clock.advance(1)
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["occupancy"], 1)

    def test_zero_disables(self) -> None:
        """With a 0-second cache every here_now is fresh."""
        self.get(f"{BASE}/channel/ch?uuid=me")
        self.heartbeat("ch", "u1")
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me")["occupancy"], 1)

    def test_many_queries(self) -> None:
        """Many distinct queries over time do not break the cache."""
        self.serve()
        for i in range(50):
            self.get(f"{BASE}/channel/c{i}?uuid=me")
            self.clock.advance(1)
        self.heartbeat("c49", "u1")
        self.assertEqual(self.get(f"{BASE}/channel/c49?uuid=me")["occupancy"], 0)
        self.clock.advance(3)
        self.assertEqual(self.get(f"{BASE}/channel/c49?uuid=me")["occupancy"], 1)
