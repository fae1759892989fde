"""Access control on the presence server: v2 signatures and auth keys (off by default)."""

from __future__ import annotations

from typing import Any

from pubnub_twisted.protocol import QueryValue, encode_query, sign
from pubnub_twisted.server import PresenceResource, PresenceStore
from tests.test_server_harness import BASE, OK, REGISTRY, ServerCase

SECRET = "sec-c-secret"
PUB = "pub-c-abc"


def forbidden(channels: list[str], message: str = "Forbidden", **extra: Any) -> dict[str, Any]:
    """The Access Manager 403 body."""
    return {
        "message": message,
        "payload": {"channels": channels, **extra},
        "error": True,
        "service": "Access Manager",
        "status": 403,
    }


class SignatureTests(ServerCase):
    """With a secret key, requests must be signed (PROTOCOL.md section 4)."""

    def setUp(self) -> None:
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB)

    def signed(
        self,
        path: str,
        params: list[tuple[str, QueryValue]],
        *,
        skew: int = 0,
        secret: str = SECRET,
    ) -> str:
        """``path`` with ``params``, a timestamp ``skew`` seconds off, and a v2 signature."""
        pairs = [*params, ("timestamp", str(int(self.clock.seconds()) + skew))]
        signature = sign(secret, PUB, path, pairs)
        return f"{path}?{encode_query([*pairs, ('signature', signature)])}"

    def test_protocol_test_vectors(self) -> None:
        """The signatures of PROTOCOL.md's test vectors are accepted at their timestamp."""
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB)
        self.clock.advance(1_600_000_000 - self.clock.seconds())
        query = "pnsdk=PubNub-Python-Twisted%2F4.8.1&timestamp=1600000000&uuid=my-uuid"
        self.assertEqual(
            self.get(
                f"/v2/presence/sub-key/sub-c-xyz/channel/ch1?{query}"
                "&signature=v2.WuOWxxueKntdQGbej0lrxQKoT4x3OREF5gbFoJV7T6E"
            ),
            {**OK, "uuids": [], "occupancy": 0},
        )
        self.assertEqual(
            self.get(
                f"/v2/presence/sub-key/sub-c-xyz/channel/ch1/uuid/my-uuid/data?state=%7B%22a%22%3A%201%7D"
                f"&signature=v2.CqPeNMjfWr4PZvTTv0sK6BchtxSRsqO7_YElP6yj7Ws&{query}"
            ),
            {**OK, "payload": {"a": 1}},
        )

    def test_valid_signatures_accepted(self) -> None:
        """Signed calls of every kind go through, hostile names included."""
        names = ["a;b", "c d/é", "x&y"]
        self.get(self.signed(f"{REGISTRY}/g%3B1", [("add", names), ("uuid", "me")]))
        self.get(
            self.signed(
                f"{BASE}/channel/,/heartbeat",
                [("channel-group", ["g;1"]), ("state", '{"a;b": {"k": "~ +"}}'), ("uuid", "u~1")],
            )
        )
        body = self.get(self.signed(f"{BASE}/channel/a%3Bb", [("state", "1"), ("uuid", "me")]))
        self.assertEqual(body["uuids"], [{"uuid": "u~1", "state": {"k": "~ +"}}])

    def test_timestamp_window(self) -> None:
        """A timestamp up to 60 s off is accepted; 61 s off is refused."""
        for skew in (-60, 60):
            self.get(self.signed(f"{BASE}/channel/ch", [("uuid", "me")], skew=skew))
        for skew in (-61, 61):
            self.assertRefused(
                self.signed(f"{BASE}/channel/ch", [("uuid", "me")], skew=skew),
                403,
                forbidden(["ch"], "Request timestamp out of range"),
            )

    def test_bad_signatures_refused(self) -> None:
        """Wrong key, tampered query, missing or malformed signature or timestamp: 403."""
        mismatch = forbidden(["ch"], "Signature does not match")
        good = self.signed(f"{BASE}/channel/ch/heartbeat", [("uuid", "me")])
        now = int(self.clock.seconds())
        self.assertAllRefused(
            [
                self.signed(f"{BASE}/channel/ch/heartbeat", [("uuid", "me")], secret="other"),
                good.replace("uuid=me", "uuid=mallory"),
                good + "&heartbeat=5",
                good.replace("/channel/ch/", "/channel/%63h/"),
                f"{BASE}/channel/ch/heartbeat?uuid=me",
                f"{BASE}/channel/ch/heartbeat?uuid=me&timestamp={now}",
                f"{BASE}/channel/ch/heartbeat?uuid=me&timestamp={now}&signature=",
                f"{BASE}/channel/ch/heartbeat?uuid=me&timestamp=soon&signature=v2.x",
                f"{BASE}/channel/ch/heartbeat?uuid=me&timestamp={now}&signature=v2.%C3%A9",
            ],
            403,
            mismatch,
        )
        self.assertEqual(self.events, [])
        self.get(good)
        self.assertEqual(len(self.events), 1)

    def test_refusal_names_groups(self) -> None:
        """The 403 payload names the channels and groups of the request."""
        self.assertRefused(
            f"{BASE}/channel/a,b?channel-group=g1,g2&uuid=me",
            403,
            forbidden(["a", "b"], "Signature does not match", **{"channel-groups": ["g1", "g2"]}),
        )
        self.assertRefused(
            f"{REGISTRY}/g?uuid=me",
            403,
            forbidden([], "Signature does not match", **{"channel-groups": ["g"]}),
        )

    def test_secret_needs_publish_key(self) -> None:
        """A secret key without the publish key cannot verify anything: refused up front."""
        self.assertRaises(
            ValueError, PresenceResource, PresenceStore(self.clock), secret_key=SECRET
        )


class AuthKeyTests(ServerCase):
    """With allowed auth keys, every request must carry one."""

    def setUp(self) -> None:
        self.serve(here_now_cache=0, auth_keys=["key-1", "key 2"])

    def test_allowed_keys(self) -> None:
        """A known auth key is let through."""
        self.heartbeat("ch", "me", "auth=key-1")
        self.assertEqual(self.get(f"{BASE}/channel/ch?uuid=me&auth=key%202")["occupancy"], 1)

    def test_missing_or_unknown_key(self) -> None:
        """No auth, an empty one or an unknown one: 403 in the Access Manager shape."""
        for query in ("", "&auth=", "&auth=key-3", "&auth=KEY-1"):
            self.assertRefused(
                f"{BASE}/channel/ch1,ch2/heartbeat?uuid=me{query}", 403, forbidden(["ch1", "ch2"])
            )
        self.assertRefused(f"{BASE}/uuid/x?uuid=me", 403, forbidden([]))
        self.assertEqual(self.events, [])

    def test_checked_before_the_cache(self) -> None:
        """A cached here_now answer is not handed to a request without a valid key."""
        self.serve(auth_keys=["key-1"])
        self.get(f"{BASE}/channel/ch?uuid=me&auth=key-1")
        self.assertRefused(f"{BASE}/channel/ch?uuid=me", 403, forbidden(["ch"]))

    def test_both_checks(self) -> None:
        """With a secret and auth keys, a request needs both a signature and a key."""
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB, auth_keys=["key-1"])
        path = f"{BASE}/channel/ch"

        def signed(auth: str) -> str:
            pairs: list[tuple[str, QueryValue]] = [
                ("uuid", "me"),
                ("auth", auth),
                ("timestamp", str(int(self.clock.seconds()))),
            ]
            return f"{path}?{encode_query([*pairs, ('signature', sign(SECRET, PUB, path, pairs))])}"

        self.assertRefused(signed("nope"), 403, forbidden(["ch"]))
        self.get(signed("key-1"))
        self.assertRefused(
            f"{path}?uuid=me&auth=key-1", 403, forbidden(["ch"], "Signature does not match")
        )
