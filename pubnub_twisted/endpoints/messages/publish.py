"""publish and fire: send a message to a channel's subscribers (and to history).

``GET /publish/{pub}/{sub}/0/{channel}/0/{message}`` or, with
``use_post(True)`` or when the GET URL would be too long, ``POST
/publish/{pub}/{sub}/0/{channel}/0`` with the message as the body.  The
answer is ``[1, "Sent", "<timetoken>"]``.

A publish is not idempotent: it is never sent twice.  It is retried only
where the request provably never reached the service (the connection could
not be made); if the connection fails after the request may have gone out,
the envelope's error is ``PNERR_PUBLISH_OUTCOME_UNKNOWN``: the message may or
may not have been delivered, and publishing it again may deliver it twice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Self

from twisted.python.failure import Failure

from pubnub_twisted.crypto import crypto_module_of
from pubnub_twisted.endpoints.base import UNSET, R
from pubnub_twisted.endpoints.messages._common import Publishing, sent_timetoken, serialize
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.errors import (
    PNERR_INVALID_ARGUMENT,
    PNERR_PUBLISH_OUTCOME_UNKNOWN,
    PubNubException,
)
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.models_messages import PNFireResult, PNPublishResult
from pubnub_twisted.protocol import MAX_URL_LENGTH, QueryPairs, encode
from pubnub_twisted.transport import TransportFailure

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["Fire", "Publish"]

#: Room left in a GET publish URL for everything but the message and meta
#: (origin, keys, channel, pnsdk, uuid, auth, timestamp, signature).
_URL_ROOM = 1024


class _Publish(Publishing[R]):
    """What publish and fire share.

    With a cipher key (or a crypto module) configured the message is
    encrypted first; ``meta`` is never encrypted (the service filters on it).
    """

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._meta: Any = UNSET
        self._store: bool | None = None
        self._ttl: int | None = None
        self._replicate: bool | None = None
        self._use_post = False
        self._post = False
        self._text = ""
        self._meta_json: str | None = None

    def meta(self, meta: dict[str, Any]) -> Self:
        """Metadata for subscribers' filters (a dict, sent as JSON, never encrypted)."""
        self._meta = meta
        return self

    def should_store(self, should_store: bool) -> Self:
        """Keep the message in history (True) or not (False); unset: the keyset's default."""
        self._store = self._flag(should_store, "should_store")
        return self

    def ttl(self, ttl: int) -> Self:
        """Hours to keep the message in history (0: the keyset's retention)."""
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
            self._problem = self._problem or PubNubException(
                f"ttl must be a whole number of hours (0 or more), not {ttl!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        else:
            self._ttl = ttl
        return self

    def replicate(self, replicate: bool) -> Self:
        """False: deliver in the publishing region only (``norep``)."""
        self._replicate = self._flag(replicate, "replicate")
        return self

    def use_post(self, use_post: bool) -> Self:
        """Send the message in a POST body instead of the URL."""
        self._use_post = self._flag(use_post, "use_post")
        return self

    # -- building ---------------------------------------------------------

    def _validate(self) -> None:
        text = self._message_json()
        crypto = crypto_module_of(self._pubnub.config)
        if crypto is not None:
            text = json.dumps(crypto.encrypt(text))
        self._text = text
        self._meta_json = None
        if self._meta is not UNSET and self._meta is not None:
            if not isinstance(self._meta, dict):
                raise PubNubException(
                    f"meta must be a dict, not {type(self._meta).__name__}",
                    pn_error=PNERR_INVALID_ARGUMENT,
                )
            self._meta_json = serialize(self._meta, "meta")
        config = self._pubnub.config
        room = len(encode(text)) + len(encode(self._meta_json or "")) + len(config.origin)
        room += len(encode(config.auth_key or "")) + _URL_ROOM
        self._post = self._use_post or room > MAX_URL_LENGTH

    def _method(self) -> str:
        return "POST" if self._post else "GET"

    def _body(self) -> bytes | None:
        return self._text.encode("utf-8") if self._post else None

    def _idempotent(self) -> bool:
        return False

    def _path(self, subscribe_key: str) -> str:
        config = self._pubnub.config
        channel = encode(self._checked_channel())
        path = f"/publish/{encode(config.publish_key or '')}/{subscribe_key}/0/{channel}/0"
        return path if self._post else f"{path}/{encode(self._text)}"

    def _query(self) -> QueryPairs:
        pairs: QueryPairs = []
        if self._meta_json is not None:
            pairs.append(("meta", self._meta_json))
        if self._store is not None:
            pairs.append(("store", "1" if self._store else "0"))
        if self._ttl is not None:
            pairs.append(("ttl", str(self._ttl)))
        if self._replicate is not None:
            pairs.append(("norep", "false" if self._replicate else "true"))
        pairs.extend(self._custom_query())
        return pairs

    # -- answers -------------------------------------------------------------

    def _on_failure(self, failure: Failure) -> PNEnvelope[R] | Failure:
        problem = failure.value
        if isinstance(problem, TransportFailure) and problem.outcome_unknown:
            exc = PubNubException(
                f"{problem.detail}; the message may or may not have been published, and was "
                "not sent again (publishing it again may deliver it twice)",
                pn_error=PNERR_PUBLISH_OUTCOME_UNKNOWN,
            )
            return self._error(problem.category, exc)
        return super()._on_failure(failure)


class Publish(_Publish[PNPublishResult]):
    """``pubnub.publish()``: ``.channel("lobby").message({...}).deferred()``."""

    _operation = PNOperationType.PNPublishOperation

    def _decode(self, data: Any) -> PNPublishResult:
        return PNPublishResult(sent_timetoken(data))


class Fire(_Publish[PNFireResult]):
    """``pubnub.fire()``: a publish for PubNub Functions only.

    Not replicated and not stored (``store=0&norep=1``), as PubNub's SDK sends it.
    """

    _operation = PNOperationType.PNFireOperation

    def _query(self) -> QueryPairs:
        pairs: QueryPairs = []
        if self._meta_json is not None:
            pairs.append(("meta", self._meta_json))
        pairs.extend([("store", "0"), ("norep", "1")])
        pairs.extend(self._custom_query())
        return pairs

    def _decode(self, data: Any) -> PNFireResult:
        return PNFireResult(sent_timetoken(data))
