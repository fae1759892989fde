"""A gate in front of the in-memory server: records requests, can stall or refuse them."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionRefusedError
from twisted.python.failure import Failure
from twisted.web.iweb import IAgent
from zope.interface import implementer

from pubnub_twisted import PubNub
from pubnub_twisted.protocol import parse_query
from pubnub_twisted.server import PresenceEvent
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence


class Sent:
    """One request the gate saw: when, its path and decoded query."""

    def __init__(self, at: float, uri: str) -> None:
        self.at = at
        self.uri = uri
        parts = urlsplit(uri)
        self.path = unquote(parts.path)
        self.query = {key: unquote(value) for key, value in parse_query(parts.query)}

    @property
    def kind(self) -> str:
        """``heartbeat``, ``leave``, ``data`` (set_state) or the last path segment."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def channels(self) -> list[str]:
        """The channels named in the path."""
        segment = self.path.split("/channel/", 1)[1].split("/", 1)[0]
        return [name for name in segment.split(",") if name]


@implementer(IAgent)
class Gate:
    """An ``IAgent`` over ``presence.agent``: ``up``, ``down`` (refused) or ``stalled``."""

    def __init__(self, presence: InMemoryPresence) -> None:
        self.presence = presence
        self.mode = "up"
        self.sent: list[Sent] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._held: list[tuple[Deferred[Any], tuple[Any, ...]]] = []

    def request(
        self, method: bytes, uri: bytes, headers: Any = None, bodyProducer: Any = None
    ) -> Deferred[Any]:
        self.sent.append(Sent(self.presence.clock.seconds(), uri.decode("ascii")))
        if self.mode == "down":
            return fail(ConnectionRefusedError("the gate is down"))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        args = (method, uri, headers, bodyProducer)
        if self.mode == "stalled":
            held: Deferred[Any] = Deferred()
            self._held.append((held, args))
            return held.addBoth(self._answered)
        answer: Deferred[Any] = self.presence.agent.request(*args)
        return answer.addBoth(self._answered)

    def _answered(self, outcome: Any) -> Any:
        self.in_flight -= 1
        return outcome

    def release(self) -> None:
        """Open the gate and pass every held request on to the server."""
        self.mode = "up"
        held, self._held = self._held, []
        for d, args in held:
            if not d.called:
                self.presence.agent.request(*args).chainDeferred(d)
        self.presence.settle()

    def of(self, kind: str) -> list[Sent]:
        """The requests of one kind (``heartbeat``, ``leave``, ``data``)."""
        return [sent for sent in self.sent if sent.kind == kind]


class Watch:
    """The server's presence events, by action."""

    def __init__(self, presence: InMemoryPresence) -> None:
        self.events: list[PresenceEvent] = []
        presence.store.add_observer(self.events.append)

    def of(self, action: str) -> list[PresenceEvent]:
        return [event for event in self.events if event.action == action]


def occupancy(presence: InMemoryPresence, channel: str) -> int:
    """How many are present on ``channel`` now."""
    return presence.store.occupancy(DEFAULT_SUBSCRIBE_KEY, channel)


def gated_client(presence: InMemoryPresence, **overrides: Any) -> tuple[PubNub, Gate]:
    """A client of ``presence`` whose requests go through a :class:`Gate`."""
    gate = Gate(presence)
    config = presence.config("keeper-service", **overrides)
    return PubNub(config, reactor=presence.clock, agent=gate), gate


def failure_of(d: Deferred[Any]) -> Failure | None:
    """The failure ``d`` fired with, if it failed already."""
    failures: list[Failure] = []
    d.addErrback(failures.append)
    return failures[0] if failures else None
