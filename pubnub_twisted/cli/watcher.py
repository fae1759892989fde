"""``watch``: presence events and messages as they happen, one line each.

The command line's ``watch`` subscribes (with presence) and hands every
event to a :class:`Watcher`, which writes one line per event: a readable
table row, or one JSON object per line for ``jq``.  Status changes
(connected, reconnected, disconnected) go to a second stream so that the
event stream stays clean.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from pubnub_twisted.callbacks import SubscribeCallback
from pubnub_twisted.models_pubsub import PNSignalMessageResult
from pubnub_twisted.protocol import TIMETOKENS_PER_SECOND

if TYPE_CHECKING:
    from pubnub_twisted.models import PNStatus
    from pubnub_twisted.models_pubsub import PNMessageResult, PNPresenceEventResult
    from pubnub_twisted.pubnub import PubNub

__all__ = ["Watcher", "message_record", "presence_record"]


def _when(timetoken: int) -> str:
    moment = datetime.fromtimestamp(timetoken / TIMETOKENS_PER_SECOND, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def presence_record(event: PNPresenceEventResult) -> dict[str, Any]:
    """A presence event as a JSON-ready dict (``"type": "presence"``)."""
    record: dict[str, Any] = {
        "type": "presence",
        "time": _when(event.timetoken),
        "timetoken": event.timetoken,
        "event": event.event,
        "channel": event.channel,
        "subscription": event.subscription,
        "uuid": event.uuid,
        "occupancy": event.occupancy,
    }
    if event.precise_timestamp is not None:
        record["precise_timestamp"] = event.precise_timestamp
    if event.state is not None:
        record["state"] = event.state
    for name in ("join", "leave", "timeout"):
        uuids = getattr(event, name)
        if uuids is not None:
            record[name] = uuids
    if event.here_now_refresh:
        record["here_now_refresh"] = True
    return record


def message_record(message: PNMessageResult) -> dict[str, Any]:
    """A message (or signal) as a JSON-ready dict (``"type": "message"`` or ``"signal"``)."""
    record: dict[str, Any] = {
        "type": "signal" if isinstance(message, PNSignalMessageResult) else "message",
        "time": _when(message.timetoken),
        "timetoken": message.timetoken,
        "channel": message.channel,
        "subscription": message.subscription,
        "publisher": message.publisher,
        "message": message.message,
    }
    if message.user_metadata is not None:
        record["meta"] = message.user_metadata
    if message.custom_message_type is not None:
        record["custom_message_type"] = message.custom_message_type
    if message.error is not None:
        record["error"] = str(message.error)
    return record


def _line(record: dict[str, Any]) -> str:
    via = f" via {record['subscription']}" if record["subscription"] else ""
    if record["type"] in ("message", "signal"):
        by = f" from {record['publisher']}" if record["publisher"] else ""
        return f"{record['time']}  {record['type']:<7}  {record['channel']}{via}{by}: " + _compact(
            record["message"]
        )
    who = f"  {record['uuid']}" if record["uuid"] is not None else ""
    text = (
        f"{record['time']}  {record['event']:<12} {record['channel']}{via}{who}"
        f"  occupancy={record['occupancy']}"
    )
    if "state" in record:
        text += "  state=" + _compact(record["state"])
    for name in ("join", "leave", "timeout"):
        if name in record:
            text += f"  {name}=" + ",".join(record[name])
    return text


class Watcher(SubscribeCallback):
    """A listener that writes each presence event and message as one line.

    ``as_json`` writes one JSON object per line (UTF-8 kept as it is, not
    ``\\u`` escapes); otherwise a readable line.  Status changes go to
    ``status_out`` as ``# CATEGORY`` lines.  Each line is flushed at once, so
    a pipe into ``jq`` or ``grep`` sees events as they happen.
    """

    def __init__(self, out: TextIO, status_out: TextIO, *, as_json: bool = False) -> None:
        self._out = out
        self._status_out = status_out
        self._json = as_json

    def _write(self, record: dict[str, Any]) -> None:
        if self._json:
            self._out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        else:
            self._out.write(_line(record) + "\n")
        self._out.flush()

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        """Write a presence event."""
        self._write(presence_record(event))

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        """Write a message."""
        self._write(message_record(message))

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        """Write a signal."""
        self._write(message_record(signal))

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        """Write a status change to the status stream."""
        line = f"# {status.category.name}"
        if status.error_data is not None:
            line += f": {status.error_data.information}"
        self._status_out.write(line + "\n")
        self._status_out.flush()
