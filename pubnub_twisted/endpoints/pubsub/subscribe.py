"""subscribe: one long-poll request of the subscribe loop, and its answer.

``GET /v2/subscribe/{sub}/{channels}/0`` with ``tt`` (the cursor; ``0`` for
the handshake) and ``tr`` (the cursor's region).  The answer is
``{"t": {"t": "<timetoken>", "r": <region>}, "m": [<entry>, ...]}``; each entry
becomes a :class:`PNMessageResult` or a :class:`PNPresenceEventResult`.  An
entry that cannot be read is set aside (with the reason) rather than failing
the whole answer, so one bad entry never stops the loop.

This endpoint is internal: applications use ``pubnub.subscribe()``, which
drives it from :mod:`pubnub_twisted.pubsub`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from twisted.internet.defer import Deferred

from pubnub_twisted.endpoints.base import ChannelsAndGroups, expect
from pubnub_twisted.endpoints.presence.heartbeat import _states_json
from pubnub_twisted.enums import PNOperationType
from pubnub_twisted.models import JSONObject
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
)
from pubnub_twisted.protocol import (
    PRESENCE_SUFFIX,
    TIMETOKENS_PER_SECOND,
    QueryPairs,
    encode_names,
)
from pubnub_twisted.transport import HTTPResponse

if TYPE_CHECKING:
    from pubnub_twisted.pubnub import PubNub

__all__ = ["Event", "Subscribe", "SubscribeResponse", "parse_entry"]

#: What one entry of a subscribe answer becomes.
Event = PNMessageResult | PNPresenceEventResult

#: Entry types (``e``) delivered as messages: absent or 0; 1 is a signal.  App
#: Context (2), message actions (3) and files (4) are not handled here.
_MESSAGE_TYPES = (None, 0)
_SIGNAL = 1


@dataclass(frozen=True, slots=True)
class SubscribeResponse:
    """A subscribe answer: the next cursor, the events, and the entries set aside."""

    timetoken: int
    region: int
    events: list[Event] = field(default_factory=list)
    #: ``(entry, why)`` for each entry that could not be read.
    malformed: list[tuple[Any, str]] = field(default_factory=list)


def _integer(value: Any, what: str) -> int:
    """An int, or a string of digits (timetokens travel as strings)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} is {value!r}, not an integer")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what} is {value!r}, not an integer") from None


def _object(value: Any, what: str) -> JSONObject:
    if not isinstance(value, dict):
        raise ValueError(f"{what} is {type(value).__name__}, not an object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is {value!r}, not a non-empty string")
    return value


def _uuids(payload: JSONObject, key: str) -> list[str] | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(uuid, str) for uuid in value):
        raise ValueError(f"{key!r} is {value!r}, not a list of uuids")
    return list(value)


def _presence(
    payload: Any, channel: str, subscription: str | None, timetoken: int
) -> PNPresenceEventResult:
    payload = _object(payload, "presence payload")
    action = _text(payload.get("action"), "presence action")
    uuid = payload.get("uuid")
    if uuid is not None and not isinstance(uuid, str):
        raise ValueError(f"presence uuid is {uuid!r}, not a string")
    raw_timestamp = payload.get("timestamp")
    if raw_timestamp is None:
        timestamp = timetoken // TIMETOKENS_PER_SECOND
    else:
        timestamp = _integer(raw_timestamp, "timestamp")
    raw_precise = payload.get("precise_timestamp")
    precise = None if raw_precise is None else _integer(raw_precise, "precise_timestamp")
    data = payload.get("data")
    interval = action == "interval"
    return PNPresenceEventResult(
        event=action,
        uuid=uuid,
        timestamp=timestamp,
        occupancy=_integer(payload.get("occupancy"), "occupancy"),
        state=data if isinstance(data, dict) else None,
        channel=channel,
        subscription=subscription,
        timetoken=timetoken,
        join=_uuids(payload, "join") if interval else None,
        leave=_uuids(payload, "leave") if interval else None,
        timeout=_uuids(payload, "timeout") if interval else None,
        here_now_refresh=payload.get("here_now_refresh") is True,
        precise_timestamp=precise,
    )


def _strip(name: str) -> str:
    return name[: -len(PRESENCE_SUFFIX)] if name.endswith(PRESENCE_SUFFIX) else name


def parse_entry(entry: Any) -> Event | None:
    """One entry of ``m``: a message, a presence event, or ``None`` (a type not handled).

    Raises ``ValueError`` (saying why) for an entry that cannot be read.
    Unknown keys are ignored.
    """
    entry = _object(entry, "entry")
    channel = _text(entry.get("c"), "channel 'c'")
    publish = _object(entry.get("p"), "publish metadata 'p'")
    timetoken = _integer(publish.get("t"), "timetoken 'p.t'")
    if "d" not in entry:
        raise ValueError("no payload 'd'")
    match = entry.get("b")
    # ``b`` names the subscription that matched; equal to ``c`` (or absent)
    # for a direct subscription.
    subscription = match if isinstance(match, str) and match != channel else None
    if channel.endswith(PRESENCE_SUFFIX):
        via = None if subscription is None else _strip(subscription)
        return _presence(entry["d"], _strip(channel), via, timetoken)
    kind = entry.get("e")
    if kind not in _MESSAGE_TYPES and kind != _SIGNAL:
        return None
    publisher = entry.get("i")
    custom = entry.get("cmt")
    result = PNSignalMessageResult if kind == _SIGNAL else PNMessageResult
    return result(
        message=entry["d"],
        channel=channel,
        subscription=subscription,
        timetoken=timetoken,
        publisher=publisher if isinstance(publisher, str) else None,
        user_metadata=entry.get("u"),
        custom_message_type=custom if isinstance(custom, str) else None,
    )


class Subscribe(ChannelsAndGroups[SubscribeResponse]):
    """One subscribe request: the handshake (``tt=0``) or a poll from a cursor.

    Names are sent as given (``-pnpres`` names included).  ``heartbeat`` is
    always the configured presence timeout; ``state`` (keyed by channel) is
    sent only when set, which the loop does on handshakes.  The request uses
    ``subscribe_request_timeout`` and is never retried by the transport.
    """

    _operation = PNOperationType.PNSubscribeOperation
    _wildcard_channels = True

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._timetoken = 0
        self._region: int | None = None
        self._state: dict[str, JSONObject] = {}
        self._state_json = ""

    def timetoken(self, timetoken: int) -> Self:
        """The cursor: ``0`` for a handshake, else the last answer's timetoken."""
        self._timetoken = timetoken
        return self

    def region(self, region: int | None) -> Self:
        """The cursor's region (``tr``), once one is known."""
        self._region = region
        return self

    def state(self, state: dict[str, JSONObject]) -> Self:
        """State per channel to announce with the request."""
        self._state = state
        return self

    def _validate(self) -> None:
        self._require_names()
        self._state_json = _states_json(self._state)

    def _path(self, subscribe_key: str) -> str:
        return f"/v2/subscribe/{subscribe_key}/{encode_names(self._channels)}/0"

    def _query(self) -> QueryPairs:
        pairs: QueryPairs = [("tt", str(self._timetoken))]
        if self._region is not None:
            pairs.append(("tr", str(self._region)))
        pairs.extend(self._group_query())
        pairs.append(("heartbeat", str(self._pubnub.config.presence_timeout)))
        if self._state_json:
            pairs.append(("state", self._state_json))
        return pairs

    def _send(self, url: str) -> Deferred[HTTPResponse]:
        config = self._pubnub.config
        return self._pubnub._transport.get(url, config.subscribe_request_timeout, retries=False)

    def _parse(self, data: JSONObject) -> SubscribeResponse:
        cursor = expect(data, "t", dict)
        timetoken = _integer(cursor.get("t"), "cursor timetoken 't.t'")
        region = cursor.get("r")
        entries = expect(data, "m", list)
        response = SubscribeResponse(
            timetoken, 0 if region is None else _integer(region, "cursor region 't.r'")
        )
        for entry in entries:
            try:
                event = parse_entry(entry)
            except ValueError as exc:
                response.malformed.append((entry, str(exc)))
                continue
            if event is not None:
                response.events.append(event)
        return response
