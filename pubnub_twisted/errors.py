"""``PubNubException`` and the ``PNERR_*`` messages.

The message texts are PubNub's own (``pubnub/errors.py``) where PubNub has
one, so log searches and ``except`` handlers written for PubNub's SDK keep
working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pubnub_twisted.models import PNStatus

__all__ = [
    "PNERR_CHANNEL_OR_GROUP_MISSING",
    "PNERR_CLIENT_ERROR",
    "PNERR_CLIENT_TIMEOUT",
    "PNERR_CONNECTION_ERROR",
    "PNERR_DECRYPTION_ERROR",
    "PNERR_GROUP_MISSING",
    "PNERR_INVALID_ACCESS_TOKEN",
    "PNERR_INVALID_ARGUMENT",
    "PNERR_INVALID_META",
    "PNERR_INVALID_NAME",
    "PNERR_JSON_DECODING_FAILED",
    "PNERR_MALFORMED_RESPONSE",
    "PNERR_MESSAGE_MISSING",
    "PNERR_MESSAGE_TOO_LARGE",
    "PNERR_PUBLISH_KEY_MISSING",
    "PNERR_PUBLISH_OUTCOME_UNKNOWN",
    "PNERR_REQUEST_CANCELLED",
    "PNERR_RESOURCES_MISSING",
    "PNERR_SECRET_KEY_MISSING",
    "PNERR_SERVER_ERROR",
    "PNERR_STATE_MISSING",
    "PNERR_STATE_NOT_SERIALIZABLE",
    "PNERR_SUBSCRIBE_KEY_MISSING",
    "PNERR_TLS_ERROR",
    "PNERR_TLS_UNTRUSTED",
    "PNERR_TTL_MISSING",
    "PNERR_URL_TOO_LONG",
    "PNERR_UUID_MISSING",
    "PubNubException",
]

PNERR_SUBSCRIBE_KEY_MISSING = "Subscribe key not configured"
PNERR_PUBLISH_KEY_MISSING = "Publish key not configured"
PNERR_SECRET_KEY_MISSING = "Secret key is not configured"
PNERR_CHANNEL_OR_GROUP_MISSING = "Channel or group missing"
PNERR_GROUP_MISSING = "Channel group missing"
PNERR_STATE_MISSING = "State missing or not a dict"
PNERR_STATE_NOT_SERIALIZABLE = "State is not JSON serializable"
PNERR_UUID_MISSING = "uuid missing or not a string"
PNERR_INVALID_ARGUMENT = "Invalid argument"
PNERR_INVALID_NAME = "Invalid channel or group name"
PNERR_URL_TOO_LONG = "Request URL too long"
PNERR_JSON_DECODING_FAILED = "JSON decoding failed"
PNERR_MALFORMED_RESPONSE = "Malformed response"
PNERR_CLIENT_ERROR = "HTTP Client Error"
PNERR_SERVER_ERROR = "HTTP Server Error"
PNERR_CONNECTION_ERROR = "Connection Error"
PNERR_CLIENT_TIMEOUT = "Client Timeout"
PNERR_REQUEST_CANCELLED = "Request Cancelled"
PNERR_TLS_ERROR = "TLS Error"
PNERR_TLS_UNTRUSTED = "TLS Certificate Not Trusted"
PNERR_DECRYPTION_ERROR = "Decryption error"
PNERR_MESSAGE_MISSING = "Message missing"
PNERR_MESSAGE_TOO_LARGE = "Message too large"
#: A publish whose connection failed after the request may have reached the
#: service: it was not sent again, and may or may not have been delivered.
PNERR_PUBLISH_OUTCOME_UNKNOWN = "Publish outcome unknown"
# Access Manager v3 (PubNub's texts).
PNERR_INVALID_ACCESS_TOKEN = "Invalid access token"
PNERR_TTL_MISSING = "TTL missing"
PNERR_RESOURCES_MISSING = "Resources missing"
PNERR_INVALID_META = "Invalid meta parameter"


class PubNubException(Exception):
    """A failed PubNub call.

    ``str(exc)`` is ``"<pn_error> (<status_code>): <errormsg>"`` with the
    parts that are present, as in PubNub's SDK, e.g.
    ``HTTP Client Error (403): Forbidden``.  ``status`` is the call's
    ``PNStatus`` when there is one.
    """

    def __init__(
        self,
        errormsg: str = "",
        status_code: int = 0,
        pn_error: str | None = None,
        status: PNStatus | None = None,
    ) -> None:
        self._errormsg = errormsg
        self._status_code = status_code
        self._pn_error = pn_error
        self.status = status
        super().__init__(self._format())

    def _format(self) -> str:
        head = self._pn_error or ""
        if self._status_code > 0:
            head = f"{head} ({self._status_code})" if head else f"({self._status_code})"
        if self._errormsg:
            return f"{head}: {self._errormsg}" if head else self._errormsg
        return head

    @property
    def pn_error(self) -> str | None:
        """The ``PNERR_*`` text naming the kind of failure."""
        return self._pn_error

    @property
    def errormsg(self) -> str:
        """The detail of the failure."""
        return self._errormsg

    def get_status_code(self) -> int:
        """The HTTP status code, or 0 when no response was received."""
        return self._status_code

    def get_error_message(self) -> str:
        """The detail of the failure (PubNub SDK spelling)."""
        return self._errormsg

    def __repr__(self) -> str:
        return f"PubNubException({str(self)!r})"
