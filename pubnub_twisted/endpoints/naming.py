"""PubNub's naming rules on the client side.

A comma can never be part of a channel or group name: PubNub splits lists
on commas (``%2C`` included), so such a name is refused before anything is
sent.  The other rules (:func:`~pubnub_twisted.protocol.name_problem`) are
PubNub's too, but the embedded server and PubNub itself may accept names
that break them, so by default a name that breaks one is sent and a warning
is logged once per name; with ``PNConfiguration.strict_names`` it is
refused before sending.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from twisted.logger import Logger

from pubnub_twisted.errors import PNERR_INVALID_NAME, PubNubException
from pubnub_twisted.protocol import NAMING_RULES_URL, FirstSeen, breaking_names

if TYPE_CHECKING:
    from pubnub_twisted.config import PNConfiguration

__all__ = ["NameRules", "refuse_comma"]

_log: Final = Logger(namespace="pubnub_twisted.names")

#: Names a client remembers having warned about (the oldest are forgotten).
WARNED_NAMES_CAPACITY: Final = 1024


def _refusal(what: str, name: str, problem: str) -> PubNubException:
    return PubNubException(
        f"{what} {name!r} {problem}; PubNub's naming rules forbid it (see {NAMING_RULES_URL})",
        pn_error=PNERR_INVALID_NAME,
    )


def refuse_comma(name: str, what: str) -> None:
    """Refuse a name holding a comma: PubNub reads the comma as a list separator."""
    if "," in name:
        raise _refusal(what, name, "contains a comma (PubNub splits name lists on commas)")


class NameRules:
    """One client's use of the naming rules: warn once per name, or refuse when strict.

    ``config.strict_names`` is read at each check, so changing
    ``pubnub.config.strict_names`` takes effect at once.
    """

    def __init__(self, config: PNConfiguration, capacity: int = WARNED_NAMES_CAPACITY) -> None:
        self._config = config
        self._warned = FirstSeen(capacity)

    def check(self, what: str, names: Sequence[str], *, wildcard: bool = False) -> None:
        """Refuse or warn about each of ``names`` that breaks PubNub's rules.

        ``what`` says what the names are (``"channel"``, ``"channel group"``);
        ``wildcard`` allows a trailing ``.*`` (subscribe's wildcard patterns).
        """
        for name, problem in breaking_names(names, wildcard=wildcard):
            refuse_comma(name, what)
            if self._config.strict_names:
                raise _refusal(what, name, problem)
            if self._warned.first(name):
                _log.warn(
                    "{kind} name {name!r} {rule}: PubNub's naming rules forbid it, so it may "
                    "work locally and fail on PubNub (set strict_names to refuse it)",
                    kind=what,
                    name=name,
                    rule=problem,
                )
