"""Access Manager v3 tokens: parsing PubNub's, issuing and verifying our own."""

from __future__ import annotations

import base64

import cbor2
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import UUID, Channel, Group, PubNubException
from pubnub_twisted.access.tokens import (
    MAX_TOKEN_LENGTH,
    Permission,
    PNToken,
    PNTokenPermissions,
    PNTokenResources,
    issue_token,
    parse_token,
    verify_token,
)
from pubnub_twisted.errors import PNERR_INVALID_ACCESS_TOKEN

try:
    from pubnub.managers import TokenManager
    from pubnub.models.consumer.v3.channel import Channel as OfficialChannel
    from pubnub.utils import calculate_bitmask
except ImportError:  # pragma: no cover - the test extra installs it
    TokenManager = None

#: A token from PubNub's Python SDK tests (tests/functional/test_parse_token.py).
PUBNUB_TOKEN = (
    "qEF2AkF0GmFLd-NDdHRsGQWgQ3Jlc6VEY2hhbqFjY2gxGP9DZ3JwoWNjZzEY_0N1c3KgQ3NwY6BEdXVpZKFldXVpZDEY_"
    "0NwYXSlRGNoYW6gQ2dycKBDdXNyoENzcGOgRHV1aWShYl4kAURtZXRho2VzY29yZRhkZWNvbG9yY3JlZGZhdXRob3JlcGFu"
    "ZHVEdXVpZGtteWF1dGh1dWlkMUNzaWdYIP2vlxHik0EPZwtgYxAW3-LsBaX_WgWdYvtAXpYbKll3"
)
SECRET = "sec-c-test"
SUB = "sub-c-test"


def sample(**changes: object) -> PNToken:
    """A token with one of each kind of grant."""
    fields: dict[str, object] = {
        "version": 2,
        "timestamp": 1_700_000_000,
        "ttl": 15,
        "authorized_uuid": "alice",
        "resources": PNTokenResources(
            channels={"lobby": PNTokenPermissions(1)}, groups={"rooms": PNTokenPermissions(1)}
        ),
        "patterns": PNTokenResources(channels={"^room-.*$": PNTokenPermissions(3)}),
        "meta": {"role": "player"},
    }
    fields.update(changes)
    return PNToken(**fields)  # type: ignore[arg-type]


class ParseTests(SynchronousTestCase):
    """``parse_token`` reads PubNub's tokens as PubNub's SDK does."""

    def test_pubnub_vector(self) -> None:
        """PubNub's own test token parses to its documented contents."""
        token = parse_token(PUBNUB_TOKEN)
        self.assertEqual((token.version, token.timestamp, token.ttl), (2, 1632335843, 1440))
        self.assertEqual(token.authorized_uuid, "myauthuuid1")
        self.assertEqual(token.meta, {"score": 100, "color": "red", "author": "pandu"})
        self.assertTrue(token.resources.channels["ch1"].manage)
        self.assertTrue(token.patterns.uuids["^$"].read)
        self.assertFalse(token.patterns.uuids["^$"].write)
        self.assertEqual(token.expires_at, 1632335843 + 1440 * 60)

    def test_same_as_official_sdk(self) -> None:
        """On PubNub's token and on ours, the result equals the official SDK's parse_token."""
        if TokenManager is None:
            raise self.skipTest("PubNub's official SDK is not installed")
        for text in (PUBNUB_TOKEN, issue_token(SECRET, SUB, sample())):
            self.assertEqual(parse_token(text).to_dict(), TokenManager.parse_token(text))

    def test_repr_has_no_signature(self) -> None:
        """The parsed token's repr shows permissions by name, never the signature."""
        text = repr(parse_token(PUBNUB_TOKEN))
        self.assertIn("read+write+manage", text)
        self.assertNotIn("sig", text)

    def test_malformed(self) -> None:
        """Anything that is not a token is PubNubException(Invalid access token), no traceback."""
        unpadded = PUBNUB_TOKEN.rstrip("=") + "A"
        for bad in [
            "",
            "not a token!",
            "qEF2",
            unpadded,
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
            base64.urlsafe_b64encode(cbor2.dumps([1, 2])).decode(),
            base64.urlsafe_b64encode(cbor2.dumps({b"v": 2})).decode(),
            base64.urlsafe_b64encode(cbor2.dumps({b"v": "x", b"t": 1, b"ttl": 1})).decode(),
            "A" * (MAX_TOKEN_LENGTH + 4),
            None,
        ]:
            with self.assertRaises(PubNubException) as caught:
                parse_token(bad)  # type: ignore[arg-type]
            self.assertEqual(caught.exception.pn_error, PNERR_INVALID_ACCESS_TOKEN)

    @given(st.binary(max_size=200))
    def test_arbitrary_bytes(self, data: bytes) -> None:
        """Random bytes as a token give a token or PubNubException, nothing else."""
        text = base64.urlsafe_b64encode(data).decode()
        try:
            parse_token(text)
        except PubNubException as exc:
            self.assertEqual(exc.pn_error, PNERR_INVALID_ACCESS_TOKEN)


class IssueTests(SynchronousTestCase):
    """Tokens issued with a secret key verify only unchanged, with that key and key set."""

    def test_round_trip(self) -> None:
        """An issued token verifies to the same contents, and is base64url with padding."""
        text = issue_token(SECRET, SUB, sample())
        self.assertEqual(len(text) % 4, 0)
        self.assertEqual(verify_token(SECRET, SUB, text), sample())
        self.assertEqual(parse_token(text), sample())

    def test_refused(self) -> None:
        """Another secret, another key set, and every single flipped bit are refused."""
        text = issue_token(SECRET, SUB, sample())
        self.assertRaises(PubNubException, verify_token, "other", SUB, text)
        self.assertRaises(PubNubException, verify_token, SECRET, "sub-c-other", text)
        raw = base64.urlsafe_b64decode(text)
        for index in range(len(raw)):
            for bit in range(8):
                flipped = bytearray(raw)
                flipped[index] ^= 1 << bit
                tampered = base64.urlsafe_b64encode(bytes(flipped)).decode()
                self.assertRaises(PubNubException, verify_token, SECRET, SUB, tampered)

    def test_pubnub_token_not_ours(self) -> None:
        """A token PubNub issued is not accepted as one of ours (another key)."""
        self.assertRaises(PubNubException, verify_token, SECRET, SUB, PUBNUB_TOKEN)


class BuilderTests(SynchronousTestCase):
    """``Channel``/``Group``/``UUID`` build the bitmasks PubNub's SDK builds."""

    def test_bitmasks(self) -> None:
        """Each permission sets PubNub's bit; chains add up."""
        self.assertEqual(Channel.id("a").read().bitmask, Permission.READ)
        self.assertEqual(Group.id("g").manage().read().bitmask, 5)
        everything = UUID.pattern("^u").read().write().manage().delete().get().update().join()
        self.assertEqual(everything.bitmask, 255 - Permission.CREATE)
        self.assertTrue(everything.is_pattern_resource())
        self.assertEqual(everything.get_id(), "^u")
        self.assertEqual(repr(Channel.id("a").read().write()), "Channel.id('a') [read+write]")

    def test_same_as_official(self) -> None:
        """Every chain of permissions gives the official SDK's bitmask."""
        if TokenManager is None:
            raise self.skipTest("PubNub's official SDK is not installed")
        names = ["read", "write", "manage", "delete", "get", "update", "join"]
        for mask in range(1 << len(names)):
            ours, theirs = Channel.id("c"), OfficialChannel.id("c")
            for index, name in enumerate(names):
                if mask >> index & 1:
                    getattr(ours, name)()
                    getattr(theirs, name)()
            self.assertEqual(ours.bitmask, calculate_bitmask(theirs))
