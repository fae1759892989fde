"""Listeners receive messages and signals: publisher, meta, custom type, decryption.

Our subscribe loop against the embedded server in memory, on a Clock.
Encrypted messages are written by PubNub's official SDK's crypto modules.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from pubnub_twisted import (
    PNMessageResult,
    PNSignalMessageResult,
    PNStatus,
    PNStatusCategory,
    PubNub,
    SubscribeCallback,
)
from pubnub_twisted.crypto import AesCbcCryptoModule
from pubnub_twisted.errors import PNERR_DECRYPTION_ERROR, PubNubException
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence

try:
    from pubnub import crypto as official_crypto
    from pubnub.pnconfiguration import PNConfiguration as OfficialConfiguration
except ImportError:  # pragma: no cover - the dev extra installs it
    official_crypto = None

KEY = "lobby-secret"


class Inbox(SubscribeCallback):
    """Collects messages, signals and statuses."""

    def __init__(self) -> None:
        self.messages: list[PNMessageResult] = []
        self.signals: list[PNSignalMessageResult] = []
        self.statuses: list[PNStatus] = []

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        self.messages.append(message)

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        self.signals.append(signal)

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.statuses.append(status)


class ReceiveCase(SynchronousTestCase):
    """A subscribed client with an :class:`Inbox`, in memory."""

    def listen(self, **config: Any) -> Inbox:
        """Subscribe a client (``config`` fields) to ``lobby``; return its inbox."""
        self.server = InMemoryPresence()
        self.server.clock.advance(1_500_000_000)
        self.addCleanup(self.server.resource.stop)
        self.pubnub = self.server.client("reader", **config)
        inbox = Inbox()
        self.pubnub.add_listener(inbox)
        self.pubnub.subscribe().channels("lobby").execute()
        self.settle()
        self.assertEqual(inbox.statuses[0].category, PNStatusCategory.PNConnectedCategory)
        self.addCleanup(self.pubnub.stop)
        return inbox

    def settle(self) -> None:
        """Let the loop and the server exchange what is ready."""
        for _ in range(5):
            self.server.clock.advance(0)
            self.server.flush()

    def publish(self, message: Any, **options: Any) -> int:
        """Publish on the server side (as another client would) and deliver it."""
        timetoken = self.server.resource.publish(
            DEFAULT_SUBSCRIBE_KEY, "lobby", message, "writer", **options
        )
        self.settle()
        return timetoken


class ReceiveTests(ReceiveCase):
    """Plain messages and signals reach the right listener method, typed."""

    def test_message_fields(self) -> None:
        """message() gets publisher, channel, timetoken, user_metadata and custom type."""
        inbox = self.listen()
        timetoken = self.publish({"text": "hi"}, meta={"lang": "en"}, custom_message_type="chat")
        self.assertEqual(
            inbox.messages,
            [
                PNMessageResult(
                    {"text": "hi"}, "lobby", None, timetoken, "writer", {"lang": "en"}, "chat"
                )
            ],
        )

    def test_signal_goes_to_signal(self) -> None:
        """A signal reaches signal(), not message()."""
        inbox = self.listen()
        timetoken = self.server.resource.hub.publish(
            DEFAULT_SUBSCRIBE_KEY, "lobby", "typing", "writer", signal=True
        )
        self.settle()
        self.assertEqual(inbox.messages, [])
        self.assertEqual(
            inbox.signals, [PNSignalMessageResult("typing", "lobby", None, timetoken, "writer")]
        )


class DecryptTests(ReceiveCase):
    """With a cipher key, messages are decrypted; failures are flagged, never dropped."""

    def setUp(self) -> None:
        if official_crypto is None:
            raise SkipTest("PubNub's official SDK is not installed")
        config = OfficialConfiguration()
        config.cipher_key = KEY
        self.official = {
            "legacy": official_crypto.LegacyCryptoModule(config),
            "aes-cbc": official_crypto.AesCbcCryptoModule(config),
        }

    def test_both_cryptors_decrypted(self) -> None:
        """Messages the official SDK encrypted with either cryptor arrive decrypted."""
        inbox = self.listen(cipher_key=KEY)
        for name, module in self.official.items():
            self.publish(module.encrypt(f'{{"from": "{name}"}}'))
        self.assertEqual(
            [m.message for m in inbox.messages], [{"from": "legacy"}, {"from": "aes-cbc"}]
        )
        self.assertEqual([m.error for m in inbox.messages], [None, None])

    def test_crypto_module_setting(self) -> None:
        """config.crypto_module decrypts too."""
        from pubnub_twisted import PNConfiguration

        holder = PNConfiguration()
        holder.cipher_key = KEY
        inbox = self.listen(crypto_module=AesCbcCryptoModule(holder))
        self.publish(self.official["aes-cbc"].encrypt('"secret"'))
        self.assertEqual(inbox.messages[0].message, "secret")

    def test_undecryptable_is_flagged(self) -> None:
        """Wrong key or plain text: delivered as sent, error set, a status; the loop goes on."""
        inbox = self.listen(cipher_key="not the key")
        sealed = self.official["aes-cbc"].encrypt('"x"')
        self.publish(sealed)
        self.publish({"plain": True})
        self.assertEqual([m.message for m in inbox.messages], [sealed, {"plain": True}])
        for received in inbox.messages:
            assert isinstance(received.error, PubNubException)
            self.assertEqual(received.error.pn_error, PNERR_DECRYPTION_ERROR)
        failed = [
            s for s in inbox.statuses if s.category is PNStatusCategory.PNDecryptionErrorCategory
        ]
        self.assertEqual(len(failed), 2)
        self.assertTrue(failed[0].is_error())
        self.publish(self.official["aes-cbc"].encrypt('"later"'))
        self.assertEqual(len(inbox.messages), 3)
