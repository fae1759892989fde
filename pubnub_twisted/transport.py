"""HTTP transport: treq over the client's own pool, TLS, deadlines, retries.

The transport knows nothing about presence.  It sends a GET for a URL that
the endpoints built (already encoded and signed), reads the whole body, and
either fires with an :class:`HTTPResponse` (any status code) or fails with
:class:`TransportFailure`, which says in PubNub's terms what went wrong.
Retries of failures worth retrying happen here, inside the call's overall
deadline.  Cancelling the returned Deferred aborts the request and fails it
with ``CancelledError``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from typing import Protocol as TypingProtocol

from OpenSSL import SSL
from service_identity.exceptions import VerificationError
from treq.client import HTTPClient
from twisted.internet import error as neterror
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.ssl import Certificate as TLSCertificate
from twisted.internet.ssl import CertificateOptions, trustRootFromCertificates
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    ResponseDone,
    ResponseFailed,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IPolicyForHTTPS, IResponse
from zope.interface import implementer

from pubnub_twisted._version import __version__
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.enums import PNReconnectionPolicy, PNStatusCategory
from pubnub_twisted.errors import (
    PNERR_CLIENT_TIMEOUT,
    PNERR_CONNECTION_ERROR,
    PNERR_REQUEST_CANCELLED,
    PNERR_TLS_ERROR,
    PNERR_TLS_UNTRUSTED,
)

__all__ = [
    "PNSDK",
    "HTTPResponse",
    "RetryPolicy",
    "Transport",
    "TransportFailure",
    "classify",
    "read_body",
    "retry_after",
    "tls_policy",
]

#: Sent as ``pnsdk`` and ``User-Agent``.
PNSDK = f"PubNub-Python-Twisted/{__version__}"

#: Status codes worth retrying: throttling and transient server trouble.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

_log = Logger(namespace="pubnub_twisted.transport")


@dataclass(frozen=True, slots=True)
class HTTPResponse:
    """A complete HTTP response: code, headers and the whole body."""

    code: int
    headers: Headers
    body: bytes


class TransportFailure(Exception):
    """A call that got no usable HTTP response, in PubNub's terms.

    ``category`` is the ``PNStatusCategory`` to report, ``pn_error`` the
    ``PNERR_*`` text and ``detail`` what happened, in words.
    """

    def __init__(
        self,
        category: PNStatusCategory,
        pn_error: str,
        detail: str,
        *,
        retryable: bool = False,
    ) -> None:
        super().__init__(f"{pn_error}: {detail}")
        self.category = category
        self.pn_error = pn_error
        self.detail = detail
        self.retryable = retryable


class _Cancellable(TypingProtocol):
    def cancel(self) -> Any: ...


def _leaf_reasons(failure: Failure) -> list[Failure]:
    """Unwrap Twisted's wrapper exceptions down to their causes."""
    reasons = getattr(failure.value, "reasons", None)
    if not reasons:
        return [failure]
    leaves: list[Failure] = []
    for reason in reasons:
        leaves.extend(_leaf_reasons(reason))
    return leaves


def classify(failure: Failure) -> TransportFailure:
    """Map a failed request to a category and a message that says what happened."""
    if failure.check(TransportFailure):
        value = failure.value
        assert isinstance(value, TransportFailure)
        return value
    leaves = _leaf_reasons(failure)
    for leaf in leaves:
        if leaf.check(VerificationError):
            return TransportFailure(
                PNStatusCategory.PNTLSUntrustedCertificateCategory,
                PNERR_TLS_UNTRUSTED,
                f"certificate does not match the host name ({leaf.value})",
            )
        if leaf.check(SSL.Error):
            text = str(leaf.value)
            if "certificate verify failed" in text or "certificate" in text.lower():
                return TransportFailure(
                    PNStatusCategory.PNTLSUntrustedCertificateCategory,
                    PNERR_TLS_UNTRUSTED,
                    f"certificate not trusted ({text})",
                )
            return TransportFailure(
                PNStatusCategory.PNTLSConnectionFailedCategory,
                PNERR_TLS_ERROR,
                f"TLS handshake failed ({text})",
            )
    first = leaves[0]
    if first.check(neterror.ConnectionRefusedError):
        return TransportFailure(
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            PNERR_CONNECTION_ERROR,
            "connection refused",
            retryable=True,
        )
    if first.check(neterror.DNSLookupError):
        return TransportFailure(
            PNStatusCategory.PNNetworkIssuesCategory,
            PNERR_CONNECTION_ERROR,
            f"DNS lookup failed ({first.value})",
            retryable=True,
        )
    if first.check(neterror.TimeoutError):
        return TransportFailure(
            PNStatusCategory.PNTimeoutCategory,
            PNERR_CLIENT_TIMEOUT,
            "connect timed out",
            retryable=True,
        )
    if failure.check(ResponseFailed):
        never = type(failure.value).__name__ == "ResponseNeverReceived"
        where = "before the response" if never else "while reading the response"
        return TransportFailure(
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            PNERR_CONNECTION_ERROR,
            f"connection lost {where} ({first.getErrorMessage()})",
            retryable=never,
        )
    if first.check(neterror.ConnectError, neterror.ConnectionLost, neterror.ConnectionDone):
        return TransportFailure(
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            PNERR_CONNECTION_ERROR,
            f"connection failed ({first.getErrorMessage()})",
            retryable=True,
        )
    return TransportFailure(
        PNStatusCategory.PNUnknownCategory,
        PNERR_CONNECTION_ERROR,
        f"{type(first.value).__name__}: {first.getErrorMessage()}",
    )


class _BodyReader(Protocol):
    """Collect a whole response body; on cancel, close the connection."""

    def __init__(self, finished: Deferred[bytes]) -> None:
        self._chunks: list[bytes] = []
        self._finished = finished

    def dataReceived(self, data: bytes) -> None:
        self._chunks.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._finished.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self._finished.callback(b"".join(self._chunks))
        else:
            self._finished.errback(reason)

    def abort(self) -> None:
        transport = self.transport
        if transport is None:
            return
        # The body's transport proxies the connection: closing it frees the
        # socket (the pool does not get it back).
        transport.loseConnection()


def read_body(response: IResponse) -> Deferred[bytes]:
    """Read the whole body; cancelling the Deferred closes the connection."""
    if response.length == 0:
        return succeed(b"")
    reader: _BodyReader

    def cancel(_: Deferred[bytes]) -> None:
        reader.abort()

    finished: Deferred[bytes] = Deferred(cancel)
    reader = _BodyReader(finished)
    response.deliverBody(reader)
    return finished


def retry_after(headers: Headers, now: float) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``), if it did."""
    raw = headers.getRawHeaders(b"retry-after")
    if not raw:
        return None
    text = raw[0].decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


@implementer(IPolicyForHTTPS)
class _NoVerifyPolicy:
    """TLS without certificate checks: only when the user turned them off."""

    def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
        return CertificateOptions(verify=False)


def tls_policy(config: PNConfiguration) -> IPolicyForHTTPS:
    """The HTTPS policy: system roots, a configured CA file, or (explicitly) none."""
    if not config.tls_verify:
        _log.warn(
            "TLS certificate verification is turned off (tls_verify=False): "
            "connections can be intercepted"
        )
        return _NoVerifyPolicy()
    if config.ca_certs_file:
        with open(config.ca_certs_file, "rb") as pem_file:
            pem = pem_file.read()
        marker = b"-----END CERTIFICATE-----"
        blocks = [block + marker for block in pem.split(marker) if b"-----BEGIN" in block]
        certificates = [TLSCertificate.loadPEM(block) for block in blocks]
        return BrowserLikePolicyForHTTPS(trustRoot=trustRootFromCertificates(certificates))
    return BrowserLikePolicyForHTTPS()


class RetryPolicy:
    """Which failures are retried, and after how long (see README)."""

    def __init__(
        self,
        policy: PNReconnectionPolicy,
        max_retries: int,
        base_delay: float,
        max_delay: float,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._rng = rng

    def delay(self, retry: int, asked: float | None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or None to stop.

        ``asked`` is the server's ``Retry-After``; it is honoured, and a wait
        longer than ``max_delay`` ends the retries.
        """
        if self.policy is PNReconnectionPolicy.NONE or retry > self.max_retries:
            return None
        if self.policy is PNReconnectionPolicy.LINEAR:
            wait = self.base_delay
        else:
            ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
            # "Equal jitter": at least half the backoff, at most all of it.
            wait = ceiling / 2 + self._rng() * ceiling / 2
        if asked is not None:
            if asked > self.max_delay:
                return None
            wait = max(wait, asked)
        return min(wait, self.max_delay)


class Transport:
    """Sends GET requests for one PubNub client and owns its connections."""

    def __init__(
        self,
        config: PNConfiguration,
        reactor: IReactorTime,
        agent: IAgent | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock = reactor
        self._pool: HTTPConnectionPool | None = None
        if agent is None:
            self._pool = HTTPConnectionPool(reactor, persistent=True)
            self._pool.maxPersistentPerHost = config.connection_pool_size
            agent = Agent(
                reactor,
                contextFactory=tls_policy(config) if config.ssl else BrowserLikePolicyForHTTPS(),
                connectTimeout=config.connect_timeout,
                pool=self._pool,
            )
        self._client = HTTPClient(agent)
        self._headers = Headers({b"User-Agent": [PNSDK.encode("ascii")]})
        self._retry = RetryPolicy(
            config.request_retry_policy,
            config.request_max_retries,
            config.request_retry_delay,
            config.request_retry_max_delay,
            rng,
        )
        self._calls: set[_Call] = set()
        self._stopped = False

    @property
    def clock(self) -> IReactorTime:
        """The reactor (or ``task.Clock``) timers run on."""
        return self._clock

    def get(self, url: str, timeout: float) -> Deferred[HTTPResponse]:
        """GET ``url`` (already encoded); the whole call ends within ``timeout`` seconds."""
        if self._stopped:
            return _failed(
                TransportFailure(
                    PNStatusCategory.PNCancelledCategory,
                    PNERR_REQUEST_CANCELLED,
                    "the client was stopped",
                )
            )
        call = _Call(self, url.encode("ascii"), timeout)
        self._calls.add(call)
        return call.start()

    def _send(self, url: bytes) -> Deferred[IResponse]:
        return self._client.request(  # type: ignore[return-value]
            "GET", url, headers=self._headers, allow_redirects=False, unbuffered=True
        )

    def _forget(self, call: _Call) -> None:
        self._calls.discard(call)

    def stop(self) -> Deferred[None]:
        """Cancel every call in flight (they end ``PNCancelledCategory``) and close the pool."""
        self._stopped = True
        for call in list(self._calls):
            call.abort(
                TransportFailure(
                    PNStatusCategory.PNCancelledCategory,
                    PNERR_REQUEST_CANCELLED,
                    "the client was stopped",
                )
            )
        if self._pool is None:
            return succeed(None)
        closed: Deferred[None] = self._pool.closeCachedConnections()
        return closed


def _failed(exc: Exception) -> Deferred[HTTPResponse]:
    d: Deferred[HTTPResponse] = Deferred()
    d.errback(Failure(exc))
    return d


class _Call:
    """One logical request: attempts, retries, the deadline and cancellation."""

    def __init__(self, transport: Transport, url: bytes, timeout: float) -> None:
        self._transport = transport
        self._url = url
        self._timeout = timeout
        self._result: Deferred[HTTPResponse] = Deferred(self._cancelled)
        self._current: _Cancellable | None = None
        self._deadline: IDelayedCall | None = None
        self._retries = 0
        self._started = 0.0
        self._done = False

    def start(self) -> Deferred[HTTPResponse]:
        clock = self._transport.clock
        self._started = clock.seconds()
        self._deadline = clock.callLater(self._timeout, self._expired)
        self._attempt()
        return self._result

    # -- attempts ------------------------------------------------------

    def _attempt(self) -> None:
        d = self._transport._send(self._url)
        self._current = d
        d.addCallbacks(self._got_response, self._attempt_failed)

    def _got_response(self, response: IResponse) -> None:
        if self._done:
            return
        body = read_body(response)
        self._current = body
        body.addCallbacks(
            lambda data: self._got_body(response, data),
            self._attempt_failed,
        )

    def _got_body(self, response: IResponse, body: bytes) -> None:
        if self._done:
            return
        if response.code in RETRYABLE_STATUS:
            now = self._transport.clock.seconds()
            if self._retry_later(retry_after(response.headers, now)):
                return
        self._finish(HTTPResponse(response.code, response.headers, body))

    def _attempt_failed(self, failure: Failure) -> None:
        if self._done:
            return
        problem = classify(failure)
        if problem.retryable and self._retry_later(None):
            return
        self._finish(Failure(problem))

    def _retry_later(self, asked: float | None) -> bool:
        """Schedule another attempt if the policy and the deadline allow it."""
        self._retries += 1
        wait = self._transport._retry.delay(self._retries, asked)
        if wait is None:
            return False
        clock = self._transport.clock
        if clock.seconds() + wait >= self._started + self._timeout:
            return False
        self._current = clock.callLater(wait, self._attempt)
        return True

    # -- endings -------------------------------------------------------

    def _close(self) -> None:
        """Mark the call done and drop its timers; the result is not fired."""
        self._done = True
        self._transport._forget(self)
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _finish(self, outcome: HTTPResponse | Failure) -> None:
        self._close()
        self._current = None
        if isinstance(outcome, Failure):
            self._result.errback(outcome)
        else:
            self._result.callback(outcome)

    def _stop_current(self) -> None:
        current, self._current = self._current, None
        if isinstance(current, Deferred):
            if not current.called:
                current.cancel()
        elif current is not None and IDelayedCall.providedBy(current) and current.active():
            current.cancel()

    def _expired(self) -> None:
        self._deadline = None
        self.abort(
            TransportFailure(
                PNStatusCategory.PNTimeoutCategory,
                PNERR_CLIENT_TIMEOUT,
                f"no complete response within {self._timeout:g} s",
            )
        )

    def abort(self, reason: TransportFailure) -> None:
        """End the call now with ``reason``, freeing whatever it holds."""
        if self._done:
            return
        current = self._current
        self._close()
        self._current = current
        self._stop_current()
        self._result.errback(Failure(reason))

    def _cancelled(self, _: Deferred[HTTPResponse]) -> None:
        # The caller cancelled: free everything; Deferred.cancel then fails
        # the result with CancelledError.
        if self._done:
            return
        self._close()
        self._stop_current()
