"""The wire protocol helpers, pinned to PROTOCOL.md's examples and test vectors."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted.protocol import (
    QueryPairs,
    canonical_query,
    decode_names,
    decode_value,
    encode,
    encode_names,
    encode_query,
    json_dumps,
    parse_query,
    sign,
    string_to_sign,
)

SECRET = "sec-c-secret"
PUBLISH = "pub-c-abc"
PATH = "/v2/presence/sub-key/sub-c-xyz/channel/ch1"
STATE_PATH = "/v2/presence/sub-key/sub-c-xyz/channel/ch1/uuid/my-uuid/data"
VECTOR_PAIRS: QueryPairs = [
    ("pnsdk", "PubNub-Python-Twisted/4.8.1"),
    ("uuid", "my-uuid"),
    ("timestamp", "1600000000"),
]

#: Names without surrogates (they cannot be UTF-8 encoded), commas and spaces included.
names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1)


class EncodeTests(SynchronousTestCase):
    """Percent-encoding of names, lists and JSON values (PROTOCOL.md section 1)."""

    def test_protocol_example(self) -> None:
        """PROTOCOL.md's example: only ``A-Z a-z 0-9 _ . - ~`` stay literal."""
        self.assertEqual(
            encode("a/b c+d~e,f:ü*!'()"), "a%2Fb%20c%2Bd~e%2Cf%3A%C3%BC%2A%21%27%28%29"
        )

    def test_json_example(self) -> None:
        """``{"a": 1}`` serializes with a space and encodes as PROTOCOL.md shows."""
        self.assertEqual(encode(json_dumps({"a": 1})), "%7B%22a%22%3A%201%7D")

    def test_json_refuses_nan(self) -> None:
        """NaN is not JSON: json_dumps refuses it."""
        self.assertRaises(ValueError, json_dumps, {"x": float("nan")})

    def test_hostile(self) -> None:
        """&, #, %, emoji are encoded; uppercase hex."""
        self.assertEqual(encode("x&y#z%😀"), "x%26y%23z%25%F0%9F%98%80")

    def test_encode_names(self) -> None:
        """Names are encoded one by one and joined by a literal comma."""
        self.assertEqual(encode_names(["a,b", "c d"]), "a%2Cb,c%20d")

    def test_encode_names_empty(self) -> None:
        """No names give the ``,`` placeholder of a groups-only path."""
        self.assertEqual(encode_names([]), ",")

    def test_decode_names(self) -> None:
        """Decoded first, then split: ``%2C`` separates names as a literal comma does."""
        self.assertEqual(decode_names("a%2Cb,c%20d,%C3%BC"), ["a", "b", "c d", "ü"])
        self.assertEqual(decode_names("a,b%2C%2Cc%2C"), ["a", "b", "c"])
        self.assertEqual(decode_names(","), [])
        self.assertEqual(decode_names(""), [])

    @given(st.lists(names.filter(lambda name: "," not in name), min_size=1))
    def test_names_round_trip(self, values: list[str]) -> None:
        """decode_names undoes encode_names for any non-empty names without a comma."""
        self.assertEqual(decode_names(encode_names(values)), values)


class QueryTests(SynchronousTestCase):
    """Building and parsing query strings."""

    def test_encode_query(self) -> None:
        """Pairs keep their order; a list value is encoded names joined by ``,``."""
        pairs: QueryPairs = [("state", '{"a": 1}'), ("channel-group", ["g,1", "g 2"])]
        self.assertEqual(
            encode_query(pairs), "state=%7B%22a%22%3A%201%7D&channel-group=g%2C1,g%202"
        )

    def test_parse_query_keeps_values_encoded(self) -> None:
        """parse_query splits pairs but leaves values encoded (so lists split safely)."""
        self.assertEqual(
            parse_query("channel-group=g%2C1,g2&uuid=a%20b&&flag"),
            [("channel-group", "g%2C1,g2"), ("uuid", "a%20b"), ("flag", "")],
        )

    def test_decode_value(self) -> None:
        """decode_value decodes %XX; ``+`` is a space only where asked (query values)."""
        self.assertEqual(decode_value("a%20b+c%2B%C3%BC"), "a b+c+ü")
        self.assertEqual(decode_value("a%20b+c%2B%C3%BC", plus_is_space=True), "a b c+ü")
        self.assertEqual(decode_names("a+b,c%2Bd", plus_is_space=True), ["a b", "c+d"])

    @given(st.lists(st.tuples(st.sampled_from(["uuid", "state", "auth"]), names)))
    def test_query_round_trip(self, pairs: list[tuple[str, str]]) -> None:
        """parse_query then decode_value gives back what encode_query was given."""
        query: QueryPairs = list(pairs)
        parsed = [(key, decode_value(raw)) for key, raw in parse_query(encode_query(query))]
        self.assertEqual(parsed, pairs)

    def test_canonical_query(self) -> None:
        """Sorted by key, ``~`` encoded, list values comma-joined then encoded, no signature."""
        pairs: QueryPairs = [
            ("uuid", "a~b c"),
            ("signature", "v2.x"),
            ("channel-group", ["g1", "g2"]),
            ("auth", "k"),
        ]
        self.assertEqual(canonical_query(pairs), "auth=k&channel-group=g1%2Cg2&uuid=a%7Eb%20c")


class SigningTests(SynchronousTestCase):
    """Signature v2 against PROTOCOL.md section 4's vectors."""

    def test_string_to_sign(self) -> None:
        """The string to sign of the first vector."""
        self.assertEqual(
            string_to_sign(PUBLISH, PATH, VECTOR_PAIRS),
            "GET\npub-c-abc\n/v2/presence/sub-key/sub-c-xyz/channel/ch1\n"
            "pnsdk=PubNub-Python-Twisted%2F4.8.1&timestamp=1600000000&uuid=my-uuid\n",
        )

    def test_first_vector(self) -> None:
        """here_now on ch1: the first vector's signature."""
        self.assertEqual(
            sign(SECRET, PUBLISH, PATH, VECTOR_PAIRS),
            "v2.WuOWxxueKntdQGbej0lrxQKoT4x3OREF5gbFoJV7T6E",
        )

    def test_second_vector(self) -> None:
        """set_state with ``{"a": 1}``: the second vector's signature, in any pair order."""
        pairs: QueryPairs = [("state", json_dumps({"a": 1})), *VECTOR_PAIRS]
        expected = "v2.CqPeNMjfWr4PZvTTv0sK6BchtxSRsqO7_YElP6yj7Ws"
        self.assertEqual(sign(SECRET, PUBLISH, STATE_PATH, pairs), expected)
        self.assertEqual(sign(SECRET, PUBLISH, STATE_PATH, pairs[::-1]), expected)

    def test_signature_ignores_signature_pair(self) -> None:
        """A ``signature`` pair already present does not change the signature."""
        with_signature: QueryPairs = [*VECTOR_PAIRS, ("signature", "v2.old")]
        self.assertEqual(
            sign(SECRET, PUBLISH, PATH, with_signature), sign(SECRET, PUBLISH, PATH, VECTOR_PAIRS)
        )

    def test_no_padding(self) -> None:
        """The signature is URL-safe base64 without ``=`` padding."""
        signature = sign(SECRET, PUBLISH, STATE_PATH, VECTOR_PAIRS)
        self.assertTrue(signature.startswith("v2."))
        self.assertNotIn("=", signature)
        self.assertNotIn("+", signature)
        self.assertNotIn("/", signature)
