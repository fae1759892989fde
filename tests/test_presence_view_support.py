"""Support for the presence view tests (no tests here): the server in memory, with faults.

Other uuids come and go through the server's store directly (synchronous,
no client needed); the view's client talks to the server through
:class:`HookedAgent`, which can drop its held subscribe polls (a lost
connection) and run code just before a request is served or just after it
was answered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from treq.testing import RequestTraversalAgent
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionLost, ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.iweb import IAgent, IBodyProducer, IResponse
from zope.interface import implementer

from pubnub_twisted import PNConfiguration, PresenceViewListener, PubNub
from pubnub_twisted.models import JSONObject
from pubnub_twisted.server import PresenceResource, PresenceStore, SubscribeOptions

SUB = "sub-c-view"
#: The clock's start (December 2016), so timetokens have their real 17 digits.
START = 1481896370

Hook = Callable[[str], object]


@implementer(IAgent)
class HookedAgent:
    """An in-memory agent whose subscribe polls can be dropped, with hooks around requests.

    ``before(uri)`` runs when a request is sent (before the server sees
    it).  A request for which ``refuse(uri)`` is true fails as a refused
    connection; the response to one for which ``hold(uri)`` is true is kept
    (the server has answered) until :meth:`release`.  ``uris`` lists every
    request sent.
    """

    def __init__(self, inner: RequestTraversalAgent) -> None:
        self.inner = inner
        self.uris: list[str] = []
        self.before: Hook | None = None
        self.refuse: Callable[[str], bool] = lambda uri: False
        self.hold: Callable[[str], bool] = lambda uri: False
        self._held: list[tuple[Deferred[IResponse], IResponse]] = []
        self._polls: list[tuple[Deferred[IResponse], Deferred[IResponse]]] = []

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Any = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        text = uri.decode("ascii")
        self.uris.append(text)
        if self.refuse(text):
            return fail(ConnectionRefusedError("refused by the test"))
        if self.before is not None:
            self.before(text)
        inner: Deferred[IResponse] = self.inner.request(method, uri, headers, bodyProducer)
        outer: Deferred[IResponse] = Deferred(lambda _: inner.cancel())
        pair = (outer, inner)
        if "/v2/subscribe/" in text:
            self._polls.append(pair)

        def done(result: IResponse | Failure) -> None:
            if pair in self._polls:
                self._polls.remove(pair)
            if outer.called:
                return
            if isinstance(result, Failure):
                outer.errback(result)
            elif self.hold(text):
                self._held.append((outer, result))
            else:
                outer.callback(result)

        inner.addBoth(done)
        return outer

    def release(self) -> None:
        """Deliver the responses held back."""
        held, self._held = self._held, []
        for outer, response in held:
            if not outer.called:  # not given up on (cancelled) meanwhile
                outer.callback(response)

    def drop(self) -> int:
        """Fail every subscribe poll in flight as a lost connection; return how many."""
        polls, self._polls = self._polls, []
        for outer, inner in polls:
            outer.errback(Failure(ConnectionLost("dropped by the test")))
            inner.cancel()
        return len(polls)

    def count(self, marker: str) -> int:
        """How many requests sent so far have ``marker`` in their URI."""
        return sum(marker in uri for uri in self.uris)


class World:
    """The embedded server in memory on a Clock, and clients of it."""

    def __init__(
        self, auth_keys: set[str] | None = None, here_now_cache: float = 0, **options: Any
    ) -> None:
        self.clock = Clock()
        self.clock.advance(START)
        self.store = PresenceStore(self.clock)
        self.resource = PresenceResource(
            self.store,
            here_now_cache=here_now_cache,
            auth_keys=auth_keys,
            subscribe=SubscribeOptions(**options),
        )
        self.agent = HookedAgent(RequestTraversalAgent(self.resource))

    def client(self, uuid: str = "viewer", **overrides: Any) -> PubNub:
        """A client of the server, reconnecting after 1 s without jitter."""
        config = PNConfiguration()
        config.subscribe_key = SUB
        config.uuid = uuid
        config.origin = "presence.invalid"
        config.ssl = False
        config.reconnection_interval = 1.0
        config.reconnection_jitter = 0.0
        for name, value in overrides.items():
            setattr(config, name, value)
        return PubNub(config, reactor=self.clock, agent=self.agent)

    def lose_events(self) -> None:
        """What happened so far cannot be caught up from an older cursor any more."""
        self.resource.hub.drop_buffered_events()

    def settle(self, rounds: int = 12) -> None:
        """Deliver responses and run what is due now, until things are quiet."""
        for _ in range(rounds):
            self.agent.inner.flush()
            self.clock.advance(0)

    def wait(self, seconds: float, step: float = 1.0) -> None:
        """Let ``seconds`` pass, settling after each ``step``."""
        while seconds > 0:
            self.clock.advance(min(step, seconds))
            seconds -= step
            self.settle()

    # -- other people -----------------------------------------------------

    def join(
        self,
        uuid: str,
        channels: str | list[str],
        state: JSONObject | None = None,
        timeout: float = 60,
    ) -> None:
        """``uuid`` is present on ``channels`` (for ``timeout`` s), with ``state`` on each."""
        names = [channels] if isinstance(channels, str) else channels
        states = dict.fromkeys(names, state) if state is not None else None
        self.store.heartbeat(SUB, uuid, names, timeout, states)

    def leave(self, uuid: str, channels: str | list[str]) -> None:
        """``uuid`` leaves ``channels``."""
        self.store.leave(SUB, uuid, [channels] if isinstance(channels, str) else channels)

    def set_state(self, uuid: str, channel: str, state: JSONObject) -> None:
        """``uuid``'s state on ``channel`` becomes ``state``."""
        self.store.set_state(SUB, uuid, [channel], state)

    def group(self, group: str, channels: list[str]) -> None:
        """Put ``channels`` in ``group``."""
        self.store.add_channels_to_group(SUB, group, channels)

    def truth(self, channel: str) -> dict[str, JSONObject | None]:
        """Who the server says is on ``channel``, with state."""
        result = self.store.here_now(SUB, [channel])
        return {o.uuid: o.state for c in result.channels for o in c.occupants}

    def stop(self) -> None:
        """Answer held polls and cancel the server's timers."""
        self.resource.stop()
        self.store.stop()


class Recorder(PresenceViewListener):
    """Records every notification as a tuple, and keeps the picture they paint."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.picture: dict[str, dict[str, JSONObject | None]] = {}

    def on_join(self, channel: str, uuid: str, state: JSONObject | None) -> None:
        self.calls.append(("join", channel, uuid, state))
        self.picture.setdefault(channel, {})[uuid] = state

    def on_leave(self, channel: str, uuid: str, reason: str) -> None:
        self.calls.append(("leave", channel, uuid, reason))
        del self.picture[channel][uuid]
        if not self.picture[channel]:
            del self.picture[channel]

    def on_state_change(self, channel: str, uuid: str, state: JSONObject | None) -> None:
        self.calls.append(("state", channel, uuid, state))
        self.picture[channel][uuid] = state

    def on_sync(self) -> None:
        self.calls.append(("sync",))

    def take(self) -> list[tuple[Any, ...]]:
        """The calls recorded since the last ``take()``."""
        calls, self.calls = self.calls, []
        return calls


class LiveRecorder(Recorder):
    """A Recorder that also records the view's liveness: disconnected, reconnected, gave up."""

    def on_disconnected(self, reason: str) -> None:
        self.calls.append(("disconnected", reason))

    def on_reconnected(self) -> None:
        self.calls.append(("reconnected",))

    def on_gave_up(self, reason: str) -> None:
        self.calls.append(("gave up", reason))

    def kinds(self) -> list[str]:
        """The kinds of the calls recorded since the last ``take()`` (and takes them)."""
        return [call[0] for call in self.take()]
