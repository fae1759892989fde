"""The server's subscribe long-poll and /time/0 (research/subscribe.md section 8), in memory.

Plain HTTP requests written by hand go through ``RequestTraversalAgent``;
time is a ``task.Clock`` that starts in December 2016, so timetokens have
their real 17 digits.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.base import DelayedCall
from twisted.internet.defer import Deferred
from twisted.web.client import readBody
from twisted.web.iweb import IResponse

from pubnub_twisted.protocol import timetoken_from_seconds
from pubnub_twisted.server import SubscribeOptions
from tests.test_server_harness import BASE, OK, REGISTRY, SUB, Reply, ServerCase

SUBSCRIBE = f"/v2/subscribe/{SUB}"
#: The clock's start: the ``Date`` of the cassette that answered ``[14818963707386265]``.
START = 1481896370
#: The first timetoken the server hands out.
TT0 = START * 10_000_000


def presence(
    channel: str,
    action: str,
    uuid: str,
    occupancy: int,
    timetoken: int,
    *,
    b: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A presence entry as PubNub writes it (``b`` defaults to the ``-pnpres`` channel).

    The event happened at the clock time of ``timetoken`` (its ``u`` and
    ``d`` times are that time, in seconds and milliseconds).
    """
    precise = timetoken // 10_000
    payload: dict[str, Any] = {
        "action": action,
        "uuid": uuid,
        "timestamp": precise // 1000,
        "precise_timestamp": precise,
    }
    if data is not None:
        payload["data"] = data
    payload["occupancy"] = occupancy
    meta: dict[str, Any] = {
        "pn_action": action,
        "pn_uuid": uuid,
        "pn_timestamp": precise // 1000,
        "pn_precise_timestamp": precise,
        "pn_occupancy": occupancy,
        "pn_ispresence": 1,
        "pn_channel": channel,
    }
    meta.update({f"pn_state_{key}": value for key, value in (data or {}).items()})
    return {
        "a": "0",
        "f": 0,
        "p": {"t": str(timetoken), "r": 1},
        "k": SUB,
        "c": f"{channel}-pnpres",
        "u": meta,
        "d": payload,
        "b": b or f"{channel}-pnpres",
    }


def message(
    channel: str,
    payload: Any,
    timetoken: int,
    *,
    publisher: str | None = None,
    b: str | None = None,
) -> dict[str, Any]:
    """A message entry (no ``b`` on a direct subscription)."""
    entry: dict[str, Any] = {"a": "0", "f": 0}
    if publisher is not None:
        entry["i"] = publisher
    entry.update(p={"t": str(timetoken), "r": 1}, k=SUB, c=channel, d=payload)
    if b is not None:
        entry["b"] = b
    return entry


def envelope(cursor: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A subscribe response body."""
    return {"t": {"t": str(cursor), "r": 1}, "m": entries}


class SubscribeCase(ServerCase):
    """A presence server with subscribe on a Clock at :data:`START` (hold time 30 s)."""

    def serve(self, subscribe: SubscribeOptions | None = None, **options: Any) -> None:
        """(Re)build the server: ``subscribe`` defaults to a 30 s hold; ``options`` as ever."""
        super().serve(subscribe=subscribe or SubscribeOptions(hold_time=30), **options)
        self.clock.advance(START - self.clock.seconds())
        self.addCleanup(self.resource.stop)

    def send(self, target: str) -> Deferred[Reply]:
        """GET ``target``; the Deferred fires with the reply, at once or once the poll ends."""
        d = self.agent.request(b"GET", b"http://ps.pndsn.test" + target.encode("utf-8"))

        def read(response: IResponse) -> Deferred[Reply]:
            return readBody(response).addCallback(
                lambda raw: Reply(response.code, response.headers, raw)
            )

        reply: Deferred[Reply] = d.addCallback(read)
        self.agent.flush()
        return reply

    def result(self, poll: Deferred[Reply]) -> Reply:
        """The reply of a poll that has been answered."""
        self.agent.flush()
        self.agent.flush()
        return self.successResultOf(poll)

    def assertHeld(self, poll: Deferred[Reply]) -> None:
        """The poll is still waiting."""
        self.agent.flush()
        self.assertNoResult(poll)

    def poll(self, channels: str, uuid: str, query: str = "") -> Deferred[Reply]:
        """A subscribe request (``channels``, ``uuid`` and ``query`` already encoded)."""
        extra = f"&{query}" if query else ""
        return self.send(f"{SUBSCRIBE}/{channels}/0?uuid={uuid}{extra}")

    def subscribe(self, channels: str, uuid: str, query: str = "") -> Any:
        """A subscribe answered at once with 200: its JSON body."""
        reply = self.result(self.poll(channels, uuid, query))
        self.assertEqual(reply.code, 200, reply.body)
        return reply.body

    def handshake(self, channels: str, uuid: str, query: str = "") -> int:
        """A handshake (``tt=0``): the cursor it hands out."""
        body = self.subscribe(channels, uuid, f"tt=0&{query}" if query else "tt=0")
        self.assertEqual(body["m"], [])
        return int(body["t"]["t"])


class HandshakeTests(SubscribeCase):
    """The first request: an immediate answer with a cursor and no events."""

    def test_handshake_shape(self) -> None:
        """tt=0 gets ``{"t": {"t": "<17 digits>", "r": 1}, "m": []}`` at once, in PubNub's shape."""
        reply = self.result(self.poll("ch", "me", "tt=0&pnsdk=PubNub-Python%2F10.4.0"))
        self.assertEqual((reply.code, reply.body), (200, envelope(TT0, [])))
        self.assertEqual(len(reply.body["t"]["t"]), 17)
        self.assertEqual(reply.header("Content-Type"), ['text/javascript; charset="UTF-8"'])
        self.assertEqual(reply.header("Cache-Control"), ["no-cache"])
        self.assertEqual(reply.header("Access-Control-Allow-Origin"), ["*"])
        self.assertEqual(reply.raw, b'{"t":{"t":"14818963700000000","r":1},"m":[]}', "compact JSON")

    def test_missing_tt_is_a_handshake(self) -> None:
        """PubNub's JS SDK leaves ``tt`` out of its handshake: same answer as tt=0."""
        self.assertEqual(self.subscribe("ch-pnpres", "me"), envelope(TT0, []))
        self.assertEqual(self.subscribe("ch-pnpres", "me", "tt="), envelope(TT0 + 1, []))

    def test_handshake_never_delivers_history(self) -> None:
        """Messages published before a handshake are not in its answer."""
        self.resource.publish(SUB, "ch", "old")
        self.assertEqual(self.subscribe("ch", "me", "tt=0")["m"], [])

    def test_other_sdk_parameters_ignored(self) -> None:
        """What other SDKs add (``ee``, ``requestid``, ``l_*``, ``filter-expr``) is ignored."""
        query = (
            "tt=0&tr=42&ee=&on-demand=1&requestid=abc&instanceid=xyz&l_pres=0.1"
            "&filter-expr=uuid%20%21%3D%20%27me%27&pnsdk=PubNub-JS-Web%2F9.0.0"
        )
        self.assertEqual(self.subscribe("ch", "me", query), envelope(TT0, []))

    def test_cursors_strictly_increase(self) -> None:
        """Every timetoken handed out is larger than the one before, even on a stopped clock."""
        cursors = [self.handshake("ch-pnpres", "me") for _ in range(3)]
        self.assertEqual(cursors, [TT0, TT0 + 1, TT0 + 2])
        self.assertEqual(self.handshake("ch", "me"), TT0 + 3)
        self.assertEqual(self.handshake("ch", "me"), TT0 + 5, "after the join's timetoken")
        self.clock.advance(1.5)
        self.assertEqual(self.handshake("ch", "me"), TT0 + 15_000_000)

    def test_time(self) -> None:
        """``/time/0`` answers a JSON array of one number, the current timetoken."""
        reply = self.result(self.send("/time/0?pnsdk=PubNub-Python%2F10.4.0&uuid=me"))
        self.assertEqual((reply.code, reply.raw), (200, b"[14818963700000000]"))
        self.assertEqual(reply.header("Content-Type"), ['text/javascript; charset="UTF-8"'])
        self.clock.advance(0.7386265)
        self.assertEqual(self.result(self.send("/time/0")).body, [14818963707386265])

    def test_timetoken_from_seconds(self) -> None:
        """Unix seconds x 10^7, exact to the 100 ns even where a float product is not."""
        self.assertEqual(timetoken_from_seconds(1481896370.7386265), 14818963707386265)
        self.assertEqual(timetoken_from_seconds(0), 0)


class DeliveryTests(SubscribeCase):
    """Cursor, hold, catch-up and messages."""

    def test_held_until_an_event(self) -> None:
        """A poll with nothing new is held, then answered when a message arrives."""
        cursor = self.handshake("ch", "me")
        poll = self.poll("ch", "me", f"tt={cursor}&tr=1")
        self.assertHeld(poll)
        self.clock.advance(5)
        timetoken = self.resource.publish(SUB, "ch", {"text": "hey"}, publisher="pub")
        self.assertEqual(timetoken, TT0 + 50_000_000)
        self.assertEqual(
            self.result(poll).body,
            envelope(timetoken, [message("ch", {"text": "hey"}, timetoken, publisher="pub")]),
        )

    def test_messages_elsewhere_do_not_answer(self) -> None:
        """A message on a channel the poll does not list leaves it held."""
        poll = self.poll("ch", "me", f"tt={self.handshake('ch', 'me')}")
        self.resource.publish(SUB, "other", "x")
        self.resource.publish("sub-c-other-key", "ch", "x")
        self.assertHeld(poll)

    def test_hold_time_ends_with_no_events(self) -> None:
        """After the hold time the poll is answered with ``m: []`` and a fresh cursor."""
        cursor = self.handshake("ch-pnpres", "me")
        poll = self.poll("ch-pnpres", "me", f"tt={cursor}")
        self.clock.advance(29.9)
        self.assertHeld(poll)
        self.clock.advance(0.1)
        reply = self.result(poll)
        self.assertEqual((reply.code, reply.body), (200, envelope(TT0 + 300_000_000, [])))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_hold_time_zero(self) -> None:
        """With ``hold_time=0`` a poll with nothing to deliver is answered at once."""
        self.serve(SubscribeOptions(hold_time=0))
        cursor = self.handshake("ch-pnpres", "me")
        self.assertEqual(
            self.subscribe("ch-pnpres", "me", f"tt={cursor}"), envelope(cursor + 1, [])
        )

    def test_catch_up_from_the_buffer(self) -> None:
        """A cursor in the past gets every buffered event after it, oldest first, at once."""
        cursor = self.handshake("a,b", "me")
        first = self.resource.publish(SUB, "a", 1)
        second = self.resource.publish(SUB, "b", 2)
        third = self.resource.publish(SUB, "a", 3)
        self.assertEqual(
            self.subscribe("a,b", "me", f"tt={cursor}"),
            envelope(
                third, [message("a", 1, first), message("b", 2, second), message("a", 3, third)]
            ),
        )
        self.assertEqual(
            self.subscribe("a,b", "me", f"tt={first}"),
            envelope(third, [message("b", 2, second), message("a", 3, third)]),
        )

    def test_buffer_is_bounded(self) -> None:
        """Only the last ``buffer_size`` events of a channel are kept for catch-up."""
        self.serve(SubscribeOptions(buffer_size=2))
        cursor = self.handshake("ch", "me")
        stamps = [self.resource.publish(SUB, "ch", n) for n in range(4)]
        self.assertEqual(
            self.subscribe("ch", "me", f"tt={cursor}"),
            envelope(stamps[3], [message("ch", 2, stamps[2]), message("ch", 3, stamps[3])]),
        )

    def test_old_events_and_channels_forgotten(self) -> None:
        """Events older than ``buffer_ttl`` leave the buffer; channels left empty are dropped."""
        self.serve(SubscribeOptions(buffer_ttl=60))
        cursor = self.handshake("a,b", "me")
        self.resource.publish(SUB, "a", "old")
        self.clock.advance(40)
        recent = self.resource.publish(SUB, "b", "recent")
        self.clock.advance(20)  # the first sweep: nothing is 60 s old yet
        channels = ["a", "a-pnpres", "b", "b-pnpres"]  # the handshake's joins are buffered too
        self.assertEqual(sorted(name for _, name in self.resource.hub._buffers), channels)
        self.clock.advance(30)  # the next: "old" and the joins are 90 s old, "recent" 50 s
        self.assertEqual(
            self.subscribe("a,b", "me", f"tt={cursor}"),
            envelope(recent, [message("b", "recent", recent)]),
        )
        self.assertEqual(sorted(self.resource.hub._buffers), [(SUB, "b")])
        self.clock.advance(60)
        self.assertEqual(self.resource.hub._buffers, {})
        self.assertEqual(
            [cast(DelayedCall, call).func.__name__ for call in self.clock.getDelayedCalls()],
            ["_run"],
            "no sweep is left scheduled once nothing is buffered (the store's timeout remains)",
        )

    def test_drop_buffered_events(self) -> None:
        """The lost-events fault: an old cursor then catches up on nothing."""
        cursor = self.handshake("a", "me")
        self.resource.publish(SUB, "a", 1)
        self.assertEqual(self.resource.hub.drop_buffered_events(), 2)  # my join, and 1
        later = self.resource.publish(SUB, "a", 2)
        self.assertEqual(
            self.subscribe("a", "me", f"tt={cursor}"), envelope(later, [message("a", 2, later)])
        )

    def test_responses_hold_at_most_100_entries(self) -> None:
        """A long catch-up comes in responses of 100 entries; each cursor picks up the rest."""
        self.serve(SubscribeOptions(buffer_size=150))
        cursor = self.handshake("ch", "me")
        stamps = [self.resource.publish(SUB, "ch", n) for n in range(150)]
        first = self.subscribe("ch", "me", f"tt={cursor}")
        self.assertEqual([entry["d"] for entry in first["m"]], list(range(100)))
        self.assertEqual(first["t"]["t"], str(stamps[99]))
        rest = self.subscribe("ch", "me", f"tt={stamps[99]}")
        self.assertEqual([entry["d"] for entry in rest["m"]], list(range(100, 150)))

    def test_cursor_from_the_future(self) -> None:
        """A cursor later than anything handed out counts as now: new events still arrive."""
        poll = self.poll("ch", "me", "tt=99999999999999999")
        self.assertHeld(poll)
        timetoken = self.resource.publish(SUB, "ch", "x")
        self.assertEqual(
            self.result(poll).body, envelope(timetoken, [message("ch", "x", timetoken)])
        )

    def test_messages_through_a_group(self) -> None:
        """A message reaches a group's subscriber with ``c`` the channel and ``b`` the group."""
        self.get(f"{REGISTRY}/g?add=ch&uuid=admin")
        cursor = self.handshake(",", "me", "channel-group=g")
        poll = self.poll(",", "me", f"channel-group=g&tt={cursor}")
        timetoken = self.resource.publish(SUB, "ch", "hi")
        self.assertEqual(
            self.result(poll).body, envelope(timetoken, [message("ch", "hi", timetoken, b="g")])
        )

    def test_direct_subscription_wins_over_group(self) -> None:
        """A channel listed directly and through a group gets each message once, with no ``b``."""
        self.get(f"{REGISTRY}/g?add=ch&uuid=admin")
        cursor = self.handshake("ch", "me", "channel-group=g")
        timetoken = self.resource.publish(SUB, "ch", "hi")
        self.assertEqual(
            self.subscribe("ch", "me", f"channel-group=g&tt={cursor}"),
            envelope(timetoken, [message("ch", "hi", timetoken)]),
        )

    def test_publish_refuses(self) -> None:
        """Publishing on a presence channel, an empty name or a non-JSON value is a ValueError."""
        self.assertRaises(ValueError, self.resource.publish, SUB, "ch-pnpres", "x")
        self.assertRaises(ValueError, self.resource.publish, SUB, "", "x")
        self.assertRaises(ValueError, self.resource.publish, SUB, "ch", float("nan"))
        self.assertRaises(TypeError, self.resource.publish, SUB, "ch", object())

    def test_hostile_names(self) -> None:
        """Channel and group names with semicolons, slashes and non-ASCII survive the path."""
        self.get(f"{REGISTRY}/g%3B%C3%BC?add=x%2Fy&uuid=admin")
        cursor = self.handshake("a%3Bb,%F0%9F%98%80", "me", "channel-group=g%3B%C3%BC")
        for channel in ("a;b", "😀", "x/y"):
            self.resource.publish(SUB, channel, channel)
        body = self.subscribe("a%3Bb,%F0%9F%98%80", "me", f"channel-group=g%3B%C3%BC&tt={cursor}")
        self.assertEqual(
            [(e["c"], e.get("b")) for e in body["m"]],
            [("a;b", None), ("😀", None), ("x/y", "g;ü")],
        )


class PresenceEventTests(SubscribeCase):
    """join, leave, timeout and state-change on ``-pnpres`` channels."""

    def test_join_seen_by_watcher_and_joiner(self) -> None:
        """A first subscribe joins: another watcher and the joiner itself see it next."""
        watcher = self.handshake("ch-pnpres", "watcher")
        watching = self.poll("ch-pnpres", "watcher", f"tt={watcher}")
        self.assertHeld(watching)
        cursor = self.handshake("ch,ch-pnpres", "me")
        join = presence("ch", "join", "me", 1, cursor + 1)
        self.assertEqual(self.result(watching).body, envelope(cursor + 1, [join]))
        self.assertEqual(
            self.subscribe("ch,ch-pnpres", "me", f"tt={cursor}"), envelope(cursor + 1, [join])
        )
        self.assertEqual(
            self.get(f"{BASE}/channel/ch?uuid=x"), {**OK, "uuids": ["me"], "occupancy": 1}
        )

    def test_refresh_emits_nothing(self) -> None:
        """Subscribing again while present is a refresh: no second join."""
        cursor = self.handshake("ch,ch-pnpres", "me")
        self.handshake("ch,ch-pnpres", "me")
        self.assertEqual(len(self.subscribe("ch,ch-pnpres", "me", f"tt={cursor}")["m"]), 1)

    def test_leave(self) -> None:
        """A /leave answers the watcher's held poll with a leave and the occupancy after it."""
        self.handshake("ch", "a")
        self.handshake("ch", "b")
        poll = self.poll("ch-pnpres", "watcher", f"tt={self.handshake('ch-pnpres', 'watcher')}")
        self.get(f"{BASE}/channel/ch/leave?uuid=a")
        body = self.result(poll).body
        self.assertEqual(body["m"], [presence("ch", "leave", "a", 1, int(body["t"]["t"]))])

    def test_leaver_sees_its_own_leave(self) -> None:
        """A leave is delivered on the leaver's own open poll."""
        cursor = self.handshake("ch,ch-pnpres", "me")
        self.subscribe("ch,ch-pnpres", "me", f"tt={cursor}")  # its join
        poll = self.poll("ch,ch-pnpres", "me", f"tt={cursor + 1}")
        self.assertHeld(poll)
        self.get(f"{BASE}/channel/ch/leave?uuid=me")
        self.assertEqual(self.result(poll).body["m"][0]["d"]["action"], "leave")

    def test_timeout_despite_an_open_poll(self) -> None:
        """With ``heartbeat=8`` and no more requests the uuid times out, though its poll is open."""
        self.serve(SubscribeOptions(hold_time=280))
        watcher = self.handshake("ch-pnpres", "watcher")
        cursor = self.handshake("ch", "me", "heartbeat=8")
        own = self.poll("ch", "me", f"tt={cursor}&heartbeat=8")
        self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")  # the join
        watching = self.poll("ch-pnpres", "watcher", f"tt={cursor + 1}")
        self.clock.advance(7.9)
        self.assertHeld(watching)
        self.clock.advance(0.1)
        self.assertEqual(
            self.result(watching).body,
            envelope(TT0 + 80_000_000, [presence("ch", "timeout", "me", 0, TT0 + 80_000_000)]),
        )
        self.assertHeld(own)
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=x")["occupancy"], 0)

    def test_subscribe_without_heartbeat_keeps_the_timeout(self) -> None:
        """A subscribe without ``heartbeat`` keeps the uuid's timeout; the default is 300 s."""
        self.heartbeat("ch", "me", "heartbeat=20")
        self.handshake("ch", "me")
        self.handshake("other", "me")
        self.clock.advance(20)
        self.assertEqual(self.store.where_now(SUB, "me"), ["other"])
        self.clock.advance(280)
        self.assertEqual(self.store.where_now(SUB, "me"), [])

    def test_state_change_from_set_state(self) -> None:
        """set_state for a present uuid reaches watchers as state-change with ``data``."""
        cursor = self.handshake("ch,ch-pnpres", "me")
        self.get(f"{BASE}/channel/ch/uuid/me/data?uuid=me&state=%7B%22mood%22%3A%22ok%22%7D")
        body = self.subscribe("ch,ch-pnpres", "me", f"tt={cursor}")
        self.assertEqual(
            body["m"][1],
            presence("ch", "state-change", "me", 1, cursor + 2, data={"mood": "ok"}),
        )

    def test_state_change_from_heartbeat(self) -> None:
        """Heartbeat state that changes emits state-change; the same state again emits nothing."""
        cursor = self.handshake("ch,ch-pnpres", "me")
        state = "state=%7B%22ch%22%3A%7B%22a%22%3A1%7D%7D"
        self.heartbeat("ch", "me", state)
        self.heartbeat("ch", "me", state)
        body = self.subscribe("ch,ch-pnpres", "me", f"tt={cursor}")
        self.assertEqual(
            [(e["d"]["action"], e["d"].get("data")) for e in body["m"]],
            [("join", None), ("state-change", {"a": 1})],
        )

    def test_join_carries_subscribe_state(self) -> None:
        """State sent with the subscribe is stored and is the join's ``data``."""
        watcher = self.handshake("ch-pnpres", "watcher")
        self.handshake("ch", "me", "state=%7B%22ch%22%3A%7B%22age%22%3A20%7D%7D")
        body = self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")
        self.assertEqual(body["m"][0]["d"]["data"], {"age": 20})
        self.assertEqual(self.store.get_state(SUB, "me", ["ch"]), {"ch": {"age": 20}})

    def test_group_presence(self) -> None:
        """Subscribers of ``g-pnpres`` get ``c = <member>-pnpres`` and ``b = g-pnpres``."""
        self.get(f"{REGISTRY}/g?add=ch1,ch2&uuid=admin")
        cursor = self.handshake(",", "me", "channel-group=g,g-pnpres")
        body = self.subscribe(",", "me", f"channel-group=g,g-pnpres&tt={cursor}")
        self.assertEqual(
            body["m"],
            [
                presence("ch1", "join", "me", 1, cursor + 1, b="g-pnpres"),
                presence("ch2", "join", "me", 1, cursor + 2, b="g-pnpres"),
            ],
        )
        self.assertEqual(self.store.where_now(SUB, "me"), ["ch1", "ch2"])

    def test_presence_only_observer(self) -> None:
        """Subscribing only to ``ch-pnpres`` sees events but is not present on ``ch``."""
        watcher = self.handshake("ch-pnpres", "watcher", "channel-group=g-pnpres")
        self.handshake("ch", "me")
        self.assertEqual(
            self.get(f"{BASE}/channel/ch?uuid=x"), {**OK, "uuids": ["me"], "occupancy": 1}
        )
        self.assertEqual(self.store.where_now(SUB, "watcher"), [])
        body = self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")
        self.assertEqual(body["m"], [presence("ch", "join", "me", 1, watcher + 2)])

    def test_events_match_the_store(self) -> None:
        """Each store event becomes exactly one entry, in order, with the same occupancy."""
        watcher = self.handshake("ch-pnpres", "watcher")
        self.handshake("ch", "a")
        self.handshake("ch", "b", "heartbeat=5")
        self.get(f"{BASE}/channel/ch/leave?uuid=a")
        self.clock.advance(5)
        body = self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")
        seen = [(e["d"]["action"], e["d"]["uuid"], e["d"]["occupancy"]) for e in body["m"]]
        expected = [(e.action, e.uuid, e.occupancy) for e in self.events]
        self.assertEqual(seen, expected)
        self.assertEqual(
            expected, [("join", "a", 1), ("join", "b", 2), ("leave", "a", 1), ("timeout", "b", 0)]
        )
