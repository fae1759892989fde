"""What the message endpoints share: one channel, a message, timetoken answers, decryption."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from pubnub_twisted.crypto import crypto_module_of
from pubnub_twisted.endpoints.base import UNSET, Endpoint, R, ResponseShapeError, _names
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_DECRYPTION_ERROR,
    PNERR_INVALID_ARGUMENT,
    PNERR_MESSAGE_MISSING,
    PNERR_PUBLISH_KEY_MISSING,
    PNERR_STATE_NOT_SERIALIZABLE,
    PubNubException,
)
from pubnub_twisted.protocol import PRESENCE_SUFFIX, json_dumps

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["OneChannel", "Publishing", "TimeRange", "decrypt_item", "sent_timetoken"]


class TimeRange:
    """Mixin: ``start`` (exclusive) and ``end`` (inclusive) timetokens, and ``count``-like ints."""

    _problem: PubNubException | None
    _start: int | None = None
    _end: int | None = None

    def _timetoken_arg(self, value: Any, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self._problem = self._problem or PubNubException(
                f"{what} must be a timetoken (an int), not {value!r}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
            return None
        return value

    def start(self, start: int) -> Self:
        """Only messages older than this timetoken (exclusive)."""
        self._start = self._timetoken_arg(start, "start")
        return self

    def end(self, end: int) -> Self:
        """Only messages at or after this timetoken (inclusive)."""
        self._end = self._timetoken_arg(end, "end")
        return self

    def _range_query(self) -> list[tuple[str, str | list[str]]]:
        pairs: list[tuple[str, str | list[str]]] = []
        if self._start is not None:
            pairs.append(("start", str(self._start)))
        if self._end is not None:
            pairs.append(("end", str(self._end)))
        return pairs


class OneChannel(Endpoint[R]):
    """An endpoint on exactly one channel (``.channel("lobby")``)."""

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._channel: Any = UNSET

    def channel(self, channel: str) -> Self:
        """The channel (one name)."""
        self._channel = channel
        return self

    def _checked_channel(self) -> str:
        channel = self._channel
        if channel is UNSET or channel is None or channel == "":
            raise PubNubException("no channel given", pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)
        if not isinstance(channel, str):
            raise PubNubException(
                f"channel must be a string, not {type(channel).__name__}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        _names((channel,), "channel")  # refuses names that cannot be sent
        if channel.endswith(PRESENCE_SUFFIX):
            raise PubNubException(
                f"{channel!r} is a presence channel; messages go on data channels",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        return channel

    def _affected(self) -> tuple[list[str] | None, list[str] | None]:
        channel = self._channel
        return ([channel] if isinstance(channel, str) else None), None


def serialize(value: Any, what: str) -> str:
    """``value`` as PubNub's SDK writes it (``json.dumps`` defaults), or the error saying why."""
    try:
        return json_dumps(value)
    except (TypeError, ValueError) as exc:
        raise PubNubException(
            f"{what} is not JSON serializable: {exc}", pn_error=PNERR_STATE_NOT_SERIALIZABLE
        ) from exc


class Publishing(OneChannel[R]):
    """publish, fire and signal: a message, a publish key, a custom type."""

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._message: Any = UNSET
        self._custom_type: str | None = None

    def message(self, message: Any) -> Self:
        """The message: any JSON-serializable value (the SDK serializes it)."""
        self._message = message
        return self

    def custom_message_type(self, custom_message_type: str) -> Self:
        """Your own label for the message (3-50 of ``A-Z a-z 0-9 _ -``)."""
        self._custom_type = custom_message_type
        return self

    def _message_json(self) -> str:
        """Checks, then the message as JSON text (not yet encrypted)."""
        if not self._pubnub.config.publish_key:
            raise PubNubException(pn_error=PNERR_PUBLISH_KEY_MISSING)
        self._checked_channel()
        if self._message is UNSET or self._message is None:
            raise PubNubException("no message given", pn_error=PNERR_MESSAGE_MISSING)
        return serialize(self._message, "the message")

    def _custom_query(self) -> list[tuple[str, str | list[str]]]:
        return [] if self._custom_type is None else [("custom_message_type", self._custom_type)]


def sent_timetoken(data: Any) -> int:
    """The timetoken of publish's and signal's ``[1, "Sent", "<timetoken>"]``."""
    if not isinstance(data, list) or len(data) < 3 or data[0] != 1:
        raise ResponseShapeError(f'expected [1, "Sent", timetoken], got {data!r}'[:200])
    value = data[2]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ResponseShapeError(f"the timetoken is {value!r}, not a number")
    return int(value)


def decrypt_item(pubnub: PubNub, message: Any) -> tuple[Any, Exception | None]:
    """A fetched message decrypted with the configured cryptor, or as stored and why not."""
    crypto = crypto_module_of(pubnub.config)
    if crypto is None:
        return message, None
    if not isinstance(message, str):
        return message, PubNubException(
            "the message is not encrypted text", pn_error=PNERR_DECRYPTION_ERROR
        )
    try:
        return crypto.decrypt(message), None
    except PubNubException as exc:
        return message, exc
