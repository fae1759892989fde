"""PresenceView liveness on a Clock: long outages, live/phase, give-up, honest departure reasons."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNPresenceEventResult,
    PNReconnectionPolicy,
    PNStatus,
    PNStatusCategory,
    PresenceView,
    PresenceViewPhase,
    PubNub,
    PubNubException,
    Reconnection,
    SubscribeCallback,
)
from tests.test_presence_view_support import LiveRecorder, World

C = PNStatusCategory
P = PresenceViewPhase

#: When the client's loop gives up with the World client's schedule (exponential from 1 s,
#: no jitter, 6 retries): 1 + 2 + 4 + 8 + 16 + 32 seconds after the connection was lost.
OLD_GIVE_UP = 63


class Statuses(SubscribeCallback):
    """The categories of the statuses a client announces."""

    def __init__(self) -> None:
        self.seen: list[PNStatusCategory] = []
        self.presence_of: list[str | None] = []

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.seen.append(status.category)

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        self.presence_of.append(event.uuid)


class LivenessCase(SynchronousTestCase):
    """A world whose server can be cut off, a viewer client, a view helper."""

    options: dict[str, Any] = {}  # noqa: RUF012

    def setUp(self) -> None:
        self.world = World(**self.options)
        self.pubnub = self.world.client()
        self.statuses = Statuses()
        self.pubnub.add_listener(self.statuses)
        self.addCleanup(self.world.stop)

    def open(self, **kwargs: Any) -> tuple[PresenceView, LiveRecorder]:
        """A synced view of ``lobby`` (unless told otherwise) with a LiveRecorder."""
        kwargs.setdefault("channels", "lobby")
        view = self.pubnub.presence_view(**kwargs)
        recorder = LiveRecorder()
        view.add_listener(recorder)
        self.world.settle()
        self.successResultOf(view.when_synced())
        return view, recorder

    def outage(self) -> None:
        """The server becomes unreachable: every request is refused, open polls drop."""
        self.world.agent.refuse = lambda uri: True
        self.world.agent.drop()
        self.world.settle()

    def restore(self) -> None:
        """The server is reachable again."""
        self.world.agent.refuse = lambda uri: False


class OutageTests(LivenessCase):
    """An outage longer than the client's own schedule allows: the view outlives it."""

    options = {"buffer_size": 1}  # noqa: RUF012  (the catch-up loses most of what happened)

    def test_long_outage(self) -> None:
        """Down past the old give-up: disconnected, then reconnected, resynced, differences told."""
        for uuid in ("alice", "bob"):
            self.world.join(uuid, "lobby", timeout=3600)
        view, recorder = self.open()
        recorder.take()
        self.outage()
        self.assertEqual(recorder.kinds(), ["disconnected"])
        self.world.leave("alice", "lobby")
        self.world.join("carol", "lobby", {"v": 1}, timeout=3600)
        self.world.join("dave", "lobby", timeout=3600)
        self.world.wait(3 * OLD_GIVE_UP)
        self.assertEqual(recorder.take(), [], "told once per outage, and never gave up")
        self.assertNotIn(C.PNDisconnectedCategory, self.statuses.seen)
        self.assertEqual(view.phase, P.DISCONNECTED)
        self.assertIn("alice", view.occupants("lobby"), "stale, and saying so")
        self.restore()
        self.world.wait(30)  # the view's schedule: at most 30 s between attempts
        self.assertEqual(
            recorder.take(),
            [
                ("reconnected",),
                ("leave", "lobby", "alice", "resync"),
                ("join", "lobby", "carol", {"v": 1}),
                ("join", "lobby", "dave", None),
                ("sync",),
            ],
        )
        self.assertTrue(view.live)
        self.assertEqual(view.occupants("lobby"), self.world.truth("lobby"))
        self.assertIn(C.PNReconnectedCategory, self.statuses.seen)
        self.world.join("erin", "lobby")
        self.world.settle()
        self.assertEqual(recorder.take(), [("join", "lobby", "erin", None)], "live again")

    def test_disconnect_reason(self) -> None:
        """on_disconnected says what went wrong."""
        _, recorder = self.open()
        recorder.take()
        self.outage()
        [(kind, reason)] = recorder.take()
        self.assertEqual(kind, "disconnected")
        self.assertIn("dropped by the test", reason)

    def test_without_a_view_the_client_gives_up(self) -> None:
        """The same outage with no view open: the client's own finite policy is honoured."""
        self.pubnub.subscribe().channels("room").execute()
        self.world.settle()
        self.outage()
        self.world.wait(OLD_GIVE_UP - 1)
        self.assertNotIn(C.PNDisconnectedCategory, self.statuses.seen)
        self.world.wait(2)
        self.assertEqual(self.statuses.seen[-1], C.PNDisconnectedCategory)
        probes = self.world.agent.count("/time/0")
        self.world.wait(600)
        self.assertEqual(self.world.agent.count("/time/0"), probes, "no more attempts")

    def test_view_stopped_during_outage(self) -> None:
        """Once the view stops, the client's own limit applies again at the next attempt."""
        self.pubnub.subscribe().channels("room").execute()
        view, _ = self.open()
        self.outage()
        self.world.wait(2 * OLD_GIVE_UP)
        self.assertNotIn(C.PNDisconnectedCategory, self.statuses.seen)
        view.stop()
        self.world.wait(31)
        self.assertEqual(self.statuses.seen[-1], C.PNDisconnectedCategory)

    def test_plain_subscriptions_come_back_too(self) -> None:
        """The loop is shared: the client's own channels reconnect with the view."""
        self.pubnub.subscribe().channels("room").with_presence().execute()
        self.open()
        self.outage()
        self.world.wait(2 * OLD_GIVE_UP)
        self.restore()
        self.world.wait(30)
        self.world.join("zed", "room")
        self.world.settle()
        self.assertEqual(self.statuses.presence_of[-1], "zed")


class PhaseTests(LivenessCase):
    """``live`` and ``phase`` in each phase of a view's life."""

    def test_phases(self) -> None:
        """syncing, live, disconnected, syncing again (resync under way), live, stopped."""
        self.world.agent.hold = lambda uri: "/v2/presence/" in uri
        view = self.pubnub.presence_view(channels="lobby")
        self.world.settle()
        self.assertEqual((view.phase, view.live), (P.SYNCING, False))
        self.world.agent.release()
        self.world.agent.hold = lambda uri: False
        self.world.settle()
        self.assertEqual((view.phase, view.live), (P.LIVE, True))
        self.outage()
        self.assertEqual((view.phase, view.live), (P.DISCONNECTED, False))
        self.world.wait(5)
        self.assertEqual(view.phase, P.DISCONNECTED)
        self.world.agent.hold = lambda uri: "/v2/presence/" in uri
        self.restore()
        self.world.wait(10)
        self.assertEqual((view.phase, view.live), (P.SYNCING, False), "resync not in yet")
        self.world.agent.release()
        self.world.settle()
        self.assertEqual((view.phase, view.live), (P.LIVE, True))
        view.stop()
        self.assertEqual((view.phase, view.live), (P.STOPPED, False))

    def test_made_during_an_outage(self) -> None:
        """A view made while the loop is reconnecting starts disconnected, not syncing."""
        self.pubnub.subscribe().channels("room").execute()
        self.world.settle()
        self.outage()
        view = self.pubnub.presence_view(channels="lobby")
        recorder = LiveRecorder()
        view.add_listener(recorder)
        self.assertEqual((view.phase, view.live), (P.DISCONNECTED, False))
        self.restore()
        self.world.wait(30)
        self.assertEqual(recorder.kinds(), ["reconnected", "sync"])
        self.assertTrue(view.live)

    def test_snapshot_retries_follow_the_schedule(self) -> None:
        """A failing snapshot is retried by the view's schedule, capped, and never given up."""
        self.pubnub = self.world.client(request_max_retries=0)  # one request per attempt
        self.world.agent.refuse = lambda uri: "/v2/presence/" in uri
        schedule = Reconnection(interval=1.0, maximum_interval=4.0, maximum_retries=1, jitter=0)
        view = self.pubnub.presence_view(channels="lobby", reconnection=schedule)
        self.world.wait(60)
        # 1, 4, 4, ... seconds apart (past its retries a finite schedule keeps its longest delay)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 2 + (60 - 1) // 4)
        self.assertEqual(view.phase, P.SYNCING)
        self.world.agent.refuse = lambda uri: False
        self.world.wait(4)
        self.assertTrue(view.live)

    def test_refresh_stays_live(self) -> None:
        """A refresh of one channel (interval mode) does not make the view untrusted."""
        self.world = World(announce_max=1, interval=10)
        self.pubnub = self.world.client()
        view, _ = self.open()
        self.world.join("a", "lobby")
        self.world.join("b", "lobby")
        reads = self.world.agent.count("/v2/presence/")
        self.world.agent.hold = lambda uri: "/v2/presence/" in uri
        self.world.wait(10)
        self.assertEqual(self.world.agent.count("/v2/presence/"), reads + 1, "refreshing")
        self.assertTrue(view.live)
        self.world.agent.release()


class GiveUpTests(LivenessCase):
    """A view made with a finite schedule can give up; it says so."""

    finite = Reconnection(interval=1.0, jitter=0.0, maximum_retries=2)

    def test_gives_up(self) -> None:
        """Past its own retries: on_gave_up with the reason; not live; no more notifications."""
        view, recorder = self.open(reconnection=self.finite)
        recorder.take()
        self.outage()
        self.world.wait(2)
        self.assertEqual(recorder.kinds(), ["disconnected"])
        self.world.wait(2)
        [(kind, reason)] = recorder.take()
        self.assertEqual(kind, "gave up")
        self.assertIn("gave up reconnecting after 2 attempt(s)", reason)
        self.assertEqual((view.phase, view.live), (P.GAVE_UP, False))
        self.world.wait(3 * OLD_GIVE_UP)
        self.assertEqual(recorder.take(), [], "told once")
        self.assertEqual(self.statuses.seen[-1], C.PNDisconnectedCategory, "then the loop did")

    def test_back_if_the_loop_is(self) -> None:
        """A view that gave up comes back (reconnected, resynced) if the loop reconnects."""
        view, recorder = self.open(reconnection=self.finite)
        recorder.take()
        self.outage()
        self.world.wait(5)
        self.assertEqual(view.phase, P.GAVE_UP)
        self.world.join("alice", "lobby")
        self.restore()
        self.world.wait(20)  # the client's own schedule (6 retries) still runs
        self.assertEqual(
            recorder.kinds(), ["disconnected", "gave up", "reconnected", "join", "sync"]
        )
        self.assertTrue(view.live)

    def test_reconnect_after_give_up(self) -> None:
        """After the loop gave up too, pubnub.reconnect() brings the view back."""
        self.pubnub = self.world.client(maximum_reconnection_retries=0)
        view, recorder = self.open(reconnection=self.finite)
        self.outage()
        self.world.wait(10)
        self.assertEqual(view.phase, P.GAVE_UP)
        self.restore()
        self.pubnub.reconnect()
        self.world.settle()
        self.assertTrue(view.live)
        self.assertIn("reconnected", recorder.kinds())

    def test_first_sync_fails(self) -> None:
        """Giving up before the first snapshot fails when_synced with the PubNubException."""
        self.world.agent.refuse = lambda uri: True
        view = self.pubnub.presence_view(channels="lobby", reconnection=self.finite)
        synced = view.when_synced()
        self.world.wait(10)
        failure = self.failureResultOf(synced, PubNubException)
        self.assertIn("gave up reconnecting", str(failure.value))

    def test_policy_none(self) -> None:
        """Reconnection(policy=NONE): the view gives up at the first failure."""
        view, recorder = self.open(reconnection=Reconnection(policy=PNReconnectionPolicy.NONE))
        recorder.take()
        self.outage()
        self.assertEqual(recorder.kinds(), ["disconnected", "gave up"])
        self.assertEqual(view.phase, P.GAVE_UP)

    def test_ended_by_the_service(self) -> None:
        """A view the service refuses (403) says it gave up, then stops."""
        self.world = World(auth_keys={"secret"})
        self.pubnub = self.world.client()
        view = self.pubnub.presence_view(channels="lobby")
        recorder = LiveRecorder()
        view.add_listener(recorder)
        self.world.settle()
        [(kind, reason)] = recorder.take()
        self.assertEqual(kind, "gave up")
        self.assertIn("403", reason)
        self.assertEqual(view.phase, P.STOPPED)

    def test_client_stopped(self) -> None:
        """pubnub.stop() ends the view: listeners hear it gave up; no timer is left."""
        view, recorder = self.open()
        recorder.take()
        self.pubnub.stop()
        self.world.settle()
        self.assertEqual(recorder.kinds(), ["gave up"])
        self.assertEqual(view.phase, P.STOPPED)
        self.world.stop()
        self.assertEqual(self.world.clock.getDelayedCalls(), [])

    def test_bad_reconnection(self) -> None:
        """A reconnection that is not a Reconnection is refused at once."""
        self.assertRaises(
            PubNubException, self.pubnub.presence_view, channels="lobby", reconnection=3
        )
        self.assertEqual(self.pubnub.get_subscribed_channels(), [])


class IntervalReasonTests(LivenessCase):
    """In interval mode departures keep the reason the deltas gave, or say "resync"."""

    options = {"announce_max": 2, "interval": 10, "presence_deltas": True}  # noqa: RUF012

    def busy(self) -> tuple[PresenceView, LiveRecorder]:
        """A view of a lobby in interval mode (four occupants), synced and quiet."""
        view, recorder = self.open()
        self.world.join("u0", "lobby", timeout=3600)
        self.world.join("u1", "lobby", timeout=3600)
        self.world.join("u2", "lobby", timeout=3600)
        self.world.join("short", "lobby", timeout=15)
        self.world.wait(10)
        self.assertEqual(view.occupancy("lobby"), 4)
        recorder.take()
        return view, recorder

    def departures(self, recorder: LiveRecorder) -> dict[str, str]:
        """uuid -> reason of the leaves told since the last take()."""
        return {call[2]: call[3] for call in recorder.take() if call[0] == "leave"}

    def test_leave_and_timeout(self) -> None:
        """A leave is told as "leave" and a timeout as "timeout", as the interval lists say."""
        _, recorder = self.busy()
        self.world.leave("u1", "lobby")
        self.world.wait(10)
        self.assertEqual(self.departures(recorder), {"u1": "leave", "short": "timeout"})

    def test_join_within_one_interval(self) -> None:
        """A join in interval mode shows at the next interval event: within one interval."""
        view, _ = self.busy()
        self.world.wait(0.5)
        self.world.join("late", "lobby", {"k": 1}, timeout=3600)
        self.world.wait(9, step=0.5)
        self.assertNotIn("late", view.occupants("lobby"), "no event for it yet")
        self.world.wait(0.5, step=0.5)
        self.assertEqual(view.occupants("lobby")["late"], {"k": 1}, "its state read at once")

    def test_timeout_heard_in_the_catch_up(self) -> None:
        """An interval's timeout list heard only in the catch-up after an outage still counts."""
        _, recorder = self.busy()
        self.outage()
        self.world.wait(20)  # "short" times out; the interval saying so waits in the buffer
        self.restore()
        self.world.wait(30)
        self.assertEqual(self.departures(recorder), {"short": "timeout"})

    def test_timeout_kept_while_the_resync_fails(self) -> None:
        """Resync attempts that fail forget buffered events, but not the interval's reasons."""
        _, recorder = self.busy()
        self.outage()
        self.world.wait(20)
        self.world.leave("u1", "lobby")
        self.world.agent.refuse = lambda uri: "/v2/presence/" in uri
        self.world.wait(60)
        self.assertEqual(self.departures(recorder), {})
        self.restore()
        self.world.wait(60)
        self.assertEqual(self.departures(recorder), {"short": "timeout", "u1": "leave"})


class InferredReasonTests(LivenessCase):
    """Without presence deltas the view cannot know why someone went: it says "resync"."""

    options = {"announce_max": 2, "interval": 10}  # noqa: RUF012

    def test_inferred(self) -> None:
        """A leave and a timeout in interval mode without deltas are told as "resync"."""
        view, recorder = self.open()
        for uuid in ("u0", "u1", "u2"):
            self.world.join(uuid, "lobby", timeout=3600)
        self.world.join("short", "lobby", timeout=15)
        self.world.wait(10)
        recorder.take()
        self.world.leave("u1", "lobby")
        self.world.wait(20)
        leaves = [call for call in recorder.take() if call[0] == "leave"]
        self.assertEqual(
            sorted(leaves),
            [("leave", "lobby", "short", "resync"), ("leave", "lobby", "u1", "resync")],
        )
        self.assertEqual(view.occupants("lobby"), self.world.truth("lobby"))

    def test_join_within_one_interval(self) -> None:
        """Without deltas too, a join shows at the next interval event (then a refresh)."""
        view, _ = self.open()
        for uuid in ("u0", "u1", "u2"):
            self.world.join(uuid, "lobby", timeout=3600)
        self.world.wait(10.5, step=0.5)
        self.world.join("late", "lobby", timeout=3600)
        self.world.wait(9, step=0.5)
        self.assertNotIn("late", view.occupants("lobby"))
        self.world.wait(0.5, step=0.5)
        self.assertIn("late", view.occupants("lobby"))
