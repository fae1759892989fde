"""The client's token: what it sends as ``auth``, and its renewal.

``pubnub.set_token(token)`` makes every call send ``token`` as ``auth``
(instead of ``config.auth_key``).  ``pubnub.set_token_provider(fn)``,
where ``fn()`` returns a Deferred that fires with a fresh token, lets the
client renew on its own: at once if it has no token yet, shortly before
the current token expires (from its parsed ttl), and once after a 403
saying the token expired or was revoked, after which that call is
repeated once.  Concurrent calls that
hit the same 403 share one renewal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from twisted.internet.defer import CancelledError, Deferred, maybeDeferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.access.tokens import PNToken, parse_token
from pubnub_twisted.enums import PNStatusCategory
from pubnub_twisted.errors import PNERR_INVALID_ARGUMENT, PubNubException
from pubnub_twisted.models import PNStatus

__all__ = ["TokenProvider", "Tokens"]

#: ``fn()`` -> a Deferred of a fresh token (or the token itself).
TokenProvider = Callable[[], "Deferred[str] | str"]

_log: Final = Logger(namespace="pubnub_twisted.access")
#: A 403 that a fresh token may cure (PubNub's messages for these say so).
_RENEWABLE: Final = re.compile(r"expired|revoked", re.IGNORECASE)
#: At most this many seconds before expiry a token is renewed...
_LEAD: Final = 60.0
#: ...and at most this share of its lifetime.
_LEAD_SHARE: Final = 0.1
#: Seconds between attempts after a provider failed.
_RETRY: Final = 5.0


class Tokens:
    """One client's token and provider (``PubNub`` holds one)."""

    def __init__(self, reactor: IReactorTime) -> None:
        self._reactor = reactor
        self._token: str | None = None
        self._parsed: PNToken | None = None
        self._provider: TokenProvider | None = None
        self._timer: IDelayedCall | None = None
        self._renewing: Deferred[object] | None = None
        self._waiters: list[Deferred[bool]] = []
        self._renewed_at: float | None = None  # when the provider last gave a token

    def __repr__(self) -> str:
        return f"<Tokens token={'set' if self._token else 'none'} provider={bool(self._provider)}>"

    @property
    def token(self) -> str | None:
        """The token sent as ``auth``, if one is set."""
        return self._token

    def set_token(self, token: str | None) -> None:
        """Send ``token`` as ``auth`` from now on (``None``: back to ``auth_key``)."""
        if token is not None and (not isinstance(token, str) or not token):
            raise PubNubException(
                f"a token must be a non-empty string, not {type(token).__name__}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        self._token = token
        try:
            self._parsed = None if token is None else parse_token(token)
        except PubNubException:
            self._parsed = None  # sent as it is; no renewal before expiry
        self._schedule()

    def set_provider(self, provider: TokenProvider | None) -> None:
        """Renew tokens with ``provider`` (``None``: stop renewing)."""
        if provider is not None and not callable(provider):
            raise PubNubException(
                "a token provider must be callable", pn_error=PNERR_INVALID_ARGUMENT
            )
        self._provider = provider
        self._schedule()

    def auth(self, auth_key: str | None) -> str | None:
        """What to send as ``auth``: the token, else ``auth_key``."""
        return self._token or auth_key

    # -- renewal ----------------------------------------------------------

    def renewable(self, status: PNStatus, sent: str | None) -> bool:
        """Whether ``status`` is a 403 a fresh token could cure, and there is a provider.

        That is a 403 saying the token expired or was revoked, or any 403
        for a call sent with no token at all.
        """
        if self._provider is None or status.category is not PNStatusCategory.PNAccessDeniedCategory:
            return False
        if self._parsed is None and sent is None:
            return True
        return _RENEWABLE.search(_refusal_message(status)) is not None

    def renew_after_denial(self, sent: str | None) -> Deferred[bool]:
        """Get a fresh token after a 403 for ``sent``; fires True when there is a new one.

        If the token changed since ``sent`` went out, nothing is asked: the
        call is simply repeated with the current token.
        """
        if sent != self._token and self._token is not None:
            return succeed(True)
        return self.renew()

    def renew(self) -> Deferred[bool]:
        """Ask the provider for a token now (one request at a time); True if it gave one."""
        waiter: Deferred[bool] = Deferred(self._waiters.remove)
        self._waiters.append(waiter)
        if self._renewing is None:
            self._start()
        return waiter

    def _start(self) -> None:
        provider = self._provider
        if provider is None:
            self._finish(False)
            return
        before = self._token
        renewing: Deferred[object] = maybeDeferred(provider)
        self._renewing = renewing  # (set first: a provider may answer at once)
        accepted = renewing.addCallback(self._accept, before)
        accepted.addErrback(self._failed).addCallback(self._finish)

    def _accept(self, token: object, before: str | None) -> bool:
        self._renewing = None
        if not isinstance(token, str) or not token:
            raise PubNubException(
                "the token provider gave no token", pn_error=PNERR_INVALID_ARGUMENT
            )
        self._renewed_at = self._reactor.seconds()
        self.set_token(token)
        return token != before

    def _failed(self, failure: Failure) -> bool:
        self._renewing = None
        if failure.check(CancelledError):
            return False
        # The token is never logged; the provider's failure is.
        _log.failure("the token provider failed", failure)
        if self._provider is not None:  # try again soon (instead of at the usual time)
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = self._reactor.callLater(_RETRY, self._on_timer)
        return False

    def _finish(self, renewed: bool) -> None:
        self._renewing = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(renewed)

    def _schedule(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        parsed = self._parsed
        if self._provider is None:
            return
        if self._token is None:  # a provider and no token yet: ask for one at once
            self._timer = self._reactor.callLater(0, self._on_timer)
            return
        if parsed is None:
            return
        lead = min(_LEAD, parsed.ttl * 60 * _LEAD_SHARE)
        now = self._reactor.seconds()
        delay = max(0.0, parsed.expires_at - lead - now)
        if delay == 0 and self._renewed_at == now:  # a fresh token already due: do not spin
            delay = _RETRY
        self._timer = self._reactor.callLater(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.renew()

    def stop(self) -> None:
        """Cancel the renewal timer and any renewal in flight."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self._provider = None
        renewing, self._renewing = self._renewing, None
        if renewing is not None:
            renewing.cancel()
        self._finish(False)


def _refusal_message(status: PNStatus) -> str:
    """The service's own message in a refusal, without the names it lists.

    The status's error text adds the refused channels (``Forbidden
    (channels: expired-offers)``), and a channel's name must not pass for
    the reason: only the body's ``message`` (or a v3 error's) is read.
    Without a JSON object, the error text is all there is.
    """
    data = status.original_response
    if isinstance(data, dict):
        message = data.get("message") or data.get("error_message") or data.get("error")
        if isinstance(message, dict):  # Access Manager v3: {"error": {"message": ...}}
            message = message.get("message")
        return message if isinstance(message, str) else ""
    error = status.error_data
    return "" if error is None else error.information
