"""here_now: request building and response parsing, in memory."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNHereNowChannelData,
    PNHereNowOccupantData,
    PNHereNowResult,
    PNStatusCategory,
    PubNub,
    PubNubException,
)
from pubnub_twisted.endpoints.presence.here_now import HereNow
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.transport import PNSDK
from tests.fakes import FakeAgent, FakeResponse, Script
from tests.helpers import SUB_KEY, UUID, CannedResource, EndpointCase, canned_client, config

PNSDK_Q = PNSDK.replace("/", "%2F")
BASE = f"/v2/presence/sub-key/{SUB_KEY}"


class HereNowRequestTests(SynchronousTestCase):
    """The exact requests here_now sends."""

    def send(self, builder: HereNow, resource: CannedResource) -> str:
        d = builder.deferred()
        self.agent.flush()
        self.successResultOf(d)
        self.assertEqual(len(resource.seen), 1)
        return resource.seen[0].uri

    def setUp(self) -> None:
        self.resource = CannedResource(body={"status": 200, "occupancy": 0, "uuids": []})
        self.pubnub, self.clock, self.agent = canned_client(self.resource)

    def test_one_channel(self) -> None:
        """One channel: the channel in the path, then pnsdk and uuid."""
        uri = self.send(self.pubnub.here_now().channels("lobby"), self.resource)
        self.assertEqual(uri, f"{BASE}/channel/lobby?pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_several_channels_and_flags(self) -> None:
        """Several channels join with a literal comma; flags are sent only when set."""
        builder = self.pubnub.here_now().channels("my_channel", "demo").include_state(True)
        uri = self.send(builder.include_uuids(False), self.resource)
        self.assertEqual(
            uri,
            f"{BASE}/channel/my_channel,demo?state=1&disable_uuids=1&pnsdk={PNSDK_Q}&uuid={UUID}",
        )

    def test_string_split_on_commas(self) -> None:
        """``"a,b"`` is two channels, sent joined by a literal comma."""
        resource = CannedResource()
        pubnub, _, self.agent = canned_client(resource)
        uri = self.send(pubnub.here_now().channels("a,b"), resource)
        self.assertTrue(uri.startswith(f"{BASE}/channel/a,b?"), uri)

    def test_hostile_names_encoded(self) -> None:
        """Slashes, spaces, &, #, %, non-ASCII and emoji are percent-encoded."""
        names = ["a/b c", "x&y#z", "100%", "über", "😀"]
        uri = self.send(self.pubnub.here_now().channels(names), self.resource)
        self.assertTrue(
            uri.startswith(f"{BASE}/channel/a%2Fb%20c,x%26y%23z,100%25,%C3%BCber,%F0%9F%98%80?"),
            uri,
        )

    def test_groups_only(self) -> None:
        """Groups only: the path has a literal ``,`` and groups go in ``channel-group``."""
        uri = self.send(self.pubnub.here_now().channel_groups(["cg1", "c g&2"]), self.resource)
        self.assertEqual(
            uri,
            f"{BASE}/channel/,?channel-group=cg1,c%20g%262&pnsdk={PNSDK_Q}&uuid={UUID}",
        )

    def test_global(self) -> None:
        """Neither channels nor groups: the global form, limit and offset when set."""
        uri = self.send(self.pubnub.here_now().limit(10).offset(20), self.resource)
        self.assertEqual(uri, f"{BASE}?limit=10&offset=20&pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_keyword_arguments(self) -> None:
        """Keyword arguments set the same fields as the setters."""
        uri = self.send(self.pubnub.here_now(channels=["a"], include_state=True), self.resource)
        self.assertEqual(uri, f"{BASE}/channel/a?state=1&pnsdk={PNSDK_Q}&uuid={UUID}")

    def test_user_agent(self) -> None:
        """The User-Agent header is the pnsdk string."""
        self.send(self.pubnub.here_now().channels("a"), self.resource)
        self.assertEqual(self.resource.seen[0].headers[b"User-Agent"], [PNSDK.encode()])


class HereNowValidationTests(EndpointCase):
    """Bad input gives an error envelope naming the problem, and nothing is sent."""

    def test_explicitly_empty(self) -> None:
        """An explicitly empty channel list is an error, not a global here_now."""
        self.refused(self.pubnub.here_now().channels([]), "Channel or group missing")
        self.refused(self.pubnub.here_now().channel_groups(""), "Channel or group missing")

    def test_missing_subscribe_key(self) -> None:
        """No subscribe key: ``Subscribe key not configured``."""
        self.pubnub.config.subscribe_key = None
        self.refused(self.pubnub.here_now().channels("a"), "Subscribe key not configured")

    def test_bad_names(self) -> None:
        """Channel names that are not strings are refused."""
        self.refused(self.pubnub.here_now().channels([1]), "Invalid argument")  # type: ignore[list-item]
        self.refused(self.pubnub.here_now().channels(5), "Invalid argument")  # type: ignore[arg-type]

    def test_bad_limit(self) -> None:
        """limit must be 1..1000 and offset non-negative."""
        self.refused(self.pubnub.here_now().limit(0), "limit must be an integer from 1 to 1000")
        self.refused(self.pubnub.here_now().limit(1001), "limit must be")
        self.refused(self.pubnub.here_now().offset(-1), "offset must be an integer 0 or more")

    def test_bad_flag(self) -> None:
        """include_state must be a bool."""
        self.refused(
            self.pubnub.here_now().include_state("no"),  # type: ignore[arg-type]
            "include_state must be True or False",
        )

    def test_uuid(self) -> None:
        """An empty or non-string uuid is refused."""
        self.pubnub.config.uuid = ""
        self.refused(self.pubnub.here_now(), "uuid missing or not a string")
        self.pubnub.config.uuid = 42  # type: ignore[assignment]
        self.refused(self.pubnub.here_now(), "uuid missing or not a string")


def parse(body: Any, builder_setup: Any) -> PNEnvelope[PNHereNowResult]:
    resource = CannedResource(body=body)
    pubnub, _, agent = canned_client(resource)
    d = builder_setup(pubnub.here_now()).deferred()
    agent.flush()
    results: list[PNEnvelope[PNHereNowResult]] = []
    d.addCallback(results.append)
    return results[0]


class HereNowParsingTests(SynchronousTestCase):
    """Every here_now shape of PROTOCOL.md section 2 becomes the same typed result."""

    def test_flat_single_channel(self) -> None:
        """The flat one-channel answer gives one channel entry and total_channels 1."""
        body = {
            "status": 200,
            "message": "OK",
            "service": "Presence",
            "uuids": ["u1", "u2"],
            "occupancy": 2,
        }
        envelope = parse(body, lambda b: b.channels("ch1"))
        self.assertEqual(
            envelope.result,
            PNHereNowResult(
                1,
                2,
                [
                    PNHereNowChannelData(
                        "ch1", 2, [PNHereNowOccupantData("u1"), PNHereNowOccupantData("u2")]
                    )
                ],
            ),
        )
        self.assertEqual(envelope.status.category, PNStatusCategory.PNAcknowledgmentCategory)
        self.assertEqual(envelope.status.status_code, 200)

    def test_flat_with_state(self) -> None:
        """state=1: occupants carry their state, or None where they have none."""
        body = {
            "status": 200,
            "occupancy": 2,
            "uuids": [{"uuid": "u1", "state": {"age": 15}}, {"uuid": "u2"}],
        }
        result = parse(body, lambda b: b.channels("ch1").include_state(True)).result
        assert result is not None
        self.assertEqual(
            result.channels[0].occupants,
            [PNHereNowOccupantData("u1", {"age": 15}), PNHereNowOccupantData("u2", None)],
        )

    def test_flat_occupancy_only(self) -> None:
        """disable_uuids: occupants is an empty list, occupancy still set."""
        result = parse({"status": 200, "occupancy": 3}, lambda b: b.channels("c")).result
        assert result is not None
        self.assertEqual(result.channels, [PNHereNowChannelData("c", 3, [])])

    def test_flat_empty_channel(self) -> None:
        """An empty channel is one entry with occupancy 0, never ``{}`` or None."""
        body = {"status": 200, "occupancy": 0, "uuids": []}
        result = parse(body, lambda b: b.channels("c")).result
        self.assertEqual(result, PNHereNowResult(1, 0, [PNHereNowChannelData("c", 0, [])]))

    def test_wrapped(self) -> None:
        """Several channels: the payload shape, totals from the payload."""
        body = {
            "status": 200,
            "message": "OK",
            "service": "Presence",
            "payload": {
                "channels": {
                    "ch1": {"occupancy": 1, "uuids": ["u1"]},
                    "ch2": {"occupancy": 2, "uuids": ["u1", "u2"]},
                },
                "total_channels": 2,
                "total_occupancy": 3,
            },
        }
        result = parse(body, lambda b: b.channels("ch1", "ch2")).result
        assert result is not None
        self.assertEqual((result.total_channels, result.total_occupancy), (2, 3))
        self.assertEqual([c.channel_name for c in result.channels], ["ch1", "ch2"])
        self.assertEqual([o.uuid for o in result.channels[1].occupants], ["u1", "u2"])

    def test_wrapped_state_and_occupancy_only(self) -> None:
        """Wrapped entries with state objects, and with occupancy only."""
        body = {
            "status": 200,
            "payload": {
                "channels": {
                    "a": {"occupancy": 1, "uuids": [{"uuid": "u1", "state": {"k": "v"}}]},
                    "b": {"occupancy": 4},
                },
                "total_channels": 2,
                "total_occupancy": 5,
            },
        }
        result = parse(body, lambda b: b.channel_groups("g")).result
        assert result is not None
        self.assertEqual(result.channels[0].occupants, [PNHereNowOccupantData("u1", {"k": "v"})])
        self.assertEqual(result.channels[1], PNHereNowChannelData("b", 4, []))

    def test_malformed(self) -> None:
        """Bodies that are not JSON, or not the right shape, are MalformedResponse."""
        cases = [
            (b"<html>oops</html>", "JSON decoding failed"),
            ([1, 2], "expected a JSON object, got list"),
            ({"status": 200, "uuids": "x", "occupancy": 1}, "'uuids' is str"),
            ({"status": 200, "uuids": []}, "missing key 'occupancy'"),
            ({"status": 200, "occupancy": "2"}, "key 'occupancy' has the wrong type"),
            ({"status": 200, "payload": {"channels": []}}, "key 'channels' has the wrong type"),
            ({"status": 200, "uuids": [{"state": {}}], "occupancy": 1}, "has no uuid"),
        ]
        for body, message in cases:
            envelope = parse(body, lambda b: b.channels("c"))
            self.assertEqual(
                envelope.status.category, PNStatusCategory.PNMalformedResponseCategory, body
            )
            assert envelope.status.error_data is not None
            self.assertIn(message, envelope.status.error_data.information)

    def test_http_errors(self) -> None:
        """HTTP errors map to categories and say what the service said."""
        forbidden = {
            "message": "Forbidden",
            "payload": {"channels": ["ch1"]},
            "error": True,
            "service": "Access Manager",
            "status": 403,
        }
        cases: list[tuple[int, Any, PNStatusCategory, str]] = [
            (
                400,
                {"status": 400, "message": "Invalid JSON", "error": True},
                PNStatusCategory.PNBadRequestCategory,
                "HTTP Client Error (400): Invalid JSON",
            ),
            (
                403,
                forbidden,
                PNStatusCategory.PNAccessDeniedCategory,
                "HTTP Client Error (403): Forbidden (channels: ch1)",
            ),
            (
                404,
                b"not here",
                PNStatusCategory.PNUnknownCategory,
                "HTTP Client Error (404): Not Found; body is not JSON: 'not here'",
            ),
            (
                502,
                b"<html>Bad Gateway</html>",
                PNStatusCategory.PNUnknownCategory,
                "HTTP Server Error (502): Bad Gateway; body is not JSON",
            ),
            (
                400,
                [0, "Invalid Key"],
                PNStatusCategory.PNBadRequestCategory,
                'HTTP Client Error (400): Bad Request; [0, "Invalid Key"]',
            ),
        ]
        for code, body, category, message in cases:
            resource = CannedResource(code=code, body=body)
            pubnub, _, agent = canned_client(resource, request_max_retries=0)
            d = pubnub.here_now().channels("c").deferred()
            agent.flush()
            envelope = self.successResultOf(d)
            self.assertEqual(envelope.status.category, category)
            self.assertEqual(envelope.status.status_code, code)
            assert envelope.status.error_data is not None
            self.assertIn(message, envelope.status.error_data.information)
            d2 = pubnub.here_now().channels("c").result()
            agent.flush()
            failure = self.failureResultOf(d2, PubNubException)
            self.assertIn(message, str(failure.value))
            self.assertIs(failure.value.status.category, category)


class RequestLoggingTests(SynchronousTestCase):
    """One structured twisted.logger event per call when log_requests is on."""

    def capture(self) -> list[LogEvent]:
        events: list[LogEvent] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        return events

    def test_event_per_call(self) -> None:
        """A call logs operation, channels, status code, category and latency."""
        events = self.capture()
        agent = FakeAgent(Script(hang=True))
        clock = Clock()
        conf = config(log_requests=True, auth_key="SECRET-AUTH")
        pubnub = PubNub(conf, reactor=clock, agent=agent)
        d = pubnub.here_now().channels("lobby").deferred()
        clock.advance(0.25)
        agent.pending[0].callback(FakeResponse(200, [b'{"occupancy": 0}'], {}, True))
        self.successResultOf(d)
        mine = [e for e in events if e.get("log_namespace") == "pubnub_twisted.request"]
        self.assertEqual(len(mine), 1)
        event = mine[0]
        self.assertEqual(event["operation"], "PNHereNowOperation")
        self.assertEqual(event["channels"], ["lobby"])
        self.assertEqual(event["status_code"], 200)
        self.assertEqual(event["category"], "PNAcknowledgmentCategory")
        self.assertEqual(event["latency"], 0.25)
        self.assertNotIn("SECRET-AUTH", repr(event))

    def test_validation_error_logged(self) -> None:
        """A refused call is logged too, with its error."""
        events = self.capture()
        pubnub, _, _ = canned_client(CannedResource(), log_requests=True)
        self.successResultOf(pubnub.here_now().channels([]).deferred())
        mine = [e for e in events if e.get("log_namespace") == "pubnub_twisted.request"]
        self.assertEqual(mine[0]["category"], "PNBadRequestCategory")
        self.assertIn("Channel or group missing", mine[0]["error"])

    def test_quiet_by_default(self) -> None:
        """Without log_requests nothing is emitted for a call."""
        events = self.capture()
        resource = CannedResource(body={"status": 200, "occupancy": 0, "uuids": []})
        pubnub, _, agent = canned_client(resource)
        d = pubnub.here_now().channels("lobby").deferred()
        agent.flush()
        self.successResultOf(d)
        self.assertEqual([e for e in events if "pubnub_twisted" in e.get("log_namespace", "")], [])


class CollectorTests(SynchronousTestCase):
    """Parsing a big answer pauses the cyclic collector, and always restores it."""

    def test_restored(self) -> None:
        """The collector is on again after a parse, and after a malformed answer too."""
        import gc

        self.assertTrue(gc.isenabled())
        body = {"status": 200, "payload": {"channels": {"a": {"occupancy": 1, "uuids": ["u"]}}}}
        self.assertIsNotNone(parse(body, lambda b: b.channels("a", "b")).result)
        self.assertTrue(gc.isenabled())
        bad = {"status": 200, "payload": {"channels": {"a": {"occupancy": 1, "uuids": [7]}}}}
        status = parse(bad, lambda b: b.channels("a", "b")).status
        self.assertEqual(status.category, PNStatusCategory.PNMalformedResponseCategory)
        self.assertTrue(gc.isenabled())
        gc.disable()
        self.addCleanup(gc.enable)
        parse(body, lambda b: b.channels("a", "b"))
        self.assertFalse(gc.isenabled(), "left off when it was off")
