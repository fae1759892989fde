"""The Access Manager on the message calls: publish, fire, signal, history, counts, delete.

PubNub's "operations to permissions mapping": ``write`` on the channel to
publish (GET or POST), fire and signal; ``read`` to fetch history (v3, with
actions, the older v2) and count messages; ``delete`` to delete messages.
A request signed with the secret key has full access.
"""

from __future__ import annotations

import json
from typing import Any

from pubnub_twisted.protocol import QueryValue, encode, encode_query, request_signature
from pubnub_twisted.server.access import OPERATION_PERMISSIONS
from pubnub_twisted.server.access.rules import needs
from tests.test_server_access_manager import (
    DELETE,
    PUB,
    READ,
    SECRET,
    WRITE,
    ManagerCase,
    forbidden,
    permissions,
)
from tests.test_server_harness import SUB

MESSAGE = encode(json.dumps({"text": "hi"}))
HISTORY = f"/v3/history/sub-key/{SUB}"


def publish(channel: str) -> str:
    """The path of a publish by GET on ``channel``."""
    return f"/publish/{PUB}/{SUB}/0/{encode(channel)}/0/{MESSAGE}"


#: Each message call: (method, path on channel "{c}", query, body, permission it needs).
CALLS: list[tuple[str, str, str, str, int]] = [
    ("GET", f"/publish/{PUB}/{SUB}/0/{{c}}/0/{MESSAGE}", "", "", WRITE),
    ("POST", f"/publish/{PUB}/{SUB}/0/{{c}}/0", "", '{"text":"hi"}', WRITE),
    ("GET", f"/publish/{PUB}/{SUB}/0/{{c}}/0/{MESSAGE}", "store=0&norep=true", "", WRITE),
    ("GET", f"/signal/{PUB}/{SUB}/0/{{c}}/0/{MESSAGE}", "", "", WRITE),
    ("GET", f"{HISTORY}/channel/{{c}}", "max=25", "", READ),
    ("GET", f"/v3/history-with-actions/sub-key/{SUB}/channel/{{c}}", "", "", READ),
    ("GET", f"/v2/history/sub-key/{SUB}/channel/{{c}}", "count=10", "", READ),
    ("GET", f"{HISTORY}/message-counts/{{c}}", "timetoken=1", "", READ),
    ("DELETE", f"{HISTORY}/channel/{{c}}", "", "", DELETE),
]


class MessageEnforcementTests(ManagerCase):
    """Each message call passes with its permission and is refused without it."""

    def send(
        self,
        method: str,
        path: str,
        query: str,
        body: str,
        token: str | None,
        *,
        uuid: str = "me",
    ) -> tuple[int, Any]:
        """``method`` on ``path?query`` with ``body``, as ``uuid`` with ``token``."""
        pairs = [f"uuid={encode(uuid)}"] + ([query] if query else [])
        if token is not None:
            pairs.append(f"auth={encode(token)}")
        target = f"{path}?{'&'.join(pairs)}"
        status, raw, _ = self.resource.respond(method.encode(), target.encode(), body.encode())
        return status, json.loads(raw)

    def signed(self, method: str, path: str, query: str, body: str) -> tuple[int, Any]:
        """``method`` on ``path`` signed with the secret key, as the SDKs sign it."""
        pairs: list[tuple[str, QueryValue]] = [
            *(item.partition("=")[::2] for item in query.split("&") if item),
            ("uuid", "backend"),
            ("timestamp", str(int(self.clock.seconds()))),
        ]
        signature = request_signature(
            SECRET,
            publish_key=PUB,
            subscribe_key=SUB,
            method=method,
            path=path,
            pairs=pairs,
            body=body,
        )
        target = f"{path}?{encode_query([*pairs, ('signature', signature)])}"
        status, raw, _ = self.resource.respond(method.encode(), target.encode(), body.encode())
        return status, json.loads(raw)

    def test_each_call_by_name(self) -> None:
        """With its permission on the channel by name: 200; with every other bit: 403."""
        for method, path, query, body, bit in CALLS:
            target = path.format(c="a")
            ok = self.send(method, target, query, body, self.grant(channels={"a": bit}))
            self.assertEqual(ok[0], 200, (method, target, ok))
            others = 0xFF & ~bit
            refused = self.send(method, target, query, body, self.grant(channels={"a": others}))
            self.assertEqual(refused, (403, forbidden(channels=["a"])), (method, target))
            elsewhere = self.send(method, target, query, body, self.grant(channels={"b": bit}))
            self.assertEqual(elsewhere, (403, forbidden(channels=["a"])), (method, target))
            self.assertEqual(self.send(method, target, query, body, None)[0], 403, target)

    def test_each_call_by_pattern(self) -> None:
        """A matching pattern with the permission allows; a pattern that does not match refuses."""
        for method, path, query, body, bit in CALLS:
            target = path.format(c="room-7")
            token = self.grant(patterns={"^room-[0-9]+$": bit})
            self.assertEqual(self.send(method, target, query, body, token)[0], 200, target)
            other = path.format(c="lobby")
            self.assertEqual(
                self.send(method, other, query, body, token),
                (403, forbidden(channels=["lobby"])),
                other,
            )
            lacking = self.grant(patterns={"^room-": 0xFF & ~bit})
            self.assertEqual(self.send(method, target, query, body, lacking)[0], 403, target)

    def test_token_bound_to_another_uuid(self) -> None:
        """A token for alice, with every permission, is refused for mallory on each call."""
        _, answer = self.grant_body(
            {"ttl": 5, "permissions": permissions(channels={"a": 0xFF}, uuid="alice")}
        )
        token = answer["data"]["token"]
        for method, path, query, body, _ in CALLS:
            target = path.format(c="a")
            self.assertEqual(
                self.send(method, target, query, body, token, uuid="alice")[0], 200, target
            )
            self.assertEqual(
                self.send(method, target, query, body, token, uuid="mallory"),
                (403, forbidden("Token is not authorized for this uuid", ["a"])),
                target,
            )

    def test_every_channel_of_a_fetch(self) -> None:
        """A fetch or count over several channels needs read on each; the 403 names the rest."""
        token = self.grant(channels={"a": READ}, patterns={"^b$": READ})
        for path, query in (
            (f"{HISTORY}/channel/a,b,c", ""),
            (f"{HISTORY}/message-counts/a,b,c", "timetoken=1"),
        ):
            self.assertEqual(
                self.send("GET", path, query, "", token), (403, forbidden(channels=["c"])), path
            )
            allowed = path.replace(",c", "")
            self.assertEqual(self.send("GET", allowed, query, "", token)[0], 200, allowed)

    def test_signed_with_the_secret_key(self) -> None:
        """Signed with the secret key, every message call passes with no token at all."""
        for method, path, query, body, _ in CALLS:
            target = path.format(c="a")
            status, answer = self.signed(method, target, query, body)
            self.assertEqual(status, 200, (method, target, answer))

    def test_delete_deletes_with_a_token(self) -> None:
        """A token with delete really removes the message; one without leaves it there."""
        writer = self.grant(channels={"a": WRITE | READ})
        self.assertEqual(self.send("GET", publish("a"), "", "", writer)[0], 200)
        fetch = f"{HISTORY}/channel/a"
        self.assertEqual(len(self.send("GET", fetch, "", "", writer)[1]["channels"]["a"]), 1)
        self.assertEqual(self.send("DELETE", fetch, "", "", writer)[0], 403)
        self.assertEqual(len(self.send("GET", fetch, "", "", writer)[1]["channels"]["a"]), 1)
        deleter = self.grant(channels={"a": DELETE})
        self.assertEqual(self.send("DELETE", fetch, "", "", deleter)[0], 200)
        self.assertNotIn("a", self.send("GET", fetch, "", "", writer)[1]["channels"])

    def test_table_names_every_message_operation(self) -> None:
        """Each operation the message routes produce has its own row, with PubNub's permission."""
        expected = {
            "publish": WRITE,
            "signal": WRITE,
            "history": READ,
            "history_v2": READ,
            "history_actions": READ,
            "message_counts": READ,
            "delete_messages": DELETE,
        }
        for operation, bit in expected.items():
            self.assertIn(operation, OPERATION_PERMISSIONS)
            self.assertEqual(needs(operation, ["c"], []), [("channels", "c", bit)], operation)


class TableMatchesRoutesTests(ManagerCase):
    """The permission table has a row for each operation the router produces, and no other."""

    def test_rows_and_routes_agree(self) -> None:
        """Route one request of every kind: the operations met are exactly the table's rows."""
        presence = f"/v2/presence/sub-key/{SUB}"
        registry = f"/v1/channel-registration/sub-key/{SUB}/channel-group/g"
        requests = [
            ("GET", presence),
            ("GET", f"{presence}/uuid/u"),
            ("GET", f"{presence}/channel/a"),
            ("GET", f"{presence}/channel/a/heartbeat"),
            ("GET", f"{presence}/channel/a/leave"),
            ("GET", f"{presence}/channel/a/uuid/u"),
            ("GET", f"{presence}/channel/a/uuid/u/data"),
            ("GET", registry),
            ("GET", f"{registry}/remove"),
            ("GET", f"/v2/subscribe/{SUB}/a/0"),
            *((method, path.format(c="a")) for method, path, _, _, _ in CALLS),
        ]
        met: set[str] = set()
        resource = self.resource
        check = resource._check_access

        def seen(call: Any) -> None:
            met.add(call.operation)
            check(call)

        resource._check_access = seen  # type: ignore[method-assign]
        for method, path in requests:
            resource.respond(method.encode(), f"{path}?uuid=u".encode())
        self.assertEqual(met, set(OPERATION_PERMISSIONS))
