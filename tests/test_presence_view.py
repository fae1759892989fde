"""PresenceView on a Clock against the embedded server in memory: sync, replay, live, resync."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNStatus,
    PNStatusCategory,
    PresenceView,
    PubNub,
    PubNubException,
    SubscribeCallback,
)
from pubnub_twisted.presence_view._snapshot import take_snapshot
from pubnub_twisted.presence_view._sync import CHECK_DELAY
from tests.test_presence_view_support import Recorder, World


class ViewCase(SynchronousTestCase):
    """A world, a viewer client, and helpers to open a view and read it."""

    options: dict[str, Any] = {}  # noqa: RUF012

    def setUp(self) -> None:
        self.world = World(**self.options)
        self.pubnub = self.world.client()
        self.addCleanup(self.world.stop)

    def open(self, **kwargs: Any) -> tuple[PresenceView, Recorder]:
        """A view (``channels="lobby"`` unless told otherwise), with a Recorder, synced."""
        if "channels" not in kwargs and "channel_groups" not in kwargs:
            kwargs["channels"] = "lobby"
        view = self.pubnub.presence_view(**kwargs)
        recorder = Recorder()
        view.add_listener(recorder)
        synced = view.when_synced()
        self.world.settle()
        self.successResultOf(synced)
        return view, recorder

    def assertTrue_(self, view: PresenceView, *channels: str) -> None:
        """The view agrees with the server on ``channels``."""
        for channel in channels:
            self.assertEqual(view.occupants(channel), self.world.truth(channel), channel)


class FirstSyncTests(ViewCase):
    """The first snapshot: what is read, what is told."""

    options = {"announce_max": 100_000}  # noqa: RUF012  (no interval mode)

    def test_snapshot_told_as_joins(self) -> None:
        """Everyone already there is told with on_join (with state), then on_sync."""
        self.world.join("alice", "lobby", {"mood": "ok"})
        self.world.join("bob", ["lobby", "hall"])
        view, recorder = self.open()
        self.assertEqual(
            recorder.take(),
            [("join", "lobby", "alice", {"mood": "ok"}), ("join", "lobby", "bob", None), ("sync",)],
        )
        self.assertEqual(view.occupants("lobby"), {"alice": {"mood": "ok"}, "bob": None})
        self.assertEqual(view.occupancy("lobby"), 2)
        self.assertEqual(view.channels_of("bob"), ["lobby"])
        self.assertEqual(view.channels(), ["lobby"])
        self.assertEqual(view.occupants("hall"), {})
        self.assertEqual(self.successResultOf(view.when_synced()), None)

    def test_observer_only(self) -> None:
        """The view subscribes to -pnpres names only, so its client is not counted."""
        self.world.join("alice", "lobby")
        self.open(channels=["lobby", "hall"], channel_groups="g")
        self.assertEqual(self.pubnub.get_subscribed_channels(), ["hall-pnpres", "lobby-pnpres"])
        self.assertEqual(self.pubnub.get_subscribed_channel_groups(), ["g-pnpres"])
        self.assertNotIn("viewer", self.world.truth("lobby"))
        self.assertEqual(self.world.agent.count("/heartbeat"), 0)

    def test_waits_for_the_subscription(self) -> None:
        """No snapshot while the subscribe handshake fails; one once it is answered."""
        self.world.agent.refuse = lambda uri: "/v2/subscribe/" in uri
        view = self.pubnub.presence_view(channels="lobby")
        self.world.wait(5)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 0)
        self.assertNoResult(view.when_synced())
        self.world.agent.refuse = lambda uri: False
        self.world.wait(10)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 1)
        self.successResultOf(view.when_synced())

    def test_events_during_snapshot(self) -> None:
        """Events that arrive during the snapshot are replayed after it: once, in order."""
        self.world.join("alice", "lobby", {"v": 1})
        self.world.join("bob", "lobby")

        def before(uri: str) -> None:
            if "/v2/presence/" in uri:  # after the time was taken: the snapshot sees these
                self.world.leave("bob", "lobby")
                self.world.join("carol", "lobby")

        self.world.agent.before = before
        self.world.agent.hold = lambda uri: "/v2/presence/" in uri
        view = self.pubnub.presence_view(channels="lobby")
        recorder = Recorder()
        view.add_listener(recorder)
        self.world.settle()
        self.world.set_state("alice", "lobby", {"v": 2})  # these it does not see
        self.world.leave("carol", "lobby")
        self.world.join("dave", "lobby")
        self.world.settle()
        self.assertEqual(recorder.take(), [])
        self.world.agent.release()
        self.world.settle()
        self.assertTrue_(view, "lobby")
        self.assertEqual(
            recorder.take(),
            [("join", "lobby", "alice", {"v": 2}), ("join", "lobby", "dave", None), ("sync",)],
        )

    def test_events_after_snapshot(self) -> None:
        """Events the snapshot already reflects change nothing when they arrive after it."""
        self.world.join("alice", "lobby")

        def before(uri: str) -> None:
            if "/v2/presence/" in uri:
                self.world.join("bob", "lobby", {"k": 1})
                self.world.set_state("alice", "lobby", {"k": 2})

        self.world.agent.before = before
        view, recorder = self.open()
        self.world.settle()
        self.assertTrue_(view, "lobby")
        self.assertEqual(
            recorder.take(),
            [("join", "lobby", "alice", {"k": 2}), ("join", "lobby", "bob", {"k": 1}), ("sync",)],
        )

    def test_paging(self) -> None:
        """A channel of 2500 is read in three pages of at most 1000, with state."""
        for number in range(2500):
            self.world.join(f"u{number:04}", "big", {"n": number})
        view, recorder = self.open(channels="big")
        self.assertEqual(view.occupancy("big"), 2500)
        self.assertEqual(view.occupants("big")["u2499"], {"n": 2499})
        self.assertTrue_(view, "big")
        pages = [uri for uri in self.world.agent.uris if "/v2/presence/" in uri]
        self.assertEqual(len(pages), 3)
        self.assertTrue(all("limit=1000" in uri for uri in pages))
        self.assertEqual(sum("offset=" in uri for uri in pages), 2)
        self.assertEqual(len(recorder.calls), 2501)

    def test_paging_while_people_leave(self) -> None:
        """A leave between pages shifts the later pages; the count check refreshes the channel."""
        for number in range(2500):
            self.world.join(f"u{number:04}", "big")

        def before(uri: str) -> None:
            if "offset=1000" in uri:
                self.world.leave("u0005", "big")

        self.world.agent.before = before
        view, recorder = self.open(channels="big")
        self.assertEqual(view.occupancy("big"), 2498, "u1000 was skipped by the shift")
        self.assertNotIn("u1000", view.occupants("big"))
        recorder.take()
        self.world.wait(CHECK_DELAY)
        self.assertTrue_(view, "big")
        self.assertEqual(recorder.take(), [("join", "big", "u1000", None), ("sync",)])

    def test_pages_of_many_channels(self) -> None:
        """Channels of a group needing more pages are read together, a few names per request."""
        self.world.group("g", ["a", "b", "c", "d"])
        for number in range(1100):
            self.world.join(f"u{number:04}", ["a", "b", "c", "d"][: 3 + number % 2])
        d = Deferred.fromCoroutine(take_snapshot(self.pubnub, (), ("g",), channels_per_page=2))
        self.world.settle()
        snapshot = self.successResultOf(d)
        self.assertEqual(snapshot.occupancy, {"a": 1100, "b": 1100, "c": 1100, "d": 550})
        for channel in ("a", "b", "c", "d"):
            self.assertEqual(snapshot.occupants[channel], self.world.truth(channel))
        pages = sorted(uri.partition("sub-c-view")[2] for uri in self.world.agent.uris)
        pages = [page for page in pages if "offset=" in page]
        self.assertEqual(len(pages), 2, "three channels need a second page; d does not")
        self.assertTrue(pages[0].startswith("/channel/a,b?"), pages)
        self.assertTrue(pages[1].startswith("/channel/c?"), pages)
        self.assertTrue(all("offset=1000" in page for page in pages))

    def test_groups(self) -> None:
        """A view of a channel group covers its channels, through here_now and events."""
        self.world.group("g", ["a", "b"])
        self.world.join("alice", ["a", "b"])
        view, recorder = self.open(channel_groups="g")
        self.assertEqual(view.channels(), ["a", "b"])
        self.assertEqual(view.channels_of("alice"), ["a", "b"])
        recorder.take()
        self.world.join("bob", "b", {"k": 1})
        self.world.leave("alice", "a")
        self.world.join("carol", "elsewhere")
        self.world.settle()
        self.assertEqual(
            recorder.take(), [("join", "b", "bob", {"k": 1}), ("leave", "a", "alice", "leave")]
        )
        self.assertEqual(view.channels(), ["b"])
        self.assertTrue_(view, "a", "b")


class LiveTests(ViewCase):
    """After the first sync, events apply as they come."""

    def test_join_state_leave_timeout(self) -> None:
        """Each kind of event changes the view once and is told once, with its reason."""
        view, recorder = self.open()
        self.assertEqual(recorder.take(), [("sync",)])
        self.world.join("alice", "lobby", {"mood": "ok"})
        self.world.join("bob", "lobby", timeout=10)
        self.world.settle()
        self.world.set_state("alice", "lobby", {"mood": "great"})
        self.world.settle()
        self.world.leave("alice", "lobby")
        self.world.wait(11)
        self.assertEqual(
            recorder.take(),
            [
                ("join", "lobby", "alice", {"mood": "ok"}),
                ("join", "lobby", "bob", None),
                ("state", "lobby", "alice", {"mood": "great"}),
                ("leave", "lobby", "alice", "leave"),
                ("leave", "lobby", "bob", "timeout"),
            ],
        )
        self.assertEqual(view.occupants("lobby"), {})
        self.assertEqual(view.channels_of("alice"), [])

    def test_redelivered_events(self) -> None:
        """With the server repeating every batch, each change is still told once."""
        self.world = World(redeliver_events=True)
        self.pubnub = self.world.client()
        view, recorder = self.open()
        for uuid in ("a", "b", "c"):
            self.world.join(uuid, "lobby")
            self.world.settle()
        self.world.leave("b", "lobby")
        self.world.wait(3)
        self.assertEqual(
            [call[:3] for call in recorder.take()],
            [
                ("sync",),
                ("join", "lobby", "a"),
                ("join", "lobby", "b"),
                ("join", "lobby", "c"),
                ("leave", "lobby", "b"),
            ],
        )
        self.assertTrue_(view, "lobby")

    def test_listener_errors_logged(self) -> None:
        """A listener that raises is logged; the others and the view carry on."""

        class Broken(Recorder):
            def on_join(self, channel: str, uuid: str, state: Any) -> None:
                raise RuntimeError("listener bug")

        view = self.pubnub.presence_view(channels="lobby")
        view.add_listener(Broken())
        recorder = Recorder()
        view.add_listener(recorder)
        self.world.join("alice", "lobby")
        self.world.settle()
        self.world.join("bob", "lobby")
        self.world.settle()
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
        self.assertEqual(set(recorder.picture["lobby"]), {"alice", "bob"})
        self.assertTrue_(view, "lobby")

    def test_remove_listener(self) -> None:
        """A removed listener hears nothing more."""
        view, recorder = self.open()
        view.remove_listener(recorder)
        self.world.join("alice", "lobby")
        self.world.settle()
        self.assertEqual(recorder.take(), [("sync",)])


class GraceTests(ViewCase):
    """With a grace window, a leave followed by a join is not told."""

    def flap(self, back: dict[str, int]) -> tuple[PresenceView, Recorder]:
        """alice (state {"v": 1}) leaves, and is back 4 s later with state ``back``."""
        self.world.join("alice", "lobby", {"v": 1})
        view, recorder = self.open(grace=5.0)
        recorder.take()
        self.world.leave("alice", "lobby")
        self.world.settle()
        self.assertEqual(view.occupants("lobby"), {}, "the data is never held back")
        self.world.wait(4)
        self.world.join("alice", "lobby", back)
        self.world.settle()  # heard before the grace window ends
        self.world.wait(10)
        self.assertEqual(view.occupants("lobby"), {"alice": back})
        return view, recorder

    def test_flap_hidden(self) -> None:
        """Leave then join within grace: no notification; the data shows the leave meanwhile."""
        _, recorder = self.flap({"v": 1})
        self.assertEqual(recorder.take(), [])

    def test_back_with_other_state(self) -> None:
        """Back within grace with another state: only on_state_change."""
        _, recorder = self.flap({"v": 2})
        self.assertEqual(recorder.take(), [("state", "lobby", "alice", {"v": 2})])

    def test_leave_told_after_grace(self) -> None:
        """A leave not followed by a join is told when the grace window ends, with its reason."""
        self.world.join("alice", "lobby", timeout=10)
        _, recorder = self.open(grace=5.0)
        recorder.take()
        self.world.wait(11)
        self.assertEqual(recorder.take(), [])
        self.world.wait(5)
        self.assertEqual(recorder.take(), [("leave", "lobby", "alice", "timeout")])


class ResyncTests(ViewCase):
    """A reconnect resynchronises, and only what changed is told."""

    options = {"buffer_size": 1}  # noqa: RUF012  (catch-up after a drop loses events)

    def test_reconnect_diff(self) -> None:
        """Changes missed while disconnected are told after the resync; the rest is quiet."""
        for uuid in ("alice", "bob", "carol"):
            self.world.join(uuid, "lobby", {"v": 1})
        view, recorder = self.open()
        recorder.take()
        self.assertEqual(self.world.agent.drop(), 1)
        self.world.settle()
        self.world.leave("alice", "lobby")
        self.world.set_state("bob", "lobby", {"v": 2})
        self.world.join("dave", "lobby")
        self.world.join("erin", "lobby")
        self.world.wait(4)
        self.assertTrue_(view, "lobby")
        self.assertEqual(
            recorder.take(),
            [
                ("leave", "lobby", "alice", "resync"),
                ("state", "lobby", "bob", {"v": 2}),
                ("join", "lobby", "dave", None),
                ("join", "lobby", "erin", None),
                ("sync",),
            ],
        )

    def test_no_replay_across_a_gap(self) -> None:
        """After a reconnect no event from before the snapshot is replayed: some were lost."""
        view, _ = self.open()
        self.world.join("alice", "lobby")
        self.world.settle()
        self.world.agent.drop()
        self.world.settle()
        self.world.set_state("alice", "lobby", {"v": 2})  # lost: the catch-up keeps one event
        self.world.join("bob", "lobby")
        self.world.wait(4)
        self.assertTrue_(view, "lobby")
        self.assertEqual(view.occupants("lobby")["alice"], {"v": 2})

    def test_reason_from_late_event(self) -> None:
        """A departure seen only in the catch-up after a reconnect keeps its reason."""
        self.world = World()  # a catch-up buffer big enough for everything
        self.pubnub = self.world.client(reconnection_interval=10.0)
        self.world.join("alice", "lobby", timeout=5)
        view, recorder = self.open()
        recorder.take()
        self.world.agent.drop()
        self.world.wait(6)
        self.assertEqual(recorder.take(), [])
        self.assertIn("alice", view.occupants("lobby"), "nothing heard while disconnected")
        self.world.wait(5)
        self.assertEqual(recorder.take(), [("leave", "lobby", "alice", "timeout"), ("sync",)])
        self.assertEqual(view.occupants("lobby"), {})

    def test_own_cache_waited_out(self) -> None:
        """A resync soon after a snapshot waits until that here_now is out of the 3 s cache."""
        self.world = World(here_now_cache=3.0)
        self.pubnub = self.world.client(reconnection_interval=0.5)
        self.world.join("alice", "lobby")
        view, recorder = self.open()
        self.world.clock.advance(1)
        self.world.join("bob", "lobby")
        self.world.settle()
        self.world.agent.drop()
        self.world.wait(1.75, step=0.25)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 1, "not yet")
        self.world.wait(0.5, step=0.25)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 2)
        self.assertEqual(recorder.take()[2:], [("join", "lobby", "bob", None), ("sync",)])
        self.assertEqual(view.occupants("lobby"), {"alice": None, "bob": None})

    def test_statuses(self) -> None:
        """The view resyncs on PNReconnectedCategory, not on each subscription change."""
        statuses: list[PNStatusCategory] = []
        self.pubnub.add_listener(_StatusRecorder(statuses))
        _, recorder = self.open()
        snapshots = self.world.agent.count("/time/0")
        self.pubnub.subscribe().channels("other").execute()
        self.world.settle()
        self.assertEqual(self.world.agent.count("/time/0"), snapshots)
        self.world.agent.drop()
        self.world.wait(4)
        self.assertIn(PNStatusCategory.PNReconnectedCategory, statuses)
        self.assertGreater(self.world.agent.count("/time/0"), snapshots + 1)
        self.assertEqual(recorder.take(), [("sync",), ("sync",)])


class IntervalTests(ViewCase):
    """Busy channels send interval events; the view keeps up, state included."""

    options = {"announce_max": 2, "interval": 10, "presence_deltas": True}  # noqa: RUF012

    def test_deltas_and_states(self) -> None:
        """Interval lists apply; joiners' states are read by a refresh of that channel."""
        view, recorder = self.open()
        for number in range(5):
            self.world.join(f"u{number}", "lobby", {"n": number}, timeout=25)
        self.world.settle()
        self.world.wait(10)
        self.assertTrue_(view, "lobby")
        self.assertEqual(recorder.picture, {"lobby": self.world.truth("lobby")})
        self.world.leave("u1", "lobby")
        self.world.wait(10)
        self.assertTrue_(view, "lobby")
        self.assertIn(("leave", "lobby", "u1", "leave"), recorder.calls)
        self.world.wait(10)  # the rest time out
        self.assertEqual(view.occupants("lobby"), {})
        self.assertIn(("leave", "lobby", "u4", "timeout"), recorder.calls)

    def test_back_between_intervals(self) -> None:
        """A leave and a join between two intervals are in no list; the refresh shows the change."""
        for uuid in ("a", "b", "c"):
            self.world.join(uuid, "lobby", {"v": 1})
        view, recorder = self.open()
        self.world.join("d", "lobby")  # interval mode from here
        self.world.wait(10)
        recorder.take()
        self.world.leave("a", "lobby")
        self.world.join("a", "lobby")  # back, without its state
        self.world.wait(10)
        self.assertEqual(view.occupants("lobby")["a"], None)
        self.assertEqual(recorder.take(), [("state", "lobby", "a", None), ("sync",)])

    def test_here_now_refresh(self) -> None:
        """An interval too big for its lists says here_now_refresh: the channel is re-read."""
        view, _ = self.open()
        long = "x" * 40
        for number in range(900):
            self.world.join(f"{long}{number:04}", "lobby")
        self.world.settle()
        reads = self.world.agent.count("/v2/presence/")
        self.world.wait(10)
        self.assertEqual(self.world.agent.count("/v2/presence/"), reads + 1)
        self.assertTrue_(view, "lobby")

    def test_without_deltas(self) -> None:
        """Without deltas an interval's occupancy alone shows the drift; the check refreshes."""
        self.world = World(announce_max=2, interval=10)
        self.pubnub = self.world.client()
        view, _ = self.open()
        for number in range(4):
            self.world.join(f"u{number}", "lobby")
        self.world.wait(10 + CHECK_DELAY)
        self.assertTrue_(view, "lobby")


class LifecycleTests(ViewCase):
    """Stopping, failures and bad arguments."""

    def test_stop(self) -> None:
        """stop() unsubscribes, tells nothing more, leaves no timer; the data stays readable."""
        self.world.join("alice", "lobby")
        view, recorder = self.open(grace=5.0)
        self.world.leave("alice", "lobby")
        self.world.settle()
        view.stop()
        self.world.settle()
        self.assertEqual(self.pubnub.get_subscribed_channels(), [])
        self.world.join("bob", "lobby")
        self.world.wait(10)
        self.assertEqual(recorder.take(), [("join", "lobby", "alice", None), ("sync",)])
        self.assertEqual(view.occupants("lobby"), {})
        self.successResultOf(view.when_synced())
        view.stop()
        self.successResultOf(self.pubnub.stop())
        self.world.stop()
        self.assertEqual(self.world.clock.getDelayedCalls(), [])

    def test_stop_before_sync(self) -> None:
        """Stopped before its first sync, the view fails when_synced with CancelledError."""
        view = self.pubnub.presence_view(channels="lobby")
        synced = view.when_synced()
        view.stop()
        self.failureResultOf(synced, CancelledError)
        self.failureResultOf(view.when_synced(), CancelledError)
        self.world.settle()
        self.assertEqual(self.world.agent.count("/v2/presence/"), 0)

    def test_cancel_when_synced(self) -> None:
        """Cancelling a when_synced Deferred forgets it; the others still fire."""
        view = self.pubnub.presence_view(channels="lobby")
        first, second = view.when_synced(), view.when_synced()
        first.cancel()
        self.failureResultOf(first, CancelledError)
        self.world.settle()
        self.successResultOf(second)

    def test_client_stopped(self) -> None:
        """pubnub.stop() ends the view: when_synced fails, no timer is left."""
        self.world.agent.refuse = lambda uri: "/v2/presence/" in uri
        view = self.pubnub.presence_view(channels="lobby")
        synced = view.when_synced()
        self.world.wait(5)
        self.assertNoResult(synced)
        self.pubnub.stop()
        self.world.settle()
        self.failureResultOf(synced, CancelledError)
        self.world.stop()
        self.assertEqual(self.world.clock.getDelayedCalls(), [])

    def test_shared_names(self) -> None:
        """Names the client or another view still uses stay subscribed when a view stops."""
        self.pubnub.subscribe().channels("lobby").with_presence().execute()
        self.world.settle()
        first, _ = self.open(channels=["lobby", "hall"])
        second, _ = self.open(channels="hall")
        first.stop()
        self.world.settle()
        self.assertEqual(
            self.pubnub.get_subscribed_channels(), ["hall-pnpres", "lobby", "lobby-pnpres"]
        )
        second.stop()
        self.world.settle()
        self.assertEqual(self.pubnub.get_subscribed_channels(), ["lobby", "lobby-pnpres"])

    def test_already_subscribed(self) -> None:
        """Names already polled: the view syncs at once, without waiting for a status."""
        self.pubnub.subscribe().channels("lobby-pnpres").execute()
        self.world.settle()
        self.world.join("alice", "lobby")
        self.world.settle()
        view, recorder = self.open()
        self.assertEqual(recorder.take(), [("join", "lobby", "alice", None), ("sync",)])
        self.world.join("bob", "lobby")
        self.world.settle()
        self.assertTrue_(view, "lobby")

    def test_snapshot_retried(self) -> None:
        """A snapshot that fails is logged and tried again later, until it works."""
        self.world.join("alice", "lobby")
        self.world.join("bob", "lobby")
        broken = [True]
        self.world.agent.refuse = lambda uri: broken[0] and "/v2/presence/" in uri
        view = self.pubnub.presence_view(channels="lobby")
        self.world.wait(10)
        self.assertNoResult(view.when_synced())
        self.assertGreater(self.world.agent.count("/v2/presence/"), 3)
        self.world.leave("alice", "lobby")
        for number in range(50):  # buffered meanwhile; forgotten at each retry but departures
            self.world.set_state("bob", "lobby", {"n": number})
        self.world.wait(5)
        tries = self.world.agent.count("/v2/presence/")
        broken[0] = False
        self.world.wait(60)
        self.successResultOf(view.when_synced())
        self.assertTrue_(view, "lobby")
        self.world.wait(60)
        self.assertEqual(self.world.agent.count("/v2/presence/"), tries + 1)

    def test_access_denied(self) -> None:
        """A refused subscribe ends the view: when_synced fails with the PubNubException."""
        self.world = World(auth_keys={"secret"})
        self.pubnub = self.world.client()
        view = self.pubnub.presence_view(channels="lobby")
        synced = view.when_synced()
        self.world.settle()
        failure = self.failureResultOf(synced, PubNubException)
        self.assertIn("403", str(failure.value))
        self.world.wait(60)
        self.assertEqual(self.world.agent.count("/v2/presence/"), 0)

    def test_bad_arguments(self) -> None:
        """No names, presence names, a bad grace or no subscribe key are refused at once."""
        cases: list[dict[str, Any]] = [
            {},
            {"channels": []},
            {"channels": "lobby-pnpres"},
            {"channel_groups": ["g-pnpres"]},
            {"channels": "lobby", "grace": -1},
            {"channels": "lobby", "grace": float("nan")},
            {"channels": "lobby", "grace": True},
            {"channels": "lobby", "grace": "2"},
            {"channels": 3},
        ]
        for kwargs in cases:
            self.assertRaises(PubNubException, self.pubnub.presence_view, **kwargs)
        keyless = self.world.client(subscribe_key=None)
        self.assertRaises(PubNubException, keyless.presence_view, channels="lobby")
        self.assertEqual(self.pubnub.get_subscribed_channels(), [])

    def test_repr(self) -> None:
        """The repr names the channels and groups."""
        view = self.pubnub.presence_view(channels="a,b", channel_groups="g")
        self.assertEqual(repr(view), "PresenceView(channels=['a', 'b'], channel_groups=['g'])")


class _StatusRecorder(SubscribeCallback):
    def __init__(self, into: list[PNStatusCategory]) -> None:
        self._into = into

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self._into.append(status.category)
