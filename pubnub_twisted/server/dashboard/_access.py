"""Who may see the dashboard: a pure function of the listening address and the request.

On a loopback address the dashboard is open to anyone who can reach it
(only this machine), but a request must name a loopback host in its
``Host`` header, so a web page served elsewhere cannot read it through DNS
rebinding.  On any other address it needs the token printed at start-up:
``?token=`` once, then the cookie this sets.  Tokens are compared in
constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Final

__all__ = ["COOKIE", "Verdict", "decide", "is_loopback", "needs_token"]

#: The cookie that carries the token after the first ``?token=``.
COOKIE: Final = "pubnub_twisted_dashboard"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or host name, no port) is this machine only."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def needs_token(listen_host: str) -> bool:
    """Whether a server listening on ``listen_host`` must guard its dashboard with a token.

    Every address but a loopback one does (``0.0.0.0`` and ``::`` included).
    """
    return not is_loopback(listen_host)


def _host_name(host_header: str) -> str:
    """The host of a ``Host`` header value, without its port."""
    if host_header.startswith("["):
        return host_header.partition("]")[0] + "]"
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may see the dashboard, and whether to set the token cookie."""

    allowed: bool
    set_cookie: bool = False


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def decide(
    token: str | None,
    *,
    host_header: str | None,
    query_token: str | None,
    cookie_token: str | None,
) -> Verdict:
    """May this request see the dashboard? ``token`` is ``None`` when it is open (loopback).

    Open: any request whose ``Host`` header (when it has one) names a
    loopback host.  Guarded: the right token as ``?token=`` (the answer
    then sets the cookie) or in the cookie.
    """
    if token is None:
        return Verdict(host_header is None or is_loopback(_host_name(host_header)))
    if _same(token, query_token):
        return Verdict(True, set_cookie=True)
    return Verdict(_same(token, cookie_token))
