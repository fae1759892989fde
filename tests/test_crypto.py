"""Encryption byte-compatible with PubNub's official SDK, both cryptors, both IV modes.

Each direction is checked: the official SDK's crypto modules (and its legacy
``PubNubCryptodome``, which a ``cipher_key``-only publish uses) encrypt and
ours decrypt, and the reverse.  Hostile inputs fail with a clear
``PubNubException``, never another exception.
"""

from __future__ import annotations

import base64
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from pubnub_twisted import PNConfiguration
from pubnub_twisted.crypto import (
    AesCbcCryptoModule,
    LegacyCryptoModule,
    PubNubCryptoModule,
    crypto_module_of,
)
from pubnub_twisted.errors import PNERR_DECRYPTION_ERROR, PubNubException

try:
    from pubnub import crypto as official_crypto
    from pubnub.pnconfiguration import PNConfiguration as OfficialConfiguration
except ImportError:  # pragma: no cover - the dev extra installs it
    official_crypto = None

KEY = "my-cipher-key"
TEXTS = ['{"text": "hi"}', '"just a string"', "[1, 2, 3]", '{"ü": "é ✓ 😀"}', "x" * 100]


def ours(module: type[PubNubCryptoModule], random_iv: bool, key: str = KEY) -> PubNubCryptoModule:
    """Our module built from a configuration."""
    config = PNConfiguration()
    config.cipher_key = key
    config.use_random_initialization_vector = random_iv
    return module(config)


def official_config(random_iv: bool) -> Any:
    """An official SDK configuration with the same key."""
    config = OfficialConfiguration()
    config.cipher_key = KEY
    config.use_random_initialization_vector = random_iv
    return config


class CompatibilityTests(SynchronousTestCase):
    """Round trips between the official SDK and ours."""

    def setUp(self) -> None:
        if official_crypto is None:
            raise SkipTest("PubNub's official SDK is not installed")

    def test_official_modules_to_ours(self) -> None:
        """What the official Legacy and AES-CBC modules write, both of ours read."""
        for random_iv in (True, False):
            config = official_config(random_iv)
            for official in (
                official_crypto.LegacyCryptoModule(config),
                official_crypto.AesCbcCryptoModule(config),
            ):
                for text in TEXTS:
                    sealed = official.encrypt(text)
                    for module in (LegacyCryptoModule, AesCbcCryptoModule):
                        self.assertEqual(
                            ours(module, random_iv).decrypt_text(sealed), text, (official, text)
                        )

    def test_ours_to_official_modules(self) -> None:
        """What both of ours write, the official modules read (JSON decoded as theirs)."""
        for random_iv in (True, False):
            config = official_config(random_iv)
            for module in (LegacyCryptoModule, AesCbcCryptoModule):
                for text in TEXTS:
                    sealed = ours(module, random_iv).encrypt(text)
                    for official in (
                        official_crypto.LegacyCryptoModule(config),
                        official_crypto.AesCbcCryptoModule(config),
                    ):
                        self.assertEqual(
                            official.decrypt(sealed), ours(module, random_iv).decrypt(sealed)
                        )

    def test_legacy_cryptodome_both_ways(self) -> None:
        """The official cipher_key-only path (PubNubCryptodome) and our legacy module agree."""
        for random_iv in (True, False):
            cryptodome = official_crypto.PubNubCryptodome(official_config(random_iv))
            legacy = ours(LegacyCryptoModule, random_iv)
            for text in TEXTS:
                self.assertEqual(legacy.decrypt_text(cryptodome.encrypt(KEY, text)), text)
                self.assertEqual(
                    cryptodome.decrypt(KEY, legacy.encrypt(text)),
                    legacy.decrypt(legacy.encrypt(text)),
                )

    def test_fixed_iv_is_deterministic(self) -> None:
        """Without a random IV the legacy form is byte for byte the official one."""
        cryptodome = official_crypto.PubNubCryptodome(official_config(False))
        legacy = ours(LegacyCryptoModule, False)
        self.assertEqual(legacy.encrypt('"hey"'), cryptodome.encrypt(KEY, '"hey"'))


class FormatTests(SynchronousTestCase):
    """What we write, and what we refuse."""

    def test_aes_cbc_header(self) -> None:
        """AES-CBC output starts PNED, version 1, ACRH, 16 bytes of IV."""
        raw = base64.b64decode(ours(AesCbcCryptoModule, True).encrypt("hello"))
        self.assertEqual(raw[:10], b"PNED\x01ACRH\x10")
        self.assertEqual(len(raw), 10 + 16 + 16)

    def test_random_iv_differs(self) -> None:
        """Two encryptions of the same text differ with a random IV."""
        for module in (LegacyCryptoModule, AesCbcCryptoModule):
            crypto = ours(module, True)
            self.assertNotEqual(crypto.encrypt("same"), crypto.encrypt("same"))

    def test_wrong_key_and_garbage_fail_cleanly(self) -> None:
        """Wrong keys, non-base64, truncated headers, unknown cryptors: PNERR_DECRYPTION_ERROR."""
        sealed = ours(AesCbcCryptoModule, True).encrypt('{"a": 1}')
        legacy_sealed = ours(LegacyCryptoModule, True).encrypt('{"a": 1}')
        other = ours(AesCbcCryptoModule, True, key="another key")
        hostile = [
            sealed,
            legacy_sealed,
            "not base64!",
            base64.b64encode(b"PNED\x01AC").decode(),
            base64.b64encode(b"PNED\x01ZZZZ\x10" + b"0" * 32).decode(),
            base64.b64encode(b"PNED\x09ACRH\x10" + b"0" * 32).decode(),
            base64.b64encode(b"short").decode(),
            "",
        ]
        for text in hostile:
            with self.assertRaises(PubNubException) as caught:
                other.decrypt(text)
            self.assertEqual(caught.exception.pn_error, PNERR_DECRYPTION_ERROR, text)

    def test_configuration_choice(self) -> None:
        """cipher_key alone means legacy; crypto_module wins; neither means none."""
        config = PNConfiguration()
        self.assertIsNone(crypto_module_of(config))
        config.cipher_key = KEY
        self.assertIsInstance(crypto_module_of(config), LegacyCryptoModule)
        config.crypto_module = AesCbcCryptoModule(config)
        self.assertIs(crypto_module_of(config), config.crypto_module)
        self.assertNotIn(KEY, repr(config))
        self.assertNotIn(KEY, repr(config.crypto_module))

    def test_module_needs_a_key(self) -> None:
        """A module without cipher_key is refused at construction."""
        self.assertRaises(PubNubException, AesCbcCryptoModule, PNConfiguration())
