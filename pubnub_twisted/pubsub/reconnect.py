"""How long the subscribe loop waits before each reconnection attempt.

``reconnect_policy``:

* ``NONE``: no reconnection; the loop gives up at the first failed poll.
* ``LINEAR``: ``reconnection_interval`` before every attempt.
* ``EXPONENTIAL`` (default): ``reconnection_interval * 2 ** (attempt - 1)``,
  at most ``maximum_reconnection_interval``.

Each delay gets up to ``reconnection_jitter`` seconds of random delay on top.
After ``maximum_reconnection_retries`` attempts (``-1``: no limit) the loop
gives up.
"""

from __future__ import annotations

from collections.abc import Callable

from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.enums import PNReconnectionPolicy

__all__ = ["reconnection_delay"]

#: Doublings stop here: the maximum interval caps the delay long before.
_MAX_DOUBLINGS = 32


def reconnection_delay(
    config: PNConfiguration, attempt: int, rng: Callable[[], float]
) -> float | None:
    """Seconds to wait before attempt number ``attempt`` (1-based); ``None``: give up."""
    policy = config.reconnect_policy
    limit = config.maximum_reconnection_retries
    if policy is PNReconnectionPolicy.NONE or 0 <= limit < attempt:
        return None
    base = max(0.0, config.reconnection_interval)
    if policy is PNReconnectionPolicy.LINEAR:
        delay = base
    else:
        doublings = min(attempt - 1, _MAX_DOUBLINGS)
        delay = min(config.maximum_reconnection_interval, base * 2**doublings)
    return max(0.0, delay) + rng() * max(0.0, config.reconnection_jitter)
