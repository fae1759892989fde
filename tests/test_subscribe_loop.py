"""The subscribe loop on a Clock with a manual fake agent: cursor, changes, delivery, statuses."""

from __future__ import annotations

import json
from typing import Any, ClassVar, cast

from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNMessageResult,
    PNOperationType,
    PNPresenceEventResult,
    PNStatus,
    PNStatusCategory,
    PubNub,
    SubscribeCallback,
)
from tests.fakes import ManualAgent, PendingRequest, Script
from tests.helpers import SUB_KEY, TAIL, config

C = PNStatusCategory
TT = 17_000_000_000_000_000
HEARTBEAT_OK = b'{"status": 200, "message": "OK", "service": "Presence"}'
LEAVE_OK = b'{"status": 200, "message": "OK", "action": "leave", "service": "Presence"}'
TIME_OK = b"[17000000000000000]"
SUBSCRIBE = f"/v2/subscribe/{SUB_KEY}/"


def answer(tt: int, *entries: dict[str, Any], region: int = 1) -> bytes:
    """A subscribe answer with cursor ``tt``/``region`` and ``entries``."""
    return json.dumps({"t": {"t": str(tt), "r": region}, "m": list(entries)}).encode()


def presence(
    channel: str, action: str, uuid: str | None, tt: int, via: str | None = None, **payload: Any
) -> dict[str, Any]:
    """A presence entry on ``channel``'s ``-pnpres`` (through group ``via`` if given)."""
    data: dict[str, Any] = {"action": action, "timestamp": tt // 10**7, "occupancy": 1, **payload}
    if uuid is not None:
        data["uuid"] = uuid
    name = channel + "-pnpres"
    return {
        "a": "1",
        "f": 0,
        "p": {"t": str(tt), "r": 1},
        "k": SUB_KEY,
        "c": name,
        "d": data,
        "b": name if via is None else via + "-pnpres",
    }


def message(channel: str, body: Any, tt: int, via: str | None = None) -> dict[str, Any]:
    """A message entry published by ``pub`` (through group ``via`` if given)."""
    entry: dict[str, Any] = {
        "a": "1",
        "f": 0,
        "i": "pub",
        "p": {"t": str(tt), "r": 1},
        "k": SUB_KEY,
        "c": channel,
        "d": body,
    }
    if via is not None:
        entry["b"] = via
    return entry


class Recorder(SubscribeCallback):
    """Records everything the loop tells it."""

    def __init__(self) -> None:
        self.statuses: list[PNStatus] = []
        self.messages: list[PNMessageResult] = []
        self.events: list[PNPresenceEventResult] = []

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.statuses.append(status)

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        self.messages.append(message)

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        self.events.append(event)


class LoopCase(SynchronousTestCase):
    """A client on a Clock whose subscribe requests wait for the test to answer.

    Heartbeats, leaves and ``/time/0`` are answered at once with success.
    """

    overrides: ClassVar[dict[str, Any]] = {}

    def setUp(self) -> None:
        self.clock = Clock()
        self.agent = ManualAgent(
            {
                "/heartbeat": Script(body=HEARTBEAT_OK),
                "/leave": Script(body=LEAVE_OK),
                "/time/0": Script(body=TIME_OK),
            }
        )
        settings = {"reconnection_jitter": 0.0, **self.overrides}
        self.pubnub = PubNub(config(**settings), reactor=self.clock, agent=self.agent)
        self.listener = Recorder()
        self.pubnub.add_listener(self.listener)

    def polls(self) -> list[PendingRequest]:
        """Every subscribe request so far."""
        return self.agent.matching(SUBSCRIBE)

    def poll(self) -> PendingRequest:
        """The one subscribe request waiting for an answer."""
        waiting = [pending for pending in self.polls() if pending.open]
        self.assertEqual(len(waiting), 1, [pending.uri for pending in self.polls()])
        return waiting[0]

    def subscribe(self, channels: Any = (), groups: Any = (), presence: bool = False) -> None:
        """Subscribe and let the change be applied."""
        builder = self.pubnub.subscribe().channels(channels).channel_groups(groups)
        if presence:
            builder.with_presence()
        builder.execute()
        self.clock.advance(0)

    def connect(
        self, channels: Any = "a", groups: Any = (), presence: bool = True, tt: int = TT
    ) -> None:
        """Subscribe and answer the handshake with cursor ``tt`` (region 1)."""
        self.subscribe(channels, groups, presence)
        self.poll().respond(answer(tt))

    def capture_logs(self, namespace: str) -> list[LogEvent]:
        """Collect the log events of ``namespace`` until the test ends."""
        events: list[LogEvent] = []

        def observe(event: LogEvent) -> None:
            if event.get("log_namespace") == namespace:
                events.append(event)

        observer = cast(ILogObserver, observe)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        return events

    def categories(self) -> list[PNStatusCategory]:
        return [status.category for status in self.listener.statuses]

    def requests(self, marker: str) -> list[PendingRequest]:
        return self.agent.matching(marker)


class HandshakeTests(LoopCase):
    """The first request, the cursor that follows, and what they carry."""

    def test_handshake_request(self) -> None:
        """The handshake: data and -pnpres names, ``tt=0``, no ``tr``, ``heartbeat`` always."""
        self.subscribe("b,a", presence=True)
        self.assertEqual(
            self.poll().uri,
            f"http://pubnub.test{SUBSCRIBE}a,a-pnpres,b,b-pnpres/0?tt=0&heartbeat=300&{TAIL}",
        )
        self.assertEqual(self.listener.statuses, [])

    def test_groups_only(self) -> None:
        """Groups only: the path has ``,`` and ``channel-group`` lists them."""
        self.subscribe(groups=["g"], presence=True)
        poll = self.poll()
        self.assertEqual(poll.path, f"{SUBSCRIBE},/0")
        self.assertEqual(poll.params["channel-group"], "g,g-pnpres")

    def test_connected_then_cursor(self) -> None:
        """The handshake's answer gives Connected, and the next request uses its cursor."""
        self.subscribe("a")
        self.poll().respond(answer(TT + 5, region=4))
        self.assertEqual(self.categories(), [C.PNConnectedCategory])
        status = self.listener.statuses[0]
        self.assertFalse(status.is_error())
        self.assertEqual(status.affected_channels, ["a"])
        params = self.poll().params
        self.assertEqual((params["tt"], params["tr"]), (str(TT + 5), "4"))

    def test_cursor_carried(self) -> None:
        """Each answer's ``t.t``/``t.r`` is the next request's ``tt``/``tr``."""
        self.connect()
        self.poll().respond(answer(TT + 10, message("a", "hi", TT + 9), region=7))
        params = self.poll().params
        self.assertEqual((params["tt"], params["tr"]), (str(TT + 10), "7"))
        self.assertEqual(len(self.listener.messages), 1)

    def test_with_timetoken(self) -> None:
        """with_timetoken: a handshake first, then polling from the given timetoken."""
        self.pubnub.subscribe().channels("a").with_timetoken(TT - 99).execute()
        self.clock.advance(0)
        self.assertEqual(self.poll().params["tt"], "0")
        self.poll().respond(answer(TT, region=3))
        params = self.poll().params
        self.assertEqual((params["tt"], params["tr"]), (str(TT - 99), "3"))

    def test_names_as_rest_builders(self) -> None:
        """Names take the REST builders' forms; get_subscribed_* list what is polled."""
        self.pubnub.subscribe().channels("a,b", ["c"]).channel_groups(("g",)).execute()
        self.pubnub.subscribe().channels("x-pnpres").with_presence().execute()
        self.assertEqual(self.pubnub.get_subscribed_channels(), ["a", "b", "c", "x-pnpres"])
        self.assertEqual(self.pubnub.get_subscribed_channel_groups(), ["g"])


class ChangeTests(LoopCase):
    """Subscription changes: cursor kept, coalesced, no spurious statuses."""

    def test_change_keeps_cursor(self) -> None:
        """Adding a channel restarts the poll from the stored cursor: no new handshake."""
        self.connect("a", presence=False)
        first = self.poll()
        self.subscribe("b")
        self.assertTrue(first.cancelled)
        params = self.poll().params
        self.assertEqual((params["tt"], params["tr"]), (str(TT), "1"))
        self.assertEqual(self.poll().path, f"{SUBSCRIBE}a,b/0")
        self.assertEqual([p.params["tt"] for p in self.polls()], ["0", str(TT), str(TT)])
        self.assertEqual(
            self.categories(), [C.PNConnectedCategory, C.PNSubscriptionChangedCategory]
        )
        self.assertEqual(self.listener.statuses[1].affected_channels, ["a", "b"])

    def test_coalesced(self) -> None:
        """Several changes in one reactor turn restart the poll once."""
        self.connect("a", presence=False)
        self.pubnub.subscribe().channels("b").execute()
        self.pubnub.subscribe().channels("c").execute()
        self.pubnub.unsubscribe().channels("a").execute()
        self.assertEqual(len(self.polls()), 2)
        self.clock.advance(0)
        self.assertEqual(len(self.polls()), 3)
        self.assertEqual(self.poll().path, f"{SUBSCRIBE}b,c/0")
        self.assertEqual(
            self.categories(), [C.PNConnectedCategory, C.PNSubscriptionChangedCategory]
        )

    def test_change_undone_in_same_turn(self) -> None:
        """Subscribing and unsubscribing a name in one turn: no restart, no status, no leave."""
        self.connect("a", presence=False)
        self.pubnub.subscribe().channels("b").execute()
        self.pubnub.unsubscribe().channels("b").execute()
        self.clock.advance(0)
        self.assertEqual(len(self.polls()), 2)
        self.assertEqual(self.categories(), [C.PNConnectedCategory])
        self.assertEqual(self.requests("/leave"), [])

    def test_change_during_handshake(self) -> None:
        """A change before the handshake answers: a new handshake, then one Connected."""
        self.subscribe("a")
        self.subscribe("b")
        self.assertEqual([p.params["tt"] for p in self.polls()], ["0", "0"])
        self.assertTrue(self.polls()[0].cancelled)
        self.poll().respond(answer(TT))
        self.assertEqual(self.categories(), [C.PNConnectedCategory])
        self.assertEqual(self.listener.statuses[0].affected_channels, ["a", "b"])

    def test_unsubscribe_all(self) -> None:
        """unsubscribe_all: the poll ends, Disconnected, and the next subscribe handshakes."""
        self.connect("a")
        poll = self.poll()
        self.pubnub.unsubscribe_all()
        self.clock.advance(0)
        self.assertTrue(poll.cancelled)
        self.assertEqual(self.categories(), [C.PNConnectedCategory, C.PNDisconnectedCategory])
        disconnected = self.listener.statuses[1]
        self.assertEqual(disconnected.operation, PNOperationType.PNUnsubscribeOperation)
        self.assertFalse(disconnected.is_error())
        self.assertEqual(self.pubnub.get_subscribed_channels(), [])
        self.assertFalse(any(p.open for p in self.polls()))
        self.subscribe("b")
        self.assertEqual(self.poll().params["tt"], "0")

    def test_unsubscribe_last_name(self) -> None:
        """Unsubscribing the last name also stops the loop with Disconnected."""
        self.connect("a")
        self.pubnub.unsubscribe().channels("a").execute()
        self.clock.advance(0)
        self.assertEqual(self.categories(), [C.PNConnectedCategory, C.PNDisconnectedCategory])
        self.assertFalse(any(p.open for p in self.polls()))

    def test_missing_names_refused(self) -> None:
        """subscribe/unsubscribe without names, or a bad timetoken, raise at once."""
        from pubnub_twisted import PubNubException

        self.assertRaises(PubNubException, self.pubnub.subscribe().execute)
        self.assertRaises(PubNubException, self.pubnub.unsubscribe().channels([]).execute)
        self.assertRaises(PubNubException, self.pubnub.subscribe().channels, 5)
        self.assertRaises(PubNubException, self.pubnub.subscribe().with_timetoken, -1)
        self.assertRaises(PubNubException, self.pubnub.subscribe().with_timetoken, True)
        self.clock.advance(0)
        self.assertEqual(self.polls(), [])


class DeliveryTests(LoopCase):
    """What reaches listeners: filtered, de-duplicated, robust to bad listeners and entries."""

    def test_delivered(self) -> None:
        """Messages and presence events reach the listener as results."""
        self.connect("a")
        self.poll().respond(
            answer(TT + 3, message("a", {"x": 1}, TT + 1), presence("a", "join", "u1", TT + 2))
        )
        self.assertEqual(
            self.listener.messages,
            [PNMessageResult({"x": 1}, "a", None, TT + 1, "pub")],
        )
        self.assertEqual(
            [(e.event, e.uuid, e.channel) for e in self.listener.events], [("join", "u1", "a")]
        )

    def test_dropped_when_unsubscribed(self) -> None:
        """Events for names unsubscribed since the poll started are dropped."""
        self.connect(["a", "b"], groups="g")
        self.pubnub.unsubscribe().channels("b").channel_groups("g").execute()
        self.poll().respond(
            answer(
                TT + 9,
                message("a", 1, TT + 1),
                message("b", 2, TT + 2),
                message("m", 3, TT + 3, via="g"),
                presence("a", "join", "u", TT + 4),
                presence("b", "join", "u", TT + 5),
                presence("m", "join", "u", TT + 6, via="g"),
            )
        )
        self.assertEqual([m.message for m in self.listener.messages], [1])
        self.assertEqual([e.channel for e in self.listener.events], ["a"])

    def test_presence_only_unsubscribed_drops_presence(self) -> None:
        """Unsubscribing ``a-pnpres`` keeps a's messages and drops its presence events."""
        self.connect("a")
        self.pubnub.unsubscribe().channels("a-pnpres").execute()
        self.poll().respond(
            answer(TT + 9, message("a", 1, TT + 1), presence("a", "join", "u", TT + 2))
        )
        self.assertEqual(len(self.listener.messages), 1)
        self.assertEqual(self.listener.events, [])

    def test_duplicates_delivered_once(self) -> None:
        """An event redelivered in a later answer reaches listeners once."""
        self.connect("a")
        join = presence("a", "join", "u1", TT + 1)
        other = presence("a", "join", "u2", TT + 1)
        hello = message("a", "hello", TT + 1)
        self.poll().respond(answer(TT + 2, join, hello))
        self.poll().respond(answer(TT + 3, join, other, hello))
        self.assertEqual([e.uuid for e in self.listener.events], ["u1", "u2"])
        self.assertEqual(len(self.listener.messages), 1)

    def test_listener_raises(self) -> None:
        """A listener that raises is logged; later listeners and the loop go on."""

        class Broken(SubscribeCallback):
            def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
                raise ZeroDivisionError("broken listener")

        self.pubnub.remove_listener(self.listener)
        self.pubnub.add_listener(Broken())
        self.pubnub.add_listener(self.listener)
        self.connect("a")
        self.poll().respond(
            answer(
                TT + 3, presence("a", "join", "u1", TT + 1), presence("a", "leave", "u1", TT + 2)
            )
        )
        self.assertEqual([e.event for e in self.listener.events], ["join", "leave"])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 2)
        self.assertEqual(self.poll().params["tt"], str(TT + 3))

    def test_listener_order(self) -> None:
        """Listeners are called in the order added; a removed one is not called."""
        calls: list[str] = []

        class Named(SubscribeCallback):
            def __init__(self, name: str) -> None:
                self.name = name

            def status(self, pubnub: PubNub, status: PNStatus) -> None:
                calls.append(self.name)

        first, second, third = Named("1"), Named("2"), Named("3")
        for listener in (first, second, third, first):
            self.pubnub.add_listener(listener)
        self.pubnub.remove_listener(second)
        self.connect("a")
        self.assertEqual(calls, ["1", "3"])
        self.assertRaises(TypeError, self.pubnub.add_listener, object())

    def test_malformed_entry_skipped(self) -> None:
        """A malformed entry is logged and skipped; the others are delivered."""
        seen = self.capture_logs("pubnub_twisted.subscribe")
        self.connect("a")
        bad = presence("a", "join", "u1", TT + 1)
        bad["d"] = {"uuid": "u1"}
        self.poll().respond(answer(TT + 3, bad, {"c": 5}, message("a", "ok", TT + 2)))
        self.assertEqual([m.message for m in self.listener.messages], ["ok"])
        skipped = [e for e in seen if "skipped a subscribe entry" in e.get("log_format", "")]
        self.assertEqual(len(skipped), 2)
        self.assertIn("presence action is None", skipped[0]["why"])
        self.assertEqual(self.poll().params["tt"], str(TT + 3))

    def test_malformed_answer_is_a_failure(self) -> None:
        """An answer without a cursor is a failed poll (UnexpectedDisconnect), not a crash."""
        self.connect("a")
        self.poll().respond(b'{"m": []}')
        self.assertEqual(
            self.categories(), [C.PNConnectedCategory, C.PNUnexpectedDisconnectCategory]
        )
        cause = self.listener.statuses[1].error_data
        assert cause is not None
        self.assertIn("missing key 't'", cause.information)
