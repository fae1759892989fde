"""Signing requests other than GET: v2 over method and body, v1 for a publish by POST.

Test vectors computed by PubNub's official SDK's own ``utils.sign_request``
(pubnub 10.8), and a cross-check against it over many requests; then the
embedded server's verification, which checks exactly what the client signs.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pubnub import utils as sdk_utils
from pubnub.enums import HttpMethod
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted.protocol import (
    QueryPairs,
    encode,
    encode_query,
    request_signature,
    sign,
    sign_v1,
    signature_version,
    string_to_sign,
    string_to_sign_v1,
)
from pubnub_twisted.server._request import Call, Refusal, parse, route
from pubnub_twisted.transport import _BytesProducer
from tests.test_server_harness import ServerCase

SECRET = "sec-c-secret"
PUB = "pub-c-abc"
SUB = "sub-c-xyz"
PAIRS: QueryPairs = [
    ("pnsdk", "PubNub-Python-Twisted/4.8.1"),
    ("uuid", "my-uuid"),
    ("timestamp", "1600000000"),
]
QUERY = "pnsdk=PubNub-Python-Twisted%2F4.8.1&timestamp=1600000000&uuid=my-uuid"
GRANT_PATH = "/v3/pam/sub-c-xyz/grant"
GRANT_BODY = b'{"ttl": 15, "permissions": {"resources": {"channels": {"ch1": 3}}}}'
REVOKE_PATH = "/v3/pam/sub-c-xyz/grant/tok"
PUBLISH_POST_PATH = "/publish/pub-c-abc/sub-c-xyz/0/ch1/0"
PUBLISH_GET_PATH = "/publish/pub-c-abc/sub-c-xyz/0/ch1/0/%7B%22a%22%3A%201%7D"


def sdk_signature(
    method: str, path: str, pairs: QueryPairs, body: bytes | None, sub: str = SUB
) -> str:
    """The signature PubNub's own SDK computes for this request."""
    params: dict[str, Any] = {key: value for key, value in pairs if key != "timestamp"}
    timestamp = dict(pairs)["timestamp"]
    config = SimpleNamespace(subscribe_key=sub, publish_key=PUB, secret_key=SECRET)
    pubnub = SimpleNamespace(config=config, timestamp=lambda: timestamp)
    endpoint = SimpleNamespace(get_path=lambda: path)
    verb = getattr(HttpMethod, method)
    text = None if body is None else body.decode("utf-8")
    sdk_utils.sign_request(endpoint, pubnub, params, verb, text)
    return str(params["signature"])


def ours(method: str, path: str, pairs: QueryPairs, body: bytes | None, sub: str = SUB) -> str:
    return request_signature(
        SECRET,
        publish_key=PUB,
        subscribe_key=sub,
        method=method,
        path=path,
        pairs=pairs,
        body=body or b"",
    )


class VectorTests(SynchronousTestCase):
    """Fixed vectors, each computed by the official SDK's ``sign_request``."""

    def test_grant_post_with_body(self) -> None:
        """grant_token: POST, JSON body appended after the query's newline."""
        self.assertEqual(
            string_to_sign(PUB, GRANT_PATH, PAIRS, method="POST", body=GRANT_BODY),
            f"POST\n{PUB}\n{GRANT_PATH}\n{QUERY}\n{GRANT_BODY.decode()}",
        )
        expected = "v2.wEX6cDjI19G8DyY42OpY9yendDRNKpL-YY5uv0yBpx4"
        signature = sign(SECRET, PUB, GRANT_PATH, PAIRS, method="POST", body=GRANT_BODY)
        self.assertEqual(signature, expected)
        self.assertEqual(ours("POST", GRANT_PATH, PAIRS, GRANT_BODY), expected)

    def test_revoke_delete(self) -> None:
        """revoke_token: DELETE, no body (the text ends with the query's newline)."""
        self.assertEqual(
            string_to_sign(PUB, REVOKE_PATH, PAIRS, method="DELETE"),
            f"DELETE\n{PUB}\n{REVOKE_PATH}\n{QUERY}\n",
        )
        expected = "v2.coy3_iKHZP2Yq3aASBizv6xiJwCzw4SrJFkED0AsqQw"
        self.assertEqual(ours("DELETE", REVOKE_PATH, PAIRS, None), expected)

    def test_publish_get(self) -> None:
        """publish by GET: an ordinary v2 GET signature, the message in the path."""
        expected = "v2.J6278P0uidmgMZ6w2uPfwwwdG-qZ4qx_yEbLGbPkiwk"
        self.assertEqual(ours("GET", PUBLISH_GET_PATH, PAIRS, None), expected)
        self.assertEqual(sign(SECRET, PUB, PUBLISH_GET_PATH, PAIRS), expected)

    def test_publish_post_v1(self) -> None:
        """publish by POST: v1 (sub, pub, path, query; no method, no body, padding kept)."""
        self.assertEqual(
            string_to_sign_v1(SUB, PUB, PUBLISH_POST_PATH, PAIRS),
            f"{SUB}\n{PUB}\n{PUBLISH_POST_PATH}\n{QUERY}",
        )
        expected = "3A_-j2cIONx2hIFBMYnA_Dg7W1p-C519TQwgpXg92d8="
        self.assertEqual(sign_v1(SECRET, SUB, PUB, PUBLISH_POST_PATH, PAIRS), expected)
        self.assertEqual(ours("POST", PUBLISH_POST_PATH, PAIRS, b'{"text": "hi"}'), expected)

    def test_version_rule(self) -> None:
        """v1 only for POST to a /publish path; every other request is v2."""
        self.assertEqual(signature_version("POST", PUBLISH_POST_PATH), 1)
        self.assertEqual(signature_version("post", PUBLISH_POST_PATH), 1)
        self.assertEqual(signature_version("GET", PUBLISH_GET_PATH), 2)
        self.assertEqual(signature_version("POST", GRANT_PATH), 2)
        self.assertEqual(signature_version("DELETE", "/v3/history/sub-key/s/channel/c"), 2)

    def test_get_default_unchanged(self) -> None:
        """sign() without a method is the GET signature of PROTOCOL.md's first vector."""
        path = "/v2/presence/sub-key/sub-c-xyz/channel/ch1"
        expected = "v2.WuOWxxueKntdQGbej0lrxQKoT4x3OREF5gbFoJV7T6E"
        self.assertEqual(sign(SECRET, PUB, path, PAIRS), expected)
        self.assertEqual(ours("GET", path, PAIRS, None), expected)


#: Query values and bodies of any text the SDK can sign (no lone surrogates).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


class CrossCheckTests(SynchronousTestCase):
    """Ours equals the official SDK's ``sign_request`` for any method, path, query and body."""

    @given(
        method=st.sampled_from(["GET", "POST", "DELETE", "PATCH"]),
        publish=st.booleans(),
        segment=text,
        values=st.lists(st.tuples(st.sampled_from(["a", "b", "meta", "uuid"]), text), max_size=4),
        body=st.none() | text.map(str.encode),
    )
    def test_matches_sdk(
        self,
        method: str,
        publish: bool,
        segment: str,
        values: list[tuple[str, str]],
        body: bytes | None,
    ) -> None:
        """Same signature as PubNub's SDK, v1 and v2 alike."""
        prefix = "/publish/pub-c-abc/sub-c-xyz/0/" if publish else "/v3/pam/sub-c-xyz/grant/"
        path = prefix + encode(segment)
        pairs: QueryPairs = [*dict(values).items(), ("timestamp", "1600000000")]
        if method == "GET":
            body = None
        self.assertEqual(ours(method, path, pairs, body), sdk_signature(method, path, pairs, body))


class ServerVerificationTests(ServerCase):
    """The embedded server checks the signature over the method and body it received."""

    def setUp(self) -> None:
        self.serve(here_now_cache=0, secret_key=SECRET, publish_key=PUB)

    def call(self, method: str, path: str, body: bytes, signed: tuple[str, bytes]) -> Call:
        """A routed call received as ``method`` with ``body``, signed as ``signed`` says."""
        pairs: QueryPairs = [("uuid", "u"), ("timestamp", str(int(self.clock.seconds())))]
        signature = ours(signed[0], path, pairs, signed[1])
        uri = f"{path}?{encode_query([*pairs, ('signature', signature)])}"
        call = route(parse(uri.encode()))
        call.method, call.body = method, body
        return call

    def verdict(self, call: Call) -> Any:
        """None when the signature is accepted, else the refusal's message."""
        try:
            self.resource._check_signature(call, SECRET)
        except Refusal as refusal:
            return refusal.body["message"]
        return None

    def test_post_body(self) -> None:
        """A POST signed over its body is accepted; another body or method is refused."""
        path = "/v2/presence/sub-key/sub-c-xyz/channel/ch1"
        good = self.call("POST", path, GRANT_BODY, ("POST", GRANT_BODY))
        self.assertIsNone(self.verdict(good))
        other_body = self.call("POST", path, GRANT_BODY + b" ", ("POST", GRANT_BODY))
        self.assertEqual(self.verdict(other_body), "Signature does not match")
        other_method = self.call("PATCH", path, GRANT_BODY, ("POST", GRANT_BODY))
        self.assertEqual(self.verdict(other_method), "Signature does not match")

    def test_delete(self) -> None:
        """A DELETE signed as a DELETE is accepted; the same signature on a GET is refused."""
        path = "/v2/presence/sub-key/sub-c-xyz/channel/ch1"
        self.assertIsNone(self.verdict(self.call("DELETE", path, b"", ("DELETE", b""))))
        self.assertEqual(
            self.verdict(self.call("GET", path, b"", ("DELETE", b""))), "Signature does not match"
        )

    def test_publish_post_v1(self) -> None:
        """A POST to /publish is verified with the v1 signature, which covers no body."""
        pairs: QueryPairs = [("uuid", "u"), ("timestamp", str(int(self.clock.seconds())))]
        v1 = sign_v1(SECRET, SUB, PUB, PUBLISH_POST_PATH, pairs)
        call = parse(f"{PUBLISH_POST_PATH}?{encode_query([*pairs, ('signature', v1)])}".encode())
        call.method, call.body, call.sub_key = "POST", b'{"any": "body"}', SUB
        self.assertIsNone(self.verdict(call))
        call.sub_key = "sub-c-other"
        self.assertEqual(self.verdict(call), "Signature does not match")

    def test_body_over_http(self) -> None:
        """Over HTTP (render): the body received is part of what the server verifies."""
        path = "/v2/presence/sub-key/sub-c-xyz/channel/ch1"
        pairs: QueryPairs = [("uuid", "u"), ("timestamp", str(int(self.clock.seconds())))]
        signature = ours("GET", path, pairs, b"x")
        uri = f"http://ps.test{path}?{encode_query([*pairs, ('signature', signature)])}".encode()
        codes = []
        for body in (b"x", b"y"):
            d = self.agent.request(b"GET", uri, None, _BytesProducer(body))
            self.agent.flush()
            codes.append(self.successResultOf(d).code)
        self.assertEqual(codes, [200, 403])
