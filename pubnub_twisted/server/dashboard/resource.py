"""The dashboard over HTTP: its page, a JSON API and an event stream.

Paths (everything else stays PubNub's):

- ``/``: the page (``static/index.html``); ``/_dashboard/app.js`` and
  ``/_dashboard/style.css`` its module and style sheet;
- ``/_dashboard/api/snapshot``: channels with occupancy and charts, channel
  groups, recent events and request counts;
- ``/_dashboard/api/channel?sub_key=&channel=&offset=&limit=``: one page of a
  channel's occupants with their state (``limit`` at most 1000);
- ``/_dashboard/api/uuid?sub_key=&uuid=``: where a uuid is, with its state;
- ``/_dashboard/api/events``: Server-Sent Events, one JSON batch per event
  (at most :data:`MAX_STREAMS` open at once; more get a 503).

Access follows :func:`~pubnub_twisted.server.dashboard._access.decide`;
a refusal is a bare 403.  Nothing served contains a secret key, publish key
or auth key: the dashboard never reads them.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any, Final

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from pubnub_twisted.server.dashboard._access import COOKIE, decide
from pubnub_twisted.server.dashboard._feed import DashboardFeed
from pubnub_twisted.server.resource import PresenceResource

__all__ = ["PREFIX", "Dashboard"]

#: The path prefix reserved for the dashboard (PubNub uses none like it).
PREFIX: Final = b"/_dashboard/"
#: Most occupants one ``api/channel`` answer lists.
MAX_OCCUPANTS: Final = 1000
#: Most event streams open at once (each costs a connection and a transport buffer).
MAX_STREAMS: Final = 64

_STATIC: Final = {
    b"/": ("index.html", b"text/html; charset=utf-8"),
    PREFIX + b"app.js": ("app.js", b"text/javascript; charset=utf-8"),
    PREFIX + b"style.css": ("style.css", b"text/css; charset=utf-8"),
}
_SECURITY_HEADERS: Final = (
    (
        b"Content-Security-Policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        b" img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"Referrer-Policy", b"no-referrer"),
    (b"Cache-Control", b"no-store"),
)
_JSON: Final = b"application/json; charset=utf-8"


def _arg(request: Request, name: bytes) -> str | None:
    values = (request.args or {}).get(name)
    return values[0].decode("utf-8", "replace") if values else None


def _int_arg(request: Request, name: bytes, default: int, top: int) -> int:
    text = _arg(request, name)
    if text is None or not text.isdigit():
        return default
    return min(int(text), top)


class Dashboard(Resource):
    """The dashboard of ``presence`` (a leaf: it routes by itself).

    ``token`` guards it (``None``: open, for a loopback listener); the
    other options are :class:`DashboardFeed`'s.  :meth:`stop` ends the
    event streams and timers.
    """

    isLeaf = True

    def __init__(self, presence: PresenceResource, *, token: str | None = None, **feed: Any):
        Resource.__init__(self)
        self.token = token
        self.feed = DashboardFeed(presence.store, presence.hub, presence.request_counts, **feed)
        self.feed.start()
        package = files(__package__).joinpath("static")
        self._files = {
            path: (package.joinpath(name).read_bytes(), kind)
            for path, (name, kind) in _STATIC.items()
        }

    @staticmethod
    def claims(path: bytes) -> bool:
        """Whether a request for ``path`` (no query) is the dashboard's."""
        return path == b"/" or path.startswith(PREFIX)

    def stop(self) -> None:
        """End every event stream and stop observing the server."""
        self.feed.stop()

    def render(self, request: Request) -> bytes | int:
        """Answer one dashboard request (GET only; 403 without access)."""
        for name, value in _SECURITY_HEADERS:
            request.setHeader(name, value)
        verdict = decide(
            self.token,
            host_header=(request.getHeader(b"host") or b"").decode("latin-1") or None,
            query_token=_arg(request, b"token"),
            cookie_token=(request.getCookie(COOKIE.encode()) or b"").decode("latin-1") or None,
        )
        if not verdict.allowed:
            return self._plain(request, 403, b"Forbidden\n")
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"Allow", b"GET, HEAD")
            return self._plain(request, 405, b"Method Not Allowed\n")
        if verdict.set_cookie and self.token is not None:
            request.addCookie(
                COOKIE.encode(),
                self.token.encode(),
                path=b"/",
                httpOnly=True,
                sameSite="strict",
            )
            if request.path == b"/":  # take the token out of the address bar and history
                request.setResponseCode(303)
                request.setHeader(b"Location", b"/")
                return b""
        path = request.path
        static = self._files.get(path)
        if static is not None:
            request.setHeader(b"Content-Type", static[1])
            return static[0]
        feed = self.feed
        if path == PREFIX + b"api/events":
            if feed.streams >= MAX_STREAMS:
                return self._plain(request, 503, b"Too many dashboard streams\n")
            if request.method == b"HEAD":
                request.setHeader(b"Content-Type", b"text/event-stream; charset=utf-8")
                return b""
            feed.attach(request)
            return NOT_DONE_YET
        if path == PREFIX + b"api/snapshot":
            return self._json(request, feed.snapshot())
        sub_key = _arg(request, b"sub_key") or ""
        if path == PREFIX + b"api/channel":
            offset = _int_arg(request, b"offset", 0, 2**31)
            limit = _int_arg(request, b"limit", 100, MAX_OCCUPANTS)
            channel = _arg(request, b"channel") or ""
            return self._json(request, feed.occupants(sub_key, channel, offset, limit))
        if path == PREFIX + b"api/uuid":
            return self._json(request, feed.whereabouts(sub_key, _arg(request, b"uuid") or ""))
        return self._plain(request, 404, b"Not Found\n")

    @staticmethod
    def _plain(request: Request, status: int, body: bytes) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return body

    @staticmethod
    def _json(request: Request, body: object) -> bytes:
        request.setHeader(b"Content-Type", _JSON)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
