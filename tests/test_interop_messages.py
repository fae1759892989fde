"""Messaging between our client and PubNub's official Python SDK, over loopback.

Both talk to the embedded server on 127.0.0.1, with a secret key, so every
request of both sides is signed (a publish by POST with PubNub's v1
signature).  Ours runs on the trial reactor; the official SDK's blocking
calls run in threads (``deferToThread``), its subscribe on its own threads.
"""

from __future__ import annotations

import base64
from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from pubnub_twisted import PNConfiguration, PNStatusCategory, PubNub
from pubnub_twisted.crypto import AesCbcCryptoModule, LegacyCryptoModule
from pubnub_twisted.testing import DEFAULT_PUBLISH_KEY, DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer
from tests.test_messages_receive import Inbox
from tests.test_official_sdk_messages import Received
from tests.test_realtime_integration import eventually

try:
    from pubnub import crypto as official_crypto
    from pubnub.pnconfiguration import PNConfiguration as OfficialConfiguration
    from pubnub.pubnub import PubNub as OfficialPubNub
except ImportError:  # pragma: no cover - the dev extra installs it
    OfficialPubNub = None

Gen = Generator[Deferred[Any], Any, Any]
SECRET = "sec-c-interop"
KEY = "interop-cipher"


class InteropCase(TestCase):
    """The embedded server with a secret key; our clients and official ones on it."""

    timeout = 60

    def setUp(self) -> None:
        if OfficialPubNub is None:
            raise SkipTest("PubNub's official SDK is not installed")
        self.server = LocalPresenceServer.start(
            reactor, secret_key=SECRET, publish_key=DEFAULT_PUBLISH_KEY
        )
        self.addCleanup(self.server.stop)

    def ours(self, uuid: str = "ours", **settings: Any) -> PubNub:
        return self.server.client(uuid, secret_key=SECRET, **settings)

    def theirs(self, uuid: str = "theirs", **settings: Any) -> Any:
        config = OfficialConfiguration()
        config.subscribe_key = DEFAULT_SUBSCRIBE_KEY
        config.publish_key = DEFAULT_PUBLISH_KEY
        config.secret_key = SECRET
        config.user_id = uuid
        config.origin = self.server.origin
        config.ssl = False
        for name, value in settings.items():
            setattr(config, name, value)
        official = OfficialPubNub(config)
        self.addCleanup(deferToThread, official.stop)
        return official

    @inlineCallbacks
    def their_queue_get(self, listener: Received) -> Gen:
        """The official listener's next event (waiting in a thread)."""
        item = yield deferToThread(listener.queue.get, True, 10)
        return item

    @inlineCallbacks
    def their_subscription(self, official: Any, channel: str) -> Gen:
        listener = Received()
        official.add_listener(listener)
        official.subscribe().channels(channel).execute()
        first = yield self.their_queue_get(listener)
        self.assertEqual(first, ("status", "PNConnectedCategory"))
        self.addCleanup(deferToThread, official.unsubscribe_all)
        return listener

    @inlineCallbacks
    def our_subscription(self, pubnub: PubNub, channel: str) -> Gen:
        inbox = Inbox()
        pubnub.add_listener(inbox)
        pubnub.subscribe().channels(channel).execute()
        yield eventually(
            lambda: any(s.category is PNStatusCategory.PNConnectedCategory for s in inbox.statuses)
        )
        return inbox


class OursToTheirsTests(InteropCase):
    """Ours publishes and signals; the official SDK receives and fetches."""

    @inlineCallbacks
    def test_publish_receive_fetch(self) -> Gen:
        """GET and POST publishes with meta and type, and a signal, reach the official SDK."""
        official = self.theirs()
        listener = yield self.their_subscription(official, "room")
        pubnub = self.ours()
        sent = yield (
            pubnub.publish()
            .channel("room")
            .message({"text": "hi"})
            .meta({"lang": "en"})
            .custom_message_type("chat-text")
            .result()
        )
        got = yield self.their_queue_get(listener)
        self.assertEqual(
            got,
            (
                "message",
                "room",
                {"text": "hi"},
                "ours",
                {"lang": "en"},
                "chat-text",
                sent.timetoken,
            ),
        )
        yield pubnub.publish().channel("room").message(["by", "post"]).use_post(True).result()
        got = yield self.their_queue_get(listener)
        self.assertEqual(got[2], ["by", "post"])
        yield pubnub.signal().channel("room").message("typing").result()
        got = yield self.their_queue_get(listener)
        self.assertEqual(got, ("signal", "room", "typing", "ours"))
        fetched = yield deferToThread(
            lambda: official.fetch_messages().channels(["room"]).include_meta(True).sync()
        )
        items = fetched.result.channels["room"]
        self.assertEqual([i.message for i in items], [{"text": "hi"}, ["by", "post"]])
        self.assertEqual(items[0].meta, {"lang": "en"})

    @inlineCallbacks
    def test_ours_encrypted_theirs_decrypt(self) -> Gen:
        """Both our cryptors, both IV modes: the official SDK decrypts what we publish."""
        for module in (LegacyCryptoModule, AesCbcCryptoModule):
            for random_iv in (True, False):
                channel = f"enc-{module.__name__}-{random_iv}"
                config = PNConfiguration()
                config.cipher_key = KEY
                config.use_random_initialization_vector = random_iv
                pubnub = self.ours(
                    cipher_key=KEY,
                    use_random_initialization_vector=random_iv,
                    crypto_module=module(config),
                )
                yield pubnub.publish().channel(channel).message({"secret": 1}).result()
                official = self.theirs(cipher_key=KEY, use_random_initialization_vector=random_iv)
                builder = official.fetch_messages().channels([channel]).decrypt_messages()
                fetched = yield deferToThread(builder.sync)
                self.assertEqual(fetched.result.channels[channel][0].message, {"secret": 1})


class TheirsToOursTests(InteropCase):
    """The official SDK publishes (plain and encrypted); ours receives, fetches, decrypts."""

    @inlineCallbacks
    def test_plain_and_signal(self) -> Gen:
        """A plain publish (GET and POST, signed) and a signal reach our listener, typed."""
        pubnub = self.ours()
        inbox = yield self.our_subscription(pubnub, "lobby")
        official = self.theirs()
        yield deferToThread(
            lambda: official.publish().channel("lobby").message({"n": 1}).meta({"m": 1}).sync()
        )
        yield deferToThread(
            lambda: official.publish().channel("lobby").message({"n": 2}).use_post(True).sync()
        )
        yield deferToThread(lambda: official.signal().channel("lobby").message("sig").sync())
        yield eventually(lambda: len(inbox.messages) == 2 and len(inbox.signals) == 1)
        self.assertEqual([m.message for m in inbox.messages], [{"n": 1}, {"n": 2}])
        self.assertEqual(inbox.messages[0].user_metadata, {"m": 1})
        self.assertEqual(inbox.messages[0].publisher, "theirs")
        self.assertEqual((inbox.signals[0].message, inbox.signals[0].publisher), ("sig", "theirs"))

    @inlineCallbacks
    def test_encrypted_both_cryptors(self) -> Gen:
        """Legacy (cipher_key alone, random and fixed IV) and AES-CBC: ours decrypts them."""
        pubnub = self.ours(cipher_key=KEY)
        inbox = yield self.our_subscription(pubnub, "vault")
        module_config = OfficialConfiguration()
        module_config.cipher_key = KEY
        senders = [
            self.theirs(cipher_key=KEY),
            self.theirs(
                cipher_key=KEY, crypto_module=official_crypto.AesCbcCryptoModule(module_config)
            ),
        ]
        for n, official in enumerate(senders):
            yield deferToThread(official.publish().channel("vault").message({"n": n}).sync)
        yield eventually(lambda: len(inbox.messages) == 2)
        self.assertEqual([m.message for m in inbox.messages], [{"n": 0}, {"n": 1}])
        self.assertEqual([m.error for m in inbox.messages], [None, None])
        fetched = yield pubnub.fetch_messages().channels("vault").result()
        self.assertEqual([i.message for i in fetched.channels["vault"]], [{"n": 0}, {"n": 1}])
        raw = yield self.ours("raw").fetch_messages().channels("vault").result()
        headers = [base64.b64decode(i.message)[:9] for i in raw.channels["vault"]]
        self.assertEqual(headers[1], b"PNED\x01ACRH")
        self.assertNotEqual(headers[0][:4], b"PNED")
        fixed = self.ours("fixed", cipher_key=KEY, use_random_initialization_vector=False)
        official = self.theirs(cipher_key=KEY, use_random_initialization_vector=False)
        yield deferToThread(lambda: official.publish().channel("fixed").message("f").sync())
        fetched = yield fixed.fetch_messages().channels("fixed").result()
        self.assertEqual(fetched.channels["fixed"][0].message, "f")


class HistoryTests(InteropCase):
    """Paging and deleting, each side checking the other's work."""

    @inlineCallbacks
    def test_paging_and_deletes(self) -> Gen:
        """Ours pages back by start/end; the official SDK deletes one; ours deletes a range."""
        official = self.theirs()
        stamps = []
        for n in range(6):
            sent = yield deferToThread(official.publish().channel("hist").message(n).sync)
            stamps.append(sent.result.timetoken)
        pubnub = self.ours()
        page = yield pubnub.fetch_messages().channels("hist").maximum_per_channel(4).result()
        newest = page.channels["hist"]
        self.assertEqual([i.message for i in newest], [2, 3, 4, 5])
        older = yield (pubnub.fetch_messages().channels("hist").start(newest[0].timetoken).result())
        self.assertEqual([i.message for i in older.channels["hist"]], [0, 1])
        ranged = yield (
            pubnub.fetch_messages().channels("hist").start(stamps[4]).end(stamps[1]).result()
        )
        self.assertEqual([i.message for i in ranged.channels["hist"]], [1, 2, 3])
        yield deferToThread(
            lambda: (
                official.delete_messages()
                .channel("hist")
                .start(stamps[2] - 1)
                .end(stamps[2])
                .sync()
            )
        )
        yield pubnub.delete_messages().channel("hist").start(stamps[3]).end(stamps[5]).result()
        left = yield deferToThread(lambda: official.fetch_messages().channels(["hist"]).sync())
        self.assertEqual([i.message for i in left.result.channels["hist"]], [0, 1, 3])
