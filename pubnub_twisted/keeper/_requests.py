"""Building the keeper's requests (split when a URL would be too long) and sending them in turn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred, succeed

from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.errors import PNERR_URL_TOO_LONG, PubNubException
from pubnub_twisted.models import PNEnvelope, PNStatus
from pubnub_twisted.protocol import MAX_URL_LENGTH

__all__ = ["Names", "Piece", "send_in_turn", "split"]

#: A run of channels and groups that one request carries.
Piece = tuple[tuple[str, ...], tuple[str, ...]]
Names = tuple[str, ...]

#: Room left under PubNub's limit: a signed request's timestamp grows a digit
#: now and then, and nothing else in a rebuilt URL changes length.
_MARGIN = 64


def _fits(builder: Endpoint[Any]) -> bool:
    """Whether ``builder`` makes a URL short enough; other bad input raises."""
    try:
        return len(builder._url()) <= MAX_URL_LENGTH - _MARGIN
    except PubNubException as exc:
        if exc.pn_error == PNERR_URL_TOO_LONG:
            return False
        raise


def split(
    make: Callable[[Names, Names], Endpoint[Any]], channels: Names, groups: Names
) -> list[Piece] | None:
    """Pieces of ``channels`` and ``groups`` whose requests fit; ``None`` when one does.

    Validates the request (bad input raises ``PubNubException``).  A single
    channel or group too long to send on its own is refused with
    ``PNERR_URL_TOO_LONG``.
    """
    if _fits(make(channels, groups)):
        return None
    names = [(name, True) for name in channels] + [(name, False) for name in groups]
    pieces: list[Piece] = []
    pending = [names]
    while pending:
        run = pending.pop()
        piece = (
            tuple(name for name, is_channel in run if is_channel),
            tuple(name for name, is_channel in run if not is_channel),
        )
        if _fits(make(*piece)):
            pieces.append(piece)
        elif len(run) == 1:
            raise PubNubException(
                f"{run[0][0]!r} with its state makes a request longer than PubNub accepts "
                f"({MAX_URL_LENGTH} bytes)",
                pn_error=PNERR_URL_TOO_LONG,
            )
        else:
            half = len(run) // 2
            pending += [run[half:], run[:half]]
    return pieces


def send_in_turn(builders: Sequence[Endpoint[Any]]) -> Deferred[PNStatus]:
    """Send each request after the previous one; fires with the first error status, or the last.

    One request at a time, so a member split in several pieces still holds
    one place among the requests in flight.
    """
    if len(builders) == 1:  # the common case, without the chain below
        return builders[0].deferred().addCallback(_status)
    outcome: Deferred[PNStatus] = succeed(None)  # type: ignore[arg-type]

    def next_one(status: PNStatus | None, builder: Endpoint[Any]) -> Any:
        if status is not None and status.is_error():
            return status
        return builder.deferred().addCallback(_status)

    for builder in builders:
        outcome.addCallback(next_one, builder)
    return outcome


def _status(envelope: PNEnvelope[Any]) -> PNStatus:
    return envelope.status
