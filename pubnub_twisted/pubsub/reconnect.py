"""How long the subscribe loop waits before each reconnection attempt.

``reconnect_policy`` (the client's, from its configuration):

* ``NONE``: no reconnection; the loop gives up at the first failed poll.
* ``LINEAR``: ``reconnection_interval`` before every attempt.
* ``EXPONENTIAL`` (default): ``reconnection_interval * 2 ** (attempt - 1)``,
  at most ``maximum_reconnection_interval``.

Each delay gets up to ``reconnection_jitter`` seconds of random delay on top.
After ``maximum_reconnection_retries`` attempts (``-1``: no limit) the loop
gives up.

A :class:`Reconnection` is the same schedule as a value: the configuration's
(:meth:`Reconnection.from_config`), or one of its own that a presence view
asks the loop to keep to (:meth:`SubscriptionManager.hold_reconnection
<pubnub_twisted.pubsub.manager.SubscriptionManager.hold_reconnection>`).
When several schedules are in force, :func:`next_delay` combines them: the
loop keeps trying while any of them does, after the shortest delay among
those still trying.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.enums import PNReconnectionPolicy
from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PubNubException

__all__ = ["VIEW_MAXIMUM_INTERVAL", "Reconnection", "next_delay", "reconnection_delay"]

#: Seconds: the longest delay between a presence view's reconnection attempts, by default.
VIEW_MAXIMUM_INTERVAL = 30.0

#: Doublings stop here: the maximum interval caps the delay long before.
_MAX_DOUBLINGS = 32


@dataclass(frozen=True, slots=True)
class Reconnection:
    """A reconnection schedule: when to try again after the connection was lost, and how often.

    The defaults: exponential backoff from 2 s (2, 4, 8, 16 s, then every
    30 s), up to 1 s of random jitter on each delay, **never giving up**
    (what :meth:`for_view` gives for a default configuration).
    ``maximum_retries`` ``-1`` means no limit; ``0`` gives up at the first
    failure, as does ``policy`` ``PNReconnectionPolicy.NONE``.
    """

    policy: PNReconnectionPolicy = PNReconnectionPolicy.EXPONENTIAL
    #: Seconds before the first attempt (and between attempts, for LINEAR).
    interval: float = 2.0
    #: The longest delay, in seconds (caps the EXPONENTIAL doubling).
    maximum_interval: float = VIEW_MAXIMUM_INTERVAL
    #: Attempts before giving up; ``-1``: never give up.
    maximum_retries: int = -1
    #: Up to this many seconds of random delay added to each delay (0: none).
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.policy, PNReconnectionPolicy):
            raise _bad("policy must be a PNReconnectionPolicy", self.policy)
        for name in ("interval", "maximum_interval", "jitter"):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not (math.isfinite(value) and value >= 0):
                raise _bad(f"{name} must be a number of seconds, 0 or more", value)
        retries = self.maximum_retries
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < -1:
            raise _bad("maximum_retries must be an int, -1 (no limit) or more", retries)

    @classmethod
    def from_config(cls, config: PNConfiguration) -> Reconnection:
        """The schedule of the client's own subscriptions, as ``config`` sets it."""
        return cls(
            policy=config.reconnect_policy,
            interval=max(0.0, config.reconnection_interval),
            maximum_interval=max(0.0, config.maximum_reconnection_interval),
            maximum_retries=max(-1, config.maximum_reconnection_retries),
            jitter=max(0.0, config.reconnection_jitter),
        )

    @classmethod
    def for_view(cls, config: PNConfiguration) -> Reconnection:
        """A presence view's default: the client's schedule, but never giving up.

        The timings are ``config``'s (``reconnection_interval``,
        ``reconnection_jitter``, and its policy: ``LINEAR`` stays linear,
        ``NONE`` becomes ``EXPONENTIAL``), with delays capped at
        :data:`VIEW_MAXIMUM_INTERVAL` seconds (or ``config``'s
        ``maximum_reconnection_interval`` if lower), and no retry limit.
        """
        client = cls.from_config(config)
        linear = client.policy is PNReconnectionPolicy.LINEAR
        return cls(
            policy=PNReconnectionPolicy.LINEAR if linear else PNReconnectionPolicy.EXPONENTIAL,
            interval=client.interval,
            maximum_interval=min(client.maximum_interval, VIEW_MAXIMUM_INTERVAL),
            maximum_retries=-1,
            jitter=client.jitter,
        )

    @property
    def finite(self) -> bool:
        """Whether this schedule ever gives up."""
        return self.policy is PNReconnectionPolicy.NONE or self.maximum_retries >= 0

    def base_delay(self, attempt: int) -> float | None:
        """Seconds before attempt ``attempt`` (1-based), jitter aside; ``None``: give up."""
        if self.policy is PNReconnectionPolicy.NONE or 0 <= self.maximum_retries < attempt:
            return None
        if self.policy is PNReconnectionPolicy.LINEAR:
            return self.interval
        doublings = min(attempt - 1, _MAX_DOUBLINGS)
        return min(self.maximum_interval, self.interval * float(2**doublings))

    def delay(self, attempt: int, rng: Callable[[], float]) -> float | None:
        """Seconds before attempt ``attempt``, jitter included; ``None``: give up."""
        base = self.base_delay(attempt)
        return None if base is None else base + rng() * self.jitter

    def describe(self) -> str:
        """A short human description, for messages."""
        if self.policy is PNReconnectionPolicy.NONE:
            return "reconnection off"
        limit = "no limit" if self.maximum_retries < 0 else f"at most {self.maximum_retries}"
        return f"{self.policy.name.lower()} from {self.interval:g} s, {limit} attempt(s)"


def _bad(message: str, value: object) -> PubNubException:
    return PubNubException(f"{message}, not {value!r}", pn_error=PNERR_INVALID_ARGUMENT)


def next_delay(
    schedules: Sequence[Reconnection], attempt: int, rng: Callable[[], float]
) -> tuple[float | None, list[int]]:
    """The delay before attempt ``attempt`` when all ``schedules`` are in force.

    Returns the delay (``None`` when every schedule gives up) and the
    indices of the schedules that give up at this attempt.  The delay is
    the shortest among the schedules still trying, with that schedule's
    jitter.
    """
    best: tuple[float, float] | None = None
    done: list[int] = []
    for index, schedule in enumerate(schedules):
        base = schedule.base_delay(attempt)
        if base is None:
            done.append(index)
        elif best is None or base < best[0]:
            best = (base, schedule.jitter)
    if best is None:
        return None, done
    return best[0] + rng() * best[1], done


def reconnection_delay(
    config: PNConfiguration, attempt: int, rng: Callable[[], float]
) -> float | None:
    """Seconds to wait before attempt number ``attempt`` (1-based); ``None``: give up."""
    return Reconnection.from_config(config).delay(attempt, rng)
