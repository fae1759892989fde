"""What every endpoint shares: validation, URL building, signing, response mapping.

An endpoint subclass only says what is particular to it: its path, its own
query parameters, its checks and how its JSON becomes a result, and, when it
is not a GET, its HTTP method, body and whether it is idempotent.
Everything else (the common parameters, ``auth``, the signature, the HTTP
and failure mapping to ``PNStatus``) lives here, once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from pubnub_twisted.endpoints.naming import refuse_comma
from pubnub_twisted.enums import PNOperationType, PNStatusCategory
from pubnub_twisted.errors import (
    PNERR_CHANNEL_OR_GROUP_MISSING,
    PNERR_CLIENT_ERROR,
    PNERR_INVALID_ARGUMENT,
    PNERR_JSON_DECODING_FAILED,
    PNERR_MALFORMED_RESPONSE,
    PNERR_PUBLISH_KEY_MISSING,
    PNERR_SERVER_ERROR,
    PNERR_STATE_MISSING,
    PNERR_STATE_NOT_SERIALIZABLE,
    PNERR_SUBSCRIBE_KEY_MISSING,
    PNERR_URL_TOO_LONG,
    PNERR_UUID_MISSING,
    PubNubException,
)
from pubnub_twisted.models import JSONObject, PNEnvelope, PNErrorData, PNStatus
from pubnub_twisted.protocol import (
    MAX_URL_LENGTH,
    MAX_UUID_LENGTH,
    PRESENCE_SUFFIX,
    QueryPairs,
    encode,
    encode_names,
    encode_query,
    json_dumps,
    request_signature,
)
from pubnub_twisted.transport import JSON_CONTENT_TYPE, PNSDK, HTTPResponse, TransportFailure

if TYPE_CHECKING:
    from pubnub_twisted.endpoints.naming import NameRules
    from pubnub_twisted.pubnub import PubNub

__all__ = ["ActingUUID", "Endpoint", "Names", "ResponseShapeError", "TargetUUID", "json_body"]

R = TypeVar("R")

#: What channel and group setters accept: a string (split on commas), or
#: lists / tuples of names (a name holding a comma is refused: PubNub's
#: naming rules forbid it).
Names = str | Iterable[str]

_log = Logger(namespace="pubnub_twisted")
_request_log = Logger(namespace="pubnub_twisted.request")


class ResponseShapeError(ValueError):
    """A JSON answer that lacks a key or has one of the wrong type."""


def expect(data: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """``data[key]``, checked to be of ``kind``; else :class:`ResponseShapeError`."""
    if not isinstance(data, dict):
        raise ResponseShapeError(f"expected a JSON object, got {type(data).__name__}")
    if key not in data:
        raise ResponseShapeError(f"missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ResponseShapeError(f"key {key!r} has the wrong type ({type(value).__name__})")
    return value


def expect_names(data: Any, key: str) -> list[str]:
    """``data[key]``, checked to be a list of strings (channel names)."""
    names = expect(data, key, list)
    for name in names:
        if not isinstance(name, str):
            raise ResponseShapeError(f"key {key!r} holds {name!r}, not a string")
    return list(names)


def json_body(value: Any) -> bytes:
    """``value`` as a JSON request body, the way PubNub's SDK writes one.

    ``json.dumps`` defaults (ASCII, ``", "`` and ``": "`` separators); NaN
    and infinities refused with ``ValueError``, like :func:`json_dumps`.
    """
    return json_dumps(value).encode("ascii")


def check_uuid(uuid: Any, what: str = "uuid") -> str:
    """Return ``uuid`` if it is a usable uuid (non-empty str, at most 92 characters)."""
    if not isinstance(uuid, str) or not uuid:
        raise PubNubException(
            f"{what} must be a non-empty string, not {uuid!r}", pn_error=PNERR_UUID_MISSING
        )
    if len(uuid) > MAX_UUID_LENGTH:
        raise PubNubException(
            f"{what} is longer than {MAX_UUID_LENGTH} characters", pn_error=PNERR_UUID_MISSING
        )
    require_encodable(uuid, what, PNERR_UUID_MISSING)
    return uuid


def require_encodable(text: str, what: str, pn_error: str) -> None:
    """Refuse ``text`` unless it can go on the wire (UTF-8 has no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PubNubException(
            f"{what} {text!r} is not valid Unicode (lone surrogates cannot be sent)",
            pn_error=pn_error,
        ) from None


def _names(args: tuple[Any, ...], what: str) -> list[str]:
    """Normalise setter arguments to a list of names (see :data:`Names`)."""
    names: list[str] = []
    for arg in args:
        if isinstance(arg, str):
            names.extend(part for part in arg.split(",") if part)
        elif isinstance(arg, (bytes, bytearray, dict)) or not isinstance(arg, Iterable):
            raise PubNubException(
                f"{what} must be strings, or lists or tuples of strings, not {type(arg).__name__}",
                pn_error=PNERR_INVALID_ARGUMENT,
            )
        else:
            for item in arg:
                if not isinstance(item, str) or not item:
                    raise PubNubException(
                        f"every name in {what} must be a non-empty string, got {item!r}",
                        pn_error=PNERR_INVALID_ARGUMENT,
                    )
                refuse_comma(item, f"{what} item")
                names.append(item)
    for name in names:
        require_encodable(name, f"{what} name", PNERR_INVALID_ARGUMENT)
    return names


def check_state(state: Any) -> str:
    """Serialize a state object, or raise the validation error that says why not."""
    if not isinstance(state, dict):
        raise PubNubException(
            f"state must be a dict, not {type(state).__name__}", pn_error=PNERR_STATE_MISSING
        )
    try:
        return json_dumps(_check_keys(state))
    except (TypeError, ValueError) as exc:
        raise PubNubException(str(exc), pn_error=PNERR_STATE_NOT_SERIALIZABLE) from exc


def _check_keys(value: Any) -> Any:
    # json.dumps silently turns int keys into strings; refuse instead, so
    # what comes back is what was set.
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"keys must be strings, got {key!r}")
            _check_keys(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_keys(item)
    return value


class Endpoint(Generic[R]):
    """A request builder: setters return ``self``; ``deferred()`` sends it."""

    _operation: ClassVar[PNOperationType]
    #: False for calls whose path names no key (``/time/0``).
    _needs_subscribe_key: ClassVar[bool] = True

    def __init__(self, pubnub: PubNub) -> None:
        self._pubnub = pubnub
        self._problem: PubNubException | None = None
        self._auth_sent: str | None = None  # the auth (token) of the last URL built
        #: The body :meth:`_url` signed, for :meth:`_send` to send.
        self._payload: bytes | None = None

    # -- hooks for subclasses -------------------------------------------

    def _method(self) -> str:
        """The HTTP method: ``"GET"`` unless the endpoint says otherwise.

        ``"POST"``, ``"DELETE"``, ``"PATCH"`` or ``"PUT"``; it is signed (v2
        signatures start with it; a publish by POST gets PubNub's v1
        signature, see :func:`~pubnub_twisted.protocol.signature_version`).
        """
        return "GET"

    def _body(self) -> bytes | None:
        """The request body (use :func:`json_body`), or None to send none.

        Called once per send, after :meth:`_validate`; sent with
        ``Content-Type: application/json`` and covered by the signature.
        Raise ``PubNubException`` for a value that cannot be sent (a
        ``TypeError`` or ``ValueError`` from :func:`json_body` becomes one,
        ``PNERR_INVALID_ARGUMENT``).  Never logged: it may hold tokens.
        """
        return None

    def _idempotent(self) -> bool:
        """Whether sending the request twice does no more than sending it once.

        The default is true for GET and false for every other method.  Say
        False for a GET that changes something (a publish by GET): such a
        call is retried only where the request provably never reached the
        server (see :meth:`~pubnub_twisted.transport.Transport.request`).
        """
        return self._method() == "GET"

    def _validate(self) -> None:
        """Raise ``PubNubException`` when the request cannot be sent."""

    def _path(self, subscribe_key: str) -> str:
        raise NotImplementedError

    def _query(self) -> QueryPairs:
        """The endpoint's own query parameters, values decoded."""
        return []

    def _parse(self, data: JSONObject) -> R:
        raise NotImplementedError

    def _decode(self, data: Any) -> R:
        """Turn a 2xx answer's decoded JSON into the result (most answers are objects)."""
        if not isinstance(data, dict):
            raise ResponseShapeError(f"expected a JSON object, got {type(data).__name__}")
        return self._parse(data)

    def _send(self, url: str) -> Deferred[HTTPResponse]:
        """Hand the request to the transport: REST deadline, REST retries (if idempotent)."""
        config = self._pubnub.config
        body = self._payload
        return self._pubnub._transport.request(
            self._method(),
            url,
            config.non_subscribe_request_timeout,
            idempotent=self._idempotent(),
            body=body,
            headers=None if body is None else {"Content-Type": JSON_CONTENT_TYPE},
        )

    def _affected(self) -> tuple[list[str] | None, list[str] | None]:
        """Channels and groups to report in the status."""
        return None, None

    def _sender_uuid(self) -> Any:
        """The uuid the request is made as (sent as ``uuid``): this client's own."""
        return self._pubnub.config.uuid

    def _check_names(self, rules: NameRules) -> None:
        """Apply PubNub's naming rules to the names this call sends (refuse or warn)."""

    # -- helpers for setters -------------------------------------------

    def _configure(self, **options: Any) -> Self:
        """Apply keyword arguments given to ``pubnub.<endpoint>(...)``."""
        for name, value in options.items():
            if value is not None:
                getattr(self, name)(value)
        return self

    def _names(self, args: tuple[Any, ...], what: str) -> list[str]:
        try:
            return _names(args, what)
        except PubNubException as exc:
            self._problem = self._problem or exc
            return []

    def _flag(self, value: Any, what: str) -> bool:
        if not isinstance(value, bool):
            self._problem = self._problem or PubNubException(
                f"{what} must be True or False, not {value!r}", pn_error=PNERR_INVALID_ARGUMENT
            )
            return False
        return value

    # -- building --------------------------------------------------------

    def _url(self) -> str:
        """Validate and build the full URL (encoded, signed, body included)."""
        if self._problem is not None:
            raise self._problem
        config = self._pubnub.config
        if self._needs_subscribe_key and not config.subscribe_key:
            raise PubNubException(pn_error=PNERR_SUBSCRIBE_KEY_MISSING)
        uuid = check_uuid(self._sender_uuid())
        self._validate()
        try:
            self._payload = body = self._body()
        except (TypeError, ValueError) as exc:  # json_body on a value JSON cannot hold
            raise PubNubException(
                f"the request body cannot be sent as JSON ({exc})", pn_error=PNERR_INVALID_ARGUMENT
            ) from exc
        self._check_names(self._pubnub._name_rules)
        subscribe_key = config.subscribe_key or ""  # only /time/0 goes without one
        path = self._path(subscribe_key)
        pairs = self._query()
        pairs.append(("pnsdk", PNSDK))
        pairs.append(("uuid", uuid))
        self._auth_sent = self._pubnub._tokens.auth(config.auth_key)
        if self._auth_sent:
            pairs.append(("auth", self._auth_sent))
        if config.secret_key:
            if not config.publish_key:
                raise PubNubException(
                    "a publish key is needed to sign requests", pn_error=PNERR_PUBLISH_KEY_MISSING
                )
            pairs.append(("timestamp", str(int(self._pubnub.reactor.seconds()))))
            signature = request_signature(
                config.secret_key,
                publish_key=config.publish_key,
                subscribe_key=subscribe_key,
                method=self._method(),
                path=path,
                pairs=pairs,
                body=body or b"",
            )
            pairs.append(("signature", signature))
        url = f"{config.scheme}://{config.origin}{path}?{encode_query(pairs)}"
        if len(url) > MAX_URL_LENGTH:
            raise PubNubException(
                f"the request would be {len(url)} bytes long; PubNub accepts at most "
                f"{MAX_URL_LENGTH} (too much state or too many channels)",
                pn_error=PNERR_URL_TOO_LONG,
            )
        return url

    # -- terminal methods -----------------------------------------------

    def deferred(self) -> Deferred[PNEnvelope[R]]:
        """Send the request.  Fires with an envelope for every outcome.

        Validation errors and failed calls give an envelope whose
        ``status.is_error()`` is true and whose ``result`` is None.
        Cancelling the Deferred aborts the request (``CancelledError``).
        """
        config = self._pubnub.config
        try:
            url = self._url()
        except PubNubException as exc:
            refused = succeed(self._error(PNStatusCategory.PNBadRequestCategory, exc))
            return refused.addCallback(self._logged, None) if config.log_requests else refused
        started = self._pubnub.reactor.seconds()
        d = self._send(url).addCallbacks(self._on_response, self._on_failure)
        d.addCallback(self._renew_when_denied)
        if config.log_requests:
            d.addCallback(self._logged, started)
        return d

    def _renew_when_denied(
        self, envelope: PNEnvelope[R]
    ) -> PNEnvelope[R] | Deferred[PNEnvelope[R]]:
        """After a 403 for an expired or revoked token, renew it and repeat the call once."""
        tokens = self._pubnub._tokens
        if not tokens.renewable(envelope.status, self._auth_sent):
            return envelope

        def again(renewed: bool) -> PNEnvelope[R] | Deferred[PNEnvelope[R]]:
            if not renewed:
                return envelope
            try:
                url = self._url()
            except PubNubException:
                return envelope
            return self._send(url).addCallbacks(self._on_response, self._on_failure)

        return tokens.renew_after_denial(self._auth_sent).addCallback(again)

    def _logged(self, envelope: PNEnvelope[R], started: float | None) -> PNEnvelope[R]:
        """Emit one structured event for a finished call (never the URL: it holds secrets)."""
        status = envelope.status
        latency = None if started is None else self._pubnub.reactor.seconds() - started
        _request_log.info(
            "{operation} {outcome} ({category}, HTTP {status_code}) in {latency_ms} ms",
            operation=status.operation.name,
            outcome="failed" if status.error else "ok",
            category=status.category.name,
            status_code=status.status_code,
            channels=status.affected_channels,
            groups=status.affected_groups,
            latency=latency,
            latency_ms="-" if latency is None else f"{latency * 1000:.1f}",
            error=None if status.error_data is None else status.error_data.information,
        )
        return envelope

    #: The same as :meth:`deferred` (PubNub's asyncio spelling).
    future = deferred

    def result(self) -> Deferred[R]:
        """Send the request; fires with the result, or fails with ``PubNubException``."""
        return self.deferred().addCallback(_unwrap)

    # -- outcomes ---------------------------------------------------------

    def _status(
        self,
        category: PNStatusCategory,
        status_code: int | None = None,
        error: PubNubException | None = None,
        original: Any = None,
    ) -> PNStatus:
        config = self._pubnub.config
        channels, groups = self._affected()
        return PNStatus(
            category=category,
            operation=self._operation,
            status_code=status_code,
            error=error is not None,
            error_data=None if error is None else PNErrorData(str(error), error),
            tls_enabled=config.ssl,
            origin=config.origin,
            uuid=sender if isinstance(sender := self._sender_uuid(), str) else config.uuid,
            affected_channels=channels,
            affected_groups=groups,
            original_response=original,
        )

    def _error(
        self,
        category: PNStatusCategory,
        exc: PubNubException,
        status_code: int | None = None,
        original: Any = None,
    ) -> PNEnvelope[R]:
        status = self._status(category, status_code, exc, original)
        exc.status = status
        return PNEnvelope(None, status)

    def _on_response(self, response: HTTPResponse) -> PNEnvelope[R]:
        code = response.code
        try:
            data = json.loads(response.body)
        except ValueError:
            data = _NOT_JSON
        if 200 <= code < 300:
            if data is _NOT_JSON:
                exc = PubNubException(_snippet(response.body), code, PNERR_JSON_DECODING_FAILED)
                return self._error(PNStatusCategory.PNMalformedResponseCategory, exc, code)
            try:
                result = self._decode(data)
            except (ResponseShapeError, KeyError, TypeError, ValueError, AttributeError) as err:
                exc = PubNubException(str(err), code, PNERR_MALFORMED_RESPONSE)
                return self._error(PNStatusCategory.PNMalformedResponseCategory, exc, code, data)
            status = self._status(PNStatusCategory.PNAcknowledgmentCategory, code, original=data)
            return PNEnvelope(result, status)
        pn_error = PNERR_SERVER_ERROR if code >= 500 else PNERR_CLIENT_ERROR
        original = None if data is _NOT_JSON else data
        exc = PubNubException(_error_message(code, data, response.body), code, pn_error)
        category = _CATEGORY_BY_CODE.get(code, PNStatusCategory.PNUnknownCategory)
        return self._error(category, exc, code, original)

    def _on_failure(self, failure: Failure) -> PNEnvelope[R] | Failure:
        if failure.check(CancelledError):
            return failure
        if failure.check(TransportFailure):
            problem = failure.value
            assert isinstance(problem, TransportFailure)
            exc = PubNubException(problem.detail, pn_error=problem.pn_error)
            return self._error(problem.category, exc)
        _log.failure(
            "unexpected error in a {operation} call", failure, operation=self._operation.name
        )
        exc = PubNubException(failure.getErrorMessage(), pn_error=type(failure.value).__name__)
        return self._error(PNStatusCategory.PNUnknownCategory, exc)


class _NotJSON:
    pass


_NOT_JSON: Any = _NotJSON()

_CATEGORY_BY_CODE = {
    400: PNStatusCategory.PNBadRequestCategory,
    403: PNStatusCategory.PNAccessDeniedCategory,
}


def _snippet(body: bytes, size: int = 120) -> str:
    text = body[:size].decode("utf-8", "replace").strip()
    if not text:
        return "empty body"
    more = "..." if len(body) > size else ""
    return f"body is not JSON: {text!r}{more}"


def _error_message(code: int, data: Any, body: bytes) -> str:
    """Say why the service refused, from whatever it sent back."""
    if isinstance(data, dict):
        message = data.get("message") or data.get("error_message") or data.get("error")
        if isinstance(message, dict):  # Access Manager v3: {"error": {"message", "details"}}
            return _v3_error_message(message) or json.dumps(data)[:200]
        if isinstance(message, str) and message:
            payload = data.get("payload")
            if isinstance(payload, dict) and payload.get("channels"):
                return f"{message} (channels: {', '.join(map(str, payload['channels']))})"
            return message
        return json.dumps(data)[:200]
    if isinstance(data, list) and len(data) == 3 and data[0] == 0 and isinstance(data[1], str):
        return data[1]  # publish and signal: [0, "Invalid Key", "<timetoken>"]
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Unexpected status"
    if data is _NOT_JSON:
        return f"{phrase}; {_snippet(body)}"
    return f"{phrase}; {json.dumps(data)[:200]}"


def _v3_error_message(error: dict[str, Any]) -> str:
    """``message: detail (location); ...`` of an Access Manager v3 error object."""
    message = error.get("message")
    if not isinstance(message, str):
        return ""
    details = [
        f"{d.get('message')} ({d.get('location')})"
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("message")
    ]
    return f"{message}: {'; '.join(details)}" if details else message


def _unwrap(envelope: PNEnvelope[R]) -> R:
    if envelope.status.is_error() or envelope.result is None:
        error_data = envelope.status.error_data
        if error_data is not None and isinstance(error_data.exception, PubNubException):
            raise error_data.exception
        raise PubNubException(str(envelope.status), status=envelope.status)
    return envelope.result


class ChannelsAndGroups(Endpoint[R]):
    """An endpoint that takes channels and/or channel groups."""

    def __init__(self, pubnub: PubNub) -> None:
        super().__init__(pubnub)
        self._channels: list[str] = []
        self._groups: list[str] = []
        self._channels_given = False
        self._groups_given = False

    def channels(self, *names: Names) -> Self:
        """Set the channels: ``"a,b"``, ``"a", "b"``, ``["a", "b"]`` or ``("a", "b")``.

        A string is split on commas; a list or tuple item holding a comma is
        refused (PubNub's naming rules forbid commas in names).
        """
        self._channels = self._names(names, "channels")
        self._channels_given = True
        return self

    def channel_groups(self, *names: Names) -> Self:
        """Set the channel groups (same forms as :meth:`channels`)."""
        self._groups = self._names(names, "channel_groups")
        self._groups_given = True
        return self

    def _require_names(self) -> None:
        if not self._channels and not self._groups:
            raise PubNubException(pn_error=PNERR_CHANNEL_OR_GROUP_MISSING)

    def _refuse_presence_names(self) -> None:
        """Refuse ``-pnpres`` names: heartbeat and leave name data channels only."""
        for what, names in (("channel", self._channels), ("channel group", self._groups)):
            for name in names:
                if name.endswith(PRESENCE_SUFFIX):
                    raise PubNubException(
                        f"{what} {name!r} is a presence channel (ends in {PRESENCE_SUFFIX!r}); "
                        "heartbeat and leave take data channels and groups only",
                        pn_error=PNERR_INVALID_ARGUMENT,
                    )

    #: Whether channels may be wildcard patterns (``a.*``): the calls the
    #: subscribe loop sends for what was subscribed.
    _wildcard_channels: ClassVar[bool] = False

    def _check_names(self, rules: NameRules) -> None:
        rules.check("channel", self._channels, wildcard=self._wildcard_channels)
        rules.check("channel group", self._groups)

    def _channel_path(self, subscribe_key: str, rest: str = "") -> str:
        """``/v2/presence/sub-key/{sub}/channel/{chs}`` followed by ``rest``."""
        return f"/v2/presence/sub-key/{subscribe_key}/channel/{encode_names(self._channels)}{rest}"

    def _group_query(self) -> QueryPairs:
        if not self._groups:
            return []
        return [("channel-group", list(self._groups))]

    def _affected(self) -> tuple[list[str] | None, list[str] | None]:
        return list(self._channels), list(self._groups)


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


#: A setter never called (``None`` is a value a caller can pass, and get refused).
UNSET: Any = _Unset()


class TargetUUID:
    """Mixin for endpoints that ask about a uuid: ``.uuid()``, by default our own."""

    _pubnub: PubNub
    _target: Any = UNSET

    def uuid(self, uuid: str) -> Self:
        """Ask about this uuid instead of this client's own."""
        self._target = uuid
        return self

    def _target_segment(self) -> str:
        """The target uuid, checked and percent-encoded for the path."""
        target = self._pubnub.config.uuid if self._target is UNSET else self._target
        return encode(check_uuid(target, "the target uuid"))


class ActingUUID:
    """Mixin for endpoints that can act for another user: ``.uuid()`` sets who.

    The request is then made as that uuid (its ``uuid`` parameter, and the
    path where the endpoint names one).  PubNub's service lets a client act
    for others only with the authority to: a secret key, or an Access Manager
    token that allows it.
    """

    _pubnub: PubNub
    _acting: Any = UNSET

    def uuid(self, uuid: str) -> Self:
        """Make the request as ``uuid`` instead of this client's own uuid."""
        self._acting = uuid
        return self

    def _sender_uuid(self) -> Any:
        return self._pubnub.config.uuid if self._acting is UNSET else self._acting
