"""Access Manager v3 tokens: the wire format both the client and the server share.

A token is a CBOR map (RFC 8949) wrapped in URL-safe base64 *with* ``=``
padding, as PubNub issues them (PubNub's Python SDK cannot read unpadded
ones).  Its keys are byte strings: ``v`` (version, 2), ``t`` (issue time,
unix seconds), ``ttl`` (minutes), ``res`` and ``pat`` (resources by name
and by regular expression, each a map of ``chan``/``grp``/``uuid``/``usr``/
``spc`` to ``{name: permission bitmask}``), ``meta``, optionally ``uuid``
(the authorized uuid) and ``sig`` (the issuer's signature).

:func:`parse_token` reads any token (it does not check the signature: only
the issuer can); :func:`issue_token` and :func:`verify_token` are the
issuer's side, used by the embedded Access Manager.  Nothing here touches
the network or logs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntFlag
from typing import Any, Final

import cbor2

from pubnub_twisted.errors import PNERR_INVALID_ACCESS_TOKEN, PubNubException

__all__ = [
    "MAX_TOKEN_LENGTH",
    "MAX_TTL",
    "MIN_TTL",
    "RESOURCE_TYPES",
    "PNToken",
    "PNTokenPermissions",
    "PNTokenResources",
    "Permission",
    "issue_token",
    "parse_token",
    "token_id",
    "verify_token",
]

#: Shortest and longest token lifetimes PubNub grants, in minutes (30 days).
MIN_TTL: Final = 1
MAX_TTL: Final = 43_200
#: Longest token read (a token rides in the URL, which PubNub caps at 32 KiB).
MAX_TOKEN_LENGTH: Final = 16 * 1024
#: Deepest nesting accepted in ``meta``.
_MAX_META_DEPTH: Final = 32

#: The resource types, as (wire key, name in parsed tokens).
RESOURCE_TYPES: Final = (("chan", "channels"), ("grp", "groups"), ("uuid", "uuids"))
#: Types PubNub's tokens also carry (users and spaces), always empty here.
_LEGACY_TYPES: Final = ("usr", "spc")
_TOKEN_CHARS: Final = re.compile(r"[A-Za-z0-9_\-+/]+={0,2}")


class Permission(IntFlag):
    """PubNub's permission bits (``PAMPermissions`` in PubNub's SDKs)."""

    READ = 1
    WRITE = 2
    MANAGE = 4
    DELETE = 8
    CREATE = 16
    GET = 32
    UPDATE = 64
    JOIN = 128


@dataclass(frozen=True, slots=True)
class PNTokenPermissions:
    """What a token allows on one resource or pattern."""

    bitmask: int

    def allows(self, permission: Permission) -> bool:
        """Whether every bit of ``permission`` is granted."""
        bits = permission.value  # (plain ints: IntFlag arithmetic is slow)
        return self.bitmask & bits == bits

    @property
    def read(self) -> bool:
        return self.allows(Permission.READ)

    @property
    def write(self) -> bool:
        return self.allows(Permission.WRITE)

    @property
    def manage(self) -> bool:
        return self.allows(Permission.MANAGE)

    @property
    def delete(self) -> bool:
        return self.allows(Permission.DELETE)

    @property
    def get(self) -> bool:
        return self.allows(Permission.GET)

    @property
    def update(self) -> bool:
        return self.allows(Permission.UPDATE)

    @property
    def join(self) -> bool:
        return self.allows(Permission.JOIN)

    def to_dict(self) -> dict[str, bool]:
        """The permissions as PubNub's Python SDK lists them."""
        names = ("read", "write", "manage", "delete", "get", "update", "join")
        return {name: bool(getattr(self, name)) for name in names}

    def __repr__(self) -> str:
        granted = [name for name, on in self.to_dict().items() if on]
        return f"PNTokenPermissions({'+'.join(granted) or 'none'})"


@dataclass(frozen=True, slots=True)
class PNTokenResources:
    """Permissions by channel, channel group and uuid (names, or patterns)."""

    channels: Mapping[str, PNTokenPermissions] = field(default_factory=dict)
    groups: Mapping[str, PNTokenPermissions] = field(default_factory=dict)
    uuids: Mapping[str, PNTokenPermissions] = field(default_factory=dict)

    def of_type(self, kind: str) -> Mapping[str, PNTokenPermissions]:
        """The map for ``"channels"``, ``"groups"`` or ``"uuids"``."""
        value: Mapping[str, PNTokenPermissions] = getattr(self, kind)
        return value

    def is_empty(self) -> bool:
        """Whether nothing at all is granted."""
        return not (self.channels or self.groups or self.uuids)

    def to_dict(self) -> dict[str, dict[str, dict[str, bool]]]:
        """The resources as PubNub's Python SDK's ``parse_token`` gives them."""
        return {
            kind: {name: perms.to_dict() for name, perms in self.of_type(kind).items()}
            for _, kind in RESOURCE_TYPES
        }


@dataclass(frozen=True, slots=True)
class PNToken:
    """A parsed Access Manager token (``pubnub.parse_token(token)``).

    ``timestamp`` is the issue time (unix seconds) and ``ttl`` the lifetime
    in minutes; the token is not valid from :attr:`expires_at` on.  The
    token text and its signature are not kept.
    """

    version: int
    timestamp: int
    ttl: int
    authorized_uuid: str | None
    resources: PNTokenResources
    patterns: PNTokenResources
    meta: Mapping[str, Any]

    @property
    def expires_at(self) -> int:
        """Unix time (seconds) at which the token stops being valid."""
        return self.timestamp + self.ttl * 60

    def to_dict(self) -> dict[str, Any]:
        """The token as PubNub's Python SDK's ``parse_token`` returns it."""
        return {
            "version": self.version,
            "timestamp": self.timestamp,
            "ttl": self.ttl,
            "authorized_uuid": self.authorized_uuid,
            "resources": self.resources.to_dict(),
            "patterns": self.patterns.to_dict(),
            "meta": dict(self.meta),
        }


# -- reading ---------------------------------------------------------------


def _invalid(why: str) -> PubNubException:
    return PubNubException(why, pn_error=PNERR_INVALID_ACCESS_TOKEN)


def _raw(token: object) -> bytes:
    """Base64url text to bytes."""
    if not isinstance(token, str) or not token:
        raise _invalid("a token must be a non-empty string")
    if len(token) > MAX_TOKEN_LENGTH:
        raise _invalid(f"longer than {MAX_TOKEN_LENGTH} characters")
    if not _TOKEN_CHARS.fullmatch(token):
        raise _invalid("not base64")
    try:
        return base64.urlsafe_b64decode(token.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise _invalid("not base64 (or its = padding is missing)") from None


def _map(raw: bytes) -> dict[Any, Any]:
    """The CBOR map in ``raw`` (keys as decoded: bytes or text)."""
    try:
        value = cbor2.loads(raw)
    except Exception:  # cbor2 raises several kinds for hostile input
        raise _invalid("not CBOR") from None
    if not isinstance(value, dict):
        raise _invalid("not a CBOR map")
    return value


def _text_keys(value: dict[Any, Any]) -> dict[str, Any]:
    """Keys as text (PubNub writes them as byte strings)."""
    keys: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = raw_key
        if isinstance(key, bytes):
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid("a key is not UTF-8") from None
        if not isinstance(key, str):
            raise _invalid(f"a key is a {type(key).__name__}")
        keys[key] = item
    return keys


def _integer(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**63:
        raise _invalid(f"{what} is not an integer")
    return value


def _permissions(value: Any) -> dict[str, PNTokenPermissions]:
    if not isinstance(value, dict):
        raise _invalid("a resource map is not a map")
    perms: dict[str, PNTokenPermissions] = {}
    for name, bits in _text_keys(value).items():
        perms[name] = PNTokenPermissions(_integer(bits, "a permission bitmask") & 0xFF)
    return perms


def _resources(value: Any) -> PNTokenResources:
    if value is None:
        return PNTokenResources()
    if not isinstance(value, dict):
        raise _invalid("resources are not a map")
    types = _text_keys(value)
    return PNTokenResources(
        **{name: _permissions(types.get(wire, {})) for wire, name in RESOURCE_TYPES}
    )


def _plain(value: Any, depth: int = 0) -> Any:
    """``meta`` as plain JSON-like data (no tags, no shared references, bounded depth)."""
    if depth > _MAX_META_DEPTH:
        raise _invalid("meta nests too deep")
    if isinstance(value, dict):
        return {key: _plain(item, depth + 1) for key, item in _text_keys(value).items()}
    if isinstance(value, list):
        return [_plain(item, depth + 1) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise _invalid(f"meta holds a {type(value).__name__}")


def _token(fields: dict[str, Any]) -> PNToken:
    authorized = fields.get("uuid")
    if authorized is not None and not isinstance(authorized, str):
        raise _invalid("the authorized uuid is not text")
    meta = _plain(fields.get("meta", {}))
    if not isinstance(meta, dict):
        raise _invalid("meta is not a map")
    if "v" not in fields or "t" not in fields or "ttl" not in fields:
        raise _invalid("version, timestamp or ttl missing")
    return PNToken(
        version=_integer(fields["v"], "the version"),
        timestamp=_integer(fields["t"], "the timestamp"),
        ttl=_integer(fields["ttl"], "the ttl"),
        authorized_uuid=authorized or None,
        resources=_resources(fields.get("res")),
        patterns=_resources(fields.get("pat")),
        meta=meta,
    )


def token_id(token: str) -> bytes:
    """A digest naming a token however its base64 is spelled (for revocation lists)."""
    return hashlib.sha256(_raw(token)).digest()


def parse_token(token: str) -> PNToken:
    """Read a token's contents (its signature is not checked).

    Raises ``PubNubException`` (``Invalid access token``) for anything
    that is not a well-formed token.
    """
    return _token(_text_keys(_map(_raw(token))))


# -- issuing (the Access Manager's side) -----------------------------------


def _signature(secret_key: str, subscribe_key: str, body: bytes) -> bytes:
    # The subscribe key is covered, so a token works only for the key set it was issued for.
    message = subscribe_key.encode("utf-8") + b"\n" + body
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).digest()


def _wire_resources(resources: PNTokenResources) -> dict[bytes, dict[str, int]]:
    wire: dict[bytes, dict[str, int]] = {}
    for key, kind in RESOURCE_TYPES:
        wire[key.encode()] = {name: p.bitmask for name, p in resources.of_type(kind).items()}
    for key in _LEGACY_TYPES:
        wire[key.encode()] = {}
    return wire


def _wire_body(token: PNToken) -> dict[bytes, Any]:
    body: dict[bytes, Any] = {
        b"v": token.version,
        b"t": token.timestamp,
        b"ttl": token.ttl,
        b"res": _wire_resources(token.resources),
        b"pat": _wire_resources(token.patterns),
        b"meta": dict(token.meta),
    }
    if token.authorized_uuid:
        body[b"uuid"] = token.authorized_uuid
    return body


def issue_token(secret_key: str, subscribe_key: str, token: PNToken) -> str:
    """Encode ``token`` and sign it with ``secret_key`` for ``subscribe_key``."""
    body = _wire_body(token)
    body[b"sig"] = _signature(secret_key, subscribe_key, cbor2.dumps(body))
    return base64.urlsafe_b64encode(cbor2.dumps(body)).decode("ascii")


def verify_token(secret_key: str, subscribe_key: str, token: str) -> PNToken:
    """Parse a token and check it was issued with ``secret_key`` for ``subscribe_key``.

    The signature covers the token's whole content, so any change to it
    (or a token of another key set) raises ``PubNubException``.  Expiry
    and revocation are the caller's to check.
    """
    raw = _raw(token)
    fields = _map(raw)
    try:  # only the exact bytes an issuer writes: no other spelling of the same content
        canonical = cbor2.dumps(fields) == raw
    except Exception:
        canonical = False
    signature = fields.pop(b"sig", None)
    if not canonical or not isinstance(signature, bytes):
        raise _invalid("not a token issued here")
    expected = _signature(secret_key, subscribe_key, cbor2.dumps(fields))
    if not hmac.compare_digest(expected, signature):
        raise _invalid("the signature does not match")
    return _token(_text_keys(fields))
