"""Publish, signal and the history calls over a :class:`MessageStore` and the subscribe hub.

Each handler takes a routed :class:`~pubnub_twisted.server._request.Call`
(and, for a publish by POST, the body) and returns the JSON answer, or
raises a :class:`~pubnub_twisted.server._request.Refusal` carrying one of
PubNub's error shapes.  HTTP, signatures and auth stay in the resource.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from pubnub_twisted.protocol import (
    MAX_HISTORY_MULTIPLE,
    MAX_HISTORY_SINGLE,
    MAX_MESSAGE_SIZE,
    MAX_SIGNAL_SIZE,
    PRESENCE_SUFFIX,
    decode_value,
    encode,
)
from pubnub_twisted.server._request import Call, Refusal, parse_int
from pubnub_twisted.server.messages import _shapes
from pubnub_twisted.server.messages.store import MessageStore, StoredMessage
from pubnub_twisted.server.subscribe import SubscribeHub

__all__ = ["DELETE_NEEDS_SIGNATURE", "MessageService"]

#: PubNub's answer to an unsigned delete_messages.
DELETE_NEEDS_SIGNATURE: Final = (
    "Use of the history Delete API requires both a secret key and a signature."
)
#: PubNub's rule for ``custom_message_type``: 3 to 50 of these, not starting ``pn_``/``pn-``.
_CUSTOM_TYPE: Final = re.compile(r"(?!pn[_-])[A-Za-z0-9_-]{3,50}")
_TIMETOKEN: Final = re.compile(r"[0-9]{1,19}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str) -> Any:
    """Strict JSON (no NaN or Infinity); ``ValueError`` otherwise."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deep") from None


class MessageService:
    """The message side of the embedded server.

    ``publish_key``: when set, a publish or signal naming another publish
    key is refused (``Invalid Key``), as PubNub refuses an unknown key.
    ``store_by_default``: whether a publish without ``store`` is kept in
    history (a keyset with Message Persistence on).
    """

    def __init__(
        self,
        hub: SubscribeHub,
        store: MessageStore,
        *,
        publish_key: str | None = None,
        store_by_default: bool = True,
    ) -> None:
        self.hub = hub
        self.store = store
        self.publish_key = publish_key
        self.store_by_default = store_by_default

    # -- delivering -------------------------------------------------------

    def deliver(
        self,
        sub_key: str,
        channel: str,
        message: object,
        publisher: str | None = None,
        *,
        meta: object = None,
        custom_message_type: str | None = None,
        store: bool | None = None,
        ttl: float | None = None,
    ) -> int:
        """Deliver ``message`` to subscribers and keep it in history; return its timetoken.

        ``store`` ``None`` follows ``store_by_default``; ``ttl`` is in hours.
        """
        timetoken = self.hub.publish(
            sub_key,
            channel,
            message,
            publisher,
            meta=meta,
            custom_message_type=custom_message_type,
        )
        if self.store_by_default if store is None else store:
            stored = StoredMessage(
                timetoken, channel, message, publisher, meta, custom_message_type
            )
            self.store.add(sub_key, stored, ttl)
        return timetoken

    def _refuse(self, status: int, message: str) -> Refusal:
        return Refusal(status, _shapes.publish_error(message, self.hub.time()))

    def _common(self, call: Call) -> tuple[str, str | None]:
        """Checks shared by publish and signal: the key, the channel, the custom type."""
        if self.publish_key is not None and call.publish_key != self.publish_key:
            raise self._refuse(400, "Invalid Key")
        channel = call.channels[0]
        if not channel or channel.endswith(PRESENCE_SUFFIX):
            raise self._refuse(400, "Invalid Channel")
        custom = call.text("custom_message_type")
        if custom is not None and not _CUSTOM_TYPE.fullmatch(custom):
            raise self._refuse(400, "Invalid custom_message_type")
        return channel, custom

    def _json(self, text: str | None, what: str) -> Any:
        if text is None:
            raise self._refuse(400, f"Missing {what}")
        try:
            return _loads(text)
        except ValueError:
            raise self._refuse(400, f"Invalid JSON in {what}") from None

    # -- publish and signal ----------------------------------------------

    def publish(self, call: Call, body: bytes | None) -> list[Any]:
        """``/publish/...`` by GET (message in the path) or POST (message in the body)."""
        channel, custom = self._common(call)
        if body is not None:
            try:
                text: str | None = body.decode("utf-8")
            except UnicodeDecodeError:
                raise self._refuse(400, "Invalid JSON in message") from None
            size = len(body)
        else:
            text = None if call.payload is None else decode_value(call.payload)
            size = len(call.payload or "")
        if size + len(encode(channel)) > MAX_MESSAGE_SIZE:
            raise self._refuse(413, "Message Too Large")
        message = self._json(text, "message")
        meta_text = call.text("meta")
        meta = None if meta_text is None else self._json(meta_text, "meta")
        store_flag = call.text("store")
        if store_flag not in (None, "0", "1", "true", "false"):
            raise self._refuse(400, "Invalid store")
        store = None if store_flag is None else store_flag in ("1", "true")
        ttl_text = call.text("ttl")
        ttl: float | None = None
        if ttl_text:
            try:
                ttl = float(ttl_text)
            except ValueError:
                raise self._refuse(400, "Invalid ttl") from None
            if not 0 <= ttl < float("inf"):
                raise self._refuse(400, "Invalid ttl")
        timetoken = self.deliver(
            call.sub_key,
            channel,
            message,
            call.uuid,
            meta=meta,
            custom_message_type=custom,
            store=store,
            ttl=ttl,
        )
        return _shapes.sent(timetoken)

    def signal(self, call: Call) -> list[Any]:
        """``/signal/...``: delivered with ``"e": 1``, never stored, 64 bytes at most."""
        channel, custom = self._common(call)
        text = None if call.payload is None else decode_value(call.payload)
        if text is not None and len(text.encode("utf-8")) > MAX_SIGNAL_SIZE:
            raise self._refuse(413, "Message Too Large")
        message = self._json(text, "message")
        timetoken = self.hub.publish(
            call.sub_key, channel, message, call.uuid, signal=True, custom_message_type=custom
        )
        return _shapes.sent(timetoken)

    # -- history ------------------------------------------------------------

    @staticmethod
    def _refuse_history(message: str) -> Refusal:
        return Refusal(400, _shapes.history_error(400, message))

    def _timetoken(self, call: Call, key: str) -> int | None:
        text = call.text(key)
        if not text:
            return None
        if not _TIMETOKEN.fullmatch(text):
            raise self._refuse_history(f"Invalid Arguments: {key}")
        return int(text)

    def _channels(self, call: Call) -> list[str]:
        if not call.channels:
            raise self._refuse_history("Invalid Arguments: channel")
        return list(dict.fromkeys(call.channels))

    def history(self, call: Call) -> dict[str, Any]:
        """fetch_messages (``/v3/history`` and ``/v3/history-with-actions``)."""
        channels = self._channels(call)
        actions = call.operation == "history_actions"
        if actions and len(channels) > 1:
            raise self._refuse_history("Invalid Arguments: only one channel with actions")
        cap = MAX_HISTORY_SINGLE if len(channels) == 1 and not actions else MAX_HISTORY_MULTIPLE
        limit = parse_int(call.text("max") or "0")
        if limit is None:
            raise self._refuse_history("Invalid Arguments: max")
        limit = cap if limit <= 0 else min(limit, cap)
        start = self._timetoken(call, "start")
        end = self._timetoken(call, "end")
        found = {
            channel: self.store.fetch(call.sub_key, channel, start=start, end=end, limit=limit)
            for channel in channels
        }
        return _shapes.history(
            found,
            meta=call.flag("include_meta"),
            uuid=call.flag("include_uuid"),
            message_type=call.flag("include_message_type"),
            custom_type=call.flag("include_custom_message_type"),
            actions=actions,
        )

    def history_v2(self, call: Call) -> list[Any]:
        """The older history call: ``[[messages], first timetoken, last timetoken]``.

        ``count`` (at most 100), ``reverse`` (the oldest of the range
        instead of the newest), ``include_token`` and ``include_meta``.
        """
        channel = self._channels(call)[0]
        count = parse_int(call.text("count") or "0")
        if count is None:
            raise self._refuse_history("Invalid Arguments: count")
        count = MAX_HISTORY_SINGLE if count <= 0 else min(count, MAX_HISTORY_SINGLE)
        found = self.store.fetch(
            call.sub_key,
            channel,
            start=self._timetoken(call, "start"),
            end=self._timetoken(call, "end"),
            limit=count,
            oldest=call.flag("reverse"),
        )
        return _shapes.history_v2(
            found, token=call.flag("include_token"), meta=call.flag("include_meta")
        )

    def message_counts(self, call: Call) -> dict[str, Any]:
        """message_counts: per channel, the messages newer than its timetoken."""
        channels = self._channels(call)
        single = call.text("timetoken")
        many = call.text("channelsTimetoken")
        texts = [single] if single else (many or "").split(",") if many else []
        if not texts or (single and many):
            raise self._refuse_history("Invalid Arguments: give timetoken or channelsTimetoken")
        if len(texts) == 1:
            texts = texts * len(channels)
        if len(texts) != len(channels) or not all(_TIMETOKEN.fullmatch(t) for t in texts):
            raise self._refuse_history("Invalid Arguments: channelsTimetoken")
        return _shapes.message_counts(
            {
                channel: self.store.count(call.sub_key, channel, int(since))
                for channel, since in zip(channels, texts, strict=True)
            }
        )

    def delete(self, call: Call) -> dict[str, Any]:
        """delete_messages: ``start < t <= end`` on each channel named (signed requests only)."""
        channels = self._channels(call)
        start = self._timetoken(call, "start")
        end = self._timetoken(call, "end")
        for channel in channels:
            self.store.delete(call.sub_key, channel, start=start, end=end)
        return _shapes.history_ok()
