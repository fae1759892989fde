"""The JSON bodies of publish, signal and the history calls, as PubNub writes them.

Publish and signal answer a three-element array, ``[1, "Sent", "<timetoken>"]``
on success and ``[0, "<why>", "<timetoken>"]`` on failure.  The history
calls answer objects with ``status``, ``error`` and ``error_message``.
"""

from __future__ import annotations

from typing import Any

from pubnub_twisted.server.messages.store import StoredMessage

__all__ = [
    "history",
    "history_error",
    "history_ok",
    "history_v2",
    "message_counts",
    "publish_error",
    "sent",
]

Body = dict[str, Any]


def sent(timetoken: int) -> list[Any]:
    """A publish or signal that went through."""
    return [1, "Sent", str(timetoken)]


def publish_error(message: str, timetoken: int) -> list[Any]:
    """A publish or signal refused (``Invalid Key``, ``Message Too Large``, ...)."""
    return [0, message, str(timetoken)]


def history_ok() -> Body:
    """delete_messages' answer."""
    return {"status": 200, "error": False, "error_message": ""}


def history_error(status: int, message: str) -> Body:
    """A history call refused (400 bad arguments, 403 not signed)."""
    return {"status": status, "error": True, "error_message": message, "channels": {}}


def _item(
    message: StoredMessage,
    *,
    meta: bool,
    uuid: bool,
    message_type: bool,
    custom_type: bool,
    actions: bool,
) -> Body:
    item: Body = {"message": message.message, "timetoken": str(message.timetoken)}
    if uuid and message.publisher is not None:
        item["uuid"] = message.publisher
    if message_type:
        item["message_type"] = None  # a plain message (PubNub: 4 for files)
    if meta and message.meta is not None:
        item["meta"] = message.meta
    if custom_type and message.custom_message_type is not None:
        item["custom_message_type"] = message.custom_message_type
    if actions:
        item["actions"] = {}
    return item


def history(
    channels: dict[str, list[StoredMessage]],
    *,
    meta: bool = False,
    uuid: bool = False,
    message_type: bool = False,
    custom_type: bool = False,
    actions: bool = False,
) -> Body:
    """fetch_messages' answer: channels with no message in the range are left out."""
    body = history_ok()
    body["channels"] = {
        name: [
            _item(
                message,
                meta=meta,
                uuid=uuid,
                message_type=message_type,
                custom_type=custom_type,
                actions=actions,
            )
            for message in messages
        ]
        for name, messages in channels.items()
        if messages
    }
    return body


def history_v2(messages: list[StoredMessage], *, token: bool, meta: bool) -> list[Any]:
    """The v2 history answer: ``[[messages], first timetoken, last timetoken]`` (0, 0 if none)."""
    items: list[Any] = []
    for message in messages:
        if not (token or meta):
            items.append(message.message)
            continue
        item: Body = {"message": message.message}
        if token:
            item["timetoken"] = message.timetoken
        if meta:
            item["meta"] = message.meta if message.meta is not None else ""
        items.append(item)
    first = messages[0].timetoken if messages else 0
    last = messages[-1].timetoken if messages else 0
    return [items, first, last]


def message_counts(counts: dict[str, int]) -> Body:
    """message_counts' answer."""
    body = history_ok()
    body["channels"] = counts
    return body
