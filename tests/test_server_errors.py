"""The presence server refuses bad input with PubNub's JSON error shapes, never a traceback."""

from __future__ import annotations

import json
from typing import Any

from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from zope.interface import provider

from pubnub_twisted.protocol import MAX_URL_LENGTH, encode
from tests.test_server_harness import BASE, REGISTRY, ServerCase


def bad(message: str, service: str = "Presence") -> dict[str, Any]:
    """A 400 body."""
    return {"status": 400, "message": message, "error": True, "service": service}


INVALID_JSON = bad("Invalid JSON")


class StateInputTests(ServerCase):
    """State that is not valid JSON, not an object, or not keyed by channel."""

    def test_malformed_json(self) -> None:
        """set_state with malformed JSON: 400 Invalid JSON, exactly."""
        for state in (
            "%7Bnope",
            "",
            "%7B%22a%22%3A%201",
            "NaN",
            "%7B%22a%22%3A%20NaN%7D",
            "Infinity",
        ):
            self.assertRefused(
                f"{BASE}/channel/ch/uuid/me/data?state={state}&uuid=me", 400, INVALID_JSON
            )
        self.assertEqual(self.events, [])

    def test_state_not_an_object(self) -> None:
        """set_state with JSON that is not an object: 400 saying so."""
        for state in ("%5B1%5D", "5", "%22text%22", "null"):
            self.assertRefused(
                f"{BASE}/channel/ch/uuid/me/data?state={state}&uuid=me",
                400,
                bad("Invalid state: it must be a JSON object"),
            )

    def test_state_missing(self) -> None:
        """set_state without any state: 400."""
        self.assertRefused(f"{BASE}/channel/ch/uuid/me/data?uuid=me", 400, bad("State missing"))

    def test_state_nested_too_deep(self) -> None:
        """Absurdly nested state is refused (it could not be answered safely)."""
        deep = encode('{"a":' * 70 + "1" + "}" * 70)
        reply = self.request(f"{BASE}/channel/ch/uuid/me/data?state={deep}&uuid=me")
        self.assertEqual(reply.code, 400)
        self.assertIn("deeper", reply.body["message"])
        deeper = "[" * 10_000 + "]" * 10_000  # beyond the JSON parser's recursion limit
        status, body, _ = self.resource.respond(
            b"GET", f"{BASE}/channel/ch/uuid/me/data?uuid=me&state={deeper}".encode()
        )
        self.assertEqual((status, json.loads(body)), (400, INVALID_JSON))

    def test_heartbeat_state_not_keyed(self) -> None:
        """Heartbeat state must be an object of objects keyed by channel."""
        message = 'Invalid state: heartbeat state must be keyed by channel, {"ch1": {...}}'
        for state in ('{"age": 20}', '{"ch": {"a": 1}, "x": null}', "[]", '"s"'):
            self.assertRefused(
                f"{BASE}/channel/ch/heartbeat?state={encode(state)}&uuid=me", 400, bad(message)
            )
        self.assertRefused(f"{BASE}/channel/ch/heartbeat?state=%7B&uuid=me", 400, INVALID_JSON)
        self.assertEqual(self.get(f"{BASE}/uuid/me?uuid=me")["payload"], {"channels": []})


class ParameterTests(ServerCase):
    """uuid, limit, offset and heartbeat parameters."""

    def test_missing_or_empty_uuid(self) -> None:
        """Every call needs a uuid: missing or empty gives 400 naming it."""
        missing = bad("Missing uuid: the uuid parameter is required")
        self.assertAllRefused(
            [
                f"{BASE}/channel/ch",
                f"{BASE}/channel/ch?uuid=",
                f"{BASE}/channel/ch?uuid",
                f"{BASE}?pnsdk=x",
                f"{BASE}/channel/ch/heartbeat?heartbeat=60",
                f"{BASE}/channel/ch/leave?uuid=",
                f"{BASE}/uuid/",
                f"{BASE}/uuid/?uuid=me",
                f"{BASE}/channel/ch/uuid/?uuid=me",
                f"{BASE}/channel/ch/uuid//data?uuid=me&state=%7B%7D",
            ],
            400,
            missing,
        )
        self.assertRefused(f"{REGISTRY}/g?add=a", 400, bad(missing["message"], "channel-registry"))

    def test_uuid_too_long(self) -> None:
        """A uuid over 92 characters is refused; 92 is fine."""
        self.heartbeat("ch", "u" * 92)
        reply = self.request(f"{BASE}/channel/ch/heartbeat?uuid={'u' * 93}")
        self.assertEqual(
            (reply.code, reply.body["message"]), (400, "Invalid uuid: longer than 92 characters")
        )
        reply = self.request(f"{BASE}/uuid/{'u' * 93}?uuid=me")
        self.assertEqual(reply.code, 400)

    def test_bad_paging(self) -> None:
        """limit and offset must be integers (limit -1 or more, offset 0 or more)."""
        for query, message in (
            ("limit=abc", "Invalid limit: 'abc' is not an integer"),
            ("offset=1.5", "Invalid offset: '1.5' is not an integer"),
            ("limit=%EF%BC%95", "Invalid limit: '\uff15' is not an integer"),  # fullwidth 5
            ("limit=-2", "Invalid limit or offset: must not be negative"),
            ("offset=-1", "Invalid limit or offset: must not be negative"),
        ):
            self.assertRefused(f"{BASE}/channel/ch?{query}&uuid=me", 400, bad(message))

    def test_bad_heartbeat(self) -> None:
        """heartbeat must be an integer of at least 1 second."""
        for value in ("0", "-5", "abc", "2147483648", "9" * 20):
            reply = self.request(f"{BASE}/channel/ch/heartbeat?heartbeat={value}&uuid=me")
            self.assertEqual(reply.code, 400, value)
            self.assertIn("heartbeat", reply.body["message"])
        self.assertEqual(self.events, [])

    def test_no_channel_or_group(self) -> None:
        """Calls that act on channels need at least one channel or group."""
        missing = bad("Channel or group missing")
        self.assertAllRefused(
            [
                f"{BASE}/channel/,?uuid=me",
                f"{BASE}/channel/?uuid=me",
                f"{BASE}/channel/,?channel-group=&uuid=me",
                f"{BASE}/channel/,/heartbeat?uuid=me",
                f"{BASE}/channel/,/leave?uuid=me",
                f"{BASE}/channel/,/uuid/me?uuid=me",
                f"{BASE}/channel/,/uuid/me/data?uuid=me&state=%7B%7D",
            ],
            400,
            missing,
        )

    def test_channel_group_misuse(self) -> None:
        """Channel-group calls refuse empty lists, add with remove, and an empty group name."""
        registry = "channel-registry"
        self.assertRefused(f"{REGISTRY}/g?add=&uuid=me", 400, bad("Channels missing", registry))
        self.assertRefused(f"{REGISTRY}/g?remove=,&uuid=me", 400, bad("Channels missing", registry))
        self.assertRefused(
            f"{REGISTRY}/g?add=a&remove=b&uuid=me",
            400,
            bad("Use either add or remove, not both", registry),
        )
        self.assertRefused(f"{REGISTRY}/?uuid=me", 400, bad("Channel group missing", registry))
        self.assertRefused(
            f"{REGISTRY}//remove?uuid=me", 400, bad("Channel group missing", registry)
        )

    def test_empty_subscribe_key(self) -> None:
        """An empty subscribe key is refused."""
        self.assertRefused(
            "/v2/presence/sub-key//channel/ch?uuid=me", 400, bad("Invalid subscribe key")
        )


class EncodingTests(ServerCase):
    """Undecodable URLs."""

    def test_bad_percent_encoding(self) -> None:
        """A ``%`` not followed by two hex digits, anywhere: 400."""
        message = bad("Invalid request: malformed percent-encoding")
        self.assertAllRefused(
            [
                f"{BASE}/channel/a%zz?uuid=me",
                f"{BASE}/channel/ch?uuid=me%",
                f"{BASE}/channel/ch?uuid=me&x%2=1",
                f"{BASE}/channel/ch?uuid=%4",
            ],
            400,
            message,
        )

    def test_not_utf8_once_decoded(self) -> None:
        """Percent-escapes that are not UTF-8 (in the path or the query): 400."""
        message = bad("Invalid request: not UTF-8 once percent-decoded")
        self.assertAllRefused(
            [
                f"{BASE}/channel/%FF?uuid=me",
                f"{BASE}/channel/ch?uuid=%C3%28",
                f"{BASE}/uuid/%E9?uuid=me",
                f"{BASE}/channel/ch?uuid=me&channel-group=%80",
                f"{REGISTRY}/%FE?uuid=me",
                "/v2/presence/sub-key/%FF?uuid=me",
            ],
            400,
            message,
        )
        reply = self.request(f"{BASE}/channel/ch?uuid=me&%FF=1")
        self.assertEqual(reply.body, bad("Invalid request: a parameter name is not UTF-8"))

    def test_raw_bytes_not_utf8(self) -> None:
        """A request-target with raw bytes that are not UTF-8: 400."""
        status, body, _ = self.resource.respond(
            b"GET", f"{BASE}/channel/\xff?uuid=me".encode("latin-1")
        )
        self.assertEqual(
            (status, json.loads(body)), (400, bad("Invalid request: the URL is not UTF-8"))
        )

    def test_absolute_form(self) -> None:
        """An absolute-form request-target (as proxies send) is understood."""
        status, body, _ = self.resource.respond(
            b"GET", f"http://ps.pndsn.com{BASE}/channel/ch?uuid=me".encode()
        )
        self.assertEqual((status, json.loads(body)["occupancy"]), (200, 0))


class RoutingTests(ServerCase):
    """Unknown paths, methods and lengths."""

    def test_unknown_paths(self) -> None:
        """Anything that is not a presence or channel-registration call: 404 JSON."""
        not_found = {"status": 404, "message": "Not Found", "error": True, "service": "Presence"}
        self.assertAllRefused(
            [
                "/",
                "/v2/presence",
                "/v2/presence/sub-key",
                f"{BASE}/",
                f"{BASE}/channel",
                f"{BASE}/channel/ch/nope?uuid=me",
                f"{BASE}/channel/ch/heartbeat/extra?uuid=me",
                f"{BASE}/channel/ch/uuid/me/state?uuid=me",
                f"{BASE}/channel/ch/uuid/me/data/x?uuid=me",
                f"{BASE}/uuid/me/extra?uuid=me",
                f"{BASE}/other/x?uuid=me",
                "/v1/channel-registration/sub-key/sub-c-X/other/g?uuid=me",
                f"{REGISTRY}/g/delete?uuid=me",
                f"{REGISTRY}?uuid=me",
            ],
            404,
            not_found,
        )

    def test_methods_other_than_get(self) -> None:
        """Presence is GET only: other methods get 405 with ``Allow: GET``."""
        for method in (b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS"):
            reply = self.request(f"{BASE}/channel/ch/heartbeat?uuid=me", method)
            self.assertEqual(reply.code, 405)
            self.assertEqual(reply.header("Allow"), ["GET"])
            if method != b"HEAD":
                self.assertEqual(
                    reply.body,
                    {
                        "status": 405,
                        "message": "Method Not Allowed",
                        "error": True,
                        "service": "Presence",
                    },
                )
        self.assertEqual(self.events, [])

    def test_url_too_long(self) -> None:
        """A URL over 32 KiB gets 414 (in memory Twisted drops lines over 16 KiB first)."""
        head = f"{BASE}/channel/ch/uuid/me/data?uuid=me&state=".encode()
        state = encode(json.dumps({"k": "x" * MAX_URL_LENGTH})).encode()
        uri = head + state[: MAX_URL_LENGTH - len(head)]
        self.assertEqual(self.resource.respond(b"GET", uri)[0], 400)  # exactly 32 KiB: read
        status, body, path = self.resource.respond(b"GET", uri + b"x")
        self.assertEqual(
            (status, json.loads(body)),
            (
                414,
                {
                    "status": 414,
                    "message": "Request URI Too Long",
                    "error": True,
                    "service": "Presence",
                },
            ),
        )
        self.assertEqual(path, f"{BASE}/channel/ch/uuid/me/data")

    def test_internal_failure_is_json(self) -> None:
        """Should the store fail, the answer is still JSON (a 500), and the failure is logged."""

        def boom(*args: object) -> list[str]:
            raise RuntimeError("store broke")

        self.patch(self.store, "where_now", boom)
        self.assertRefused(
            f"{BASE}/uuid/x?uuid=me",
            500,
            {
                "status": 500,
                "message": "Internal Server Error",
                "error": True,
                "service": "Presence",
            },
        )
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class LoggingTests(ServerCase):
    """Each request is logged through twisted.logger, without secrets."""

    def test_request_log_event(self) -> None:
        """One debug event per request: method, path and status; no query, no auth, no signature."""
        seen: list[LogEvent] = []

        @provider(ILogObserver)
        def observe(event: LogEvent) -> None:
            if event.get("log_namespace") == "pubnub_twisted.server":
                seen.append(event)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)
        self.serve(here_now_cache=0, auth_keys={"s3cret-auth"})
        self.request(f"{BASE}/channel/ch/heartbeat?uuid=me&auth=s3cret-auth&signature=v2.sig")
        self.request(f"{BASE}/channel/ch?uuid=me&auth=wrong-auth")
        self.assertEqual(
            [(e["method"], e["path"], e["status"], e["log_level"].name) for e in seen],
            [
                ("GET", f"{BASE}/channel/ch/heartbeat", 200, "debug"),
                ("GET", f"{BASE}/channel/ch", 403, "debug"),
            ],
        )
        self.assertNotIn("s3cret", repr(seen))
        self.assertNotIn("wrong-auth", repr(seen))
        self.assertNotIn("v2.sig", repr(seen))
