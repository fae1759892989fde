"""Subscribe entries as results (presence events, messages), and the time endpoint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNMessageResult,
    PNOperationType,
    PNPresenceEventResult,
    PNSignalMessageResult,
    PNTimeResponse,
)
from pubnub_twisted.endpoints.pubsub.subscribe import parse_entry
from tests.helpers import TAIL, EndpointCase
from tests.test_subscribe_loop import message, presence

TT = 14818963587725382


def event(entry: dict[str, Any]) -> PNPresenceEventResult:
    result = parse_entry(entry)
    assert isinstance(result, PNPresenceEventResult), result
    return result


class PresenceParseTests(SynchronousTestCase):
    """Presence entries (``c`` ending in ``-pnpres``) become PNPresenceEventResult."""

    def test_join_direct(self) -> None:
        """A join on a direct presence subscription (``b == c``): subscription None."""
        entry = {
            "a": "2",
            "f": 0,
            "p": {"t": str(TT), "r": 2},
            "k": "sub-c-x",
            "c": "lobby-pnpres",
            "d": {"action": "join", "timestamp": 1481896358, "uuid": "u1", "occupancy": 1},
            "b": "lobby-pnpres",
        }
        self.assertEqual(
            event(entry),
            PNPresenceEventResult(
                event="join",
                uuid="u1",
                timestamp=1481896358,
                occupancy=1,
                state=None,
                channel="lobby",
                subscription=None,
                timetoken=TT,
            ),
        )

    def test_leave_and_timeout(self) -> None:
        """leave and timeout carry uuid and occupancy after; no lists, no state."""
        for action in ("leave", "timeout"):
            result = event(presence("ch", action, "u2", TT, occupancy=0))
            self.assertEqual((result.event, result.uuid, result.occupancy), (action, "u2", 0))
            self.assertIsNone(result.state)
            self.assertEqual((result.join, result.leave, result.timeout), (None, None, None))

    def test_state_change(self) -> None:
        """state-change: ``data`` is the new state."""
        result = event(presence("ch", "state-change", "u1", TT, data={"mood": "busy"}))
        self.assertEqual(result.state, {"mood": "busy"})

    def test_join_ignores_lists(self) -> None:
        """join/leave/timeout keys on a non-interval event are left out (None)."""
        result = event(presence("ch", "join", "u1", TT, join=["x"]))
        self.assertIsNone(result.join)

    def test_interval(self) -> None:
        """interval: no uuid, the join/leave/timeout lists, here_now_refresh false."""
        result = event(
            presence("ch", "interval", None, TT, occupancy=3, join=["a", "b"], leave=["c"])
        )
        self.assertEqual((result.event, result.uuid, result.occupancy), ("interval", None, 3))
        self.assertEqual((result.join, result.leave, result.timeout), (["a", "b"], ["c"], None))
        self.assertFalse(result.here_now_refresh)

    def test_interval_refresh(self) -> None:
        """here_now_refresh is kept; a string timestamp becomes an int; no ``b`` is direct."""
        entry = presence("c1", "interval", None, TT, occupancy=0, here_now_refresh=True)
        entry["d"]["timestamp"] = "1720033913"
        del entry["b"]
        result = event(entry)
        self.assertTrue(result.here_now_refresh)
        self.assertEqual(result.timestamp, 1720033913)
        self.assertIsNone(result.subscription)
        self.assertIsNone(result.join)

    def test_group_delivery(self) -> None:
        """Through a group: channel is the member, subscription the group, both unsuffixed."""
        result = event(presence("member", "join", "u1", TT, via="grp"))
        self.assertEqual((result.channel, result.subscription), ("member", "grp"))

    def test_tolerant(self) -> None:
        """Unknown keys are ignored; a missing timestamp comes from the timetoken."""
        entry = presence("ch", "join", "u1", TT, extra={"x": 1})
        entry["zz"] = "?"
        del entry["d"]["timestamp"]
        self.assertEqual(event(entry).timestamp, TT // 10**7)

    def test_malformed(self) -> None:
        """Entries that cannot be read raise ValueError saying why."""
        good = presence("ch", "join", "u1", TT)
        cases: list[tuple[Any, str]] = [
            ([], "not an object"),
            ({**good, "c": None}, "channel 'c'"),
            ({**good, "p": "x"}, "publish metadata"),
            ({**good, "p": {"t": "soon"}}, "timetoken 'p.t'"),
            ({k: v for k, v in good.items() if k != "d"}, "no payload"),
            ({**good, "d": "join"}, "not an object"),
            ({**good, "d": {"action": "join", "uuid": 5, "occupancy": 1}}, "uuid"),
            ({**good, "d": {"action": "join", "uuid": "u"}}, "occupancy"),
            ({**good, "d": {"action": "interval", "occupancy": 1, "join": "u"}}, "'join'"),
        ]
        for entry, why in cases:
            with self.assertRaises(ValueError) as caught:
                parse_entry(entry)
            self.assertIn(why, str(caught.exception))

    def test_readable(self) -> None:
        """str() and repr() say what happened."""
        result = event(presence("ch", "interval", None, TT, occupancy=3, join=["a"], via="g"))
        self.assertEqual(str(result), f"interval ch via g occupancy=3 join=[a] @{TT}")
        self.assertIn("PNPresenceEventResult(event='interval'", repr(result))
        joined = event(presence("ch", "join", "u1", TT, data={"k": 1}))
        self.assertEqual(str(joined), f"join ch u1 occupancy=1 state={{'k': 1}} @{TT}")


class MessageParseTests(SynchronousTestCase):
    """Message entries become PNMessageResult."""

    def test_direct(self) -> None:
        """A message on a direct subscription: no ``b``, publisher from ``i``."""
        self.assertEqual(
            parse_entry(message("ch", {"text": "hey"}, TT)),
            PNMessageResult({"text": "hey"}, "ch", None, TT, "pub"),
        )

    def test_group(self) -> None:
        """Through a group: subscription is the group; meta is kept."""
        entry = {**message("ch", "hey", TT, via="grp"), "u": {"m": 1}}
        result = parse_entry(entry)
        assert isinstance(result, PNMessageResult)
        self.assertEqual((result.subscription, result.user_metadata), ("grp", {"m": 1}))
        self.assertEqual(str(result), f"message on ch via grp from pub: 'hey' @{TT}")

    def test_other_types_ignored(self) -> None:
        """Objects, actions and files (``e`` 2-4) are not messages: None."""
        for kind in (2, 3, 4):
            self.assertIsNone(parse_entry({**message("ch", "x", TT), "e": kind}))
        self.assertIsNotNone(parse_entry({**message("ch", "x", TT), "e": 0}))

    def test_signal_and_custom_type(self) -> None:
        """``e`` 1 is a signal; ``cmt`` becomes custom_message_type on both kinds."""
        signal = parse_entry({**message("ch", "typing", TT), "e": 1, "cmt": "ui"})
        self.assertEqual(signal, PNSignalMessageResult("typing", "ch", None, TT, "pub", None, "ui"))
        self.assertEqual(str(signal), f"signal (ui) on ch from pub: 'typing' @{TT}")
        plain = parse_entry({**message("ch", "hi", TT), "cmt": "chat"})
        assert isinstance(plain, PNMessageResult)
        self.assertNotIsInstance(plain, PNSignalMessageResult)
        self.assertEqual(plain.custom_message_type, "chat")


class TimeTests(EndpointCase):
    """``pubnub.time()``: ``GET /time/0`` and its bare-array answer."""

    body: Any = (14818963707386265,)

    def test_time(self) -> None:
        """The timetoken as an int, its str, and its UTC date."""
        envelope = self.send(self.pubnub.time())
        self.assertEqual(self.resource.seen[0].uri, f"/time/0?{TAIL}")
        result = envelope.result
        self.assertEqual(result, PNTimeResponse(14818963707386265))
        assert result is not None
        self.assertEqual((int(result), str(result)), (14818963707386265, "14818963707386265"))
        self.assertEqual(result.date_time(), datetime(2016, 12, 16, 13, 52, 50, 738626, tzinfo=UTC))
        self.assertEqual(envelope.status.operation, PNOperationType.PNTimeOperation)

    def test_malformed(self) -> None:
        """An answer that is not ``[number]`` is a MalformedResponse."""
        self.malformed(self.pubnub.time(), b'{"t": 1}', "expected [timetoken], got dict")
        self.malformed(self.pubnub.time(), b'["soon"]', "invalid literal")
        self.malformed(self.pubnub.time(), b"[true]", "the timetoken is True, not a number")
