"""Subscribe's keyset options and edges: interval mode, debounce, leave on disconnect,
redelivery, access control, bad input and stopping, in memory on a Clock.
"""

from __future__ import annotations

import json
from typing import Any, cast

from twisted.internet.base import DelayedCall
from twisted.internet.task import Clock

from pubnub_twisted.protocol import QueryValue, encode_query, sign
from pubnub_twisted.server import PresenceResource, SubscribeHub, SubscribeOptions
from tests.test_server_access import PUB, SECRET, forbidden
from tests.test_server_harness import BASE, SUB
from tests.test_server_subscribe import SUBSCRIBE, TT0, SubscribeCase, envelope, presence


def pending(clock: Clock) -> list[str]:
    """The names of the functions the clock still has scheduled (the buffer sweep included)."""
    return sorted(cast(DelayedCall, call).func.__name__ for call in clock.getDelayedCalls())


class IntervalTests(SubscribeCase):
    """Above ``announce_max`` occupants a channel gets ``interval`` events instead."""

    def setUp(self) -> None:
        self.serve(SubscribeOptions(announce_max=2, interval=10, presence_deltas=True))
        self.watcher = self.handshake("ch-pnpres", "watcher")

    def actions(self, since: int) -> list[dict[str, Any]]:
        """The ``d`` of every presence event on ``ch`` after ``since``."""
        body = self.subscribe("ch-pnpres", "watcher", f"tt={since}")
        return [entry["d"] for entry in body["m"]]

    def test_interval_with_deltas(self) -> None:
        """Joins past announce_max are held back; each interval lists the net changes."""
        self.serve(SubscribeOptions(announce_max=1, interval=10, presence_deltas=True))
        watcher = self.handshake("ch-pnpres", "watcher")
        self.handshake("ch", "a")
        self.handshake("ch", "b")
        self.handshake("ch", "c", "heartbeat=15")
        self.handshake("ch", "d")
        self.get(f"{BASE}/channel/ch/leave?uuid=a")
        self.get(f"{BASE}/channel/ch/leave?uuid=d")  # joined and left: in no list
        for _ in range(4):
            self.clock.advance(5)
        self.assertEqual(
            self.actions(watcher),
            [
                {
                    "action": "join",
                    "uuid": "a",
                    "timestamp": 1481896370,
                    "precise_timestamp": 1481896370000,
                    "occupancy": 1,
                },
                {
                    "action": "interval",
                    "timestamp": 1481896380,
                    "precise_timestamp": 1481896380000,
                    "occupancy": 2,
                    "join": ["b", "c"],
                    "leave": ["a"],
                },
                {
                    "action": "interval",
                    "timestamp": 1481896390,
                    "precise_timestamp": 1481896390000,
                    "occupancy": 1,
                    "timeout": ["c"],
                },
            ],
        )

    def test_mode_ends_when_quiet(self) -> None:
        """After an interval at or below announce_max, joins and leaves are announced again."""
        for uuid in ("a", "b", "c"):
            self.handshake("ch", uuid)
        self.get(f"{BASE}/channel/ch/leave?uuid=c")
        self.clock.advance(10)
        self.get(f"{BASE}/channel/ch/leave?uuid=b")
        self.assertEqual(
            [d["action"] for d in self.actions(self.watcher)],
            ["join", "join", "interval", "leave"],
        )
        self.store.stop()
        self.assertEqual(pending(self.clock), ["_sweep"], "no interval timer left")

    def test_interval_every_period(self) -> None:
        """A busy channel gets an interval event every ``interval`` seconds, even with no change."""
        for uuid in ("a", "b", "c"):
            self.handshake("ch", uuid)
        self.clock.advance(10)
        self.clock.advance(10)
        intervals = [d for d in self.actions(self.watcher) if d["action"] == "interval"]
        self.assertEqual(
            intervals,
            [
                {
                    "action": "interval",
                    "timestamp": 1481896380,
                    "precise_timestamp": 1481896380000,
                    "occupancy": 3,
                    "join": ["c"],
                },
                {
                    "action": "interval",
                    "timestamp": 1481896390,
                    "precise_timestamp": 1481896390000,
                    "occupancy": 3,
                },
            ],
        )

    def test_without_deltas(self) -> None:
        """Without presence_deltas an interval carries only action, timestamp and occupancy."""
        self.serve(SubscribeOptions(announce_max=0, interval=5))
        watcher = self.handshake("ch-pnpres", "watcher")
        self.handshake("ch", "a")
        self.clock.advance(5)
        body = self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")
        self.assertEqual(
            body["m"],
            [
                {
                    **presence("ch", "interval", "x", 1, TT0 + 50_000_000),
                    "u": {
                        "pn_action": "interval",
                        "pn_timestamp": 1481896375,
                        "pn_precise_timestamp": 1481896375000,
                        "pn_occupancy": 1,
                        "pn_ispresence": 1,
                        "pn_channel": "ch",
                    },
                    "d": {
                        "action": "interval",
                        "timestamp": 1481896375,
                        "precise_timestamp": 1481896375000,
                        "occupancy": 1,
                    },
                }
            ],
        )

    def test_here_now_refresh_when_too_big(self) -> None:
        """Deltas over 32 KiB are dropped for ``here_now_refresh: true``."""
        self.serve(SubscribeOptions(announce_max=0, interval=10, presence_deltas=True))
        watcher = self.handshake("ch-pnpres", "watcher")
        uuids = [f"{n:04d}-" + "u" * 80 for n in range(400)]
        for uuid in uuids:
            self.store.heartbeat(SUB, uuid, ["ch"])
        self.clock.advance(10)
        body = self.subscribe("ch-pnpres", "watcher", f"tt={watcher}")
        self.assertEqual(
            body["m"][-1]["d"],
            {
                "action": "interval",
                "timestamp": 1481896380,
                "precise_timestamp": 1481896380000,
                "occupancy": 400,
                "here_now_refresh": True,
            },
        )

    def test_state_change_still_announced(self) -> None:
        """state-change events keep coming in interval mode."""
        for uuid in ("a", "b", "c"):
            self.handshake("ch", uuid)
        self.get(f"{BASE}/channel/ch/uuid/c/data?uuid=c&state=%7B%22x%22%3A1%7D")
        self.assertEqual(
            [d["action"] for d in self.actions(self.watcher)], ["join", "join", "state-change"]
        )


class DebounceTests(SubscribeCase):
    """``debounce``: a leave or timeout followed by a join within the window shows neither."""

    def setUp(self) -> None:
        self.serve(SubscribeOptions(debounce=2))
        self.watcher = self.handshake("ch-pnpres", "watcher")
        self.handshake("ch", "me")

    def actions(self) -> list[tuple[str, str, int]]:
        """(action, uuid, occupancy) of every event the watcher can fetch now."""
        body = self.subscribe("ch-pnpres", "watcher", f"tt={self.watcher}")
        return [(e["d"]["action"], e["d"]["uuid"], e["d"]["occupancy"]) for e in body["m"]]

    def test_flap_hidden(self) -> None:
        """Leave then join again within 2 s: no event for either."""
        self.get(f"{BASE}/channel/ch/leave?uuid=me")
        self.clock.advance(1.9)
        self.handshake("ch", "me")
        self.clock.advance(5)
        self.assertEqual(self.actions(), [("join", "me", 1)])
        self.assertEqual(self.store.where_now(SUB, "me"), ["ch"])

    def test_leave_announced_after_the_window(self) -> None:
        """A leave not undone in the window is announced when it ends, with the occupancy then."""
        self.handshake("ch", "other")
        self.get(f"{BASE}/channel/ch/leave?uuid=me")
        self.clock.advance(1)
        self.get(f"{BASE}/channel/ch/leave?uuid=other")
        self.clock.advance(1)
        self.assertEqual(self.actions()[2:], [("leave", "me", 0)])
        self.clock.advance(1)
        self.assertEqual(self.actions()[3:], [("leave", "other", 0)])

    def test_stop_cancels_pending_leaves(self) -> None:
        """Stopping drops leaves still waiting out the window (no timer left)."""
        self.get(f"{BASE}/channel/ch/leave?uuid=me")
        self.resource.stop()
        self.store.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class DisconnectTests(SubscribeCase):
    """A client dropping a held poll (TCP FIN or RST)."""

    def test_leave_on_disconnect(self) -> None:
        """With ``leave_on_disconnect`` the dropped poll's channels and groups are left."""
        self.serve(SubscribeOptions(leave_on_disconnect=True))
        self.get(f"/v1/channel-registration/sub-key/{SUB}/channel-group/g?add=gc&uuid=x")
        cursor = self.handshake("ch", "me", "channel-group=g")
        poll = self.poll("ch", "me", f"channel-group=g&tt={cursor}")
        self.assertHeld(poll)
        poll.cancel()
        self.agent.flush()
        self.failureResultOf(poll)
        self.assertEqual(self.store.where_now(SUB, "me"), [])
        self.assertEqual(
            [(e.action, e.channel) for e in self.events][-2:], [("leave", "ch"), ("leave", "gc")]
        )
        self.store.stop()
        self.assertEqual(pending(self.clock), ["_sweep"], "no hold timer left")

    def test_other_open_poll_keeps_its_channels(self) -> None:
        """Channels still listed by another held poll of the same uuid are not left."""
        self.serve(SubscribeOptions(leave_on_disconnect=True))
        cursor = self.handshake("a,b", "me")
        old = self.poll("a,b", "me", f"tt={cursor}")
        new = self.poll("b", "me", f"tt={cursor}")
        old.cancel()
        self.agent.flush()
        self.failureResultOf(old)
        self.assertEqual(self.store.where_now(SUB, "me"), ["b"])
        self.assertHeld(new)

    def test_no_leave_by_default(self) -> None:
        """By default a dropped poll is only forgotten: the uuid stays until it times out."""
        cursor = self.handshake("ch", "me")
        poll = self.poll("ch", "me", f"tt={cursor}")
        poll.cancel()
        self.agent.flush()
        self.failureResultOf(poll)
        self.assertEqual(self.store.where_now(SUB, "me"), ["ch"])
        self.assertEqual([e.action for e in self.events], ["join"])
        self.assertEqual(pending(self.clock), ["_run", "_sweep"], "the store's timeout only")


class RedeliveryTests(SubscribeCase):
    """The ``redeliver_events`` fault mode repeats a delivered batch once, as PubNub can."""

    def test_batch_repeated_once(self) -> None:
        """The next response of the same uuid repeats the last batch, same ``p.t``; then no more."""
        self.serve(SubscribeOptions(redeliver_events=True))
        cursor = self.handshake("ch", "me")
        timetoken = self.resource.publish(SUB, "ch", "hey")
        first = self.subscribe("ch", "me", f"tt={cursor}")
        second = self.subscribe("ch", "me", f"tt={first['t']['t']}")
        self.assertEqual(second["m"], first["m"])
        self.assertEqual(second["t"]["t"], str(timetoken))
        third = self.poll("ch", "me", f"tt={timetoken}")
        self.assertHeld(third)
        later = self.resource.publish(SUB, "ch", "again")
        self.assertEqual([e["d"] for e in self.result(third).body["m"]], ["again"])
        self.assertEqual(
            [e["d"] for e in self.subscribe("ch", "me", f"tt={later}")["m"]], ["again"]
        )

    def test_off_by_default(self) -> None:
        """Without the fault mode a delivered event is not delivered again."""
        cursor = self.handshake("ch", "me")
        timetoken = self.resource.publish(SUB, "ch", "hey")
        self.subscribe("ch", "me", f"tt={cursor}")
        self.assertHeld(self.poll("ch", "me", f"tt={timetoken}"))


class AccessTests(SubscribeCase):
    """Subscribe uses the same checks as presence calls; /time/0 stays open."""

    def test_auth_refused(self) -> None:
        """A wrong auth key gets Access Manager's 403 naming every listed name."""
        self.serve(auth_keys={"good"})
        reply = self.result(self.poll("ch,ch-pnpres", "me", "tt=0&channel-group=g&auth=bad"))
        self.assertEqual(
            (reply.code, reply.body),
            (403, forbidden(["ch", "ch-pnpres"], "Forbidden", **{"channel-groups": ["g"]})),
        )
        self.assertEqual(self.events, [])
        self.assertEqual(self.subscribe("ch", "me", "tt=0&auth=good")["m"], [])

    def test_time_is_open(self) -> None:
        """``/time/0`` needs neither auth nor a signature nor a uuid."""
        self.serve(auth_keys={"good"}, secret_key=SECRET, publish_key=PUB)
        reply = self.result(self.send("/time/0"))
        self.assertEqual((reply.code, reply.body), (200, [TT0]))

    def test_signed_subscribe(self) -> None:
        """With a secret key a signed subscribe is served and an unsigned one refused."""
        self.serve(secret_key=SECRET, publish_key=PUB)
        path = f"{SUBSCRIBE}/ch/0"
        pairs: list[tuple[str, QueryValue]] = [
            ("tt", "0"),
            ("uuid", "me"),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        query = encode_query([*pairs, ("signature", sign(SECRET, PUB, path, pairs))])
        self.assertEqual(self.result(self.send(f"{path}?{query}")).body, envelope(TT0, []))
        self.assertEqual(self.result(self.send(f"{path}?tt=0&uuid=me")).code, 403)


class InputTests(SubscribeCase):
    """Bad subscribe requests get PubNub's JSON 400; other paths 404."""

    def refused(self, target: str) -> tuple[int, Any]:
        """Status and body of ``target``."""
        reply = self.result(self.send(target))
        return reply.code, reply.body

    def test_bad_requests(self) -> None:
        """Bad ``tt``, ``heartbeat``, ``state``, missing names or uuid: 400 and no presence."""
        for query, message in [
            ("tt=abc", "Invalid timetoken: 'abc'"),
            ("tt=-1", "Invalid timetoken: '-1'"),
            ("tt=0&heartbeat=0", "Invalid heartbeat: 0 is not between 1 and 2147483647"),
            ("tt=0&heartbeat=x", "Invalid heartbeat: 'x' is not an integer"),
            ("tt=0&state=%7B", "Invalid JSON"),
        ]:
            self.assertEqual(
                self.refused(f"{SUBSCRIBE}/ch/0?uuid=me&{query}"),
                (400, {"status": 400, "message": message, "error": True, "service": "Presence"}),
                query,
            )
        self.assertEqual(self.refused(f"{SUBSCRIBE}/,/0?uuid=me")[0], 400)
        self.assertEqual(self.refused(f"{SUBSCRIBE}/ch/0?tt=0")[0], 400)
        self.assertEqual(self.events, [])

    def test_unknown_paths(self) -> None:
        """A JSONP callback, a missing segment or another time path: 404."""
        for target in (f"{SUBSCRIBE}/ch/cb?uuid=me", f"{SUBSCRIBE}/ch?uuid=me", "/time/1", "/time"):
            self.assertEqual(self.refused(target)[0], 404, target)

    def test_respond_never_waits(self) -> None:
        """``respond()`` answers a poll with nothing new at once, as an ended hold would."""
        cursor = self.handshake("ch-pnpres", "me")
        uri = f"{SUBSCRIBE}/ch-pnpres/0?uuid=me&tt={cursor}".encode()
        status, body, path = self.resource.respond(b"GET", uri)
        self.assertEqual(
            (status, json.loads(body), path),
            (200, envelope(cursor + 1, []), uri.decode().partition("?")[0]),
        )
        self.assertEqual(
            self.resource.respond(b"GET", b"/time/0")[:2], (200, b"[14818963700000002]")
        )


class StopTests(SubscribeCase):
    """Stopping answers held polls and leaves no timer behind."""

    def test_stop_with_a_held_poll(self) -> None:
        """stop() answers a held poll with no events; with the store stopped no call is pending."""
        self.serve(SubscribeOptions(announce_max=0))
        cursor = self.handshake("ch,ch-pnpres", "me")
        poll = self.poll("ch-pnpres", "watcher", f"tt={cursor + 1}")
        self.assertHeld(poll)
        self.resource.stop()
        self.store.stop()
        reply = self.result(poll)
        self.assertEqual((reply.code, reply.body["m"]), (200, []))
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.resource.stop()  # twice is fine
        self.assertEqual(self.subscribe("ch-pnpres", "me", f"tt={cursor}")["m"], [], "not held")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_options(self) -> None:
        """PubNub's defaults unless told otherwise; negative or zero-sized options: ValueError."""
        resource = PresenceResource(self.store)
        self.addCleanup(resource.stop)
        self.assertIsInstance(resource.hub, SubscribeHub)
        self.assertEqual(
            resource.hub.options,
            SubscribeOptions(
                hold_time=280,
                buffer_size=100,
                announce_max=20,
                interval=10,
                presence_deltas=False,
                debounce=0,
                leave_on_disconnect=False,
                redeliver_events=False,
            ),
        )
        for options in (
            {"hold_time": -1},
            {"debounce": -1},
            {"buffer_size": 0},
            {"announce_max": -1},
            {"interval": 0},
        ):
            self.assertRaises(ValueError, SubscribeOptions, **options)
