"""The embedded Access Manager v3: grant and revoke tokens, and enforce them."""

from pubnub_twisted.server.access.manager import AccessManager
from pubnub_twisted.server.access.rules import OPERATION_PERMISSIONS, allows, needs

__all__ = ["OPERATION_PERMISSIONS", "AccessManager", "allows", "needs"]
