"""The subscribe loop's presence duties: heartbeats with state, leaves, presence-only observers."""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import error as neterror

from tests.fakes import Script
from tests.test_subscribe_loop import TT, C, LoopCase, answer

HEARTBEAT_PATH = "/v2/presence/sub-key/sub-c-test/channel/{}/heartbeat"
LEAVE_PATH = "/v2/presence/sub-key/sub-c-test/channel/{}/leave"


class HeartbeatTests(LoopCase):
    """Heartbeats: when, for which names, with which state."""

    overrides = {"presence_timeout": 20}  # noqa: RUF012

    def heartbeats(self) -> int:
        return len(self.requests("/heartbeat"))

    def last_state(self) -> Any:
        state = self.requests("/heartbeat")[-1].params.get("state")
        return None if state is None else json.loads(state)

    def test_timing(self) -> None:
        """First heartbeat right after the handshake, then every presence_timeout/2 - 1 s."""
        self.subscribe("a", presence=True)
        self.assertEqual(self.heartbeats(), 0)
        self.poll().respond(answer(TT))
        self.assertEqual(self.heartbeats(), 1)
        self.clock.advance(8.9)
        self.assertEqual(self.heartbeats(), 1)
        self.clock.advance(0.1)
        self.assertEqual(self.heartbeats(), 2)
        self.clock.advance(9)
        self.assertEqual(self.heartbeats(), 3)
        beat = self.requests("/heartbeat")[0]
        self.assertEqual(beat.path, HEARTBEAT_PATH.format("a"))
        self.assertEqual(beat.params["heartbeat"], "20")
        self.assertEqual({p.params["heartbeat"] for p in self.polls()}, {"20"})

    def test_custom_interval(self) -> None:
        """An interval set explicitly is used as is; the subscribe ``heartbeat`` is the timeout."""
        self.pubnub.config.set_presence_timeout_with_custom_interval(60, 5)
        self.connect("a")
        self.clock.advance(5)
        self.assertEqual(self.heartbeats(), 2)
        self.assertEqual(self.poll().params["heartbeat"], "60")

    def test_interval_zero(self) -> None:
        """heartbeat_interval 0 turns heartbeats off."""
        self.pubnub.config.heartbeat_interval = 0
        self.connect("a")
        self.clock.advance(100)
        self.assertEqual(self.heartbeats(), 0)

    def test_data_names_only(self) -> None:
        """Heartbeats name data channels and groups, never -pnpres names."""
        self.connect(["b", "x-pnpres"], groups="g")
        beat = self.requests("/heartbeat")[0]
        self.assertEqual(beat.path, HEARTBEAT_PATH.format("b"))
        self.assertEqual(beat.params["channel-group"], "g")
        self.assertNotIn("pnpres", beat.uri)

    def test_state_carried(self) -> None:
        """State set for subscribed channels rides on later heartbeats; others are ignored."""
        self.connect(["a", "b"])
        state = {"mood": "ok"}
        self.pubnub.set_state().channels(["a", "c"]).state(state).deferred()
        state["mood"] = "changed afterwards"
        self.clock.advance(9)
        self.assertEqual(self.last_state(), {"a": {"mood": "ok"}})

    def test_state_not_sent_when_refused(self) -> None:
        """A set_state refused before sending is not remembered."""
        self.connect("a")
        self.pubnub.set_state().channels("a").state([1]).deferred()  # type: ignore[arg-type]
        self.clock.advance(9)
        self.assertIsNone(self.last_state())

    def test_state_on_handshake(self) -> None:
        """A handshake carries the state of its channels; cursor polls do not."""
        self.subscribe("a")
        self.pubnub.set_state().channels("a").state({"k": 1}).deferred()
        self.subscribe("b")
        self.assertEqual(json.loads(self.poll().params["state"]), {"a": {"k": 1}})
        self.poll().respond(answer(TT))
        self.assertNotIn("state", self.poll().params)

    def test_state_dropped_on_unsubscribe(self) -> None:
        """Unsubscribing a channel forgets its state, also if subscribed again."""
        self.connect(["a", "b"])
        self.pubnub.set_state().channels("a,b").state({"k": 1}).deferred()
        self.pubnub.unsubscribe().channels("a").execute()
        self.clock.advance(0)
        self.pubnub.subscribe().channels("a").execute()
        self.clock.advance(9)
        self.assertEqual(self.last_state(), {"b": {"k": 1}})

    def test_paused_while_reconnecting(self) -> None:
        """No heartbeats while the loop reconnects; one at once when it is back."""
        self.pubnub.config.reconnection_interval = 30
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.advance(29.9)
        self.assertEqual(self.heartbeats(), 1)
        self.clock.advance(0.1)
        self.assertEqual(self.categories()[-1], C.PNReconnectedCategory)
        self.assertEqual(self.heartbeats(), 2)

    def test_failure_logged(self) -> None:
        """A failed heartbeat is logged; the next one still goes out on time."""
        seen = self.capture_logs("pubnub_twisted.heartbeat")
        self.agent.auto["/heartbeat"] = Script(code=400, body=b'{"message": "Invalid"}')
        self.connect("a")
        self.clock.advance(9)
        self.assertEqual(self.heartbeats(), 2)
        self.assertEqual(len([e for e in seen if "heartbeat failed" in e.get("log_format", "")]), 2)
        self.assertEqual(self.categories(), [C.PNConnectedCategory])


class LeaveTests(LoopCase):
    """Leaves name exactly the data names no longer subscribed."""

    def leaves(self) -> list[tuple[str, str | None]]:
        return [(p.path, p.params.get("channel-group")) for p in self.requests("/leave")]

    def test_exact_names(self) -> None:
        """One leave for the removed data channels and groups; presence-only removals send none."""
        self.connect(["a", "b", "c"], groups=["g", "h"])
        self.pubnub.unsubscribe().channels("b", "c-pnpres").channel_groups("g").execute()
        self.pubnub.unsubscribe().channels("zz").execute()
        self.clock.advance(0)
        self.assertEqual(self.leaves(), [(LEAVE_PATH.format("b"), "g")])
        self.assertEqual(self.poll().path, "/v2/subscribe/sub-c-test/a,a-pnpres,c/0")
        self.assertEqual(self.poll().params["channel-group"], "h,h-pnpres")

    def test_unsubscribe_all(self) -> None:
        """unsubscribe_all leaves every data name at once."""
        self.connect(["a", "b", "x-pnpres"], groups="g")
        self.pubnub.unsubscribe_all()
        self.clock.advance(0)
        self.assertEqual(self.leaves(), [(LEAVE_PATH.format("a,b"), "g")])

    def test_suppressed(self) -> None:
        """suppress_leave_events: no leave at all."""
        self.pubnub.config.suppress_leave_events = True
        self.connect(["a", "b"])
        self.pubnub.unsubscribe().channels("a").execute()
        self.pubnub.unsubscribe_all()
        self.clock.advance(0)
        self.assertEqual(self.leaves(), [])

    def test_never_announced_no_leave(self) -> None:
        """A name added and removed before any request named it gets no leave."""
        self.pubnub.subscribe().channels("a").execute()
        self.pubnub.unsubscribe().channels("a").execute()
        self.clock.advance(0)
        self.assertEqual(self.agent.requests, [])
        self.assertEqual(self.listener.statuses, [])


class ObserverTests(LoopCase):
    """Subscribing to ``ch-pnpres`` alone: presence events without being counted."""

    def test_observer(self) -> None:
        """Only the -pnpres name is polled; no heartbeat, no leave."""
        self.subscribe("a-pnpres", presence=True)
        self.assertEqual(self.poll().path, "/v2/subscribe/sub-c-test/a-pnpres/0")
        self.poll().respond(answer(TT))
        self.clock.advance(1000)
        self.assertEqual(self.requests("/heartbeat"), [])
        self.assertEqual(self.categories(), [C.PNConnectedCategory])
        self.pubnub.unsubscribe().channels("a-pnpres").execute()
        self.clock.advance(0)
        self.assertEqual(self.requests("/leave"), [])
        self.assertEqual(self.categories()[-1], C.PNDisconnectedCategory)

    def test_group_observer(self) -> None:
        """A group's presence alone: ``channel-group=g-pnpres`` and no heartbeat."""
        self.connect((), groups="g-pnpres")
        self.assertEqual(self.poll().path, "/v2/subscribe/sub-c-test/,/0")
        self.assertEqual(self.poll().params["channel-group"], "g-pnpres")
        self.assertEqual(self.requests("/heartbeat"), [])

    def test_data_added_starts_heartbeat(self) -> None:
        """An observer that subscribes to a data channel starts heartbeating it at once."""
        self.connect("a-pnpres")
        self.subscribe("b")
        self.assertEqual(
            [p.path for p in self.requests("/heartbeat")], [HEARTBEAT_PATH.format("b")]
        )
        self.pubnub.unsubscribe().channels("b").execute()
        self.clock.advance(1000)
        self.assertEqual(len(self.requests("/heartbeat")), 1)
