"""Which permissions each request needs, and whether a token grants them.

PubNub's "operations to permissions mapping": ``read`` on every channel
and group for here_now, get/set state, heartbeat and subscribe (presence
channels ``-pnpres`` are named like any other); ``manage`` on the group
for channel-group calls; a valid token and nothing more for leave,
where_now and global here_now; ``write`` for publish and signal, ``read``
for history, ``delete`` for deleting messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from pubnub_twisted.access.tokens import Permission, PNToken

__all__ = ["OPERATION_PERMISSIONS", "Need", "allows", "missing", "needs"]

#: One requirement: (resource type, name, permission).
Need = tuple[str, str, Permission]

#: Per operation, the permission wanted on each channel and on each group
#: (``None``: a valid token is enough).
OPERATION_PERMISSIONS: Final[dict[str, tuple[Permission | None, Permission | None]]] = {
    "here_now": (Permission.READ, Permission.READ),
    "get_state": (Permission.READ, Permission.READ),
    "set_state": (Permission.READ, Permission.READ),
    "heartbeat": (Permission.READ, Permission.READ),
    "subscribe": (Permission.READ, Permission.READ),
    "group": (None, Permission.MANAGE),
    "delete_group": (None, Permission.MANAGE),
    "publish": (Permission.WRITE, None),
    "signal": (Permission.WRITE, None),
    "history": (Permission.READ, None),  # fetch_messages: GET /v3/history
    "history_v2": (Permission.READ, None),
    "history_actions": (Permission.READ, None),
    "message_counts": (Permission.READ, None),
    "delete_messages": (Permission.DELETE, None),
    "leave": (None, None),
    "where_now": (None, None),
    "here_now_global": (None, None),
}


#: What an operation missing from the table needs.
_UNKNOWN: Final = (Permission.READ, Permission.READ)


def needs(operation: str, channels: Iterable[str], groups: Iterable[str]) -> list[Need]:
    """What ``operation`` on these channels and groups needs.

    An operation missing from :data:`OPERATION_PERMISSIONS` needs ``read``
    on every channel and group it names: every named resource must be granted.
    """
    on_channel, on_group = OPERATION_PERMISSIONS.get(operation, _UNKNOWN)
    wanted: list[Need] = []
    if on_channel is not None:
        wanted.extend(("channels", name, on_channel) for name in channels)
    if on_group is not None:
        wanted.extend(("groups", name, on_group) for name in groups)
    return wanted


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:  # a pattern is checked when granted; a foreign token may hold anything
        return False


def allows(token: PNToken, kind: str, name: str, permission: Permission) -> bool:
    """Whether ``token`` grants ``permission`` on the resource ``name`` of ``kind``.

    Granted by name, or by any pattern that matches the name (a
    regular-expression search: anchor a pattern with ``^...$`` to match
    whole names).
    """
    granted = token.resources.of_type(kind).get(name)
    if granted is not None and granted.allows(permission):
        return True
    return any(
        perms.allows(permission) and _matches(pattern, name)
        for pattern, perms in token.patterns.of_type(kind).items()
    )


def missing(token: PNToken, wanted: Iterable[Need]) -> list[Need]:
    """The requirements ``token`` does not meet."""
    return [need for need in wanted if not allows(token, *need)]
