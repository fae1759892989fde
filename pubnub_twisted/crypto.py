"""Message encryption, byte-compatible with PubNub's SDKs.

Two cryptors, as PubNub defines them:

* the **legacy** cryptor (id ``0000``): AES-256-CBC with the first 32
  characters of the hex SHA-256 of ``cipher_key`` as the key, PKCS#7
  padding, and either a random 16-byte IV written before the ciphertext
  (``use_random_initialization_vector``, the default) or the fixed IV
  ``0123456789012345`` and nothing before it; no header.
* the **AES-CBC** cryptor (id ``ACRH``): AES-256-CBC with the SHA-256 digest
  of ``cipher_key`` as the key and a random IV, behind PubNub's header
  ``PNED``, version 1, the cryptor id and the IV as cryptor data.

A crypto module writes with its default cryptor and reads both:
``AesCbcCryptoModule(config)`` writes ``ACRH``, ``LegacyCryptoModule(config)``
writes the legacy form.  A configuration with ``cipher_key`` and no
``crypto_module`` uses the legacy module, as PubNub's Python SDK does.  The
result of :meth:`PubNubCryptoModule.encrypt` is base64 text, which a publish
sends as a JSON string.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any, Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pubnub_twisted.errors import PNERR_DECRYPTION_ERROR, PubNubException

if TYPE_CHECKING:
    from pubnub_twisted.config import PNConfiguration

__all__ = [
    "AesCbcCryptoModule",
    "LegacyCryptoModule",
    "PubNubCryptoModule",
    "crypto_module_of",
]

_SENTINEL: Final = b"PNED"
_VERSION: Final = 1
_LEGACY_ID: Final = "0000"
_AES_CBC_ID: Final = "ACRH"
_FIXED_IV: Final = b"0123456789012345"
_BLOCK: Final = 16


def _failed(why: str) -> PubNubException:
    return PubNubException(why, pn_error=PNERR_DECRYPTION_ERROR)


def _cbc(key: bytes, iv: bytes, data: bytes, *, encrypt: bool) -> bytes:
    if len(iv) != _BLOCK:
        raise _failed("too short to hold a 16-byte IV")
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    if encrypt:
        padder = padding.PKCS7(_BLOCK * 8).padder()
        padded = padder.update(data) + padder.finalize()
        encryptor = cipher.encryptor()
        return encryptor.update(padded) + encryptor.finalize()
    if not data or len(data) % _BLOCK:
        raise _failed("the ciphertext is not a whole number of AES blocks")
    decryptor = cipher.decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise _failed("bad padding: wrong cipher key, or not encrypted this way") from None


class _Legacy:
    """The legacy cryptor (``0000``)."""

    def __init__(self, cipher_key: str, random_iv: bool) -> None:
        self._key = hashlib.sha256(cipher_key.encode("utf-8")).hexdigest()[:32].encode("ascii")
        self._random_iv = random_iv

    def encrypt(self, data: bytes) -> bytes:
        if not self._random_iv:
            return _cbc(self._key, _FIXED_IV, data, encrypt=True)
        iv = os.urandom(_BLOCK)
        return iv + _cbc(self._key, iv, data, encrypt=True)

    def decrypt(self, data: bytes) -> bytes:
        if not self._random_iv:
            return _cbc(self._key, _FIXED_IV, data, encrypt=False)
        return _cbc(self._key, data[:_BLOCK], data[_BLOCK:], encrypt=False)


class _AesCbc:
    """The AES-CBC cryptor (``ACRH``): the IV travels in the header."""

    def __init__(self, cipher_key: str) -> None:
        self._key = hashlib.sha256(cipher_key.encode("utf-8")).digest()

    def encrypt(self, data: bytes) -> tuple[bytes, bytes]:
        iv = os.urandom(_BLOCK)
        return iv, _cbc(self._key, iv, data, encrypt=True)

    def decrypt(self, iv: bytes, data: bytes) -> bytes:
        return _cbc(self._key, iv, data, encrypt=False)


def _header(cryptor_id: str, cryptor_data: bytes) -> bytes:
    size = len(cryptor_data)
    length = bytes([size]) if size < 255 else b"\xff" + size.to_bytes(2, "big")
    return _SENTINEL + bytes([_VERSION]) + cryptor_id.encode("ascii") + length + cryptor_data


def _split_header(data: bytes) -> tuple[str, bytes, bytes] | None:
    """``(cryptor id, cryptor data, payload)``, or ``None`` without a ``PNED`` header."""
    if not data.startswith(_SENTINEL):
        return None
    if len(data) < 10:
        raise _failed("truncated PNED header")
    if data[4] > _VERSION:
        raise _failed(f"unknown crypto header version {data[4]}")
    cryptor_id = data[5:9].decode("ascii", "replace")
    size, start = data[9], 10
    if size == 255:
        size, start = int.from_bytes(data[10:12], "big"), 12
    if len(data) < start + size:
        raise _failed("truncated PNED header")
    return cryptor_id, data[start : start + size], data[start + size :]


class PubNubCryptoModule:
    """Encrypts with its default cryptor; decrypts what either cryptor wrote.

    Build one of its subclasses from a configuration holding ``cipher_key``.
    ``repr`` never shows the key.
    """

    _default: str = _AES_CBC_ID

    def __init__(self, config: PNConfiguration) -> None:
        cipher_key = config.cipher_key
        if not cipher_key or not isinstance(cipher_key, str):
            raise PubNubException(
                "a crypto module needs config.cipher_key (a non-empty string)",
                pn_error=PNERR_DECRYPTION_ERROR,
            )
        self._legacy = _Legacy(cipher_key, config.use_random_initialization_vector)
        self._aes_cbc = _AesCbc(cipher_key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cipher_key=<set>)"

    def encrypt(self, text: str) -> str:
        """Encrypt ``text`` (UTF-8) and return base64."""
        data = text.encode("utf-8")
        if self._default == _LEGACY_ID:
            sealed = self._legacy.encrypt(data)
        else:
            iv, ciphertext = self._aes_cbc.encrypt(data)
            sealed = _header(_AES_CBC_ID, iv) + ciphertext
        return base64.b64encode(sealed).decode("ascii")

    def decrypt_text(self, encoded: str) -> str:
        """Decrypt base64 from either cryptor back to the text that was encrypted.

        Raises ``PubNubException`` (``PNERR_DECRYPTION_ERROR``) when it cannot.
        """
        if not isinstance(encoded, str):
            raise _failed(f"expected base64 text, got {type(encoded).__name__}")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _failed("not base64") from None
        parts = _split_header(data)
        if parts is None:
            plain = self._legacy.decrypt(data)
        elif parts[0] == _AES_CBC_ID:
            plain = self._aes_cbc.decrypt(parts[1], parts[2])
        elif parts[0] == _LEGACY_ID:
            plain = self._legacy.decrypt(parts[2])
        else:
            raise _failed(f"unknown cryptor {parts[0]!r}")
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            raise _failed("the plaintext is not UTF-8: wrong cipher key?") from None

    def decrypt(self, encoded: str) -> Any:
        """Decrypt, then read the text as JSON (the text itself when it is not JSON)."""
        text = self.decrypt_text(encoded)
        try:
            return json.loads(text)
        except ValueError:
            return text


class AesCbcCryptoModule(PubNubCryptoModule):
    """Writes the AES-CBC cryptor (``PNED`` header, random IV); reads both."""

    _default = _AES_CBC_ID


class LegacyCryptoModule(PubNubCryptoModule):
    """Writes the legacy cryptor (PubNub's SDKs before the crypto module); reads both."""

    _default = _LEGACY_ID


def crypto_module_of(config: PNConfiguration) -> PubNubCryptoModule | None:
    """The module a configuration means: ``crypto_module``, else legacy for ``cipher_key``."""
    if config.crypto_module is not None:
        return config.crypto_module
    if config.cipher_key:
        return LegacyCryptoModule(config)
    return None
