"""The presence keeper on a Clock: spread, bounds, joins, leaves, state, failures, stop."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNStatus, PresenceKeeperListener, PubNubException
from pubnub_twisted.keeper._limiter import Limiter
from pubnub_twisted.keeper._wheel import Wheel
from pubnub_twisted.protocol import MAX_URL_LENGTH
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence
from tests.keeper_support import Watch, failure_of, gated_client, occupancy

TIMEOUT = 20  # seconds; the interval is then 9
#: (channel, uuid) pairs of the FailureTests crowd (40 members on 1-3 channels).
PAIRS = sum(1 + i % 3 for i in range(40))


class Heard(PresenceKeeperListener):
    """Records what the keeper tells its listeners, with the time."""

    def __init__(self, presence: InMemoryPresence) -> None:
        self.clock = presence.clock
        self.failing: list[tuple[float, str, PNStatus]] = []
        self.recovered: list[tuple[float, str, PNStatus]] = []

    def on_member_failing(self, uuid: str, status: PNStatus) -> None:
        self.failing.append((self.clock.seconds(), uuid, status))

    def on_member_recovered(self, uuid: str, status: PNStatus) -> None:
        self.recovered.append((self.clock.seconds(), uuid, status))


class KeeperCase(SynchronousTestCase):
    """A keeper on an in-memory server, its requests seen through a gate."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.pubnub, self.gate = gated_client(self.presence, presence_timeout=TIMEOUT)
        self.keeper = self.pubnub.presence_keeper()
        self.watch = Watch(self.presence)

    def here(self, channel: str) -> dict[str, Any]:
        """uuid -> state on ``channel``, from the server."""
        result = self.presence.store.here_now(DEFAULT_SUBSCRIBE_KEY, [channel])
        if not result.channels:
            return {}
        return {o.uuid: o.state for o in result.channels[0].occupants}

    def crowd(self, count: int, prefix: str = "u") -> None:
        """``count`` members on 1-3 of seven channels, with state on the first."""
        for i in range(count):
            channels = [f"ch{(i + k) % 7}" for k in range(1 + i % 3)]
            self.keeper.enter(f"{prefix}{i}", channels=channels, state={channels[0]: {"n": i}})

    def total(self) -> int:
        """Present (channel, uuid) pairs on the seven channels."""
        return sum(occupancy(self.presence, f"ch{k}") for k in range(7))


class EnterTests(KeeperCase):
    """Entering heartbeats at once, with the member's uuid, channels, groups and state."""

    def test_enter_heartbeats_at_once(self) -> None:
        """One heartbeat goes out on enter, before any time passes; when_present fires."""
        member = self.keeper.enter("alice", channels=["lobby"], state={"lobby": {"mood": "ok"}})
        present = member.when_present()
        self.presence.settle()
        self.assertIsNone(self.successResultOf(present))
        (beat,) = self.gate.of("heartbeat")
        self.assertEqual((beat.at, beat.query["uuid"], beat.channels), (0.0, "alice", ["lobby"]))
        self.assertEqual(beat.query["heartbeat"], str(TIMEOUT))
        self.assertEqual(self.here("lobby"), {"alice": {"mood": "ok"}})
        self.assertTrue(member.present)

    def test_groups_covered(self) -> None:
        """A member on a channel group is present on the group's channels."""
        self.presence.store.add_channels_to_group(DEFAULT_SUBSCRIBE_KEY, "g", ["a", "b"])
        self.keeper.enter("bob", channel_groups=["g"], channels=["c"])
        self.presence.settle()
        (beat,) = self.gate.of("heartbeat")
        self.assertEqual((beat.channels, beat.query["channel-group"]), (["c"], "g"))
        self.assertEqual([self.here(c) for c in "abc"], [{"bob": None}] * 3)

    def test_one_heartbeat_per_interval_covering_everything(self) -> None:
        """Each member sends about one heartbeat per interval, naming all its channels."""
        self.crowd(30)
        self.presence.settle(10 * 9)
        beats = Counter(sent.query["uuid"] for sent in self.gate.of("heartbeat"))
        # the join, then one per interval (9 s) for 90 s: 10 or 11 in all
        self.assertTrue(all(10 <= count <= 11 for count in beats.values()), beats)
        for sent in self.gate.of("heartbeat"):
            i = int(sent.query["uuid"][1:])
            self.assertEqual(sent.channels, [f"ch{(i + k) % 7}" for k in range(1 + i % 3)])
            self.assertEqual(json.loads(sent.query["state"]), {sent.channels[0]: {"n": i}})

    def test_refused_input(self) -> None:
        """Bad uuids, names or state, a uuid kept already: PubNubException, nothing sent."""
        self.keeper.enter("alice", channels="a")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"uuid": ""}, "uuid"),
            ({"uuid": "alice"}, "kept already"),
            ({"uuid": "x", "channels": None}, "Channel or group missing"),
            ({"uuid": "x", "state": {"b": {}}}, "not one of the member's channels"),
            ({"uuid": "x", "state": {"a": 1}}, "must be a dict"),
            ({"uuid": "x", "state": {"a": {"v": float("nan")}}}, "not JSON serializable"),
            ({"uuid": "x", "channels": ["a-pnpres"]}, "presence channel"),
        ]
        for kwargs, message in cases:
            kwargs.setdefault("channels", "a")
            uuid = kwargs.pop("uuid")
            with self.assertRaises(PubNubException) as raised:
                self.keeper.enter(uuid, **kwargs)
            self.assertIn(message, str(raised.exception))
        self.assertEqual(self.keeper.members(), ["alice"])

    def test_bad_settings(self) -> None:
        """An interval not below the timeout, or a bound below 1, is refused."""
        settings: list[dict[str, Any]] = [{"heartbeat_interval": TIMEOUT}, {"max_in_flight": 0}]
        for kwargs in settings:
            with self.assertRaises(PubNubException):
                self.pubnub.presence_keeper(**kwargs)

    def test_when_present_fails_when_refused(self) -> None:
        """A heartbeat the service refuses (403) fails when_present; listeners hear at once."""
        presence = InMemoryPresence(auth_keys={"good"})
        pubnub, _ = gated_client(presence, auth_key="bad")
        keeper = pubnub.presence_keeper()
        heard = Heard(presence)
        keeper.add_listener(heard)
        member = keeper.enter("carol", channels="a")
        present = member.when_present()
        presence.settle()
        failure = self.failureResultOf(present, PubNubException)
        self.assertIn("403", str(failure.value))
        self.assertEqual([(at, uuid) for at, uuid, _ in heard.failing], [(0.0, "carol")])


class SpreadTests(KeeperCase):
    """Heartbeats are spread over the interval, however members arrive."""

    def per_second(self, start: float, end: float) -> Counter[int]:
        return Counter(int(sent.at) for sent in self.gate.of("heartbeat") if start <= sent.at < end)

    def check_spread(self, start: float) -> None:
        """Over three intervals from ``start``, no second sees over twice the average."""
        counts = self.per_second(start, start + 27)
        average = sum(counts.values()) / 27
        self.assertGreater(average, 0)
        for second in range(int(start), int(start) + 27):
            self.assertLessEqual(counts[second], 2 * average, (second, counts))

    def test_burst_spread(self) -> None:
        """360 members entering at once heartbeat evenly afterwards."""
        self.crowd(360)
        self.presence.settle(12 + 27)
        self.check_spread(12)
        loads = self.keeper.slot_loads()
        self.assertLessEqual(max(loads) - min(loads), 1)

    def test_trickle_and_bursts_spread(self) -> None:
        """Members arriving in uneven bursts and leaving in bulk stay evenly spread."""
        self.crowd(120, "a")
        self.presence.settle(2)
        self.crowd(20, "b")
        self.presence.settle(0.5)
        self.crowd(160, "c")
        for i in range(0, 120, 2):
            member = self.keeper.member(f"a{i}")
            assert member is not None
            member.expire()
        self.presence.settle(12 + 27)
        self.check_spread(14.5)


class BoundTests(KeeperCase):
    """Requests in flight never exceed max_in_flight."""

    def test_in_flight_bounded(self) -> None:
        """With the server stalled, at most max_in_flight requests are outstanding."""
        keeper = self.pubnub.presence_keeper(max_in_flight=3)
        self.gate.mode = "stalled"
        for i in range(50):
            keeper.enter(f"u{i}", channels="a")
        self.presence.settle(2)
        self.assertEqual(self.gate.in_flight, 3)
        self.gate.release()
        self.presence.settle(4)
        self.assertEqual(self.gate.most_in_flight, 3)
        self.assertEqual(occupancy(self.presence, "a"), 50)

    def test_default_bound_is_half_the_pool(self) -> None:
        """By default the bound is half the client's connection_pool_size, leaving room."""
        half = self.pubnub.config.connection_pool_size // 2
        self.assertEqual(self.keeper.max_in_flight, half)
        self.gate.mode = "stalled"
        self.crowd(200)
        self.presence.settle(2)
        self.assertEqual(self.gate.in_flight, half)
        self.gate.release()
        self.presence.settle(4)
        self.assertEqual(self.gate.most_in_flight, half)
        self.assertEqual(self.total(), sum(1 + i % 3 for i in range(200)))

    def test_default_bound_at_least_one(self) -> None:
        """A pool of 1 still lets the keeper send one request at a time."""
        pubnub = self.presence.client("small", connection_pool_size=1)
        self.assertEqual(pubnub.presence_keeper().max_in_flight, 1)


class UpdateTests(KeeperCase):
    """Joining, leaving exactly, and state changes."""

    def setUp(self) -> None:
        super().setUp()
        self.member = self.keeper.enter(
            "alice", channels=["lobby", "red"], state={"lobby": {"mood": "ok"}}
        )
        self.presence.settle(3)
        del self.gate.sent[:]

    def test_join_now(self) -> None:
        """Adding a channel heartbeats at once; the update fires when it is acknowledged."""
        done = self.member.update(channels=["lobby", "red", "game"], state={"game": {"s": 1}})
        self.presence.settle()
        self.assertIsNone(self.successResultOf(done))
        (beat,) = self.gate.sent
        self.assertEqual((beat.kind, beat.at), ("heartbeat", 3.0))
        self.assertEqual(beat.channels, ["lobby", "red", "game"])
        self.assertEqual(self.here("game"), {"alice": {"s": 1}})
        self.assertEqual(self.here("lobby"), {"alice": {"mood": "ok"}})

    def test_leave_exactly(self) -> None:
        """Removing a channel sends one leave, for exactly that channel, as the member."""
        done = self.member.update(channels=["lobby"])
        self.presence.settle()
        self.assertIsNone(self.successResultOf(done))
        (leave,) = self.gate.sent
        self.assertEqual((leave.kind, leave.channels), ("leave", ["red"]))
        self.assertEqual(leave.query["uuid"], "alice")
        self.assertNotIn("channel-group", leave.query)
        self.assertEqual(self.watch.of("leave")[0].channel, "red")
        self.assertEqual(self.here("lobby"), {"alice": {"mood": "ok"}})
        self.presence.settle(30)
        self.assertEqual(self.here("red"), {})
        self.assertTrue(all(sent.channels == ["lobby"] for sent in self.gate.of("heartbeat")))

    def test_state_change(self) -> None:
        """A state change goes with set_state at once; later heartbeats carry it."""
        done = self.member.update(state={"red": {"team": 2}})
        self.presence.settle()
        self.assertIsNone(self.successResultOf(done))
        (set_state,) = self.gate.sent
        self.assertEqual(set_state.kind, "data")
        self.assertEqual(set_state.path.split("/uuid/")[1], "alice/data")
        self.assertEqual(json.loads(set_state.query["state"]), {"team": 2})
        self.assertEqual(self.here("red"), {"alice": {"team": 2}})
        self.presence.settle(10)
        beat = self.gate.of("heartbeat")[-1]
        self.assertEqual(
            json.loads(beat.query["state"]), {"lobby": {"mood": "ok"}, "red": {"team": 2}}
        )

    def test_leave(self) -> None:
        """member.leave() leaves exactly its channels and heartbeats stop."""
        done = self.member.leave()
        self.presence.settle()
        self.assertIsNone(self.successResultOf(done))
        (leave,) = self.gate.sent
        self.assertEqual((leave.kind, leave.channels), ("leave", ["lobby", "red"]))
        self.presence.settle(60)
        self.assertEqual(len(self.gate.sent), 1)
        self.assertEqual(self.keeper.members(), [])
        self.failureResultOf(self.member.update(channels="x"), CancelledError)

    def test_leave_waits_for_heartbeat_in_flight(self) -> None:
        """A leave never overtakes a heartbeat in flight (which would bring the member back)."""
        self.gate.mode = "stalled"
        self.member.update(channels=["lobby", "red", "blue"]).addErrback(lambda _: None)
        left = self.member.leave()
        self.presence.settle(1)
        self.assertEqual([sent.kind for sent in self.gate.sent], ["heartbeat"])
        self.gate.release()
        self.presence.settle()
        self.assertIsNone(self.successResultOf(left))
        self.assertEqual([sent.kind for sent in self.gate.sent], ["heartbeat", "leave"])
        self.assertEqual(self.gate.sent[1].channels, ["lobby", "red", "blue"])
        self.assertEqual(self.here("blue"), {})

    def test_update_refused_input_changes_nothing(self) -> None:
        """An update with bad input raises and leaves the member as it was."""
        with self.assertRaises(PubNubException):
            self.member.update(channels=[], channel_groups=[])
        with self.assertRaises(PubNubException):
            self.member.update(state={"elsewhere": {}})
        self.assertEqual(self.member.channels, ("lobby", "red"))
        self.assertEqual(self.gate.sent, [])


class ExpireTests(KeeperCase):
    """expire() stops heartbeats without a leave: the member times out on time."""

    def test_expire(self) -> None:
        """An expired member times out presence_timeout after its last heartbeat, not before."""
        member = self.keeper.enter("dave", channels="a")
        self.keeper.enter("erin", channels="a")
        self.presence.settle(4)
        last = max(sent.at for sent in self.gate.of("heartbeat") if sent.query["uuid"] == "dave")
        member.expire()
        self.presence.settle(last + TIMEOUT - 4 - 1)
        self.assertEqual(set(self.here("a")), {"dave", "erin"})
        self.presence.settle(2)
        self.assertEqual(set(self.here("a")), {"erin"})
        self.assertEqual([e.uuid for e in self.watch.of("timeout")], ["dave"])
        self.assertEqual(self.gate.of("leave"), [])
        self.assertEqual(self.keeper.members(), ["erin"])


class FailureTests(KeeperCase):
    """Failed heartbeats are retried in time; listeners hear only of real danger."""

    def setUp(self) -> None:
        super().setUp()
        self.heard = Heard(self.presence)
        self.keeper.add_listener(self.heard)
        self.crowd(40)
        self.presence.settle(5)

    def test_stall_never_lapses(self) -> None:
        """A 5 s server stall, at any moment, makes no living member time out."""
        for start in (7.0, 13.3, 21.9):
            self.presence.settle(start - self.presence.clock.seconds())
            self.gate.mode = "stalled"
            self.presence.settle(5)
            self.gate.release()
        self.presence.settle(25)
        self.assertEqual(self.watch.of("timeout"), [])
        self.assertEqual(self.total(), PAIRS)
        self.assertEqual(self.heard.failing, [])

    def test_brief_outage_never_lapses(self) -> None:
        """Requests refused for 8 s: retried in time, nobody times out or is reported."""
        self.gate.mode = "down"
        self.presence.settle(8)
        self.gate.mode = "up"
        self.presence.settle(25)
        self.assertEqual(self.watch.of("timeout"), [])
        self.assertEqual(self.total(), PAIRS)
        self.assertEqual(self.heard.failing, [])

    def test_long_outage_reported_then_recovered(self) -> None:
        """A long outage is reported per member only near its lapse; recovery is told too."""
        self.gate.mode = "down"
        start = self.presence.clock.seconds()
        self.presence.settle(40)
        self.assertEqual(len({uuid for _, uuid, _ in self.heard.failing}), 40)
        margin = min(self.pubnub.config.non_subscribe_request_timeout, TIMEOUT / 4)
        last_ack = {}
        for sent in self.gate.sent:
            if sent.at < start:
                last_ack[sent.query["uuid"]] = sent.at
        for at, uuid, status in self.heard.failing:
            self.assertGreaterEqual(at, last_ack[uuid] + TIMEOUT - margin - 1)
            self.assertTrue(status.is_error())
        self.gate.mode = "up"
        self.presence.settle(30)
        self.assertEqual(len({uuid for _, uuid, _ in self.heard.recovered}), 40)
        self.assertEqual(self.total(), PAIRS)


class StopTests(KeeperCase):
    """stop() leaves everyone; the client's stop() stops its keepers."""

    def test_stop_leaves_everyone(self) -> None:
        """keeper.stop() sends one leave per member for exactly its channels."""
        self.crowd(30)
        self.presence.settle(3)
        stopped = self.keeper.stop()
        self.presence.settle()
        self.assertIsNone(self.successResultOf(stopped))
        leaves = self.gate.of("leave")
        self.assertEqual(
            sorted(s.query["uuid"] for s in leaves), sorted(f"u{i}" for i in range(30))
        )
        self.assertEqual(self.total(), 0)
        self.assertEqual(self.keeper.members(), [])
        with self.assertRaises(PubNubException):
            self.keeper.enter("late", channels="a")

    def test_suppress_leave_events(self) -> None:
        """With suppress_leave_events, stop() sends no leave; members time out."""
        keeper = self.pubnub.presence_keeper(suppress_leave_events=True)
        keeper.enter("x", channels="a")
        self.presence.settle()
        self.successResultOf(keeper.stop())
        self.presence.settle(TIMEOUT + 1)
        self.assertEqual(self.gate.of("leave"), [])
        self.assertEqual([e.uuid for e in self.watch.of("timeout")], ["x"])

    def test_client_stop_stops_keepers(self) -> None:
        """pubnub.stop() leaves the keepers' members and leaves no client timer behind."""
        self.crowd(10)
        member = self.keeper.enter("late", channels="a")
        self.gate.mode = "stalled"
        present = member.when_present()
        self.gate.release()
        self.presence.settle()
        self.successResultOf(present)
        stopped = self.pubnub.stop()
        self.presence.settle()
        self.successResultOf(stopped)
        self.assertEqual(len(self.gate.of("leave")), 11)
        self.assertEqual(self.keeper.members(), [])
        client_timers = [
            call
            for call in self.presence.clock.getDelayedCalls()
            if "keeper" in repr(call) or "LoopingCall" in repr(call)
        ]
        self.assertEqual(client_timers, [])

    def test_waiters_cancelled_on_stop(self) -> None:
        """A when_present still waiting when the keeper stops fails with CancelledError."""
        self.gate.mode = "down"
        present = self.keeper.enter("x", channels="a").when_present()
        self.presence.settle(1)
        self.keeper.stop()
        failure = failure_of(present)
        assert failure is not None
        failure.trap(CancelledError)


class SplitTests(KeeperCase):
    """A member whose channels make too long a URL is split, never refused."""

    def test_many_channels_split(self) -> None:
        """3,000 long channel names: several heartbeats, each short enough, covering all."""
        names = [f"channel-with-a-long-name-{i:05d}" for i in range(3000)]
        member = self.keeper.enter("many", channels=names, state={names[0]: {"k": "v"}})
        present = member.when_present()
        self.presence.settle()
        self.successResultOf(present)
        beats = self.gate.of("heartbeat")
        self.assertGreater(len(beats), 1)
        covered = [name for beat in beats for name in beat.channels]
        self.assertEqual(sorted(covered), sorted(names))
        self.assertEqual(len(self.presence.store.where_now(DEFAULT_SUBSCRIBE_KEY, "many")), 3000)
        self.assertEqual(self.here(names[0]), {"many": {"k": "v"}})
        del self.gate.sent[:]
        left = member.leave()
        self.presence.settle()
        self.successResultOf(left)
        covered = [name for leave in self.gate.of("leave") for name in leave.channels]
        self.assertEqual(sorted(covered), sorted(names))
        self.assertEqual(self.presence.store.where_now(DEFAULT_SUBSCRIBE_KEY, "many"), [])

    def test_url_lengths(self) -> None:
        """No request of a split member is longer than PubNub's limit."""
        names = [f"c{i:04d}" * 10 for i in range(2000)]
        self.keeper.enter("long", channels=names)
        self.presence.settle()
        for beat in self.gate.of("heartbeat"):
            raw = ",".join(beat.channels)
            self.assertLess(len(raw), MAX_URL_LENGTH)
        self.assertEqual(len(self.keeper.slot_loads()), 18)
        self.assertEqual(sum(self.keeper.slot_loads()), len(self.gate.of("heartbeat")))


class WheelTests(SynchronousTestCase):
    """The timing wheel's slot assignment."""

    def test_even_and_last_first(self) -> None:
        """Members fill the least loaded slot, the one reached last first."""
        wheel: Wheel[str] = Wheel(4)
        slots = [wheel.place(f"m{i}", 1) for i in range(6)]
        self.assertEqual(slots, [0, 3, 2, 1, 0, 3])
        self.assertEqual(wheel.turn(), ["m3"])
        self.assertEqual(wheel.turn(), ["m2"])

    def test_remove_moves_forward_only(self) -> None:
        """A removal pulls a member from the fullest slot only if it comes earlier."""
        wheel: Wheel[str] = Wheel(4)
        for i in range(8):
            wheel.place(f"m{i}", 1)
        wheel.place("extra", 1)  # slot 0 now holds three
        moved = wheel.remove("m2", 2)  # slot 2 comes before slot 0 (cursor at 0)
        self.assertEqual(moved, ("m0", 2))
        self.assertEqual(wheel.loads(), [2, 2, 2, 2])


class LimiterTests(SynchronousTestCase):
    """The bound on calls in flight."""

    def test_many_calls_ending_at_once_do_not_nest(self) -> None:
        """5,000 queued calls that end at once run in a loop, not a recursion, in order."""
        limiter = Limiter(2)
        gates: list[Deferred[None]] = [Deferred(), Deferred()]
        order: list[int] = []
        most = [0]

        def call(i: int) -> Deferred[None]:
            most[0] = max(most[0], limiter.active)
            order.append(i)
            return gates[i] if i < 2 else succeed(None)

        results = [limiter.run(call, i) for i in range(5000)]
        self.assertEqual((order, len(limiter)), ([0, 1], 4998))
        gates[0].callback(None)
        self.assertEqual(len(order), 5000)
        self.assertEqual(order, list(range(5000)))
        self.assertEqual(most[0], 2)
        gates[1].callback(None)
        for d in results:
            self.assertIsNone(self.successResultOf(d))
        self.assertEqual(limiter.active, 0)

    def test_failure_passed_on(self) -> None:
        """A call that fails fails its Deferred, and frees its place."""
        limiter = Limiter(1)
        failed = limiter.run(lambda: 1 / 0)
        self.failureResultOf(failed, ZeroDivisionError)
        self.assertEqual(self.successResultOf(limiter.run(lambda: 7)), 7)

    def test_stop_with_many_queued(self) -> None:
        """Stopping with thousands of heartbeats queued leaves everyone (no stack overflow)."""
        presence = InMemoryPresence()
        pubnub, gate = gated_client(presence, presence_timeout=TIMEOUT)
        keeper = pubnub.presence_keeper(max_in_flight=1)
        gate.mode = "stalled"
        for i in range(2000):
            keeper.enter(f"u{i}", channels="a")
        stopped = keeper.stop()
        gate.release()
        presence.settle()
        self.assertIsNone(self.successResultOf(stopped))
        self.assertEqual(len(gate.of("leave")), 2000)
        self.assertEqual(occupancy(presence, "a"), 0)


class UnreachableStopTests(KeeperCase):
    """stop() with the service unreachable does not wait a deadline per member."""

    def test_stop_gives_up_when_unreachable(self) -> None:
        """Once a leave finds no service, the remaining leaves are not sent."""
        keeper = self.pubnub.presence_keeper(max_in_flight=2)
        for i in range(200):
            keeper.enter(f"u{i}", channels="a")
        self.presence.settle()
        self.gate.mode = "down"
        del self.gate.sent[:]
        stopped = keeper.stop()
        self.presence.settle(15)
        self.assertIsNone(self.successResultOf(stopped))
        # The first two leaves (and their transport retries) went out, no more.
        self.assertEqual({sent.query["uuid"] for sent in self.gate.of("leave")}, {"u0", "u1"})
