"""PubNub's naming rules on the server side: warn once per name, or refuse when strict.

PubNub's own service may accept a name that breaks its rules in one API and
fail in another (its docs say no more), so the embedded server never fails
silently where production might: by default it serves the name and logs a
warning once per name; with ``strict_names`` it answers 400 naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from twisted.logger import Logger

from pubnub_twisted.protocol import NAMING_RULES_URL, FirstSeen, breaking_names
from pubnub_twisted.server._request import Call, bad_request

__all__ = ["NameGuard"]

_log: Final = Logger(namespace="pubnub_twisted.server")

#: Names the server remembers having warned about (the least recent are forgotten).
WARNED_NAMES_CAPACITY: Final = 4096
#: Operations whose channels may be wildcard patterns (``a.*``): subscribe, and
#: the heartbeat and leave a subscribing SDK sends for what it subscribed.
_WILDCARD_OPERATIONS: Final = frozenset({"subscribe", "heartbeat", "leave"})


def _breaking(call: Call) -> Iterator[tuple[str, str, str]]:
    """``(kind, name, problem)`` for every channel and group name of ``call`` that breaks a rule."""
    wildcard = call.operation in _WILDCARD_OPERATIONS
    for name, problem in breaking_names(call.channels, wildcard=wildcard):
        yield "channel", name, problem
    for name, problem in breaking_names(call.groups):
        yield "channel group", name, problem
    if call.operation == "group":
        for key in ("add", "remove"):
            for name, problem in breaking_names(call.names(key)):
                yield "channel", name, problem


class NameGuard:
    """Checks the names of each request against PubNub's naming rules."""

    def __init__(self, strict: bool = False, capacity: int = WARNED_NAMES_CAPACITY) -> None:
        self.strict = strict
        self._warned = FirstSeen(capacity)

    def check(self, call: Call) -> None:
        """Warn about (or, when strict, refuse with a 400) names that break the rules."""
        for kind, name, problem in _breaking(call):
            if self.strict:
                raise bad_request(
                    f"Invalid {kind} name {name!r}: it {problem}, which PubNub's naming "
                    f"rules forbid ({NAMING_RULES_URL})",
                    call.service,
                )
            if self._warned.first(name):
                _log.warn(
                    "{kind} name {name!r} {rule}: PubNub's naming rules forbid it, so it may "
                    "work here and fail on PubNub (serve with --strict-names to refuse it)",
                    kind=kind,
                    name=name,
                    rule=problem,
                )
