"""Test your own presence code with the embedded PubNub-compatible server.

Two ways, both with real PubNub clients and the real protocol:

* :class:`InMemoryPresence`: the server in memory, on a ``task.Clock``.  No
  sockets, no waiting: ``flush()`` delivers responses and ``clock.advance()``
  moves time, so timeouts of minutes take microseconds.  For
  ``SynchronousTestCase``.
* :class:`LocalPresenceServer`: the server on an ephemeral loopback port,
  driven by the real reactor, for integration tests in ``TestCase`` (return
  ``server.stop()`` from a cleanup and trial's reactor stays clean).

Example (in-memory)::

    from twisted.trial.unittest import SynchronousTestCase
    from pubnub_twisted.testing import InMemoryPresence

    class LobbyTests(SynchronousTestCase):
        def test_alice_is_there(self):
            presence = InMemoryPresence()
            alice = presence.client("alice")
            presence.call(alice.heartbeat().channels("lobby"))
            envelope = presence.call(alice.here_now().channels("lobby"))
            self.assertEqual(envelope.result.channels[0].occupancy, 1)
"""

from __future__ import annotations

from typing import Any, TypeVar

from treq.testing import RequestTraversalAgent
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorTCP, IReactorTime
from twisted.internet.task import Clock
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer, IResponse
from zope.interface import implementer

from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.models import PNEnvelope
from pubnub_twisted.pubnub import PubNub
from pubnub_twisted.server import (
    PresenceResource,
    PresenceServer,
    PresenceStore,
    SubscribeOptions,
    listen,
)
from pubnub_twisted.server._site import _PresenceChannel

__all__ = [
    "DEFAULT_PUBLISH_KEY",
    "DEFAULT_SUBSCRIBE_KEY",
    "InMemoryPresence",
    "LocalPresenceServer",
    "PresenceResource",
    "PresenceStore",
    "SubscribeOptions",
]

#: The keys test clients use unless told otherwise (any string works).
DEFAULT_SUBSCRIBE_KEY = "sub-c-local"
DEFAULT_PUBLISH_KEY = "pub-c-local"

R = TypeVar("R")


def _config(origin: str, uuid: str, overrides: dict[str, Any]) -> PNConfiguration:
    config = PNConfiguration()
    config.subscribe_key = DEFAULT_SUBSCRIBE_KEY
    config.publish_key = DEFAULT_PUBLISH_KEY
    config.uuid = uuid
    config.origin = origin
    config.ssl = False
    for name, value in overrides.items():
        if not hasattr(config, name):
            raise TypeError(f"PNConfiguration has no setting {name!r}")
        setattr(config, name, value)
    return config


def _publish_key(secret_key: str | None, publish_key: str | None) -> str | None:
    """With a secret key, the publish key the test clients sign with, unless told otherwise."""
    return publish_key or (DEFAULT_PUBLISH_KEY if secret_key else None)


@implementer(IAgent)
class _CountingAgent:
    """treq's ``RequestTraversalAgent`` (in-memory HTTP), counting the requests made."""

    def __init__(self, resource: PresenceResource) -> None:
        self._agent = RequestTraversalAgent(resource)
        # Room for URLs up to PubNub's 32 KiB, as the listening server has
        # (Twisted's HTTP server stops at 16 KiB); treq offers no public way.
        self._agent._serverFactory.protocol = _PresenceChannel  # type: ignore[method-assign,assignment]
        self.sent = 0

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        self.sent += 1
        response: Deferred[IResponse] = self._agent.request(method, uri, headers, bodyProducer)
        return response

    def flush(self) -> None:
        """Deliver every request and response that is ready (one round)."""
        self._agent.flush()


class InMemoryPresence:
    """The embedded server in memory, with clients wired to it, all on one Clock.

    ``here_now_cache`` defaults to 0 here (PubNub caches for 3 s), so a test
    sees each change at once; pass 3.0 to test caching.  Other keyword
    arguments go to :class:`~pubnub_twisted.server.PresenceResource`;
    ``subscribe`` (a :class:`~pubnub_twisted.server.SubscribeOptions`) sets
    the long-poll hold time, interval mode, debounce and fault modes;
    ``subscribe_keys`` (an allow-list) makes other keys get PubNub's 400
    ``"Invalid Subscribe Key"``.  Clients use :data:`DEFAULT_SUBSCRIBE_KEY`
    unless given ``subscribe_key=``.  ``access_manager=True`` (with a
    ``secret_key``; the publish key defaults to the clients' own) enforces
    Access Manager tokens: make a backend client with
    ``client("backend", secret_key=...)`` to grant them.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        here_now_cache: float = 0.0,
        secret_key: str | None = None,
        publish_key: str | None = None,
        auth_keys: set[str] | None = None,
        subscribe: SubscribeOptions | None = None,
        access_manager: bool = False,
        subscribe_keys: set[str] | None = None,
        strict_names: bool = False,
    ) -> None:
        self.clock = clock or Clock()
        self.store = PresenceStore(self.clock)
        self.resource = PresenceResource(
            self.store,
            here_now_cache=here_now_cache,
            secret_key=secret_key,
            publish_key=_publish_key(secret_key, publish_key),
            auth_keys=auth_keys,
            subscribe=subscribe,
            access_manager=access_manager,
            subscribe_keys=subscribe_keys,
            strict_names=strict_names,
        )
        self.agent = _CountingAgent(self.resource)

    def config(self, uuid: str = "test-user", **overrides: Any) -> PNConfiguration:
        """A configuration for a client of this server (overrides are config fields)."""
        return _config("presence.invalid", uuid, overrides)

    def client(self, uuid: str = "test-user", **overrides: Any) -> PubNub:
        """A PubNub client talking to this server in memory, on the clock."""
        return PubNub(self.config(uuid, **overrides), reactor=self.clock, agent=self.agent)

    def flush(self) -> None:
        """Deliver every response that is ready."""
        self.agent.flush()

    def settle(self, seconds: float = 0.0, *, max_steps: int = 100_000) -> int:
        """Run requests and timers until nothing more happens in the next ``seconds``.

        Delivers every request and response, including those that
        responses cause (a chain of calls needs no loop of ``flush()``),
        then moves the clock to the next timer due within ``seconds`` of
        now, runs it, delivers again, and so on; the clock ends ``seconds``
        later than it started.  With the default 0 only what is due now
        runs.  Held subscribe long-polls stay held (they are waiting, not
        pending).  Returns the number of timers' turns it ran; raises
        ``AssertionError`` after ``max_steps`` turns, which means something
        re-arms a timer forever within the window.
        """
        deadline = self.clock.seconds() + seconds
        for step in range(max_steps):
            self._deliver()
            due = [call.getTime() for call in self.clock.getDelayedCalls()]
            next_due = min((when for when in due if when <= deadline), default=None)
            if next_due is None:
                self.clock.advance(max(0.0, deadline - self.clock.seconds()))
                return step
            self.clock.advance(max(0.0, next_due - self.clock.seconds()))
        raise AssertionError(
            f"settle() ran {max_steps} timer turns without settling (the clock is at "
            f"{self.clock.seconds()}): a timer keeps re-arming itself"
        )

    def _deliver(self) -> None:
        """Flush until no flush causes a new request (responses that send requests)."""
        while True:
            sent = self.agent.sent
            self.agent.flush()
            if self.agent.sent == sent:
                return

    def call(self, builder: Endpoint[R]) -> PNEnvelope[R]:
        """Send ``builder`` and return its envelope (the server answers at once)."""
        d = builder.deferred()
        self.flush()
        envelopes: list[PNEnvelope[R]] = []
        d.addCallback(envelopes.append)
        if not envelopes:
            raise AssertionError(f"{type(builder).__name__} did not complete")
        return envelopes[0]


class LocalPresenceServer:
    """The embedded server on an ephemeral loopback port, and its clients.

    ``stop()`` stops every client made with :meth:`client`, then the server,
    and fires when all connections are closed.
    """

    def __init__(self, server: PresenceServer, reactor: IReactorTime) -> None:
        self.server = server
        self.reactor = reactor
        self._clients: list[PubNub] = []

    @classmethod
    def start(
        cls,
        reactor: IReactorTCP | None = None,
        *,
        here_now_cache: float = 0.0,
        secret_key: str | None = None,
        publish_key: str | None = None,
        auth_keys: set[str] | None = None,
        subscribe: SubscribeOptions | None = None,
        access_manager: bool = False,
        subscribe_keys: set[str] | None = None,
        strict_names: bool = False,
    ) -> LocalPresenceServer:
        """Listen on 127.0.0.1 (ephemeral port) with the given server options."""
        if reactor is None:
            from twisted.internet import reactor as global_reactor  # noqa: PLC0415

            reactor = global_reactor
        assert reactor is not None
        server = listen(
            reactor,
            here_now_cache=here_now_cache,
            secret_key=secret_key,
            publish_key=_publish_key(secret_key, publish_key),
            auth_keys=auth_keys,
            subscribe=subscribe,
            access_manager=access_manager,
            subscribe_keys=subscribe_keys,
            strict_names=strict_names,
        )
        assert IReactorTime.providedBy(reactor)
        return cls(server, reactor)

    @property
    def store(self) -> PresenceStore:
        """The server's presence store (to inspect it, or to seed presence directly)."""
        return self.server.store

    @property
    def origin(self) -> str:
        """``127.0.0.1:PORT``, for ``PNConfiguration.origin`` (with ``ssl = False``)."""
        return self.server.origin

    def config(self, uuid: str = "test-user", **overrides: Any) -> PNConfiguration:
        """A configuration for a client of this server (overrides are config fields)."""
        return _config(self.origin, uuid, overrides)

    def client(self, uuid: str = "test-user", **overrides: Any) -> PubNub:
        """A PubNub client of this server over real HTTP; stopped by :meth:`stop`."""
        pubnub = PubNub(self.config(uuid, **overrides), reactor=self.reactor)
        self._clients.append(pubnub)
        return pubnub

    def stop(self) -> Deferred[None]:
        """Stop the clients, then the server; fires when every connection is closed."""
        clients, self._clients = self._clients, []
        stopped = DeferredList([pubnub.stop() for pubnub in clients])
        return stopped.addCallback(lambda _: self.server.stop())
