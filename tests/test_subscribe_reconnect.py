"""The subscribe loop's failures: long-poll timeout, reconnection with backoff, give-up, stop."""

from __future__ import annotations

import itertools

from twisted.internet import error as neterror

from pubnub_twisted import PNReconnectionPolicy
from tests.fakes import Script
from tests.test_subscribe_loop import TT, C, LoopCase, answer, message

FORBIDDEN = (
    b'{"message": "Forbidden", "payload": {"channels": ["a"]}, "error": true,'
    b' "service": "Access Manager", "status": 403}'
)


class TimeoutTests(LoopCase):
    """A poll that reaches its deadline is a normal long-poll end."""

    def test_deadline_restarts_silently(self) -> None:
        """At subscribe_request_timeout the poll restarts with the same cursor, no status."""
        self.connect("a")
        first = self.poll()
        self.clock.advance(309.9)
        self.assertTrue(first.open)
        self.clock.advance(0.1)
        self.assertTrue(first.cancelled)
        self.assertEqual(self.poll().params["tt"], str(TT))
        self.assertEqual(self.categories(), [C.PNConnectedCategory])

    def test_connect_timeout_is_a_failure(self) -> None:
        """A connect timeout (long before the deadline) is an unexpected disconnect."""
        self.connect("a")
        self.poll().fail(neterror.TimeoutError())
        self.assertEqual(
            self.categories(), [C.PNConnectedCategory, C.PNUnexpectedDisconnectCategory]
        )

    def test_not_retried_by_transport(self) -> None:
        """A failed poll is not retried by the REST retry policy: the loop reconnects itself."""
        self.connect("a")
        self.poll().respond(b'{"error": "busy"}', code=503)
        self.clock.advance(1.5)
        self.assertEqual(len(self.polls()), 2)
        self.assertEqual(
            self.categories(), [C.PNConnectedCategory, C.PNUnexpectedDisconnectCategory]
        )
        status = self.listener.statuses[1]
        self.assertTrue(status.is_error())
        self.assertEqual(status.status_code, 503)


class BackoffTests(LoopCase):
    """Reconnection delays on the Clock, probing /time/0 before resuming."""

    overrides = {  # noqa: RUF012
        "reconnect_policy": PNReconnectionPolicy.LINEAR,
        "reconnection_interval": 3.0,
        "maximum_reconnection_retries": -1,
    }

    def probes(self) -> int:
        return len(self.requests("/time/0"))

    def test_linear(self) -> None:
        """LINEAR: a probe every reconnection_interval; a good one resumes from the cursor."""
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.agent.auto["/time/0"] = Script(code=500, body=b"{}")
        for expected in (1, 2):
            self.clock.advance(2.99)
            self.assertEqual(self.probes(), expected - 1)
            self.clock.advance(0.01)
            self.assertEqual(self.probes(), expected)
        self.assertEqual(len(self.polls()), 2)
        self.agent.auto["/time/0"] = Script(body=b"[1]")
        self.clock.advance(3)
        self.assertEqual(self.probes(), 3)
        params = self.poll().params
        self.assertEqual((params["tt"], params["tr"]), (str(TT), "1"))
        self.assertEqual(
            self.categories(),
            [C.PNConnectedCategory, C.PNUnexpectedDisconnectCategory, C.PNReconnectedCategory],
        )

    def test_exponential_bounds(self) -> None:
        """EXPONENTIAL: interval * 2**(n-1), capped, plus at most reconnection_jitter."""
        self.pubnub.config.reconnect_policy = PNReconnectionPolicy.EXPONENTIAL
        self.pubnub.config.reconnection_interval = 1.0
        self.pubnub.config.maximum_reconnection_interval = 4.0
        self.pubnub.config.reconnection_jitter = 0.5
        self.agent.auto["/time/0"] = Script(code=500, body=b"{}")
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        times = [self.clock.seconds()]
        while len(times) < 6 and self.clock.seconds() < 60:
            self.clock.advance(0.01)
            if self.probes() == len(times):
                times.append(self.clock.seconds())
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        for gap, base in zip(gaps, [1, 2, 4, 4, 4], strict=True):
            self.assertTrue(base - 0.001 <= gap < base + 0.5 + 0.011, (gaps, base))

    def test_probe_before_resume(self) -> None:
        """No poll goes out while /time/0 fails; the first good probe is followed by one."""
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.agent.auto["/time/0"] = Script(failure=neterror.ConnectionRefusedError())
        self.clock.pump([1] * 30)
        self.assertEqual(len(self.polls()), 2)
        self.assertEqual(self.probes(), 10)
        self.agent.auto["/time/0"] = Script(body=b"[1]")
        self.clock.advance(3)
        self.assertEqual(len(self.polls()), 3)
        kinds = [r.path.split("/")[1] for r in self.agent.requests if "heartbeat" not in r.path]
        self.assertEqual(kinds[-2:], ["time", "v2"])

    def test_failed_handshake_resumes_with_handshake(self) -> None:
        """When even the handshake failed, resuming handshakes again and announces Connected."""
        self.subscribe("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.advance(3)
        self.assertEqual(self.poll().params["tt"], "0")
        self.poll().respond(answer(TT))
        self.assertEqual(
            self.categories(), [C.PNUnexpectedDisconnectCategory, C.PNConnectedCategory]
        )


class GiveUpTests(LoopCase):
    """After maximum_reconnection_retries, Disconnected with a reason; nothing left running."""

    overrides = {  # noqa: RUF012
        "reconnect_policy": PNReconnectionPolicy.LINEAR,
        "reconnection_interval": 1.0,
        "maximum_reconnection_retries": 2,
    }

    def test_give_up(self) -> None:
        """Two failed probes, then Disconnected with error_data; no timers, no more requests."""
        self.agent.auto["/time/0"] = Script(code=500, body=b'{"message": "down"}')
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(
            self.categories(),
            [C.PNConnectedCategory, C.PNUnexpectedDisconnectCategory, C.PNDisconnectedCategory],
        )
        status = self.listener.statuses[-1]
        self.assertTrue(status.is_error())
        assert status.error_data is not None
        self.assertIn("gave up reconnecting after 2 attempt(s)", status.error_data.information)
        self.assertIn("last error: HTTP Server Error (500): down", status.error_data.information)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        count = len(self.agent.requests)
        self.clock.advance(100)
        self.assertEqual(len(self.agent.requests), count)

    def test_resumed_poll_failing_counts(self) -> None:
        """Polls that fail right after a good probe still reach the limit."""
        self.connect("a")
        for _ in range(3):
            self.poll().fail(neterror.ConnectionRefusedError())
            self.clock.advance(1)
        self.assertEqual(
            self.categories(),
            [C.PNConnectedCategory]
            + [C.PNUnexpectedDisconnectCategory, C.PNReconnectedCategory] * 2
            + [C.PNUnexpectedDisconnectCategory, C.PNDisconnectedCategory],
        )

    def test_success_resets_count(self) -> None:
        """A poll that succeeds resets the attempt count."""
        self.connect("a")
        for step in range(4):
            self.poll().fail(neterror.ConnectionRefusedError())
            self.clock.advance(1)
            self.poll().respond(answer(TT + step + 1))
        self.assertNotIn(C.PNDisconnectedCategory, self.categories())

    def test_policy_none(self) -> None:
        """reconnect_policy NONE: Disconnected right after the failure."""
        self.pubnub.config.reconnect_policy = PNReconnectionPolicy.NONE
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.assertEqual(
            self.categories()[-2:], [C.PNUnexpectedDisconnectCategory, C.PNDisconnectedCategory]
        )
        status = self.listener.statuses[-1]
        assert status.error_data is not None
        self.assertIn("reconnection is off", status.error_data.information)
        self.assertEqual(self.requests("/time/0"), [])

    def test_reconnect_after_give_up(self) -> None:
        """reconnect() after giving up resumes from the stored cursor."""
        self.pubnub.config.maximum_reconnection_retries = 0
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.assertEqual(self.categories()[-1], C.PNDisconnectedCategory)
        self.pubnub.reconnect()
        self.assertEqual(self.categories()[-1], C.PNReconnectedCategory)
        self.assertEqual(self.poll().params["tt"], str(TT))

    def test_forever(self) -> None:
        """maximum_reconnection_retries -1: probes never stop."""
        self.pubnub.config.maximum_reconnection_retries = -1
        self.agent.auto["/time/0"] = Script(code=500, body=b"{}")
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.clock.pump([1] * 50)
        self.assertEqual(len(self.requests("/time/0")), 50)
        self.assertNotIn(C.PNDisconnectedCategory, self.categories())


class RefusedTests(LoopCase):
    """403 and 400 end the loop instead of reconnecting."""

    def test_access_denied(self) -> None:
        """403: AccessDenied, the loop stops, nothing stays subscribed, no timer left."""
        self.connect("a")
        self.poll().respond(FORBIDDEN, code=403)
        self.assertEqual(self.categories(), [C.PNConnectedCategory, C.PNAccessDeniedCategory])
        status = self.listener.statuses[-1]
        self.assertEqual(status.status_code, 403)
        self.assertTrue(status.is_error())
        self.assertEqual(self.pubnub.get_subscribed_channels(), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertFalse(any(p.open for p in self.polls()))
        self.assertEqual(self.requests("/time/0"), [])

    def test_bad_request(self) -> None:
        """400: that status and the loop stops; a later change resumes from the cursor."""
        self.connect("a")
        self.poll().respond(b'{"status": 400, "message": "Invalid"}', code=400)
        self.assertEqual(self.categories(), [C.PNConnectedCategory, C.PNBadRequestCategory])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.subscribe("b")
        self.assertEqual(self.poll().params["tt"], str(TT))
        self.assertEqual(self.categories()[-1], C.PNReconnectedCategory)


class StatusOrderTests(LoopCase):
    """The statuses of a whole session, in order."""

    overrides = {"reconnection_interval": 1.0}  # noqa: RUF012

    def test_statuses_in_order(self) -> None:
        """Connected, SubscriptionChanged, UnexpectedDisconnect, Reconnected, Disconnected."""
        self.connect("a")
        self.subscribe("b")
        self.poll().fail(neterror.ConnectionLost())
        self.clock.advance(1)
        self.poll().respond(answer(TT + 1, message("b", "back", TT + 1)))
        self.pubnub.unsubscribe_all()
        self.clock.advance(0)
        self.assertEqual(
            self.categories(),
            [
                C.PNConnectedCategory,
                C.PNSubscriptionChangedCategory,
                C.PNUnexpectedDisconnectCategory,
                C.PNReconnectedCategory,
                C.PNDisconnectedCategory,
            ],
        )
        self.assertEqual([m.message for m in self.listener.messages], ["back"])
        errors = [status.is_error() for status in self.listener.statuses]
        self.assertEqual(errors, [False, False, True, False, False])


class StopTests(LoopCase):
    """pubnub.stop(): leave, cancel, and a clean reactor."""

    def test_stop(self) -> None:
        """stop() leaves the data names, announces Disconnected, and leaves no timer."""
        self.connect("a", groups="g")
        poll = self.poll()
        self.assertTrue(self.clock.getDelayedCalls())
        d = self.pubnub.stop()
        self.successResultOf(d)
        self.assertTrue(poll.cancelled)
        [leave] = self.requests("/leave")
        self.assertEqual(leave.path, "/v2/presence/sub-key/sub-c-test/channel/a/leave")
        self.assertEqual(leave.params["channel-group"], "g")
        self.assertEqual(self.categories()[-1], C.PNDisconnectedCategory)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_bounded(self) -> None:
        """A leave that is never answered delays stop() by non_subscribe_request_timeout only."""
        self.agent.auto["/leave"] = Script(hang=True)
        self.connect("a")
        d = self.pubnub.stop()
        self.clock.advance(9.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_while_reconnecting(self) -> None:
        """stop() while waiting to reconnect cancels the wait."""
        self.connect("a")
        self.poll().fail(neterror.ConnectionRefusedError())
        self.successResultOf(self.pubnub.stop())
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(1000)
        self.assertEqual(self.requests("/time/0"), [])

    def test_stop_suppressed_leave(self) -> None:
        """With suppress_leave_events, stop() sends no leave."""
        self.pubnub.config.suppress_leave_events = True
        self.connect("a")
        self.successResultOf(self.pubnub.stop())
        self.assertEqual(self.requests("/leave"), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_after_stop(self) -> None:
        """After stop(), subscribe does nothing; a pending change is dropped."""
        self.pubnub.subscribe().channels("a").execute()
        self.successResultOf(self.pubnub.stop())
        self.pubnub.subscribe().channels("b").execute()
        self.clock.advance(1)
        self.assertEqual(self.agent.requests, [])
        self.assertEqual(self.listener.statuses, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])
