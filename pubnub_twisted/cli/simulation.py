"""``simulate``: many simulated users kept present, coming and going at a steady rate.

The command line's ``simulate`` keeps ``users`` simulated users present on
``channels`` channels with a :class:`~pubnub_twisted.PresenceKeeper`, so that
a dashboard, a presence view or an application can be watched under a
realistic load.  Every ``1 / churn`` seconds one thing happens, picked at
random: a user leaves (and a new one enters, so the count stays steady), a
user stops heartbeating and times out like a crashed client (and is
replaced), a user changes state, or a user moves to other channels.  Each
user is on one to three channels, with a state on each.  ``stop()`` leaves
everyone still kept.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PubNubException

if TYPE_CHECKING:
    from pubnub_twisted.keeper import KeptMember, PresenceKeeper
    from pubnub_twisted.models import JSONObject
    from pubnub_twisted.pubnub import PubNub

__all__ = ["ACTIONS", "Simulation", "SimulationOptions"]

_log = Logger()

#: What one churn step may do, each equally likely.
ACTIONS = ("leave", "timeout", "state-change", "move")
_MOODS = ("ready", "away", "busy", "playing", "idle")


@dataclass(frozen=True)
class SimulationOptions:
    """How many users, on how many channels, changing how often."""

    users: int = 100
    channels: int = 10
    #: Churn steps per second (0: nobody comes or goes).
    churn: float = 1.0
    #: Presence timeout of the simulated users, seconds.
    presence_timeout: int = 20
    #: Seed of the random choices, for a run that can be repeated.
    seed: int | None = None
    #: Prefixes of the simulated uuids and channel names.
    user_prefix: str = "sim-user-"
    channel_prefix: str = "sim-room-"

    def check(self) -> None:
        """Raise ``PubNubException`` naming the first option out of range."""
        problems = [
            (self.users >= 1, f"users must be 1 or more, not {self.users}"),
            (self.channels >= 1, f"channels must be 1 or more, not {self.channels}"),
            (self.churn >= 0, f"churn must be 0 or more per second, not {self.churn}"),
            (self.presence_timeout >= 1, "presence_timeout must be 1 or more seconds"),
        ]
        for ok, message in problems:
            if not ok:
                raise PubNubException(message, pn_error=PNERR_INVALID_ARGUMENT)


class Simulation:
    """Simulated users kept present by one client; :meth:`start`, then :meth:`stop`."""

    def __init__(self, pubnub: PubNub, options: SimulationOptions) -> None:
        options.check()
        self.options = options
        self._pubnub = pubnub
        self._rng = random.Random(options.seed)
        self._channels = [
            f"{options.channel_prefix}{n:0{len(str(options.channels))}d}"
            for n in range(1, options.channels + 1)
        ]
        self._keeper: PresenceKeeper = pubnub.presence_keeper(
            presence_timeout=options.presence_timeout
        )
        self._next_user = 0
        self._loop: LoopingCall | None = None
        #: How many of each action happened (``join`` counts every entry).
        self.counts: Counter[str] = Counter()

    @property
    def channels(self) -> list[str]:
        """The channel names the users are spread over."""
        return list(self._channels)

    @property
    def keeper(self) -> PresenceKeeper:
        """The keeper holding the users present."""
        return self._keeper

    def start(self) -> None:
        """Enter every user now, then churn at ``options.churn`` steps per second."""
        for _ in range(self.options.users):
            self._enter()
        if self.options.churn > 0:
            self._loop = LoopingCall(self.step)
            self._loop.clock = self._pubnub.reactor
            self._loop.start(1.0 / self.options.churn, now=False)

    def stop(self) -> Deferred[None]:
        """Stop churning; every user still kept leaves."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        return self._keeper.stop()

    def step(self, action: str | None = None) -> str:
        """Do one churn step (``action`` or one picked at random); return what was done."""
        action = action or self._rng.choice(ACTIONS)
        uuids = self._keeper.members()
        member = self._keeper.member(self._rng.choice(uuids)) if uuids else None
        if member is None:
            self._enter()
            return "join"
        if action == "leave":
            self._quietly(member.leave(), "leave")
            self._enter()
        elif action == "timeout":
            member.expire()
            self._enter()
        elif action == "state-change":
            channel = self._rng.choice(member.channels)
            self._quietly(member.update(state={channel: self._state()}), "state-change")
        else:
            channels = self._pick_channels()
            self._quietly(member.update(channels=channels, state=self._states(channels)), "move")
        self.counts[action] += 1
        return action

    def status_line(self) -> str:
        """One line: users kept, channels, and what the churn did so far."""
        counts = ", ".join(f"{self.counts[action]} {action}" for action in ("join", *ACTIONS))
        return f"{len(self._keeper)} users kept on {len(self._channels)} channels; {counts}"

    # -- inside -------------------------------------------------------------

    def _enter(self) -> KeptMember:
        self._next_user += 1
        uuid = f"{self.options.user_prefix}{self._next_user}"
        channels = self._pick_channels()
        member = self._keeper.enter(uuid, channels=channels, state=self._states(channels))
        self.counts["join"] += 1
        return member

    def _pick_channels(self) -> list[str]:
        count = min(len(self._channels), self._rng.randint(1, 3))
        return self._rng.sample(self._channels, count)

    def _state(self) -> JSONObject:
        return {"mood": self._rng.choice(_MOODS), "score": self._rng.randint(0, 100)}

    def _states(self, channels: list[str]) -> dict[str, JSONObject]:
        return {channel: self._state() for channel in channels}

    @staticmethod
    def _quietly(d: Deferred[None], what: str) -> None:
        """Log a failed churn request instead of leaving an unhandled failure."""
        d.addErrback(
            lambda failure: _log.warn("simulated {what} failed: {f}", what=what, f=failure)
        )
