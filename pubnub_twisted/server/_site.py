"""Serving the presence resource on a TCP port."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, maybeDeferred
from twisted.internet.interfaces import IListeningPort, IReactorTCP, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel, Request
from twisted.web.resource import IResource
from twisted.web.server import Site

from pubnub_twisted.server.dashboard import Dashboard, needs_token
from pubnub_twisted.server.presence.store import PresenceStore
from pubnub_twisted.server.resource import PresenceResource
from pubnub_twisted.server.subscribe import SubscribeOptions

__all__ = ["PresenceServer", "PresenceSite", "listen"]

#: Request lines (and all headers) up to this size reach the resource, so a
#: URL over MAX_URL_LENGTH gets PubNub's JSON 414 instead of a dropped
#: connection (Twisted's own limit is 16 KiB).
_MAX_LINE = 1024 * 1024

#: Connections the kernel queues for accept(): room for hundreds of clients at once.
DEFAULT_BACKLOG = 1024


#: The first byte of a TLS record carrying a handshake (a ClientHello): no
#: HTTP request line starts with it.
_TLS_HANDSHAKE_RECORD = 0x16

#: What a TLS client gets on the plain port: a plain HTTP answer, which its TLS
#: layer reports at once as "wrong version number" (as nginx and others do),
#: instead of a wait for a request line that never comes.
_PLAIN_HTTP_ONLY = (
    b"HTTP/1.1 400 Bad Request\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)
_PLAIN_HTTP_ONLY_TEXT = b"This server speaks plain HTTP, not TLS: use http:// (ssl off).\n"

_log = Logger(namespace="pubnub_twisted.server")


class _PresenceChannel(HTTPChannel):
    """An HTTP channel with room for long URLs that tells its site when it closes.

    A connection whose first byte starts a TLS handshake is answered with a
    plain-text 400 and closed at once, so a client configured for TLS by
    mistake fails immediately (its TLS layer reports "wrong version number")
    rather than after its timeout.
    """

    MAX_LENGTH = _MAX_LINE
    totalHeadersSize = _MAX_LINE + 64 * 1024
    _first_bytes = True

    def dataReceived(self, data: bytes) -> None:
        if self._first_bytes and data:
            self._first_bytes = False
            if data[0] == _TLS_HANDSHAKE_RECORD:
                _log.warn(
                    "TLS handshake on the plain HTTP port from {peer}: answered 400 and closed"
                    " (the client should use http://, ssl off)",
                    peer=str(self.transport.getPeer()),  # type: ignore[union-attr]
                )
                body = _PLAIN_HTTP_ONLY_TEXT
                self.transport.write(_PLAIN_HTTP_ONLY % (len(body), body))  # type: ignore[union-attr]
                self.transport.loseConnection()  # type: ignore[union-attr]
                return
        HTTPChannel.dataReceived(self, data)

    def connectionMade(self) -> None:
        HTTPChannel.connectionMade(self)
        if isinstance(self.factory, PresenceSite):
            self.factory._opened(self)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        HTTPChannel.connectionLost(self, reason)
        if isinstance(self.factory, PresenceSite):
            self.factory._closed(self)


class PresenceSite(Site):
    """A ``Site`` for :class:`PresenceResource`: quiet, and room for 32 KiB URLs.

    It writes no access log of its own (the resource logs each request
    through ``twisted.logger``), and :meth:`close_connections` ends the
    keep-alive connections that outlive ``stopListening``.  With a
    ``dashboard``, requests for ``/`` and ``/_dashboard/...`` go to it and
    every other path to the presence resource, which stays a leaf of its own.
    """

    noisy = False
    protocol = _PresenceChannel  # type: ignore[assignment]

    def __init__(
        self,
        resource: PresenceResource,
        reactor: IReactorTime | None = None,
        dashboard: Dashboard | None = None,
    ) -> None:
        Site.__init__(self, resource, reactor=reactor)
        self.dashboard = dashboard
        self._channels: dict[_PresenceChannel, list[Deferred[None]]] = {}

    def getResourceFor(self, request: Request) -> IResource:
        """The dashboard for its own paths, else the presence resource."""
        dashboard = self.dashboard
        if dashboard is not None and dashboard.claims(request.path):
            request.site = self  # type: ignore[attr-defined]
            request.sitepath = list(request.prepath or ())  # type: ignore[attr-defined]
            return dashboard
        resource: IResource = Site.getResourceFor(self, request)
        return resource

    def log(self, request: Request) -> None:
        """No access log (see the class docstring)."""

    def _opened(self, channel: _PresenceChannel) -> None:
        self._channels[channel] = []

    def _closed(self, channel: _PresenceChannel) -> None:
        for waiter in self._channels.pop(channel, []):
            waiter.callback(None)

    def close_connections(self) -> Deferred[None]:
        """Close every open connection; fires once they are all closed."""
        waiting: list[Deferred[None]] = []
        for channel, waiters in list(self._channels.items()):
            waiter: Deferred[None] = Deferred()
            waiters.append(waiter)
            waiting.append(waiter)
            channel.transport.loseConnection()  # type: ignore[union-attr]
        done: Deferred[None] = DeferredList(waiting).addCallback(lambda _: None)
        return done


@dataclass
class PresenceServer:
    """A presence server listening on a TCP port; :meth:`stop` ends it."""

    listening_port: IListeningPort
    site: PresenceSite
    store: PresenceStore
    owns_store: bool = field(default=True, repr=False)

    @property
    def dashboard(self) -> Dashboard | None:
        """The dashboard served at ``/`` (``None`` when it is off)."""
        return self.site.dashboard

    @property
    def dashboard_url(self) -> str | None:
        """The dashboard's address, with ``?token=`` when it needs one (``None``: off)."""
        dashboard = self.site.dashboard
        if dashboard is None:
            return None
        return f"{self.url}/" + ("" if dashboard.token is None else f"?token={dashboard.token}")

    @property
    def resource(self) -> PresenceResource:
        """The REST resource being served."""
        resource = self.site.resource
        assert isinstance(resource, PresenceResource)
        return resource

    @property
    def host(self) -> str:
        """The address it listens on."""
        return str(self.listening_port.getHost().host)  # type: ignore[attr-defined]

    @property
    def port(self) -> int:
        """The port it listens on (the real one when asked for port 0)."""
        return int(self.listening_port.getHost().port)  # type: ignore[attr-defined]

    @property
    def origin(self) -> str:
        """``host:port``, ready for ``PNConfiguration.origin`` (with ``ssl = False``)."""
        host = self.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.origin}"

    def publish(
        self,
        sub_key: str,
        channel: str,
        message: object,
        publisher: str | None = None,
        **options: Any,
    ) -> int:
        """Deliver ``message`` to subscribers and history; return its timetoken.

        ``options`` as for :meth:`PresenceResource.publish`.
        """
        return self.resource.publish(sub_key, channel, message, publisher, **options)

    def stop(self) -> Deferred[None]:
        """Stop listening, answer held polls, close connections, stop the store if it made it."""
        if self.site.dashboard is not None:
            self.site.dashboard.stop()
        self.resource.stop()
        if self.owns_store:
            self.store.stop()
        stopped: Deferred[object] = maybeDeferred(self.listening_port.stopListening)
        return stopped.addCallback(lambda _: self.site.close_connections())


def listen(
    reactor: IReactorTCP,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    store: PresenceStore | None = None,
    here_now_cache: float = 3.0,
    secret_key: str | None = None,
    publish_key: str | None = None,
    auth_keys: Iterable[str] | None = None,
    subscribe: SubscribeOptions | None = None,
    subscribe_keys: Iterable[str] | None = None,
    backlog: int = DEFAULT_BACKLOG,
    access_manager: bool = False,
    strict_names: bool = False,
    dashboard: bool = False,
    dashboard_token: str | None = None,
) -> PresenceServer:
    """Serve a presence server on ``host:port`` (loopback, an ephemeral port by default).

    ``store`` defaults to a new :class:`PresenceStore` on ``reactor``'s
    clock; ``backlog`` is the listen queue (Twisted's default of 50 makes
    the 51st simultaneous connect wait a second for a SYN retry); the other
    options are :class:`PresenceResource`'s.

    ``dashboard`` also serves the live dashboard at ``/`` (off by default:
    an embedded test server needs no extra paths or timers; ``serve`` turns
    it on).  On a loopback ``host`` it is open; on any other it needs a
    token, ``dashboard_token`` or else a random one, found in
    :attr:`PresenceServer.dashboard_url`.  Giving ``dashboard_token``
    requires it on loopback too.
    """
    clock = IReactorTime(reactor)
    owns_store = store is None
    if store is None:
        store = PresenceStore(clock)
    resource = PresenceResource(
        store,
        here_now_cache=here_now_cache,
        secret_key=secret_key,
        publish_key=publish_key,
        auth_keys=auth_keys,
        subscribe=subscribe,
        access_manager=access_manager,
        subscribe_keys=subscribe_keys,
        strict_names=strict_names,
    )
    board = None
    if dashboard:
        if dashboard_token is None and needs_token(host):
            dashboard_token = secrets.token_urlsafe(24)
        board = Dashboard(resource, token=dashboard_token)
    site = PresenceSite(resource, reactor=clock, dashboard=board)
    try:
        # Site's annotations do not (yet) say it is a ServerFactory of its channel type.
        listening_port = reactor.listenTCP(
            port,
            site,  # type: ignore[arg-type]
            backlog=backlog,
            interface=host,
        )
    except BaseException:
        if board is not None:
            board.stop()  # a given store must not keep feeding a dashboard nobody serves
        raise
    return PresenceServer(listening_port, site, store, owns_store)
