"""PubNub's official Python SDK and the embedded Access Manager, both ways.

The server runs in a child process (``python -m pubnub_twisted serve
--access-manager``) so the official SDK's blocking client can drive it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from pubnub_twisted import Channel, PNStatusCategory
from pubnub_twisted.access.tokens import parse_token
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer

try:
    from pubnub.exceptions import PubNubException as OfficialException
    from pubnub.models.consumer.v3.channel import Channel as OfficialChannel
    from pubnub.models.consumer.v3.group import Group as OfficialGroup
    from pubnub.pnconfiguration import PNConfiguration
    from pubnub.pubnub import PubNub
except ImportError:  # pragma: no cover - the test extra installs it
    PubNub = None

SUB = "sub-c-official-am"
PUB = "pub-c-official-am"
SECRET = "sec-c-official-am"


def official_client(origin: str, sub_key: str, uuid: str, *, secret: bool) -> Any:
    """An official SDK client of a local server (with the secret key if asked)."""
    config = PNConfiguration()
    config.subscribe_key = sub_key
    config.publish_key = PUB
    if secret:
        config.secret_key = SECRET
    config.user_id = uuid
    config.origin = origin
    config.ssl = False
    return PubNub(config)


class OfficialAccessManagerTests(SynchronousTestCase):
    """The official SDK grants, parses, uses and revokes tokens of our server."""

    def setUp(self) -> None:
        if PubNub is None:
            raise SkipTest("PubNub's official SDK is not installed (pip install pubnub)")
        command = [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0"]
        command += ["--secret-key", SECRET, "--publish-key", PUB, "--access-manager"]
        child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(child.wait, 10)
        self.addCleanup(child.terminate)
        self.child = child
        assert child.stdout is not None
        self.origin = child.stdout.readline().split()[-1].split("//", 1)[1]
        self.admin = self.client("backend", secret=True)

    def client(self, uuid: str, *, secret: bool = False) -> Any:
        """An official SDK client of the child server (with the secret key if asked)."""
        pubnub = official_client(self.origin, SUB, uuid, secret=secret)
        self.addCleanup(pubnub.stop)
        return pubnub

    def test_grant_parse_use_revoke(self) -> None:
        """grant_token: a token both SDKs parse alike, allowing what it grants until revoked."""
        envelope = (
            self.admin.grant_token()
            .ttl(15)
            .authorized_uuid("alice")
            .channels(
                [OfficialChannel.id("lobby").read(), OfficialChannel.pattern("^room-").read()]
            )
            .groups([OfficialGroup.id("rooms").manage()])
            .meta({"role": "player"})
            .sync()
        )
        token = envelope.result.token
        self.assertEqual(parse_token(token).to_dict(), self.admin.parse_token(token))
        self.assertEqual(parse_token(token).authorized_uuid, "alice")

        alice = self.client("alice")
        alice.set_token(token)
        here = alice.here_now().channels(["lobby", "room-7"]).sync()
        self.assertFalse(here.status.is_error())
        alice.add_channel_to_channel_group().channel_group("rooms").channels(["room-7"]).sync()
        with self.assertRaises(OfficialException) as refused:
            alice.here_now().channels(["kitchen"]).sync()
        self.assertEqual(refused.exception.get_status_code(), 403)

        mallory = self.client("mallory")
        mallory.set_token(token)  # bound to alice
        self.assertRaises(OfficialException, mallory.here_now().channels(["lobby"]).sync)

        self.admin.revoke_token(token).sync()
        with self.assertRaises(OfficialException) as revoked:
            alice.here_now().channels(["lobby"]).sync()
        self.assertIn("revoked", str(revoked.exception))

        self.child.terminate()
        log, _ = self.child.communicate(timeout=10)
        self.assertIn("DELETE /v3/pam/sub-c-official-am/grant/<token> -> 200", log)
        for secret in (SECRET, token, token.rstrip("=")):
            self.assertNotIn(secret, log)

    def test_messages_with_a_token(self) -> None:
        """A token of ours lets the official SDK publish and fetch what it grants, no more."""
        token = (
            self.admin.grant_token()
            .ttl(15)
            .channels(
                [
                    OfficialChannel.id("lobby").read().write(),
                    OfficialChannel.pattern("^chat-").write(),
                    OfficialChannel.id("archive").read().delete(),
                ]
            )
            .sync()
            .result.token
        )
        alice = self.client("alice")
        alice.set_token(token)
        alice.publish().channel("lobby").message({"n": 1}).sync()
        alice.publish().channel("lobby").message({"n": 2}).use_post(True).sync()
        alice.signal().channel("lobby").message("typing").sync()
        alice.publish().channel("chat-7").message("hi").sync()
        fetched = alice.fetch_messages().channels(["lobby"]).sync()
        self.assertEqual(
            [m.message for m in fetched.result.channels["lobby"]], [{"n": 1}, {"n": 2}]
        )
        refusals = {
            "publish on a read-only channel": alice.publish().channel("archive").message("x"),
            "publish on an ungranted one": alice.publish().channel("kitchen").message("x"),
            "fetch on a write-only pattern": alice.fetch_messages().channels(["chat-7"]),
            "delete without delete": alice.delete_messages().channel("lobby"),
            "signal without write": alice.signal().channel("archive").message("x"),
        }
        for name, call in refusals.items():
            with self.assertRaises(OfficialException, msg=name) as refused:
                call.sync()
            self.assertEqual(refused.exception.get_status_code(), 403, name)
        self.admin.publish().channel("archive").message("old").sync()  # signed: full access
        alice.delete_messages().channel("archive").sync()
        left = self.admin.fetch_messages().channels(["archive", "lobby"]).sync()
        self.assertNotIn("archive", left.result.channels)
        self.assertEqual(len(left.result.channels["lobby"]), 2)

    def test_signed_full_access(self) -> None:
        """The official SDK with the secret key needs no token (its requests are signed)."""
        envelope = self.admin.here_now().channels(["anything"]).sync()
        self.assertEqual(envelope.result.total_occupancy, 0)
        self.assertRaises(OfficialException, self.client("nobody").here_now().channels("a").sync)


class BothSDKsTests(TestCase):
    """Tokens granted by one SDK are used by the other, against the embedded server."""

    def setUp(self) -> None:
        if PubNub is None:
            raise SkipTest("PubNub's official SDK is not installed (pip install pubnub)")
        self.server = LocalPresenceServer.start(
            secret_key=SECRET, publish_key=PUB, access_manager=True
        )
        self.addCleanup(self.server.stop)
        self.official_admin = self.official("backend", secret=True)

    def official(self, uuid: str, *, secret: bool = False) -> Any:
        """An official SDK client of the loopback server."""
        pubnub = official_client(self.server.origin, DEFAULT_SUBSCRIBE_KEY, uuid, secret=secret)
        self.addCleanup(pubnub.stop)
        return pubnub

    @inlineCallbacks
    def test_official_grant_our_client(self) -> Generator[Deferred[Any], Any, None]:
        """The official SDK's grant_token gives a token our client sets and uses."""
        grant = self.official_admin.grant_token().ttl(5).authorized_uuid("alice")
        grant = grant.channels([OfficialChannel.id("lobby").read()])
        envelope = yield deferToThread(grant.sync)
        ours = self.server.client("alice", publish_key=PUB)
        ours.set_token(envelope.result.token)
        here = yield ours.here_now().channels("lobby").deferred()
        self.assertFalse(here.status.is_error(), here.status)
        denied = yield ours.here_now().channels("kitchen").deferred()
        self.assertIs(denied.status.category, PNStatusCategory.PNAccessDeniedCategory)

    @inlineCallbacks
    def test_messages_across_sdks(self) -> Generator[Deferred[Any], Any, None]:
        """Ours publishes with the official SDK's token; the official SDK fetches with ours."""
        grant = self.official_admin.grant_token().ttl(5).authorized_uuid("alice")
        grant = grant.channels([OfficialChannel.id("lobby").write()])
        envelope = yield deferToThread(grant.sync)
        alice = self.server.client("alice", publish_key=PUB)
        alice.set_token(envelope.result.token)
        sent = yield alice.publish().channel("lobby").message({"n": 1}).deferred()
        self.assertFalse(sent.status.is_error(), sent.status)
        sent = yield alice.publish().channel("lobby").message({"n": 2}).use_post(True).deferred()
        self.assertFalse(sent.status.is_error(), sent.status)
        unread = yield alice.fetch_messages().channels("lobby").deferred()  # write only
        self.assertIs(unread.status.category, PNStatusCategory.PNAccessDeniedCategory)

        backend = self.server.client("backend", publish_key=PUB, secret_key=SECRET)
        granted = yield backend.grant_token().ttl(5).channels([Channel.id("lobby").read()]).result()
        bob = self.official("bob")
        bob.set_token(granted.token)
        fetched = yield deferToThread(bob.fetch_messages().channels(["lobby"]).sync)
        self.assertEqual(
            [m.message for m in fetched.result.channels["lobby"]], [{"n": 1}, {"n": 2}]
        )
        with self.assertRaises(OfficialException):
            yield deferToThread(bob.publish().channel("lobby").message("x").sync)

    @inlineCallbacks
    def test_our_grant_official_client(self) -> Generator[Deferred[Any], Any, None]:
        """Our grant_token gives a token the official SDK parses and uses."""
        backend = self.server.client("backend", publish_key=PUB, secret_key=SECRET)
        granted = yield backend.grant_token().ttl(5).channels([Channel.id("lobby").read()]).result()
        official = self.official("bob")
        self.assertEqual(official.parse_token(granted.token), parse_token(granted.token).to_dict())
        official.set_token(granted.token)
        here = yield deferToThread(official.here_now().channels(["lobby"]).sync)
        self.assertFalse(here.status.is_error())
        yield backend.revoke_token(granted.token).result()
        with self.assertRaises(OfficialException):
            yield deferToThread(official.here_now().channels(["lobby"]).sync)


class ServeOptionTests(SynchronousTestCase):
    """``serve --access-manager`` needs the secret key."""

    def test_needs_secret(self) -> None:
        """Without --secret-key it refuses to start, saying why."""
        done = subprocess.run(
            [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0", "--access-manager"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("--access-manager needs --secret-key", done.stderr)
