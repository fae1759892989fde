"""The JSON bodies the presence server answers with (PROTOCOL.md section 2).

Pure functions from store results to response objects, key order as
PubNub's service writes them.
"""

from __future__ import annotations

from typing import Any

from pubnub_twisted.models import JSONObject
from pubnub_twisted.server.presence.store import Occupant

__all__ = [
    "PRESENCE",
    "REGISTRY",
    "error",
    "forbidden",
    "get_state_multi",
    "get_state_single",
    "group_channels",
    "here_now_flat",
    "here_now_wrapped",
    "invalid_subscribe_key",
    "leave_ok",
    "ok",
    "registry_ok",
    "set_state_ok",
    "where_now",
]

PRESENCE = "Presence"
REGISTRY = "channel-registry"
ACCESS_MANAGER = "Access Manager"

Body = dict[str, Any]


def ok() -> Body:
    """heartbeat's answer."""
    return {"status": 200, "message": "OK", "service": PRESENCE}


def leave_ok() -> Body:
    """leave's answer."""
    return {"status": 200, "message": "OK", "action": "leave", "service": PRESENCE}


def error(status: int, message: str, service: str = PRESENCE) -> Body:
    """A refusal (400, 404, 405, 414, ...)."""
    return {"status": status, "message": message, "error": True, "service": service}


def forbidden(message: str, channels: list[str], groups: list[str]) -> Body:
    """Access Manager's 403, naming what the request touched."""
    payload: Body = {"channels": channels}
    if groups:
        payload["channel-groups"] = groups
    return {
        "message": message,
        "payload": payload,
        "error": True,
        "service": ACCESS_MANAGER,
        "status": 403,
    }


def invalid_subscribe_key() -> Body:
    """PubNub's 400 for a subscribe key it does not know (recorded in 2016, the Python SDK's
    ``invocations/envelope_raises`` cassette; the same body answers every service)."""
    return {
        "message": "Invalid Subscribe Key",
        "error": True,
        "service": ACCESS_MANAGER,
        "status": 400,
    }


#: One channel of a here_now answer: ``(channel, occupancy, occupants of the page)``.
Page = tuple[str, int, list[Occupant]]


def _occupants(occupants: list[Occupant], with_state: bool) -> list[Any]:
    if not with_state:
        return [occupant.uuid for occupant in occupants]
    return [
        {"uuid": o.uuid} if o.state is None else {"uuid": o.uuid, "state": o.state}
        for o in occupants
    ]


def here_now_flat(page: Page | None, with_uuids: bool, with_state: bool) -> Body:
    """here_now for exactly one channel and no group."""
    body = ok()
    if with_uuids:
        body["uuids"] = [] if page is None else _occupants(page[2], with_state)
    body["occupancy"] = 0 if page is None else page[1]
    return body


def here_now_wrapped(pages: list[Page], with_uuids: bool, with_state: bool) -> Body:
    """here_now for several channels, any group, or every channel."""
    channels: Body = {}
    for name, occupancy, occupants in pages:
        item: Body = {"occupancy": occupancy}
        if with_uuids:
            item["uuids"] = _occupants(occupants, with_state)
        channels[name] = item
    body = ok()
    body["payload"] = {
        "channels": channels,
        "total_channels": len(pages),
        "total_occupancy": sum(page[1] for page in pages),
    }
    return body


def where_now(channels: list[str]) -> Body:
    """where_now's answer."""
    body = ok()
    body["payload"] = {"channels": channels}
    return body


def set_state_ok(state: JSONObject) -> Body:
    """set_state echoes the state."""
    body = ok()
    body["payload"] = state
    return body


def get_state_single(uuid: str, channel: str, state: JSONObject) -> Body:
    """get_state for exactly one channel and no group."""
    body = ok()
    body.update(uuid=uuid, channel=channel, payload=state)
    return body


def get_state_multi(uuid: str, states: dict[str, JSONObject]) -> Body:
    """get_state for several channels or any group."""
    body = ok()
    body.update(uuid=uuid, payload={"channels": states})
    return body


def registry_ok() -> Body:
    """Channel-group add, remove and delete."""
    return {"status": 200, "message": "OK", "service": REGISTRY, "error": False}


def group_channels(group: str, channels: list[str]) -> Body:
    """The channels of a channel group."""
    return {
        "status": 200,
        "payload": {"channels": channels, "group": group},
        "service": REGISTRY,
        "error": False,
    }
