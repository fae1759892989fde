"""The embedded Access Manager v3: grant, revoke, and enforcement of tokens."""

from __future__ import annotations

import base64
import json
from io import BytesIO
from typing import Any, cast

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.task import Cooperator
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.web.client import FileBodyProducer, readBody

from pubnub_twisted.access.tokens import parse_token
from pubnub_twisted.protocol import QueryValue, encode, encode_query, sign
from pubnub_twisted.server import PresenceResource, PresenceStore
from pubnub_twisted.server.access import needs
from tests.test_server_harness import BASE, REGISTRY, SUB, Reply, ServerCase

SECRET = "sec-c-manager"
PUB = "pub-c-manager"
GRANT = f"/v3/pam/{SUB}/grant"
READ, WRITE, MANAGE, DELETE, GET, UPDATE, JOIN = 1, 2, 4, 8, 32, 64, 128


def forbidden(
    message: str = "Forbidden", channels: list[str] | None = None, groups: list[str] | None = None
) -> dict[str, Any]:
    """PubNub's 403 for a token that does not allow a request."""
    payload: dict[str, Any] = {"channels": channels or []}
    if groups:
        payload["channel-groups"] = groups
    return {
        "message": message,
        "payload": payload,
        "error": True,
        "service": "Access Manager",
        "status": 403,
    }


def permissions(
    channels: dict[str, int] | None = None,
    groups: dict[str, int] | None = None,
    patterns: dict[str, int] | None = None,
    group_patterns: dict[str, int] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A grant body's ``permissions``."""
    return {
        "resources": {"channels": channels or {}, "groups": groups or {}, "uuids": {}},
        "patterns": {"channels": patterns or {}, "groups": group_patterns or {}, "uuids": {}},
        "meta": {},
        **extra,
    }


class ManagerCase(ServerCase):
    """A server with the Access Manager on, and helpers to grant and use tokens."""

    def setUp(self) -> None:
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB, access_manager=True)

    def signed_call(
        self,
        method: str,
        path: str,
        body: str = "",
        *,
        secret: str = SECRET,
        params: list[tuple[str, QueryValue]] | None = None,
    ) -> tuple[int, Any]:
        """Send a request signed with ``secret`` (method, path, query and body covered)."""
        pairs: list[tuple[str, QueryValue]] = [
            *(params or [("uuid", "backend")]),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        signature = sign(secret, PUB, path, pairs, method=method, body=body)
        target = f"{path}?{encode_query([*pairs, ('signature', signature)])}"
        status, raw, _ = self.resource.respond(method.encode(), target.encode(), body.encode())
        return status, json.loads(raw)

    def grant_body(self, body: dict[str, Any]) -> tuple[int, Any]:
        """POST a grant request (signed)."""
        return self.signed_call("POST", GRANT, json.dumps(body))

    def grant(self, ttl: int = 15, **perms: Any) -> str:
        """A token granting ``perms`` (see :func:`permissions`)."""
        status, body = self.grant_body({"ttl": ttl, "permissions": permissions(**perms)})
        self.assertEqual(status, 200, body)
        token = body["data"]["token"]
        assert isinstance(token, str)
        return token

    def revoke(self, token: str) -> tuple[int, Any]:
        """DELETE a token (signed)."""
        return self.signed_call("DELETE", f"{GRANT}/{encode(token)}")

    def call(self, target: str, token: str | None, uuid: str = "me") -> Reply:
        """GET ``target`` with ``auth`` and ``uuid`` added."""
        sep = "&" if "?" in target else "?"
        auth = "" if token is None else f"&auth={encode(token)}"
        return self.request(f"{target}{sep}uuid={encode(uuid)}{auth}")


class GrantTests(ManagerCase):
    """``POST /v3/pam/{sub}/grant``: signed, validated, answered in PubNub's shape."""

    def test_grant_answer(self) -> None:
        """A grant answers PubNub's shape with a token holding exactly the grant."""
        body: dict[str, Any] = {
            "ttl": 15,
            "permissions": permissions(
                channels={"lobby": READ}, patterns={"^room-.*$": READ | WRITE}, uuid="alice"
            ),
        }
        body["permissions"]["meta"] = {"role": "player"}
        status, answer = self.grant_body(body)
        self.assertEqual(status, 200)
        self.assertEqual(
            set(answer), {"data", "service", "status"}, "PubNub's v3 answer has these keys"
        )
        self.assertEqual(
            (answer["service"], answer["data"]["message"]), ("Access Manager", "Success")
        )
        token = parse_token(answer["data"]["token"])
        self.assertEqual(token.ttl, 15)
        self.assertEqual(token.timestamp, int(self.clock.seconds()))
        self.assertEqual(token.authorized_uuid, "alice")
        self.assertEqual(token.meta, {"role": "player"})
        self.assertEqual(token.resources.channels["lobby"].bitmask, READ)
        self.assertEqual(token.patterns.channels["^room-.*$"].bitmask, READ | WRITE)

    def test_through_http(self) -> None:
        """A grant POSTed over (in-memory) HTTP reads its body."""
        text = json.dumps({"ttl": 5, "permissions": permissions(channels={"a": READ})})
        pairs: list[tuple[str, QueryValue]] = [
            ("uuid", "backend"),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        pairs.append(("signature", sign(SECRET, PUB, GRANT, pairs, method="POST", body=text)))
        d = self.agent.request(
            b"POST",
            f"http://ps.test{GRANT}?{encode_query(pairs)}".encode(),
            bodyProducer=FileBodyProducer(
                BytesIO(text.encode()),
                cooperator=Cooperator(scheduler=lambda run: self.clock.callLater(0, run)),
            ),
        )
        for _ in range(3):
            self.clock.advance(0)
            self.agent.flush()
        response = self.successResultOf(d)
        self.assertEqual(response.code, 200)
        body = readBody(response)
        self.agent.flush()
        self.assertTrue(parse_token(json.loads(self.successResultOf(body))["data"]["token"]))

    def test_needs_signature(self) -> None:
        """Unsigned, wrongly signed, or a tampered body: 403 in PubNub's v3 error shape."""
        body = json.dumps({"ttl": 5, "permissions": permissions(channels={"a": READ})})
        refused = {
            "error": {
                "message": "Invalid signature",
                "source": "grant",
                "details": [
                    {
                        "message": "Client and server produced different signatures "
                        "for the same inputs.",
                        "location": "signature",
                        "locationType": "query",
                    }
                ],
            },
            "service": "Access Manager",
            "status": 403,
        }
        self.assertEqual(self.signed_call("POST", GRANT, body, secret="wrong"), (403, refused))
        status, raw, _ = self.resource.respond(b"POST", f"{GRANT}?uuid=x".encode(), body.encode())
        self.assertEqual((status, json.loads(raw)), (403, refused))
        pairs: list[tuple[str, QueryValue]] = [
            ("uuid", "b"),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        signature = sign(SECRET, PUB, GRANT, pairs, method="POST", body=body)
        target = f"{GRANT}?{encode_query([*pairs, ('signature', signature)])}"
        status, raw, _ = self.resource.respond(
            b"POST", target.encode(), body.replace("5", "9").encode()
        )
        self.assertEqual(status, 403)

    def test_wrong_methods(self) -> None:
        """GET on grant, POST on revoke, DELETE on presence: 405."""
        self.assertEqual(self.signed_call("GET", GRANT)[0], 405)
        self.assertEqual(self.signed_call("POST", f"{GRANT}/abc")[0], 405)
        self.assertEqual(self.signed_call("DELETE", f"{BASE}/channel/a")[0], 405)

    def test_without_manager(self) -> None:
        """Grant on a server without the Access Manager is refused (403), not served."""
        self.serve(secret_key=SECRET, publish_key=PUB)
        status, body = self.grant_body({"ttl": 5, "permissions": permissions(channels={"a": 1})})
        self.assertEqual((status, body["error"]["message"]), (403, "Access Manager is not enabled"))

    def test_invalid_bodies(self) -> None:
        """Each malformed grant is a 400 naming where the problem is, never a token."""
        good = permissions(channels={"a": READ})
        cases: list[tuple[Any, str]] = [
            ({"permissions": good}, "ttl"),
            ({"ttl": 0, "permissions": good}, "ttl"),
            ({"ttl": 43_201, "permissions": good}, "ttl"),
            ({"ttl": "5", "permissions": good}, "ttl"),
            ({"ttl": True, "permissions": good}, "ttl"),
            ({"ttl": 5}, "permissions"),
            ({"ttl": 5, "permissions": permissions()}, "permissions"),
            ({"ttl": 5, "permissions": permissions(channels={"a": 0})}, "permissions"),
            (
                {"ttl": 5, "permissions": permissions(channels={"a": 256})},
                "permissions.resources.channels",
            ),
            (
                {"ttl": 5, "permissions": permissions(channels={"a": -1})},
                "permissions.resources.channels",
            ),
            (
                {"ttl": 5, "permissions": permissions(channels=cast(dict[str, int], {"a": "r"}))},
                "permissions.resources.channels",
            ),
            (
                {"ttl": 5, "permissions": permissions(patterns={"(": READ})},
                "permissions.patterns.channels",
            ),
            (
                {"ttl": 5, "permissions": {**good, "resources": {"rooms": {"a": 1}}}},
                "permissions.resources.rooms",
            ),
            ({"ttl": 5, "permissions": {**good, "meta": [1]}}, "permissions.meta"),
            ({"ttl": 5, "permissions": {**good, "uuid": 7}}, "permissions.uuid"),
            ([1, 2], "body"),
        ]
        for body, location in cases:
            status, answer = self.grant_body(body)
            self.assertEqual(status, 400, body)
            self.assertEqual(answer["error"]["details"][0]["location"], location, body)
        for text in ("{not json", '{"ttl": 5, "permissions": {"meta": {"x": NaN}}}'):
            status, answer = self.signed_call("POST", GRANT, text)
            self.assertEqual((status, answer["error"]["details"][0]["location"]), (400, "body"))
        pairs: list[tuple[str, QueryValue]] = [
            ("uuid", "b"),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        signature = sign(SECRET, PUB, GRANT, pairs, method="POST", body=b"\xff{}")
        target = f"{GRANT}?{encode_query([*pairs, ('signature', signature)])}"
        status, raw, _ = self.resource.respond(b"POST", target.encode(), b"\xff{}")
        self.assertEqual(
            (status, json.loads(raw)["error"]["message"]), (400, "Invalid RequestBody")
        )

    def test_accepts_extremes(self) -> None:
        """ttl 1 and 43200 minutes, and PubNub's users/spaces names, are accepted."""
        for ttl in (1, 43_200):
            self.grant(ttl, channels={"a": READ})
        _, body = self.grant_body(
            {"ttl": 5, "permissions": {"resources": {"spaces": {"s": 1}, "users": {"u": 32}}}}
        )
        token = parse_token(body["data"]["token"])
        self.assertEqual(
            (token.resources.channels["s"].read, token.resources.uuids["u"].get), (True, True)
        )

    def test_needs_secret(self) -> None:
        """The Access Manager needs a secret key (to sign with), and excludes auth keys."""
        self.assertRaises(
            ValueError, PresenceResource, PresenceStore(self.clock), access_manager=True
        )
        self.assertRaises(
            ValueError,
            PresenceResource,
            PresenceStore(self.clock),
            secret_key=SECRET,
            publish_key=PUB,
            access_manager=True,
            auth_keys=["k"],
        )


class EnforcementTests(ManagerCase):
    """Each operation with and without the permission PubNub's mapping requires."""

    def test_each_operation(self) -> None:
        """An operation passes with its permission and is refused (403) without it."""
        table: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
            # target, grant that allows it, grant that does not, refusal payload
            (
                f"{BASE}/channel/a",
                {"channels": {"a": READ}},
                {"channels": {"a": WRITE}},
                forbidden(channels=["a"]),
            ),
            (
                f"{BASE}/channel/a/heartbeat",
                {"channels": {"a": READ}},
                {"channels": {"b": READ}},
                forbidden(channels=["a"]),
            ),
            (
                f"{BASE}/channel/a/uuid/me",
                {"channels": {"a": READ}},
                {"channels": {"a": MANAGE}},
                forbidden(channels=["a"]),
            ),
            (
                f"{BASE}/channel/a/uuid/me/data?state=%7B%7D",
                {"channels": {"a": READ}},
                {"groups": {"a": READ}},
                forbidden(channels=["a"]),
            ),
            (
                f"/v2/subscribe/{SUB}/a,a-pnpres/0?tt=0",
                {"channels": {"a": READ, "a-pnpres": READ}},
                {"channels": {"a": READ}},
                forbidden(channels=["a-pnpres"]),
            ),
            (
                f"/v2/subscribe/{SUB}/,/0?channel-group=g&tt=0",
                {"groups": {"g": READ}},
                {"groups": {"g": MANAGE}},
                forbidden(groups=["g"]),
            ),
            (
                f"{BASE}/channel/,?channel-group=g",
                {"groups": {"g": READ}},
                {"channels": {"g": READ}},
                forbidden(groups=["g"]),
            ),
            (
                f"{REGISTRY}/g?add=x",
                {"groups": {"g": MANAGE}},
                {"groups": {"g": READ}},
                forbidden(groups=["g"]),
            ),
            (
                f"{REGISTRY}/g",
                {"groups": {"g": MANAGE}},
                {"groups": {"h": MANAGE}},
                forbidden(groups=["g"]),
            ),
            (
                f"{REGISTRY}/g/remove",
                {"groups": {"g": MANAGE}},
                {"channels": {"g": MANAGE}},
                forbidden(groups=["g"]),
            ),
        ]
        for target, allowing, lacking, refusal in table:
            ok = self.call(target, self.grant(**allowing))
            self.assertEqual(ok.code, 200, (target, ok.body))
            refused = self.call(target, self.grant(**lacking))
            self.assertEqual((refused.code, refused.body), (403, refusal), target)

    def test_token_alone_is_enough(self) -> None:
        """leave, where_now and global here_now need a valid token, no particular grant."""
        token = self.grant(channels={"unrelated": READ})
        for target in (f"{BASE}/channel/a/leave", f"{BASE}/uuid/someone", BASE):
            self.assertEqual(self.call(target, token).code, 200, target)
            self.assertEqual(
                self.call(target, None).body, forbidden(channels=self._channels(target))
            )

    def test_unknown_operation_needs_read(self) -> None:
        """An operation the table does not list needs read on every resource it names."""
        self.assertEqual(
            needs("future_op", ["a"], ["g"]), [("channels", "a", 1), ("groups", "g", 1)]
        )
        self.assertEqual(needs("leave", ["a"], ["g"]), [])

    @staticmethod
    def _channels(target: str) -> list[str]:
        return ["a"] if "/channel/a" in target else []

    def test_every_channel_needed(self) -> None:
        """With several channels each must be granted; the 403 names the missing ones."""
        token = self.grant(channels={"a": READ})
        reply = self.call(f"{BASE}/channel/a,b,c", token)
        self.assertEqual((reply.code, reply.body), (403, forbidden(channels=["b", "c"])))

    def test_patterns(self) -> None:
        """A pattern grants every name it matches (a regex search), and no other."""
        token = self.grant(patterns={"^room-[0-9]+$": READ}, group_patterns={"^team-": MANAGE})
        self.assertEqual(self.call(f"{BASE}/channel/room-1,room-22", token).code, 200)
        for name in ("room-", "room-1x", "xroom-1", "lobby"):
            self.assertEqual(self.call(f"{BASE}/channel/{name}", token).code, 403, name)
        self.assertEqual(self.call(f"{REGISTRY}/team-red", token).code, 200)
        unanchored = self.grant(patterns={"room": READ})
        self.assertEqual(self.call(f"{BASE}/channel/my-room-1", unanchored).code, 200)

    def test_name_or_pattern(self) -> None:
        """A name granted without the permission is still allowed by a matching pattern."""
        token = self.grant(channels={"room-1": WRITE}, patterns={"^room-": READ})
        self.assertEqual(self.call(f"{BASE}/channel/room-1", token).code, 200)

    def test_authorized_uuid(self) -> None:
        """A token bound to a uuid works for that uuid only."""
        _, body = self.grant_body(
            {"ttl": 5, "permissions": permissions(channels={"a": READ}, uuid="alice")}
        )
        token = body["data"]["token"]
        self.assertEqual(self.call(f"{BASE}/channel/a", token, uuid="alice").code, 200)
        reply = self.call(f"{BASE}/channel/a", token, uuid="mallory")
        self.assertEqual(
            (reply.code, reply.body),
            (403, forbidden("Token is not authorized for this uuid", ["a"])),
        )

    def test_expiry_on_the_clock(self) -> None:
        """A token works until ttl minutes have passed on the server's clock, then 403."""
        token = self.grant(ttl=2, channels={"a": READ})
        self.clock.advance(119)
        self.assertEqual(self.call(f"{BASE}/channel/a", token).code, 200)
        self.clock.advance(1)
        reply = self.call(f"{BASE}/channel/a", token)
        self.assertEqual((reply.code, reply.body), (403, forbidden("Token is expired.", ["a"])))

    def test_revoke(self) -> None:
        """A revoked token is refused from then on (used before or not), however it is spelled."""
        token = self.grant(channels={"a": READ})
        self.assertEqual(self.call(f"{BASE}/channel/a", token).code, 200)  # known to the server
        other = self.grant(
            ttl=16, channels={"a": READ}
        )  # (the same grant, the same second: the same token)
        self.assertEqual(
            self.revoke(token), (200, {"data": {}, "service": "Access Manager", "status": 200})
        )
        reply = self.call(f"{BASE}/channel/a", token)
        self.assertEqual((reply.code, reply.body), (403, forbidden("Token is revoked.", ["a"])))
        standard = token.replace("-", "+").replace("_", "/")
        self.assertEqual(self.call(f"{BASE}/channel/a", standard).code, 403)
        self.assertEqual(self.call(f"{BASE}/channel/a", other).code, 200)

    def test_revoke_refusals(self) -> None:
        """Revoking needs a signature and a token of ours."""
        token = self.grant(channels={"a": READ})
        self.assertEqual(self.revoke("not-a-token")[0], 400)
        status, _, _ = self.resource.respond(b"DELETE", f"{GRANT}/{token}?uuid=x".encode())
        self.assertEqual(status, 403)
        self.assertEqual(self.call(f"{BASE}/channel/a", token).code, 200)

    def test_secret_key_has_full_access(self) -> None:
        """A request signed with the secret key needs no token; a bad signature is refused."""
        path = f"{BASE}/channel/a/heartbeat"
        self.assertEqual(self.signed_call("GET", path)[0], 200)
        status, body = self.signed_call("GET", path, secret="wrong")
        self.assertEqual((status, body["message"]), (403, "Signature does not match"))

    def test_auth_keys_untouched(self) -> None:
        """Without the Access Manager the auth-key mode is as before (tokens mean nothing)."""
        self.serve(here_now_cache=0, auth_keys=["k"])
        self.assertEqual(self.call(f"{BASE}/channel/a", "k").code, 200)
        self.assertEqual(self.call(f"{BASE}/channel/a", "other").code, 403)


class HostileTokenTests(ManagerCase):
    """Tampered and foreign tokens are refused with 403, and never crash the server."""

    def test_table(self) -> None:
        """Flipped bit, truncated, other secret, not base64 or CBOR, huge, expired, revoked..."""
        token = self.grant(channels={"a": READ})
        data = bytearray(base64.urlsafe_b64decode(token))
        data[len(data) // 2] ^= 0x04
        flipped = base64.urlsafe_b64encode(bytes(data)).decode()
        self.serve(
            here_now_cache=0, secret_key="another-secret", publish_key=PUB, access_manager=True
        )
        foreign = self.signed_call(
            "POST",
            GRANT,
            json.dumps({"ttl": 5, "permissions": permissions(channels={"a": READ})}),
            secret="another-secret",
        )[1]["data"]["token"]
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB, access_manager=True)
        token = self.grant(ttl=10, channels={"a": READ})
        expired = self.grant(ttl=1, channels={"a": READ})
        revoked = self.grant(channels={"a": READ})
        self.revoke(revoked)
        self.clock.advance(60)
        other_keyset = self.signed_call(
            "POST",
            "/v3/pam/sub-c-other/grant",
            json.dumps({"ttl": 5, "permissions": permissions(channels={"a": READ})}),
        )[1]["data"]["token"]
        hostile = {
            "flipped bit": flipped,
            "truncated": token[: len(token) // 2],
            "truncated, padded": token[:40],
            "other secret": foreign,
            "not base64": "%%%%",
            "not CBOR": base64.urlsafe_b64encode(b"\xff\x00\x13garbage").decode(),
            "CBOR, not a map": base64.urlsafe_b64encode(cbor2.dumps("hello")).decode(),
            "no signature": base64.urlsafe_b64encode(
                cbor2.dumps({b"v": 2, b"t": 1, b"ttl": 5})
            ).decode(),
            "huge": "A" * 12_000 + "B" * 8_000,
            "expired": expired,
            "revoked": revoked,
            "other subscribe key": other_keyset,
            "empty": "",
        }
        messages = {
            "expired": "Token is expired.",
            "revoked": "Token is revoked.",
            "empty": "Forbidden",
        }
        for name, bad in hostile.items():
            # (straight to the resource: the in-memory HTTP channel caps lines at 16 KiB)
            target = f"{BASE}/channel/a?uuid=me&auth={encode(bad)}"
            status, raw, _ = self.resource.respond(b"GET", target.encode())
            expected = forbidden(messages.get(name, "Invalid token"), ["a"])
            self.assertEqual((status, json.loads(raw)), (403, expected), name)
        self.assertEqual(self.call(f"{BASE}/channel/a", token).code, 200)

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=300))
    def test_random_tokens(self, data: bytes) -> None:
        """Random bytes as a token are always a 403, never a 500."""
        bad = base64.urlsafe_b64encode(data).decode()
        self.assertEqual(self.call(f"{BASE}/channel/a", bad).code, 403)

    def test_secrets_not_logged(self) -> None:
        """Neither the secret key nor a token appears in any log event."""
        events: list[LogEvent] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        token = self.grant(channels={"a": READ})
        self.call(f"{BASE}/channel/a", token)
        self.call(f"{BASE}/channel/b", token)
        self.revoke(token)
        self.request(f"{GRANT}/{token}")
        self.assertTrue(events)
        text = repr(events) + repr(self.resource.access)
        for secret in (SECRET, token, encode(token)):
            self.assertNotIn(secret, text)


def reference_allows(grants: dict[str, Any], kind: str, name: str, bit: int) -> bool:
    """The permission table read plainly: granted by name, or by a prefix pattern."""
    if grants["resources"][kind].get(name, 0) & bit:
        return True
    return any(
        bits & bit and name.startswith(prefix) for prefix, bits in grants["prefixes"][kind].items()
    )


#: PubNub's "operations to permissions mapping", written out plainly: per
#: operation, the bit needed on each channel and on each group it names.
REFERENCE_NEEDS: dict[str, tuple[int, int]] = {
    "here_now": (READ, READ),
    "heartbeat": (READ, READ),
    "subscribe": (READ, READ),
    "group_list": (0, MANAGE),
    "publish": (WRITE, 0),
    "publish_post": (WRITE, 0),
    "fire": (WRITE, 0),
    "signal": (WRITE, 0),
    "fetch_messages": (READ, 0),
    "history_with_actions": (READ, 0),
    "history_v2": (READ, 0),
    "message_counts": (READ, 0),
    "delete_messages": (DELETE, 0),
}


def reference_allowed(
    grants: dict[str, Any], operation: str, channels: list[str], groups: list[str]
) -> bool:
    """Whether ``operation`` on ``channels`` and ``groups`` is allowed, by the plain table."""
    on_channel, on_group = REFERENCE_NEEDS[operation]
    return all(
        reference_allows(grants, "channels", c, on_channel) for c in channels if on_channel
    ) and all(reference_allows(grants, "groups", g, on_group) for g in groups if on_group)


def property_request(
    operation: str, channels: list[str], groups: list[str]
) -> tuple[str, str, str, list[str], list[str]]:
    """(method, target, body, channels, groups) of one request the property test makes.

    Calls on one channel (publish, signal, delete, v2 history, with actions)
    use the first; fetch and counts take every channel; group calls the first
    name as the group.
    """
    names = ",".join(channels)
    query = f"?channel-group={','.join(groups)}" if groups else ""
    first = channels[0]
    message = f"/{PUB}/{SUB}/0/{first}/0"
    one: tuple[list[str], list[str]] = (channels[:1], [])
    table: dict[str, tuple[str, str, str, tuple[list[str], list[str]]]] = {
        "here_now": ("GET", f"{BASE}/channel/{names}{query}", "", (channels, groups)),
        "heartbeat": ("GET", f"{BASE}/channel/{names}/heartbeat{query}", "", (channels, groups)),
        "subscribe": ("GET", f"/v2/subscribe/{SUB}/{names}/0{query}", "", (channels, groups)),
        "group_list": ("GET", f"{REGISTRY}/{first}", "", ([], [first])),
        "publish": ("GET", f"/publish{message}/%22hi%22", "", one),
        "publish_post": ("POST", f"/publish{message}", '"hi"', one),
        "fire": ("GET", f"/publish{message}/%22hi%22?store=0&norep=true", "", one),
        "signal": ("GET", f"/signal{message}/%22hi%22", "", one),
        "fetch_messages": ("GET", f"/v3/history/sub-key/{SUB}/channel/{names}", "", (channels, [])),
        "history_with_actions": (
            "GET",
            f"/v3/history-with-actions/sub-key/{SUB}/channel/{first}",
            "",
            one,
        ),
        "history_v2": ("GET", f"/v2/history/sub-key/{SUB}/channel/{first}", "", one),
        "message_counts": (
            "GET",
            f"/v3/history/sub-key/{SUB}/message-counts/{names}?timetoken=1",
            "",
            (channels, []),
        ),
        "delete_messages": ("DELETE", f"/v3/history/sub-key/{SUB}/channel/{first}", "", one),
    }
    method, target, body, (named, named_groups) = table[operation]
    return method, target, body, named, named_groups


NAMES = st.sampled_from(["a", "b", "ab", "ba", "room-1", "room-2"])
KINDS = st.sampled_from(["channels", "groups"])
BITS = st.integers(min_value=0, max_value=255)


class PropertyTests(ManagerCase):
    """Random grants against random requests agree with a plain reference function."""

    @settings(max_examples=300, deadline=None)
    @given(
        st.fixed_dictionaries(
            {
                "channels": st.dictionaries(NAMES, BITS, max_size=4),
                "groups": st.dictionaries(NAMES, BITS, max_size=4),
                "channel_prefixes": st.dictionaries(
                    st.sampled_from(["a", "room-", "b"]), BITS, max_size=2
                ),
                "group_prefixes": st.dictionaries(
                    st.sampled_from(["a", "room-", "b"]), BITS, max_size=2
                ),
            }
        ),
        st.lists(NAMES, min_size=1, max_size=3, unique=True),
        st.lists(NAMES, max_size=2, unique=True),
        st.sampled_from(sorted(REFERENCE_NEEDS)),
    )
    def test_agrees_with_reference(
        self,
        grant: dict[str, dict[str, int]],
        channels: list[str],
        groups: list[str],
        operation: str,
    ) -> None:
        """Allowed exactly when every needed (name, permission) is granted in the table."""
        perms = permissions(
            channels=grant["channels"],
            groups=grant["groups"],
            patterns={f"^{p}": b for p, b in grant["channel_prefixes"].items()},
            group_patterns={f"^{p}": b for p, b in grant["group_prefixes"].items()},
        )
        status, body = self.grant_body({"ttl": 5, "permissions": perms})
        if status == 400:  # nothing granted at all
            self.assertFalse(any(bits for table in grant.values() for bits in table.values()))
            return
        token = body["data"]["token"]
        table = {
            "resources": {"channels": grant["channels"], "groups": grant["groups"]},
            "prefixes": {"channels": grant["channel_prefixes"], "groups": grant["group_prefixes"]},
        }
        method, target, content, named, named_groups = property_request(operation, channels, groups)
        expected = reference_allowed(table, operation, named, named_groups)
        sep = "&" if "?" in target else "?"
        uri = f"{target}{sep}uuid=me&auth={encode(token)}"
        code, raw, _ = self.resource.respond(method.encode(), uri.encode(), content.encode())
        self.assertEqual(code, 200 if expected else 403, (method, target, raw))
