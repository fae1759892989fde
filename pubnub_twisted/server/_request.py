"""Parsing a presence request: the raw URI to a routed, decoded call.

The URI is read as sent (``request.uri``), never through ``request.args``:
in a path ``+`` is a plus sign, not a space.  Lists (channels in the path,
``channel-group``, ``add``, ``remove``) are decoded, then split on commas,
as PubNub's service does: ``%2C`` separates names like ``,``.  Anything that cannot be decoded is a
:class:`Refusal` (400), never an exception escaping to Twisted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from pubnub_twisted.protocol import decode_names, decode_value, parse_query
from pubnub_twisted.server.presence import _shapes

__all__ = ["Call", "Refusal", "bad_request", "parse", "parse_int", "route"]

_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INTEGER: Final = re.compile(r"-?[0-9]{1,15}")
#: PubNub's SDKs spell this path segment both ways (Go, C#, Objective-C and
#: some Swift and Rust calls use ``sub_key``); the service accepts both.
_SUB_KEY: Final = ("sub-key", "sub_key")


class Refusal(Exception):
    """A request answered with an error status and body (an object, or publish's array)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body.get("message") if isinstance(body, dict) else body)
        self.status = status
        self.body = body


def bad_request(message: str, service: str = _shapes.PRESENCE) -> Refusal:
    """A 400 refusal."""
    return Refusal(400, _shapes.error(400, message, service))


@dataclass
class Call:
    """One request: its raw path and query, and where it routes."""

    path: str
    params: list[tuple[str, str]]
    operation: str = ""
    sub_key: str = ""
    channels: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    target_uuid: str = ""
    group: str = ""
    uuid: str = ""  # the caller's own uuid, once checked
    token: str = ""  # the token a revoke names
    service: str = _shapes.PRESENCE
    publish_key: str = ""  # publish and signal name it in the path
    payload: str | None = None  # a message in the path, still percent-encoded
    method: str = "GET"  # the HTTP method, upper case (signed)
    body: bytes = b""  # the request body as received (signed)

    def raw(self, key: str) -> str | None:
        """The first raw (still encoded) value of ``key``, or ``None``."""
        for name, value in self.params:
            if name == key:
                return value
        return None

    def text(self, key: str) -> str | None:
        """The first decoded value of ``key``, or ``None``."""
        raw = self.raw(key)
        return None if raw is None else decode_value(raw, plus_is_space=True)

    def names(self, key: str) -> list[str]:
        """``key``'s comma-separated names, decoded (``[]`` when absent)."""
        raw = self.raw(key)
        return [] if raw is None else decode_names(raw, plus_is_space=True)

    def flag(self, key: str) -> bool:
        """A boolean parameter: ``1`` or ``true``."""
        return self.text(key) in ("1", "true")

    def integer(self, key: str, *, default: int) -> int:
        """An integer parameter; ``default`` when absent or empty; 400 when malformed."""
        text = self.text(key)
        if not text:
            return default
        value = parse_int(text)
        if value is None:
            raise bad_request(f"Invalid {key}: {text!r} is not an integer", self.service)
        return value

    def decoded_params(self) -> list[tuple[str, str]]:
        """Every parameter with its decoded value (what a signature covers)."""
        return [(key, decode_value(value, plus_is_space=True)) for key, value in self.params]


def parse_int(text: str | None) -> int | None:
    """A plain decimal integer (``-`` allowed), or ``None``."""
    if text is None or not _INTEGER.fullmatch(text):
        return None
    return int(text)


def parse(uri: bytes) -> Call:
    """Split and check a raw request-target; 400 for undecodable input."""
    try:
        text = uri.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("Invalid request: the URL is not UTF-8") from None
    if _BAD_PERCENT.search(text):
        raise bad_request("Invalid request: malformed percent-encoding")
    if not text.startswith("/"):  # absolute form: http://host/path?query
        scheme, _, rest = text.partition("://")
        text = "/" + rest.partition("/")[2] if scheme and rest else "/"
    path, _, query = text.partition("#")[0].partition("?")
    try:
        return Call(path, parse_query(query))
    except UnicodeDecodeError:
        raise bad_request("Invalid request: a parameter name is not UTF-8") from None


def route(call: Call) -> Call:
    """Find the operation ``call`` asks for; 404 when there is none.

    Path segments are decoded here; parameter values are decoded by
    :meth:`Call.decoded_params` first, so later decoding cannot fail.
    """
    segments = call.path.split("/")[1:]
    try:
        call.decoded_params()
        found = (
            _route_presence(call, segments)
            or _route_registry(call, segments)
            or _route_subscribe(call, segments)
            or _route_messages(call, segments)
            or _route_access(call, segments)
        )
    except UnicodeDecodeError:
        raise bad_request("Invalid request: not UTF-8 once percent-decoded") from None
    if segments == ["time", "0"]:
        call.operation = "time"
        return call
    if not found:
        raise Refusal(404, _shapes.error(404, "Not Found"))
    if not call.sub_key:
        raise bad_request("Invalid subscribe key", call.service)
    return call


def _route_presence(call: Call, segments: list[str]) -> bool:
    if segments[:2] != ["v2", "presence"] or len(segments) < 4 or segments[2] not in _SUB_KEY:
        return False
    call.sub_key = decode_value(segments[3])
    rest = segments[4:]
    if not rest:
        call.operation = "here_now_global"
        return True
    if rest[0] == "uuid" and len(rest) == 2:
        call.operation = "where_now"
        call.target_uuid = decode_value(rest[1])
        return True
    if rest[0] != "channel" or len(rest) < 2:
        return False
    call.channels = decode_names(rest[1])
    call.groups = call.names("channel-group")
    tail = rest[2:]
    if not tail:
        call.operation = "here_now"
    elif tail in (["heartbeat"], ["leave"]):
        call.operation = tail[0]
    elif tail[0] == "uuid" and len(tail) in (2, 3):
        call.target_uuid = decode_value(tail[1])
        if len(tail) == 2:
            call.operation = "get_state"
        elif tail[2] == "data":
            call.operation = "set_state"
    return bool(call.operation)


def _route_registry(call: Call, segments: list[str]) -> bool:
    if segments[:2] != ["v1", "channel-registration"] or len(segments) < 6:
        return False
    if segments[2] not in _SUB_KEY or segments[4] != "channel-group":
        return False
    call.service = _shapes.REGISTRY
    call.sub_key = decode_value(segments[3])
    call.group = decode_value(segments[5])
    call.groups = [call.group]
    tail = segments[6:]
    if not tail:
        call.operation = "group"
    elif tail == ["remove"]:
        call.operation = "delete_group"
    return bool(call.operation)


def _route_subscribe(call: Call, segments: list[str]) -> bool:
    # /v2/subscribe/{sub}/{channels}/0: the last segment is the JSONP callback, 0 for none.
    if segments[:2] != ["v2", "subscribe"] or len(segments) != 5 or segments[4] != "0":
        return False
    call.operation = "subscribe"
    call.sub_key = decode_value(segments[2])
    call.channels = decode_names(segments[3])
    call.groups = call.names("channel-group")
    return True


def _route_messages(call: Call, segments: list[str]) -> bool:
    """publish, signal (``/{op}/{pub}/{sub}/0/{channel}/0[/{message}]``), history (v2, v3)."""
    if segments[:1] in (["publish"], ["signal"]) and len(segments) in (6, 7):
        if (
            segments[3] != "0"
            or segments[5] != "0"
            or (segments[0] == "signal" and len(segments) == 6)
        ):
            return False
        call.operation = segments[0]
        call.publish_key = decode_value(segments[1])
        call.sub_key = decode_value(segments[2])
        call.channels = [decode_value(segments[4])]
        call.payload = segments[6] if len(segments) == 7 else None
        return True
    if segments[:1] not in (["v2"], ["v3"]) or len(segments) != 6 or segments[2] not in _SUB_KEY:
        return False
    kind = segments[4]
    if segments[0] == "v2":
        if segments[1] != "history" or kind != "channel":
            return False
        call.operation = "history_v2"
    elif segments[1] == "history" and kind in ("channel", "message-counts"):
        call.operation = "history" if kind == "channel" else "message_counts"
    elif segments[1] == "history-with-actions" and kind == "channel":
        call.operation = "history_actions"
    else:
        return False
    call.service = "History"
    call.sub_key = decode_value(segments[3])
    call.channels = decode_names(segments[5])
    return True


def _route_access(call: Call, segments: list[str]) -> bool:
    # /v3/pam/{sub}/grant (POST) and /v3/pam/{sub}/grant/{token} (DELETE)
    if segments[:2] != ["v3", "pam"] or len(segments) not in (4, 5) or segments[3] != "grant":
        return False
    call.service = _shapes.ACCESS_MANAGER
    call.sub_key = decode_value(segments[2])
    call.operation = "grant" if len(segments) == 4 else "revoke"
    if len(segments) == 5:
        call.token = decode_value(segments[4])
    return True
