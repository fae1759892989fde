"""Access Manager v3: tokens and the permissions they grant (client and server share it)."""

from pubnub_twisted.access.permissions import UUID, Channel, Group, PNResource
from pubnub_twisted.access.tokens import (
    Permission,
    PNToken,
    PNTokenPermissions,
    PNTokenResources,
    parse_token,
)

__all__ = [
    "UUID",
    "Channel",
    "Group",
    "PNResource",
    "PNToken",
    "PNTokenPermissions",
    "PNTokenResources",
    "Permission",
    "parse_token",
]
