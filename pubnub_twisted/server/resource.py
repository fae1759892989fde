"""The presence REST API on ``twisted.web``: PubNub's wire protocol over a store.

:class:`PresenceResource` answers every call of PROTOCOL.md section 1 with
the exact bodies of section 2, in memory (``treq.testing``) or on a port
(:func:`pubnub_twisted.server.listen`), plus the subscribe long-poll and
``/time/0`` (research/subscribe.md section 8, through a
:class:`~pubnub_twisted.server.subscribe.SubscribeHub`).  Bad input always
gets one of PubNub's JSON error shapes, never a traceback.
"""

from __future__ import annotations

import hmac
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from pubnub_twisted.models import JSONObject
from pubnub_twisted.protocol import (
    DEFAULT_PRESENCE_TIMEOUT,
    MAX_HERE_NOW_LIMIT,
    MAX_URL_LENGTH,
    MAX_UUID_LENGTH,
    SIGNATURE_WINDOW,
    request_signature,
)
from pubnub_twisted.server._names import NameGuard
from pubnub_twisted.server._request import Call, Refusal, bad_request, parse, parse_int, route
from pubnub_twisted.server.access.manager import AccessManager, pam_error
from pubnub_twisted.server.messages import _shapes as _message_shapes
from pubnub_twisted.server.messages.service import DELETE_NEEDS_SIGNATURE, MessageService
from pubnub_twisted.server.messages.store import MessageStore
from pubnub_twisted.server.presence import _shapes
from pubnub_twisted.server.presence.store import PresenceStore
from pubnub_twisted.server.subscribe import SubscribeHub, SubscribeOptions, SubscribeRequest

__all__ = ["PresenceResource"]

_log: Final = Logger(namespace="pubnub_twisted.server")

#: Largest heartbeat (presence timeout) accepted, in seconds.
MAX_HEARTBEAT: Final = 2**31 - 1
#: Deepest JSON nesting accepted in a state.
MAX_STATE_DEPTH: Final = 64
_TIMETOKEN: Final = re.compile(r"[0-9]{1,19}")
_MESSAGE_OPERATIONS: Final = frozenset(
    {
        "publish",
        "signal",
        "history",
        "history_v2",
        "history_actions",
        "message_counts",
        "delete_messages",
    }
)
#: A revoke names its token in the path; logs show the path without it.
_TOKEN_IN_PATH: Final = re.compile(r"(/v3/pam/[^/]*/grant/)[^/]*")
#: Parameters that do not change a here_now answer (left out of the cache key).
_VOLATILE: Final = frozenset(
    {"pnsdk", "uuid", "auth", "timestamp", "signature"}  # caller and signing
    | {"requestid", "instanceid", "ee", "on-demand"}  # accepted and ignored
)
#: The methods each operation takes (GET alone for every other): a publish by
#: POST, a delete of messages (DELETE on history), Access Manager's grant and revoke.
_METHODS_OF: Final = {
    "publish": (b"GET", b"POST"),
    "history": (b"GET", b"DELETE"),
    "grant": (b"POST",),
    "revoke": (b"DELETE",),
}
_HEADERS: Final = (
    (b"Content-Type", b'text/javascript; charset="UTF-8"'),
    (b"Cache-Control", b"no-cache"),
    (b"Access-Control-Allow-Origin", b"*"),
)


def _encode(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth_ok(value: object) -> bool:
    """Whether ``value`` nests at most :data:`MAX_STATE_DEPTH` deep."""
    level: list[object] = [value]
    for _ in range(MAX_STATE_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return True
    return not any(isinstance(item, dict | list) for item in level)


def _parse_json(text: str | None, service: str) -> object:
    if text is None:
        raise bad_request("State missing", service)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise bad_request("Invalid JSON", service) from None
    if not _depth_ok(value):
        raise bad_request(f"State nests deeper than {MAX_STATE_DEPTH} levels", service)
    return value


class _HereNowCache:
    """here_now answers per identical query, for ``ttl`` seconds of the clock."""

    _MAX_ENTRIES: Final = 10_000

    def __init__(self, store: PresenceStore, ttl: float) -> None:
        self._clock = store.clock
        self._ttl = ttl
        # key -> (expires, body); insertion order is expiry order (one ttl).
        self._entries: dict[tuple[object, ...], tuple[float, bytes]] = {}

    @staticmethod
    def key(call: Call) -> tuple[object, ...]:
        kept = sorted(
            (name, value)
            for name, value in call.params
            if name not in _VOLATILE and not name.startswith("l_")
        )
        return (call.path, *kept)

    def get(self, key: tuple[object, ...]) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._clock.seconds():
            return None
        return entry[1]

    def put(self, key: tuple[object, ...], body: bytes) -> None:
        if self._ttl <= 0:
            return
        now = self._clock.seconds()
        entries = self._entries
        entries.pop(key, None)
        while entries:  # drop expired entries (the oldest come first), and any overflow
            oldest = next(iter(entries))
            if entries[oldest][0] > now and len(entries) < self._MAX_ENTRIES:
                break
            del entries[oldest]
        entries[key] = (now + self._ttl, body)


class PresenceResource(Resource):
    """PubNub's presence REST API and subscribe over ``store`` (a leaf: it routes by itself).

    ``here_now_cache``: seconds a here_now answer is reused for an identical
    query (PubNub: 3; 0 turns caching off).  Access control is off unless
    configured: with ``secret_key`` (which needs ``publish_key``) every
    request must carry a valid ``signature`` (v2 over method, path, query and
    body; v1 for a publish by POST, as PubNub's SDK signs) and a ``timestamp`` within
    :data:`~pubnub_twisted.protocol.SIGNATURE_WINDOW` seconds; with
    ``auth_keys`` every request must carry one of them as ``auth``.
    With ``access_manager`` (which needs ``secret_key``) the server is an
    Access Manager v3: it grants and revokes tokens, a request signed with
    the secret key has full access, and any other request needs a token
    granting what it asks for (see :mod:`pubnub_twisted.server.access`).
    ``/time/0`` is always open, as PubNub's is.  With ``subscribe_keys``
    (an allow-list) a request for any other subscribe key gets PubNub's
    answer for an unknown key: 400, ``"Invalid Subscribe Key"``; without it
    every key is accepted, each its own key space.

    ``subscribe`` configures the subscribe long-poll (hold time, catch-up
    buffer, interval mode, debounce, leave on disconnect, fault modes: see
    :class:`~pubnub_twisted.server.subscribe.SubscribeOptions`; PubNub's
    defaults when ``None``).  The subscribe side is :attr:`hub`;
    :meth:`stop` answers the polls it holds and cancels its timers.

    Publish, signal, fetch_messages, message_counts and delete_messages go
    to :attr:`messages` (a
    :class:`~pubnub_twisted.server.messages.service.MessageService`) over
    ``message_store`` (a
    :class:`~pubnub_twisted.server.messages.store.MessageStore` on the
    store's clock when ``None``).

    A channel or group name that breaks PubNub's naming rules
    (:func:`~pubnub_twisted.protocol.name_problem`) is served with a
    warning logged once per name; with ``strict_names`` the request gets a
    400 naming it instead, so what would misbehave on PubNub fails here.
    """

    isLeaf = True

    def __init__(
        self,
        store: PresenceStore,
        *,
        here_now_cache: float = 3.0,
        secret_key: str | None = None,
        publish_key: str | None = None,
        auth_keys: Iterable[str] | None = None,
        subscribe: SubscribeOptions | None = None,
        message_store: MessageStore | None = None,
        access_manager: bool = False,
        subscribe_keys: Iterable[str] | None = None,
        strict_names: bool = False,
    ) -> None:
        Resource.__init__(self)
        if secret_key is not None and not publish_key:
            raise ValueError("verifying signatures needs the publish key as well")
        if access_manager and secret_key is None:
            raise ValueError("the Access Manager needs the secret key")
        if access_manager and auth_keys is not None:
            raise ValueError("auth keys and the Access Manager exclude each other")
        if here_now_cache < 0:
            raise ValueError("here_now_cache must not be negative")
        self.store = store
        self._cache = _HereNowCache(store, here_now_cache)
        self._secret_key = secret_key
        self._publish_key = publish_key or ""
        self._auth_keys = None if auth_keys is None else frozenset(auth_keys)
        self.access: AccessManager | None = None
        if access_manager and secret_key is not None:
            self.access = AccessManager(secret_key, store.clock)
        self._subscribe_keys = None if subscribe_keys is None else frozenset(subscribe_keys)
        if self._subscribe_keys is not None and not all(self._subscribe_keys):
            raise ValueError("subscribe_keys must be non-empty strings")
        self.hub = SubscribeHub(store, subscribe)
        self.messages = MessageService(
            self.hub, message_store or MessageStore(store.clock), publish_key=publish_key
        )
        #: Requests answered per route kind (``here_now``, ``heartbeat``, ``subscribe``...).
        self.request_counts: Counter[str] = Counter()
        self._names = NameGuard(strict_names)
        self._handlers: dict[str, Callable[[Call], dict[str, Any]]] = {
            "here_now": self._here_now,
            "here_now_global": self._here_now,
            "where_now": self._where_now,
            "set_state": self._set_state,
            "get_state": self._get_state,
            "heartbeat": self._heartbeat,
            "leave": self._leave,
            "group": self._group,
            "delete_group": self._delete_group,
        }

    def publish(
        self,
        sub_key: str,
        channel: str,
        message: object,
        publisher: str | None = None,
        **options: Any,
    ) -> int:
        """Deliver ``message`` to ``channel``'s subscribers and history; return its timetoken.

        ``options``: ``meta``, ``custom_message_type``, ``store``, ``ttl``; see
        :meth:`MessageService.deliver
        <pubnub_twisted.server.messages.service.MessageService.deliver>`.
        """
        return self.messages.deliver(sub_key, channel, message, publisher, **options)

    def stop(self) -> None:
        """Answer held polls and cancel subscribe timers (the store is left running)."""
        self.hub.stop()

    # -- HTTP ---------------------------------------------------------------

    def render(self, request: Request) -> bytes | int:
        """Answer one request (POST publish, DELETE history, else GET); held polls wait."""
        content = b"" if request.content is None else request.content.read()
        status, body, path = self._answer(request.method, request.uri, hold=True, body=content)
        if not isinstance(body, Deferred):
            self._head(request, status, path)
            return body

        def finish(data: bytes) -> None:
            self._head(request, status, path)
            request.write(data)
            request.finish()

        def gone(failure: Failure) -> None:
            failure.trap(CancelledError)
            _log.debug("{path}: the client left a held poll", path=path)

        body.addCallbacks(finish, gone)
        # The client closing the connection cancels the poll (and it is answered no more).
        request.notifyFinish().addErrback(lambda _: body.cancel())
        return NOT_DONE_YET

    @staticmethod
    def _head(request: Request, status: int, path: str) -> None:
        request.setResponseCode(status)
        for name, value in _HEADERS:
            request.setHeader(name, value)
        if status == 405:
            request.setHeader(b"Allow", b"GET")
        _log.debug(
            "{method} {path} -> {status}",
            method=request.method.decode("ascii", "replace"),
            path=path,
            status=status,
        )

    def respond(self, method: bytes, uri: bytes, body: bytes = b"") -> tuple[int, bytes, str]:
        """The status and body for a request, and its path (for logs: no query).

        Nothing waits here: a subscribe poll with nothing to deliver is
        answered at once, as its hold time would end it.  ``body`` is the
        request body (a signature covers it).
        """
        status, answer, path = self._answer(method, uri, hold=False, body=body)
        assert not isinstance(answer, Deferred)  # without a hold nothing waits
        return status, answer, path

    def _answer(
        self, method: bytes, uri: bytes, *, hold: bool, body: bytes = b""
    ) -> tuple[int, bytes | Deferred[bytes], str]:
        path = _TOKEN_IN_PATH.sub(r"\1<token>", uri.partition(b"?")[0].decode("utf-8", "replace"))
        not_allowed = Refusal(405, _shapes.error(405, "Method Not Allowed"))
        try:
            if method not in (b"GET", b"POST", b"DELETE"):
                raise not_allowed
            if len(uri) > MAX_URL_LENGTH:
                raise Refusal(414, _shapes.error(414, "Request URI Too Long"))
            call = route(parse(uri))
            self.request_counts[call.operation] += 1
            call.method, call.body = method.decode("ascii", "replace").upper(), body
            path = _TOKEN_IN_PATH.sub(r"\1<token>", call.path)
            if method not in _METHODS_OF.get(call.operation, (b"GET",)):
                raise not_allowed
            if call.operation == "time":
                return 200, _encode([self.hub.time()]), path
            if method == b"DELETE" and call.operation == "history":
                call.operation = "delete_messages"
            if self._subscribe_keys is not None and call.sub_key not in self._subscribe_keys:
                raise Refusal(400, _shapes.invalid_subscribe_key())
            if call.operation in ("grant", "revoke"):
                return 200, _encode(self._access_call(call)), path
            self._check_access(call)
            call.uuid = self._check_uuid(call.text("uuid"), call.service)
            self._names.check(call)
            if call.operation in _MESSAGE_OPERATIONS:
                content = body if method == b"POST" else None
                return 200, _encode(self._message_call(call, content)), path
            if call.operation == "subscribe":
                answer = self._subscribe(call, hold)
                if isinstance(answer, Deferred):
                    return 200, answer.addCallback(_encode), path
                return 200, _encode(answer), path
            if call.operation.startswith("here_now"):
                return 200, self._cached_here_now(call), path
            return 200, _encode(self._handlers[call.operation](call)), path
        except Refusal as refusal:
            return refusal.status, _encode(refusal.body), path
        except Exception:
            _log.failure("Presence request {path} failed", path=path)
            return 500, _encode(_shapes.error(500, "Internal Server Error")), path

    def _message_call(self, call: Call, body: bytes | None) -> object:
        messages = self.messages
        if call.operation == "publish":
            return messages.publish(call, body)
        if call.operation == "signal":
            return messages.signal(call)
        if call.operation == "message_counts":
            return messages.message_counts(call)
        if call.operation == "history_v2":
            return messages.history_v2(call)
        if call.operation == "delete_messages":
            if self._secret_key is None:  # nothing was signed: PubNub refuses
                raise Refusal(403, _message_shapes.history_error(403, DELETE_NEEDS_SIGNATURE))
            return messages.delete(call)
        return messages.history(call)

    # -- checks -------------------------------------------------------------

    def _access_call(self, call: Call) -> dict[str, Any]:
        """Grant or revoke: Access Manager on, and signed with the secret key."""
        if self.access is None or self._secret_key is None:
            raise pam_error(403, "Access Manager is not enabled", call.operation)
        try:
            self._check_signature(call, self._secret_key)
        except Refusal:
            raise pam_error(
                403,
                "Invalid signature",
                call.operation,
                (
                    "Client and server produced different signatures for the same inputs.",
                    "signature",
                    "query",
                ),
            ) from None
        if call.operation == "grant":
            return self.access.grant(call, call.body)
        return self.access.revoke(call)

    def _check_access(self, call: Call) -> None:
        if self.access is not None:
            if call.raw("signature") is not None and self._secret_key is not None:
                self._check_signature(call, self._secret_key)  # signed: full access
            else:
                self.access.authorize(call)
            return
        if self._secret_key is not None:
            self._check_signature(call, self._secret_key)
        if self._auth_keys is not None and call.text("auth") not in self._auth_keys:
            raise Refusal(403, _shapes.forbidden("Forbidden", call.channels, call.groups))

    def _check_signature(self, call: Call, secret_key: str) -> None:
        def refuse(message: str) -> Refusal:
            return Refusal(403, _shapes.forbidden(message, call.channels, call.groups))

        signature = call.text("signature")
        timestamp = parse_int(call.text("timestamp"))
        if not signature or timestamp is None:
            raise refuse("Signature does not match")
        if abs(timestamp - self.store.clock.seconds()) > SIGNATURE_WINDOW:
            raise refuse("Request timestamp out of range")
        expected = request_signature(
            secret_key,
            publish_key=self._publish_key,
            subscribe_key=call.sub_key,
            method=call.method,
            path=call.path,
            pairs=call.decoded_params(),
            body=call.body,
        )
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise refuse("Signature does not match")

    @staticmethod
    def _check_uuid(uuid: str | None, service: str) -> str:
        if not uuid:
            raise bad_request("Missing uuid: the uuid parameter is required", service)
        if len(uuid) > MAX_UUID_LENGTH:
            raise bad_request(f"Invalid uuid: longer than {MAX_UUID_LENGTH} characters", service)
        return uuid

    @staticmethod
    def _require_names(call: Call) -> None:
        if not call.channels and not call.groups:
            raise bad_request("Channel or group missing")

    # -- presence -----------------------------------------------------------

    def _cached_here_now(self, call: Call) -> bytes:
        key = self._cache.key(call)
        body = self._cache.get(key)
        if body is None:
            body = _encode(self._here_now(call))
            self._cache.put(key, body)
        return body

    def _here_now(self, call: Call) -> dict[str, Any]:
        limit = call.integer("limit", default=-1)  # -1: no limit (PubNub's REST docs)
        offset = call.integer("offset", default=0)
        if limit < -1 or offset < 0:
            raise bad_request("Invalid limit or offset: must not be negative")
        page_size = None if limit == -1 else min(limit, MAX_HERE_NOW_LIMIT)
        with_uuids = not call.flag("disable_uuids")
        with_state = call.flag("state")
        flat = False
        if call.operation == "here_now_global":
            channels = None
        else:
            self._require_names(call)
            flat = len(call.channels) == 1 and not call.groups
            channels = self.store.expand_groups(call.sub_key, call.channels, call.groups)
        pages = self.store.pages(call.sub_key, channels, offset=offset, limit=page_size)
        if flat:
            return _shapes.here_now_flat(pages[0] if pages else None, with_uuids, with_state)
        return _shapes.here_now_wrapped(pages, with_uuids, with_state)

    def _where_now(self, call: Call) -> dict[str, Any]:
        self._check_uuid(call.target_uuid, call.service)
        return _shapes.where_now(self.store.where_now(call.sub_key, call.target_uuid))

    def _set_state(self, call: Call) -> dict[str, Any]:
        self._require_names(call)
        self._check_uuid(call.target_uuid, call.service)
        state = _parse_json(call.text("state"), call.service)
        if not isinstance(state, dict):
            raise bad_request("Invalid state: it must be a JSON object")
        channels = self.store.expand_groups(call.sub_key, call.channels, call.groups)
        self.store.set_state(call.sub_key, call.target_uuid, channels, state)
        return _shapes.set_state_ok(state)

    def _get_state(self, call: Call) -> dict[str, Any]:
        self._require_names(call)
        self._check_uuid(call.target_uuid, call.service)
        uuid = call.target_uuid
        if len(call.channels) == 1 and not call.groups:
            channel = call.channels[0]
            state = self.store.get_state(call.sub_key, uuid, [channel])[channel]
            return _shapes.get_state_single(uuid, channel, state)
        channels = self.store.expand_groups(call.sub_key, call.channels, call.groups)
        return _shapes.get_state_multi(uuid, self.store.get_state(call.sub_key, uuid, channels))

    def _heartbeat(self, call: Call) -> dict[str, Any]:
        self._require_names(call)
        timeout = self._presence_timeout(call) or DEFAULT_PRESENCE_TIMEOUT
        states = self._keyed_state(call)
        channels = self.store.expand_groups(call.sub_key, call.channels, call.groups)
        self.store.heartbeat(call.sub_key, call.uuid, channels, timeout, states)
        return _shapes.ok()

    @staticmethod
    def _presence_timeout(call: Call) -> int | None:
        """The ``heartbeat`` parameter (a presence timeout), ``None`` when absent or empty."""
        if not call.text("heartbeat"):
            return None
        timeout = call.integer("heartbeat", default=0)
        if not 1 <= timeout <= MAX_HEARTBEAT:
            raise bad_request(f"Invalid heartbeat: {timeout} is not between 1 and {MAX_HEARTBEAT}")
        return timeout

    def _keyed_state(self, call: Call) -> dict[str, JSONObject]:
        """The ``state`` parameter of heartbeat and subscribe: states keyed by channel."""
        text = call.text("state")
        if text is None:
            return {}
        states = _parse_json(text, call.service)
        if not isinstance(states, dict) or not all(isinstance(v, dict) for v in states.values()):
            raise bad_request(
                'Invalid state: heartbeat state must be keyed by channel, {"ch1": {...}}'
            )
        for group in call.groups:  # state keyed by a group (as PubNub's JS SDK sends it)
            if group in states:  # applies to the group's channels without their own
                for channel in self.store.channels_in_group(call.sub_key, group):
                    states.setdefault(channel, states[group])
        return states

    def _subscribe(self, call: Call, hold: bool) -> dict[str, Any] | Deferred[dict[str, Any]]:
        self._require_names(call)
        tt = call.text("tt") or "0"  # PubNub's JS SDK leaves tt out of a handshake
        if not _TIMETOKEN.fullmatch(tt):
            raise bad_request(f"Invalid timetoken: {tt!r}")
        request = SubscribeRequest(
            call.sub_key,
            call.uuid,
            call.channels,
            call.groups,
            int(tt),
            self._presence_timeout(call),
            self._keyed_state(call),
        )
        return self.hub.subscribe(request, hold=hold)

    def _leave(self, call: Call) -> dict[str, Any]:
        self._require_names(call)
        channels = self.store.expand_groups(call.sub_key, call.channels, call.groups)
        self.store.leave(call.sub_key, call.uuid, channels)
        return _shapes.leave_ok()

    # -- channel groups -----------------------------------------------------

    def _group(self, call: Call) -> dict[str, Any]:
        if not call.group:
            raise bad_request("Channel group missing", call.service)
        add, remove = call.raw("add"), call.raw("remove")
        if add is None and remove is None:
            return _shapes.group_channels(
                call.group, self.store.channels_in_group(call.sub_key, call.group)
            )
        if add is not None and remove is not None:
            raise bad_request("Use either add or remove, not both", call.service)
        channels = call.names("add" if add is not None else "remove")
        if not channels:
            raise bad_request("Channels missing", call.service)
        if add is not None:
            self.store.add_channels_to_group(call.sub_key, call.group, channels)
        else:
            self.store.remove_channels_from_group(call.sub_key, call.group, channels)
        return _shapes.registry_ok()

    def _delete_group(self, call: Call) -> dict[str, Any]:
        if not call.group:
            raise bad_request("Channel group missing", call.service)
        self.store.delete_group(call.sub_key, call.group)
        return _shapes.registry_ok()
