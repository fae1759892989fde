"""``revoke_token``: a signed DELETE that makes a token useless before its ttl ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pubnub_twisted.access.results import PNRevokeTokenResult
from pubnub_twisted.endpoints.access._common import require_secret_key
from pubnub_twisted.endpoints.base import Endpoint, expect
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import PNERR_INVALID_ACCESS_TOKEN, PubNubException
from pubnub_twisted.models import JSONObject
from pubnub_twisted.protocol import encode

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["RevokeToken"]


class RevokeToken(Endpoint[PNRevokeTokenResult]):
    """``pubnub.revoke_token(token)``: needs the secret key; never retried blindly."""

    _operation = PNOperationType.PNAccessManagerRevokeToken

    def __init__(self, pubnub: PubNub, token: Any) -> None:
        super().__init__(pubnub)
        self._token = token

    def _validate(self) -> None:
        require_secret_key(self._pubnub)
        if not isinstance(self._token, str) or not self._token:
            raise PubNubException(
                "revoke_token needs the token (a non-empty string)",
                pn_error=PNERR_INVALID_ACCESS_TOKEN,
            )

    def _path(self, subscribe_key: str) -> str:
        return f"/v3/pam/{subscribe_key}/grant/{encode(self._token)}"

    def _method(self) -> str:
        return "DELETE"

    def _parse(self, data: JSONObject) -> PNRevokeTokenResult:
        return PNRevokeTokenResult(expect(data, "status", int))
