"""What grant_token and revoke_token share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pubnub_twisted.errors import PNERR_SECRET_KEY_MISSING, PubNubException

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub


def require_secret_key(pubnub: PubNub) -> None:
    """Refuse to send: only a holder of the secret key may grant or revoke."""
    if not pubnub.config.secret_key:
        raise PubNubException(
            "grant_token and revoke_token are for your server, which holds the secret key",
            pn_error=PNERR_SECRET_KEY_MISSING,
        )
