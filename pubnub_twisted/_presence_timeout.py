"""A warning for presence timeouts below PubNub's documented 20 s minimum.

PubNub's SDKs document 20 s as the smallest ``presence_timeout`` (Java and
Kotlin clamp to it; JavaScript did until 9.3.0 in 2025), yet the service
honoured ``heartbeat=8`` in recorded traffic (the Python SDK's Tornado
``heartbeat/timeout`` cassette, 2016).  So this client sends what it is
given, and only warns, once per client, when a shorter timeout goes to an
origin that may be PubNub's service.  Local servers (a loopback address,
``localhost``) and names that can never resolve to PubNub (``.localhost``,
``.test`` and ``.invalid``, reserved by RFC 6761) are exempt: the embedded
server honours any timeout of 1 s or more.
"""

from __future__ import annotations

import ipaddress
from typing import Final

from hyperlink import URL
from twisted.logger import Logger

from pubnub_twisted.config import PNConfiguration

__all__ = ["MINIMUM_PRESENCE_TIMEOUT", "is_local_origin", "warn_if_short"]

#: The smallest presence timeout PubNub's SDK documentation allows, in seconds.
MINIMUM_PRESENCE_TIMEOUT: Final = 20

_LOCAL_SUFFIXES: Final = (".localhost", ".test", ".invalid")

_log: Final = Logger(namespace="pubnub_twisted.config")


def is_local_origin(origin: str) -> bool:
    """Whether ``origin`` (``host[:port]``) is a loopback server rather than PubNub's."""
    try:
        return ipaddress.ip_address(origin).is_loopback  # a bare address, ``::1`` say
    except ValueError:
        pass
    try:
        host = URL.from_text(f"http://{origin}").host.lower().rstrip(".")
    except (ValueError, TypeError):
        return False
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_short(config: PNConfiguration) -> bool:
    """Log one warning if ``config``'s presence timeout is below the minimum; say if it did."""
    timeout = config.presence_timeout
    if timeout >= MINIMUM_PRESENCE_TIMEOUT or is_local_origin(config.origin):
        return False
    _log.warn(
        "presence_timeout={timeout} is below the {minimum} s minimum in PubNub's SDK "
        "documentation; the service has honoured shorter ones, but may not",
        timeout=timeout,
        minimum=MINIMUM_PRESENCE_TIMEOUT,
        origin=config.origin,
    )
    return True
