"""``Channel``, ``Group`` and ``UUID``: what a ``grant_token`` call grants, as in PubNub's SDK.

Each starts from a name (``Channel.id("lobby")``) or a regular expression
(``Channel.pattern("^room-.*$")``) and gains permissions fluently::

    Channel.id("lobby").read().write()
    Group.id("rooms").read()
    UUID.pattern("^bot-").get().update()
"""

from __future__ import annotations

from typing import Self

from pubnub_twisted.access.tokens import Permission

__all__ = ["UUID", "Channel", "Group", "PNResource"]


class PNResource:
    """One resource (by name) or pattern (a regular expression), and its permissions."""

    #: The token's name for this kind of resource (``channels``, ``groups``, ``uuids``).
    kind: str = ""

    def __init__(self, resource_id: str, *, is_pattern: bool = False) -> None:
        self._id = resource_id
        self._pattern = is_pattern
        self._bits = Permission(0)

    @classmethod
    def id(cls, resource_id: str) -> Self:
        """The resource named ``resource_id``."""
        return cls(resource_id)

    @classmethod
    def pattern(cls, regex: str) -> Self:
        """Every resource whose name matches ``regex``."""
        return cls(regex, is_pattern=True)

    def _grant(self, permission: Permission) -> Self:
        self._bits |= permission
        return self

    def read(self) -> Self:
        return self._grant(Permission.READ)

    def write(self) -> Self:
        return self._grant(Permission.WRITE)

    def manage(self) -> Self:
        return self._grant(Permission.MANAGE)

    def delete(self) -> Self:
        return self._grant(Permission.DELETE)

    def get(self) -> Self:
        return self._grant(Permission.GET)

    def update(self) -> Self:
        return self._grant(Permission.UPDATE)

    def join(self) -> Self:
        return self._grant(Permission.JOIN)

    def get_id(self) -> str:
        """The name, or the pattern."""
        return self._id

    def is_pattern_resource(self) -> bool:
        """Whether :meth:`get_id` is a regular expression."""
        return self._pattern

    @property
    def bitmask(self) -> int:
        """The permissions granted, as PubNub's bitmask."""
        return int(self._bits)

    def __repr__(self) -> str:
        how = "pattern" if self._pattern else "id"
        granted = [flag.name.lower() for flag in Permission if flag in self._bits and flag.name]
        return f"{type(self).__name__}.{how}({self._id!r}) [{'+'.join(granted) or 'none'}]"


class Channel(PNResource):
    """A channel, or a pattern of channels."""

    kind = "channels"


class Group(PNResource):
    """A channel group, or a pattern of groups."""

    kind = "groups"


class UUID(PNResource):
    """A uuid (user metadata), or a pattern of uuids."""

    kind = "uuids"
