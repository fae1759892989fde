"""The names this client is subscribed to, and its state on them.

Pure bookkeeping, no I/O.  A name ending in ``-pnpres`` stands for the
presence of the name without it: ``channels("lobby-pnpres")`` observes the
presence of ``lobby`` without subscribing to ``lobby`` (so this client is not
counted there), and ``channels("lobby")`` with presence subscribes to both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pubnub_twisted.models import JSONObject
from pubnub_twisted.protocol import PRESENCE_SUFFIX, json_dumps

__all__ = ["Subscriptions"]


def _split(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Data names, and the bases of ``-pnpres`` names."""
    data: list[str] = []
    presence: list[str] = []
    for name in names:
        if name.endswith(PRESENCE_SUFFIX) and len(name) > len(PRESENCE_SUFFIX):
            presence.append(name[: -len(PRESENCE_SUFFIX)])
        else:
            data.append(name)
    return data, presence


class _Names:
    """Data names and presence-observed names of one kind (channels or groups)."""

    def __init__(self) -> None:
        self.data: set[str] = set()
        self.presence: set[str] = set()

    def add(self, names: Iterable[str], with_presence: bool) -> None:
        data, presence = _split(names)
        self.data.update(data)
        self.presence.update(presence)
        if with_presence:
            self.presence.update(data)

    def remove(self, names: Iterable[str]) -> list[str]:
        """Drop ``x`` and its presence for each ``x``; only the presence for ``x-pnpres``."""
        data, presence = _split(names)
        self.data.difference_update(data)
        self.presence.difference_update(data)
        self.presence.difference_update(presence)
        return data

    def request(self) -> list[str]:
        """The names a subscribe request lists, sorted."""
        return sorted(self.data | {name + PRESENCE_SUFFIX for name in self.presence})


class Subscriptions:
    """Channels and groups, with or without presence, and state per channel."""

    def __init__(self) -> None:
        self._channels = _Names()
        self._groups = _Names()
        self._states: dict[str, JSONObject] = {}

    def add(self, channels: Iterable[str], groups: Iterable[str], with_presence: bool) -> None:
        """Subscribe to more names."""
        self._channels.add(channels, with_presence)
        self._groups.add(groups, with_presence)

    def remove(self, channels: Iterable[str], groups: Iterable[str]) -> None:
        """Unsubscribe from names; a channel's state goes with it."""
        for channel in self._channels.remove(channels):
            self._states.pop(channel, None)
        self._groups.remove(groups)

    def clear(self) -> None:
        """Unsubscribe from everything."""
        self._channels = _Names()
        self._groups = _Names()
        self._states = {}

    def is_empty(self) -> bool:
        """True when no request would list any name."""
        return not (self.request_channels() or self.request_groups())

    def request_channels(self) -> list[str]:
        """Channel names for the subscribe request, ``-pnpres`` names included, sorted."""
        return self._channels.request()

    def request_groups(self) -> list[str]:
        """Group names for the subscribe request, ``-pnpres`` names included, sorted."""
        return self._groups.request()

    def data(self) -> tuple[frozenset[str], frozenset[str]]:
        """Data channels and groups: the names this client is present on."""
        return frozenset(self._channels.data), frozenset(self._groups.data)

    def wants_message(self, channel: str, subscription: str | None) -> bool:
        """Whether a message delivered on ``channel`` through ``subscription`` is still wanted."""
        if subscription is None:
            return channel in self._channels.data
        return subscription in self._channels.data or subscription in self._groups.data

    def wants_presence(self, channel: str, subscription: str | None) -> bool:
        """Whether a presence event of ``channel`` through ``subscription`` is still wanted."""
        if subscription is None:
            return channel in self._channels.presence
        return subscription in self._groups.presence or subscription in self._channels.presence

    def remember_state(self, channels: Iterable[str], state: JSONObject) -> None:
        """Keep ``state`` (a copy) for those of ``channels`` that are subscribed."""
        for channel in channels:
            if channel in self._channels.data:
                self._states[channel] = json.loads(json_dumps(state))

    def states(self) -> dict[str, JSONObject]:
        """State per subscribed channel, for heartbeats and handshakes."""
        return dict(sorted(self._states.items()))
