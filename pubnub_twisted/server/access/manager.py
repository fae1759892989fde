"""An Access Manager v3 emulator: grant and revoke tokens, and enforce them.

With the manager on, a request signed with the secret key has full
access; any other request needs, in ``auth``, a token this server issued
for its subscribe key, unexpired (by the server's clock), unrevoked,
bound to the caller's uuid if it names one, and granting what
:mod:`~pubnub_twisted.server.access.rules` says the request needs.
Refusals are PubNub's 403 answers.  Tokens and the secret key are never
logged.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from twisted.internet.interfaces import IReactorTime

from pubnub_twisted.access.tokens import (
    MAX_TTL,
    MIN_TTL,
    PNToken,
    PNTokenPermissions,
    PNTokenResources,
    issue_token,
    token_id,
    verify_token,
)
from pubnub_twisted.errors import PubNubException
from pubnub_twisted.protocol import MAX_UUID_LENGTH
from pubnub_twisted.server._request import Call, Refusal
from pubnub_twisted.server.access import rules
from pubnub_twisted.server.presence._shapes import ACCESS_MANAGER, forbidden

__all__ = ["MAX_GRANT_BODY", "AccessManager"]

#: Largest grant body read, in bytes.
MAX_GRANT_BODY: Final = 64 * 1024
#: The grant body's names for resource types, and the token's.
_BODY_TYPES: Final = {
    "channels": "channels",
    "spaces": "channels",
    "groups": "groups",
    "uuids": "uuids",
    "users": "uuids",
}
_MAX_META_DEPTH: Final = 16
#: Tokens whose signature was checked, remembered (the oldest forgotten first),
#: if at most _CACHED_LENGTH characters long (at most 16 MiB of them in all).
_VERIFIED_CACHE: Final = 4096
_CACHED_LENGTH: Final = 4096
_MAX_PATTERN: Final = 1024


def pam_error(status: int, message: str, source: str, *details: tuple[str, str, str]) -> Refusal:
    """A v3 Access Manager error: ``details`` are (message, location, location type)."""
    body: dict[str, Any] = {
        "error": {
            "message": message,
            "source": source,
            "details": [
                {"message": text, "location": where, "locationType": kind}
                for text, where, kind in details
            ],
        },
        "service": ACCESS_MANAGER,
        "status": status,
    }
    return Refusal(status, body)


def _invalid_body(text: str, location: str) -> Refusal:
    return pam_error(400, "Invalid RequestBody", "grant", (text, location, "body"))


class AccessManager:
    """Grants, revocations and checks for one secret key (on ``clock``)."""

    def __init__(self, secret_key: str, clock: IReactorTime) -> None:
        self._secret_key = secret_key
        self._clock = clock
        #: token id -> when it would have expired anyway (then forgotten).
        self._revoked: dict[bytes, float] = {}
        #: (subscribe key, token text) -> (its contents, its id), once verified.
        self._verified: dict[tuple[str, str], tuple[PNToken, bytes]] = {}

    def __repr__(self) -> str:
        return f"<AccessManager revoked={len(self._revoked)}>"

    # -- grant and revoke ----------------------------------------------

    def grant(self, call: Call, body: bytes) -> dict[str, Any]:
        """Issue a token for the grant request ``body`` (a signed POST, checked already)."""
        request = self._grant_request(body)
        ttl = request.get("ttl")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not MIN_TTL <= ttl <= MAX_TTL:
            raise _invalid_body(f"Valid range for TTL is {MIN_TTL} to {MAX_TTL} minutes", "ttl")
        permissions = request.get("permissions")
        if not isinstance(permissions, dict):
            raise _invalid_body("permissions must be an object", "permissions")
        resources = self._resources(permissions.get("resources"), "resources", pattern=False)
        patterns = self._resources(permissions.get("patterns"), "patterns", pattern=True)
        if resources.is_empty() and patterns.is_empty():
            raise _invalid_body("No resources or patterns specified", "permissions")
        meta = permissions.get("meta", {})
        if not isinstance(meta, dict) or not _depth_ok(meta):
            raise _invalid_body("meta must be an object", "permissions.meta")
        authorized = permissions.get("uuid")
        if authorized is not None and (
            not isinstance(authorized, str) or not 0 < len(authorized) <= MAX_UUID_LENGTH
        ):
            raise _invalid_body("uuid must be a non-empty string", "permissions.uuid")
        token = PNToken(
            version=2,
            timestamp=int(self._clock.seconds()),
            ttl=ttl,
            authorized_uuid=authorized,
            resources=resources,
            patterns=patterns,
            meta=meta,
        )
        text = issue_token(self._secret_key, call.sub_key, token)
        return {
            "data": {"message": "Success", "token": text},
            "service": ACCESS_MANAGER,
            "status": 200,
        }

    @staticmethod
    def _grant_request(body: bytes) -> dict[str, Any]:
        if len(body) > MAX_GRANT_BODY:
            raise _invalid_body(f"The body is larger than {MAX_GRANT_BODY} bytes", "body")
        try:
            request = json.loads(body.decode("utf-8"), parse_constant=_not_json)
        except (ValueError, RecursionError):
            raise _invalid_body("The body is not JSON", "body") from None
        if not isinstance(request, dict):
            raise _invalid_body("The body must be a JSON object", "body")
        return request

    @staticmethod
    def _resources(value: Any, where: str, *, pattern: bool) -> PNTokenResources:
        if value is None:
            return PNTokenResources()
        if not isinstance(value, dict):
            raise _invalid_body(f"{where} must be an object", f"permissions.{where}")
        found: dict[str, dict[str, PNTokenPermissions]] = {
            "channels": {},
            "groups": {},
            "uuids": {},
        }
        for body_type, entries in value.items():
            place = f"permissions.{where}.{body_type}"
            kind = _BODY_TYPES.get(body_type)
            if kind is None or not isinstance(entries, dict):
                raise _invalid_body(f"Unknown resource type {body_type!r}", place)
            for name, bits in entries.items():
                if not name or (isinstance(bits, bool) or not isinstance(bits, int)):
                    raise _invalid_body(f"Invalid permissions for {name!r}", place)
                if not 0 <= bits <= 255:
                    raise _invalid_body(f"Invalid permissions for {name!r}", place)
                if pattern and not _valid_pattern(name):
                    raise _invalid_body(f"Invalid regular expression {name!r}", place)
                if bits:
                    previous = found[kind].get(name)
                    merged = bits | (previous.bitmask if previous else 0)
                    found[kind][name] = PNTokenPermissions(merged)
        return PNTokenResources(**found)

    def revoke(self, call: Call) -> dict[str, Any]:
        """Revoke the token named in the path (a signed DELETE, checked already)."""
        try:
            self.revoke_token(call.sub_key, call.token)
        except PubNubException:
            raise pam_error(
                400, "Invalid token", "revoke", ("Invalid token", "token", "path")
            ) from None
        return {"data": {}, "service": ACCESS_MANAGER, "status": 200}

    def revoke_token(self, sub_key: str, token: str) -> None:
        """Refuse ``token`` from now on (``PubNubException`` if it is not one of ours)."""
        parsed = verify_token(self._secret_key, sub_key, token)
        now = self._clock.seconds()
        for known, until in list(self._revoked.items()):
            if until <= now:
                del self._revoked[known]
        self._revoked[token_id(token)] = parsed.expires_at

    def issue(self, sub_key: str, token: PNToken) -> str:
        """Sign ``token`` for ``sub_key`` (what a grant does, without HTTP: for tests)."""
        return issue_token(self._secret_key, sub_key, token)

    # -- enforcement ---------------------------------------------------

    def authorize(self, call: Call) -> None:
        """Refuse ``call`` (403) unless its ``auth`` token grants what it needs."""

        def refuse(message: str) -> Refusal:
            return Refusal(403, forbidden(message, call.channels, call.groups))

        text = call.text("auth")
        if not text:
            raise refuse("Forbidden")
        try:
            token, ident = self._verify(call.sub_key, text)
        except PubNubException:
            raise refuse("Invalid token") from None
        if self._revoked.get(ident, 0) > self._clock.seconds():
            raise refuse("Token is revoked.")
        if self._clock.seconds() >= token.expires_at:
            raise refuse("Token is expired.")
        if token.authorized_uuid is not None and call.text("uuid") != token.authorized_uuid:
            raise refuse("Token is not authorized for this uuid")
        wanted = rules.needs(call.operation, call.channels, call.groups)
        lacking = rules.missing(token, wanted)
        if lacking:
            channels = [name for kind, name, _ in lacking if kind == "channels"]
            groups = [name for kind, name, _ in lacking if kind == "groups"]
            raise Refusal(403, forbidden("Forbidden", channels, groups))

    def _verify(self, sub_key: str, text: str) -> tuple[PNToken, bytes]:
        """``text``'s contents and id, checked once and then remembered."""
        key = (sub_key, text)
        known = self._verified.get(key)
        if known is None:
            known = (verify_token(self._secret_key, sub_key, text), token_id(text))
            if len(text) > _CACHED_LENGTH:
                return known
            if len(self._verified) >= _VERIFIED_CACHE:
                del self._verified[next(iter(self._verified))]
            self._verified[key] = known
        return known


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _valid_pattern(pattern: str) -> bool:
    if len(pattern) > _MAX_PATTERN:
        return False
    try:
        re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _depth_ok(value: object, depth: int = 0) -> bool:
    if depth > _MAX_META_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return all(_depth_ok(item, depth + 1) for item in value)
    return True
