"""HTTP transport: one Agent over the client's own pool, TLS, deadlines, retries.

The transport knows nothing about presence.  It sends a request (GET, or
another method with an optional body) for a URL that the endpoints built
(already encoded and signed), reads the whole body, and either fires with an
:class:`HTTPResponse` (any status code) or fails with
:class:`TransportFailure`, which says in PubNub's terms what went wrong.
Retries of failures worth retrying happen here, inside the call's overall
deadline.  Cancelling the returned Deferred aborts the request and fails it
with ``CancelledError``.

Every call says whether it is idempotent.  One that is not (a publish, a
grant, a revoke) is retried only where the request provably never reached
the server: the connect failed (refused, DNS, connect timeout) or Twisted
reports ``RequestNotSent``.  Any other failure ends it with a
:class:`TransportFailure` whose ``outcome_unknown`` is true: the server may
or may not have acted on it.  Twisted's pool, which silently repeats a
bodiless GET or DELETE that fails on a reused keep-alive connection, is told
not to for such calls.

Requests go straight to the ``IAgent`` (Twisted's ``Agent`` over our pool,
or an injected one such as ``treq.testing.RequestTraversalAgent``), built
once.  treq's ``HTTPClient.request`` would re-parse every URL with hyperlink,
IDNA-encode the host and wrap the agent in cookie, redirect and
content-decoding agents on every call: about 40 % of a here_now's client CPU
(measured; see bench/README.md), for features PubNub's presence calls never
use.

Our ``Agent`` (:class:`_OriginAgent`) goes one step further: Twisted's
``Agent.request`` parses every URL with ``urlparse`` and asks for its
endpoint; ours parses each origin once and splits later URLs at the path,
then hands over to ``Agent``'s own connection and request code: about a
sixth less client CPU per request under the presence keeper's load.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from typing import Protocol as TypingProtocol
from weakref import WeakSet

from OpenSSL import SSL
from service_identity.exceptions import VerificationError
from twisted.internet import error as neterror
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import (
    IConsumer,
    IDelayedCall,
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.ssl import Certificate as TLSCertificate
from twisted.internet.ssl import CertificateOptions, trustRootFromCertificates
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web._newclient import RequestNotSent  # not re-exported by twisted.web.client
from twisted.web.client import (
    URI,
    Agent,
    BrowserLikePolicyForHTTPS,
    HTTPConnectionPool,
    ResponseDone,
    ResponseFailed,
    ResponseNeverReceived,
)
from twisted.web.error import SchemeNotSupported
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import (
    IAgent,
    IAgentEndpointFactory,
    IBodyProducer,
    IPolicyForHTTPS,
    IResponse,
)
from zope.interface import implementer

from pubnub_twisted._version import __version__
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.enums import PNReconnectionPolicy, PNStatusCategory
from pubnub_twisted.errors import (
    PNERR_CLIENT_TIMEOUT,
    PNERR_CONNECTION_ERROR,
    PNERR_INVALID_ARGUMENT,
    PNERR_REQUEST_CANCELLED,
    PNERR_TLS_ERROR,
    PNERR_TLS_UNTRUSTED,
)

__all__ = [
    "JSON_CONTENT_TYPE",
    "OUTCOME_UNKNOWN",
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

#: The ``Content-Type`` of a JSON request body.
JSON_CONTENT_TYPE = "application/json"

#: The words a :class:`TransportFailure` detail starts its second part with
#: when ``outcome_unknown`` is true.
OUTCOME_UNKNOWN = "outcome unknown"

#: Methods :meth:`Transport.request` sends.
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

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

    ``outcome_unknown`` is true when a call declared not idempotent failed
    after its request may have reached the server (the connection was lost
    after the request was written, the response never came, the deadline
    passed while it was out): the server may or may not have acted on it (a
    publish may or may not have happened), so it was not retried, and
    ``detail`` then says so after ``"; outcome unknown: "``.
    """

    def __init__(
        self,
        category: PNStatusCategory,
        pn_error: str,
        detail: str,
        *,
        retryable: bool = False,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(f"{pn_error}: {detail}")
        self.category = category
        self.pn_error = pn_error
        self.detail = detail
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown

    def _replace(self, detail: str, outcome_unknown: bool) -> TransportFailure:
        return TransportFailure(
            self.category,
            self.pn_error,
            detail,
            retryable=self.retryable,
            outcome_unknown=outcome_unknown,
        )


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


def _mismatched(error: VerificationError) -> str:
    """The names a certificate failed to match, quoted: ``'localhost'``."""
    names = []
    for mismatch in error.errors:
        wanted = getattr(mismatch, "mismatched_id", None)
        name = getattr(wanted, "hostname", None) or getattr(wanted, "ip", None)
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        names.append(repr(str(name)) if name is not None else repr(mismatch))
    return ", ".join(names) or repr(error)


def never_sent(failure: Failure) -> bool:
    """Whether a failed attempt provably sent no byte of its request.

    True only for a connect that failed (``ConnectError`` and its kinds:
    refused, connect timeout, no route...; ``DNSLookupError``) and for
    Twisted's ``RequestNotSent`` (the connection could take no request), seen
    unwrapped: Twisted's HTTP client reports every failure after it started
    writing wrapped (``RequestTransmissionFailed``, ``ResponseFailed``...),
    so those never count, whatever they wrap.
    """
    return failure.check(neterror.ConnectError, neterror.DNSLookupError, RequestNotSent) is not None


def classify(failure: Failure, *, body: bool = False) -> TransportFailure:
    """Map a failed request to a category and a message that says what happened.

    ``body`` says the failure came while the response body was being read.
    """
    if failure.check(TransportFailure):
        value = failure.value
        assert isinstance(value, TransportFailure)
        return value
    leaves = _leaf_reasons(failure)
    for leaf in leaves:
        if leaf.check(VerificationError):
            assert isinstance(leaf.value, VerificationError)
            return TransportFailure(
                PNStatusCategory.PNTLSUntrustedCertificateCategory,
                PNERR_TLS_UNTRUSTED,
                f"certificate does not match the host name {_mismatched(leaf.value)}",
            )
        if leaf.check(SSL.Error):
            text = str(leaf.value)
            if "certificate verify failed" in text or "certificate" in text.lower():
                return TransportFailure(
                    PNStatusCategory.PNTLSUntrustedCertificateCategory,
                    PNERR_TLS_UNTRUSTED,
                    f"certificate not trusted ({text})",
                )
            hint = ""
            if "wrong version number" in text or "packet length too long" in text:
                hint = ": the server answered in plain HTTP (a local server wants ssl off)"
            return TransportFailure(
                PNStatusCategory.PNTLSConnectionFailedCategory,
                PNERR_TLS_ERROR,
                f"TLS handshake failed ({text}){hint}",
            )
    first = leaves[0]
    if failure.check(RequestNotSent):
        return TransportFailure(
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            PNERR_CONNECTION_ERROR,
            "the connection closed before the request could be sent",
            retryable=True,
        )
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
        never = failure.check(ResponseNeverReceived) is not None
        why = first.getErrorMessage()
        if never:
            what = f"connection lost before the response ({why})"
        elif not body:
            what = f"connection lost while reading the response headers ({why})"
        elif first.check(neterror.ConnectionDone):
            what = "connection closed before the whole response body arrived (body truncated)"
        elif first.check(neterror.ConnectionLost):
            what = f"connection lost while reading the response body ({why})"
        else:
            what = f"response body unreadable ({type(first.value).__name__}: {why})"
        return TransportFailure(
            PNStatusCategory.PNUnexpectedDisconnectCategory,
            PNERR_CONNECTION_ERROR,
            what,
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
        transport: Any = self.transport  # a TransportProxyProducer: an IPushProducer
        if transport is None:
            return
        # The body's transport proxies the connection.  Not loseConnection():
        # over TLS that sends a close alert and keeps the socket until the
        # peer answers, which a stalled or dead peer never does.
        # stopProducing() closes the socket itself (under TLS, if any); the
        # pool does not get the connection back.
        transport.stopProducing()


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


#: What Agent accepts in a URL: printable ASCII, no spaces (as Twisted checks).
_SENDABLE_URL = re.compile(rb"\A[\x21-\x7e]+\Z")
#: Origins parsed at most (a client talks to one or two).
_MAX_ORIGINS = 16
#: Agent's own steps that the fast path reuses; without them, plain Agent.request.
_AGENT_STEPS = all(hasattr(Agent, name) for name in ("_getEndpoint", "_requestWithEndpoint"))


class _OriginAgent(Agent):
    """Twisted's ``Agent``, parsing each origin once instead of every URL.

    ``Agent.request`` runs ``urlparse`` over the whole URL and asks for the
    origin's endpoint on every call.  Here the part before the path is
    parsed the first time it is seen and kept (scheme, host, port, the pool
    key and the endpoint); later URLs of the same origin are split at their
    path and go straight to ``Agent``'s own ``_requestWithEndpoint``, the
    same pool, connections, headers and request bytes.  Anything unusual (no
    path, a fragment, a character Agent would refuse, a Twisted without
    those steps) takes ``Agent.request`` unchanged.
    """

    _origins: dict[bytes, tuple[tuple[bytes, bytes, int], IStreamClientEndpoint, URI]]

    @classmethod
    def over(cls, reactor: Any, endpoints: IAgentEndpointFactory, pool: Any) -> _OriginAgent:
        """An agent making its connections with ``endpoints``, kept in ``pool``."""
        agent: _OriginAgent = cls.usingEndpointFactory(  # type: ignore[no-untyped-call]
            reactor, endpoints, pool=pool
        )
        agent._origins = {}
        return agent

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        scheme_end = uri.find(b"://")
        start = uri.find(b"/", scheme_end + 3) if scheme_end > 0 else -1
        prefix = uri[:start]
        if (
            not _AGENT_STEPS
            or start < 0
            or b"?" in prefix
            or b"#" in uri
            or not _SENDABLE_URL.match(uri)
        ):
            return super().request(method, uri, headers, bodyProducer)
        known = self._origins.get(prefix)
        if known is None:
            origin = URI.fromBytes(prefix + b"/")
            try:
                endpoint: IStreamClientEndpoint = self._getEndpoint(  # type: ignore[no-untyped-call]
                    origin
                )
            except SchemeNotSupported:  # Agent.request fails it, saying why
                return super().request(method, uri, headers, bodyProducer)
            known = ((origin.scheme, origin.host, origin.port), endpoint, origin)
            if len(self._origins) < _MAX_ORIGINS:
                self._origins[prefix] = known
        key, endpoint, origin = known
        target = uri[start:]
        path, _, query = target.partition(b"?")
        parsed = URI(origin.scheme, origin.netloc, origin.host, origin.port, path, b"", query, b"")
        return self._requestWithEndpoint(
            key, endpoint, method, parsed, headers, bodyProducer, target
        )


@implementer(IAgentEndpointFactory)
class _Endpoints:
    """The endpoints ``Agent`` makes (TCP; TLS over it for https), remembering each connection.

    So that :meth:`abort_all` can close every connection still open, whatever
    state it is in (the pool only knows the idle ones), and so that an
    :class:`_Attempt` can learn whether its request went out on a new
    connection still being opened (see :meth:`watching`).
    """

    def __init__(self, reactor: Any, policy: IPolicyForHTTPS, connect_timeout: float) -> None:
        self._reactor = reactor
        self._policy = policy
        self._timeout = connect_timeout
        self.connections: WeakSet[Protocol] = WeakSet()
        self._cache: dict[tuple[bytes, bytes, int], IStreamClientEndpoint] = {}
        #: The attempt whose request is being handed to the agent, if watched.
        self.attempt: _Attempt | None = None

    @contextmanager
    def watching(self, attempt: _Attempt) -> Iterator[None]:
        """Tell ``attempt`` about a connect started inside the block.

        The pool opens a new connection (calls ``connect``) synchronously
        inside ``Agent.request`` when it has none idle, as it hands out
        cached ones synchronously (see :func:`_unretried`).
        """
        self.attempt = attempt
        try:
            yield
        finally:
            self.attempt = None

    def endpointForURI(self, uri: URI) -> IStreamClientEndpoint:
        # One endpoint per origin, made once: building one IDNA-encodes the
        # host and makes a TLS connection creator, and Agent asks for it on
        # every request (even when the pool has a connection ready).
        key = (uri.scheme, uri.host, uri.port)
        endpoint = self._cache.get(key)
        if endpoint is None:
            endpoint = HostnameEndpoint(
                self._reactor, uri.host.decode("ascii"), uri.port, timeout=self._timeout
            )
            if uri.scheme == b"https":
                creator = self._policy.creatorForNetloc(uri.host, uri.port)
                endpoint = wrapClientTLS(creator, endpoint)
            endpoint = self._cache[key] = _Remembering(endpoint, self)
        return endpoint

    def abort_all(self) -> None:
        """Abort (not close politely) every connection still open."""
        for protocol in list(self.connections):
            transport: Any = protocol.transport
            if transport is not None and transport.connected:
                transport.abortConnection()


@implementer(IStreamClientEndpoint)
class _Remembering:
    """An endpoint that adds each protocol it connects to its owner's set.

    It also tells the attempt being watched (if any) that it waits for this
    connect, and when the connection is open.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, owner: _Endpoints) -> None:
        self._endpoint = endpoint
        self._owner = owner

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        attempt = self._owner.attempt
        if attempt is not None:
            attempt.connecting = True

        def remember(protocol: Any) -> Any:
            self._owner.connections.add(protocol)
            if attempt is not None:
                attempt.connected = True
            return protocol

        connected: Deferred[IProtocol] = self._endpoint.connect(protocolFactory)
        return connected.addCallback(remember)


class _Attempt:
    """Whether one attempt's request may have left this machine.

    It may have, unless the attempt is known to wait for a new connection
    that is not open yet: an attempt on a reused connection, or through an
    injected agent (nothing is known about its connections), may have sent
    from the start.
    """

    def __init__(self) -> None:
        #: The attempt waits for a new connection (a connect was started for it).
        self.connecting = False
        #: That connection is open; the request is written at once.
        self.connected = False

    @property
    def maybe_sent(self) -> bool:
        return self.connected or not self.connecting


@implementer(IBodyProducer)
class _BytesProducer:
    """A request body already in memory, written whole as soon as it is asked for.

    Twisted's ``FileBodyProducer`` writes through a ``Cooperator``, by
    default the global one, which runs on the global reactor and never on a
    ``task.Clock``; treq's in-memory producer is private to its test helpers.
    Writing the bytes at once needs neither: the transport buffers them, and
    the call's deadline covers their delivery like the rest of the call.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.length = len(body)

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        consumer.write(self._body)
        return succeed(None)

    def stopProducing(self) -> None:
        """Nothing to stop: everything was written at once."""

    def pauseProducing(self) -> None:
        """Nothing to pause: everything was written at once."""

    def resumeProducing(self) -> None:
        """Nothing to resume: everything was written at once."""


@contextmanager
def _unretried(pool: HTTPConnectionPool) -> Iterator[None]:
    """Turn off ``pool``'s automatic retry for the connection it hands out inside the block.

    On a reused keep-alive connection, Twisted's pool wraps the connection in
    ``_RetryingHTTP11ClientProtocol``, which sends a bodiless GET, HEAD,
    OPTIONS, DELETE or TRACE a second time, on a new connection, when the
    first try gets no response.  Right for an idempotent call; a publish by
    GET (or a revoke by DELETE) could happen twice.

    ``Agent.request`` takes its connection from the pool synchronously,
    before it returns (``_AgentBase._requestWithEndpoint`` calls
    ``getConnection`` directly), so a request made inside the block gets a
    connection that is not wrapped.  tests/test_faults_idempotency.py
    proves it on a real socket.
    """
    pool.retryAutomatically = False
    try:
        yield
    finally:
        pool.retryAutomatically = True


@dataclass(frozen=True, slots=True)
class _Request:
    """What one call sends, every attempt the same (``repr`` shows no URL or body)."""

    method: bytes
    url: str
    headers: Headers
    body: bytes | None
    idempotent: bool

    def __repr__(self) -> str:
        size = "no body" if self.body is None else f"{len(self.body)}-byte body"
        return f"<_Request {self.method.decode()} {size} idempotent={self.idempotent}>"


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
    """Sends the requests of one PubNub client and owns its connections."""

    def __init__(
        self,
        config: PNConfiguration,
        reactor: IReactorTime,
        agent: IAgent | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock = reactor
        self._pool: HTTPConnectionPool | None = None
        self._endpoints: _Endpoints | None = None
        if agent is None:
            self._pool = HTTPConnectionPool(reactor, persistent=True)
            self._pool.maxPersistentPerHost = config.connection_pool_size
            policy = tls_policy(config) if config.ssl else BrowserLikePolicyForHTTPS()
            self._endpoints = _Endpoints(reactor, policy, config.connect_timeout)
            agent = _OriginAgent.over(reactor, self._endpoints, self._pool)
        self._agent = agent
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

    def get(self, url: str, timeout: float, retries: bool = True) -> Deferred[HTTPResponse]:
        """GET ``url`` (already encoded), an idempotent call; see :meth:`request`.

        ``retries=False``: one attempt only, whatever the retry policy says
        (the subscribe loop reconnects on its own terms).
        """
        return self.request("GET", url, timeout, idempotent=True, retries=retries)

    def request(
        self,
        method: str,
        url: str,
        timeout: float,
        *,
        idempotent: bool,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retries: bool = True,
    ) -> Deferred[HTTPResponse]:
        """Send one request; the whole call ends within ``timeout`` seconds.

        ``method``: GET, POST, PUT, PATCH or DELETE.  ``url`` is already
        encoded (and signed).  ``body``: the bytes to send (with a
        ``Content-Length``), or None for none; give its type in ``headers``
        (``{"Content-Type": JSON_CONTENT_TYPE}``).  ``headers`` are added to
        the ``User-Agent`` the transport sends.  Neither the URL, the body nor
        the headers are ever logged or quoted in a failure.

        ``idempotent``: whether sending the request twice does no more than
        sending it once.  An idempotent call is retried as the retry policy
        says (failures worth retrying, ``Retry-After``, all within the
        deadline).  A call that is not is retried only where the request
        provably never reached the server; any other failure fails it with
        :class:`TransportFailure` ``outcome_unknown=True``, and an answer
        with a retryable status (429, 5xx) is returned as it is.
        ``retries=False``: one attempt only, whatever the policy says.

        Fires with :class:`HTTPResponse` for any status code, or fails with
        :class:`TransportFailure`; cancelling the Deferred aborts the request
        and frees its connection (``CancelledError``).  ``ValueError`` for a
        method not listed above.
        """
        verb = method.upper()
        if verb not in _METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        if self._stopped:
            return _failed(
                TransportFailure(
                    PNStatusCategory.PNCancelledCategory,
                    PNERR_REQUEST_CANCELLED,
                    "the client was stopped",
                )
            )
        sent = self._headers
        if headers:
            sent = self._headers.copy()
            for name, value in headers.items():
                sent.setRawHeaders(name.encode("ascii"), [value.encode("latin-1")])
        request = _Request(verb.encode("ascii"), url, sent, body, idempotent)
        call = _Call(self, request, timeout, retries)
        self._calls.add(call)
        return call.start()

    def _send(self, request: _Request, attempt: _Attempt) -> Deferred[IResponse]:
        producer = None if request.body is None else _BytesProducer(request.body)
        url = request.url.encode("ascii")
        if request.idempotent or self._pool is None or self._endpoints is None:
            return self._agent.request(request.method, url, request.headers, producer)
        with _unretried(self._pool), self._endpoints.watching(attempt):
            return self._agent.request(request.method, url, request.headers, producer)

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
        # The pool closes idle connections politely; over TLS that waits for
        # the peer's close alert, which a dead peer never sends, and stop()
        # would never fire.  Abort whatever is still open instead.
        assert self._endpoints is not None
        self._endpoints.abort_all()
        return closed


def _unsendable(url: str, exc: Exception) -> TransportFailure:
    """The failure for a request the HTTP client refused to send."""
    origin = url.partition("://")[2].partition("/")[0]
    return TransportFailure(
        PNStatusCategory.PNBadRequestCategory,
        PNERR_INVALID_ARGUMENT,
        f"no request could be made for origin {origin!r} ({type(exc).__name__})",
    )


#: Query parameters that must never be shown (in messages or logs).
_SECRET_PARAMETERS = re.compile(r"\b(auth|signature)=[^&\s'\"]*")
#: A revoke_token URL carries the token in its path.
_TOKEN_IN_PATH = re.compile(r"(/v3/pam/[^/\s]*/grant/)[^?\s'\"]*")


def _redacted(problem: TransportFailure) -> TransportFailure:
    """``problem`` without any ``auth=`` or ``signature=`` value its detail quotes."""
    detail = _SECRET_PARAMETERS.sub(r"\1=<hidden>", problem.detail)
    detail = _TOKEN_IN_PATH.sub(r"\1<hidden>", detail)
    if detail == problem.detail:
        return problem
    return problem._replace(detail, problem.outcome_unknown)


def _outcome_unknown(problem: TransportFailure) -> TransportFailure:
    """``problem``, saying that a call that is not idempotent may have happened."""
    if problem.outcome_unknown:
        return problem
    detail = (
        f"{problem.detail}; {OUTCOME_UNKNOWN}: the request may have reached the server, "
        "which may or may not have acted on it (not retried: the call is not idempotent)"
    )
    return problem._replace(detail, True)


def _failed(exc: Exception) -> Deferred[HTTPResponse]:
    d: Deferred[HTTPResponse] = Deferred()
    d.errback(Failure(exc))
    return d


class _Call:
    """One logical request: attempts, retries, the deadline and cancellation."""

    def __init__(
        self, transport: Transport, request: _Request, timeout: float, retries: bool = True
    ) -> None:
        self._transport = transport
        self._request = request
        self._timeout = timeout
        self._may_retry = retries
        self._result: Deferred[HTTPResponse] = Deferred(self._cancelled)
        self._current: _Cancellable | None = None
        self._deadline: IDelayedCall | None = None
        self._retries = 0
        self._started = 0.0
        self._done = False
        #: The attempt out now or last, unless it provably sent nothing (for
        #: "outcome unknown" when a call that is not idempotent fails).
        self._sending: _Attempt | None = None
        #: What the call is waiting for, said when the deadline passes.
        self._waiting_for = "a connection and the response headers"

    def start(self) -> Deferred[HTTPResponse]:
        clock = self._transport.clock
        self._started = clock.seconds()
        self._deadline = clock.callLater(self._timeout, self._expired)
        self._attempt()
        return self._result

    # -- attempts ------------------------------------------------------

    def _attempt(self) -> None:
        self._waiting_for = "a connection and the response headers"
        attempt = _Attempt()
        try:
            d = self._transport._send(self._request, attempt)
        except Exception as exc:
            # Raised before anything was sent (an origin the agent cannot parse,
            # say).  The exception's text may quote the whole URL, auth key
            # and signature included, so only its type is kept.
            self._finish(Failure(_unsendable(self._request.url, exc)))
            return
        self._sending = attempt
        self._current = d
        d.addCallbacks(self._got_response, self._attempt_failed)

    def _got_response(self, response: IResponse) -> None:
        if self._done:
            return
        self._waiting_for = "the rest of the response body"
        body = read_body(response)
        self._current = body
        body.addCallbacks(
            lambda data: self._got_body(response, data),
            lambda failure: self._attempt_failed(failure, body=True),
        )

    def _got_body(self, response: IResponse, body: bytes) -> None:
        if self._done:
            return
        # An answer means the request reached the server: a call that is not
        # idempotent is never sent again, whatever the status.
        if response.code in RETRYABLE_STATUS and self._request.idempotent:
            now = self._transport.clock.seconds()
            if self._retry_later(retry_after(response.headers, now)):
                return
        self._finish(HTTPResponse(response.code, response.headers, body))

    def _attempt_failed(self, failure: Failure, body: bool = False) -> None:
        if self._done:
            return
        problem = _redacted(classify(failure, body=body))
        if not self._request.idempotent:
            # A certificate is checked during the TLS handshake, before any
            # application data can flow: such a request never left either.
            untrusted = problem.category is PNStatusCategory.PNTLSUntrustedCertificateCategory
            if never_sent(failure) or untrusted:
                self._sending = None
            else:
                self._finish(Failure(self._told(problem)))
                return
        if problem.retryable and self._retry_later(None):
            return
        self._finish(Failure(self._told(problem)))

    def _told(self, problem: TransportFailure) -> TransportFailure:
        """``problem``, saying "outcome unknown" where that is so."""
        sending = self._sending
        if self._request.idempotent or sending is None or not sending.maybe_sent:
            return problem
        return _outcome_unknown(problem)

    def _retry_later(self, asked: float | None) -> bool:
        """Schedule another attempt if the policy and the deadline allow it."""
        if not self._may_retry:
            return False
        self._retries += 1
        wait = self._transport._retry.delay(self._retries, asked)
        if wait is None:
            return False
        clock = self._transport.clock
        if clock.seconds() + wait >= self._started + self._timeout:
            return False
        self._current = clock.callLater(wait, self._attempt)
        self._waiting_for = "a retry"
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
            # Not only when ``not current.called``: the agent's Deferred has
            # been called once it is waiting on a chained one (the connect, or
            # the response on an open connection), and cancel() passes down
            # to that one.  Skipping it left the connect going or the
            # connection open.
            current.cancel()
        elif current is not None and IDelayedCall.providedBy(current) and current.active():
            current.cancel()

    def _expired(self) -> None:
        self._deadline = None
        self.abort(
            TransportFailure(
                PNStatusCategory.PNTimeoutCategory,
                PNERR_CLIENT_TIMEOUT,
                f"no complete response within {self._timeout:g} s "
                f"(waiting for {self._waiting_for})",
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
        self._result.errback(Failure(self._told(reason)))

    def _cancelled(self, _: Deferred[HTTPResponse]) -> None:
        # The caller cancelled: free everything; Deferred.cancel then fails
        # the result with CancelledError.
        if self._done:
            return
        self._close()
        self._stop_current()
