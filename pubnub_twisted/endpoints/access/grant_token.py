"""``grant_token``: a signed POST that asks Access Manager for a token (server side only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pubnub_twisted.access.permissions import UUID, Channel, Group, PNResource
from pubnub_twisted.access.results import PNGrantTokenResult
from pubnub_twisted.access.tokens import MAX_TTL, MIN_TTL
from pubnub_twisted.endpoints.access._common import require_secret_key
from pubnub_twisted.endpoints.base import Endpoint, expect, json_body
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import (
    PNERR_INVALID_ARGUMENT,
    PNERR_INVALID_META,
    PNERR_RESOURCES_MISSING,
    PNERR_TTL_MISSING,
    PubNubException,
)
from pubnub_twisted.models import JSONObject

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["GrantToken"]


class GrantToken(Endpoint[PNGrantTokenResult]):
    """``pubnub.grant_token().ttl(15).channels([Channel.id("lobby").read()])...``.

    Needs the secret key.  ``ttl`` is in minutes (1 to 43,200); the
    token lists ``channels``, ``groups`` and ``uuids`` (by name or pattern,
    see :class:`~pubnub_twisted.Channel`), an optional authorized uuid and
    ``meta``.  Never retried blindly (a POST).
    """

    _operation = PNOperationType.PNAccessManagerGrantToken

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._ttl: Any = None
        self._authorized_uuid: Any = None
        self._meta: Any = None
        self._resources: dict[str, list[Any]] = {"channels": [], "groups": [], "uuids": []}

    def ttl(self, minutes: int) -> GrantToken:
        """How long the token is valid, in minutes (1 to 43,200)."""
        self._ttl = minutes
        return self

    def authorized_uuid(self, uuid: str) -> GrantToken:
        """Only this uuid may use the token."""
        self._authorized_uuid = uuid
        return self

    #: PubNub's newer spelling.
    authorized_user = authorized_uuid

    def meta(self, meta: JSONObject) -> GrantToken:
        """Data the token carries (a JSON object)."""
        self._meta = meta
        return self

    def channels(self, channels: list[Channel]) -> GrantToken:
        """Channels (``Channel.id``/``Channel.pattern``) and what each allows."""
        self._resources["channels"] = list(channels)
        return self

    def groups(self, groups: list[Group]) -> GrantToken:
        """Channel groups (``Group.id``/``Group.pattern``)."""
        self._resources["groups"] = list(groups)
        return self

    def uuids(self, uuids: list[UUID]) -> GrantToken:
        """Uuids (``UUID.id``/``UUID.pattern``)."""
        self._resources["uuids"] = list(uuids)
        return self

    def _validate(self) -> None:
        require_secret_key(self._pubnub)
        ttl = self._ttl
        if ttl is None:
            raise PubNubException(pn_error=PNERR_TTL_MISSING)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not MIN_TTL <= ttl <= MAX_TTL:
            raise PubNubException(
                f"ttl must be whole minutes from {MIN_TTL} to {MAX_TTL}, not {ttl!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        if self._meta is not None and not isinstance(self._meta, dict):
            raise PubNubException(pn_error=PNERR_INVALID_META)
        if self._authorized_uuid is not None and (
            not isinstance(self._authorized_uuid, str) or not self._authorized_uuid
        ):
            raise PubNubException(
                "authorized_uuid must be a non-empty string", pn_error=PNERR_INVALID_ARGUMENT
            )
        kinds = {"channels": Channel, "groups": Group, "uuids": UUID}
        for kind, items in self._resources.items():
            for item in items:
                if not isinstance(item, kinds[kind]):
                    raise PubNubException(
                        f"{kind} takes {kinds[kind].__name__} values, not {item!r}",
                        pn_error=PNERR_INVALID_ARGUMENT,
                    )
        if not any(self._resources.values()):
            raise PubNubException(pn_error=PNERR_RESOURCES_MISSING)

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/pam/{subscribe_key}/grant"

    def _method(self) -> str:
        return "POST"

    def _body(self) -> bytes | None:
        resources: dict[str, dict[str, int]] = {kind: {} for kind in self._resources}
        patterns: dict[str, dict[str, int]] = {kind: {} for kind in self._resources}
        for kind, items in self._resources.items():
            for item in items:
                assert isinstance(item, PNResource)
                target = patterns if item.is_pattern_resource() else resources
                target[kind][item.get_id()] = item.bitmask
        permissions: dict[str, Any] = {
            "resources": resources,
            "patterns": patterns,
            "meta": self._meta or {},
        }
        if self._authorized_uuid:
            permissions["uuid"] = self._authorized_uuid
        return json_body({"ttl": self._ttl, "permissions": permissions})

    def _parse(self, data: JSONObject) -> PNGrantTokenResult:
        return PNGrantTokenResult(expect(expect(data, "data", dict), "token", str))
