"""signal: a small message (64 bytes at most), delivered but never stored.

``GET /signal/{pub}/{sub}/0/{channel}/0/{message}``; the answer is
``[1, "Sent", "<timetoken>"]``.  Signals are never encrypted (PubNub's SDKs
send them as they are).  Like a publish, a signal is never sent twice.
"""

from __future__ import annotations

from typing import Any

from pubnub_twisted.endpoints.messages._common import Publishing, sent_timetoken
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import PNERR_MESSAGE_TOO_LARGE, PubNubException
from pubnub_twisted.models_messages import PNSignalResult
from pubnub_twisted.protocol import MAX_SIGNAL_SIZE, QueryPairs, encode

__all__ = ["Signal"]


class Signal(Publishing[PNSignalResult]):
    """``pubnub.signal()``: ``.channel("lobby").message("typing").deferred()``."""

    _operation = PNOperationType.PNSignalOperation

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._text = ""

    def _validate(self) -> None:
        self._text = self._message_json()
        size = len(self._text.encode("utf-8"))
        if size > MAX_SIGNAL_SIZE:
            raise PubNubException(
                f"a signal's payload is at most {MAX_SIGNAL_SIZE} bytes of JSON; this one is "
                f"{size} (publish() takes up to 32 KiB)",
                pn_error=PNERR_MESSAGE_TOO_LARGE,
            )

    def _idempotent(self) -> bool:
        return False

    def _path(self, subscribe_key: str) -> str:
        config = self._pubnub.config
        channel = encode(self._checked_channel())
        publish_key = encode(config.publish_key or "")
        return f"/signal/{publish_key}/{subscribe_key}/0/{channel}/0/{encode(self._text)}"

    def _query(self) -> QueryPairs:
        return self._custom_query()

    def _decode(self, data: Any) -> PNSignalResult:
        return PNSignalResult(sent_timetoken(data))
