"""PubNub's presence wire protocol: the one module client and server share.

Everything about bytes on the wire lives here: percent-encoding, the JSON
encoding of state, request signing (v2, and v1 for a publish by POST), path
templates and limits.  The client builds requests with it and the embedded
server parses them with it, so both agree by construction, and tests pin
both sides to the examples in PROTOCOL.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Final
from urllib.parse import quote, unquote

__all__ = [
    "DEFAULT_ORIGIN",
    "DEFAULT_PRESENCE_TIMEOUT",
    "MAX_HERE_NOW_LIMIT",
    "MAX_HISTORY_MULTIPLE",
    "MAX_HISTORY_SINGLE",
    "MAX_MESSAGE_SIZE",
    "MAX_NAME_LENGTH",
    "MAX_SIGNAL_SIZE",
    "MAX_URL_LENGTH",
    "MAX_UUID_LENGTH",
    "NAMING_RULES_URL",
    "PRESENCE_SUFFIX",
    "SIGNATURE_WINDOW",
    "TIMETOKENS_PER_SECOND",
    "FirstSeen",
    "QueryPairs",
    "QueryValue",
    "breaking_names",
    "canonical_query",
    "decode_names",
    "decode_value",
    "encode",
    "encode_names",
    "encode_query",
    "json_dumps",
    "name_problem",
    "parse_query",
    "request_signature",
    "sign",
    "sign_v1",
    "signature_version",
    "string_to_sign",
    "string_to_sign_v1",
    "timetoken_from_seconds",
]

DEFAULT_ORIGIN: Final = "ps.pndsn.com"
#: Seconds a uuid stays present without a heartbeat unless told otherwise.
DEFAULT_PRESENCE_TIMEOUT: Final = 300
#: The service's cap on here_now's ``limit``.
MAX_HERE_NOW_LIMIT: Final = 1000
#: Longest URL the service accepts; longer ones get HTTP 414.
MAX_URL_LENGTH: Final = 32 * 1024
#: Longest uuid the REST docs allow.
MAX_UUID_LENGTH: Final = 92
#: Seconds a signed request's timestamp may differ from the server's clock.
SIGNATURE_WINDOW: Final = 60
#: Suffix of the presence channel that carries a channel's events.
PRESENCE_SUFFIX: Final = "-pnpres"
#: Largest message PubNub accepts (channel and message as sent); larger gets HTTP 413.
MAX_MESSAGE_SIZE: Final = 32 * 1024
#: Largest signal payload (the message's JSON, UTF-8); larger gets HTTP 413.
MAX_SIGNAL_SIZE: Final = 64
#: fetch_messages' cap (and default) per channel: one channel, several channels.
MAX_HISTORY_SINGLE: Final = 100
MAX_HISTORY_MULTIPLE: Final = 25
#: A timetoken counts 100-nanosecond units since the unix epoch (17 digits today).
TIMETOKENS_PER_SECOND: Final = 10_000_000

#: Longest channel or channel group name PubNub's naming rules allow
#: (a ``-pnpres`` suffix not counted).
MAX_NAME_LENGTH: Final = 92
#: PubNub's page that states the naming rules (see :func:`name_problem`).
NAMING_RULES_URL: Final = (
    "https://support.pubnub.com/hc/en-us/articles/360051496632-What-are-valid-channel-names"
)

#: ``A-Z a-z 0-9 _ . - ~`` stay literal; everything else is %XX (UTF-8).
_SAFE: Final = "~"


def encode(text: str) -> str:
    """Percent-encode one name or value the way PubNub's service expects.

    >>> encode("a/b c+d~e,f:ü*!'()")
    'a%2Fb%20c%2Bd~e%2Cf%3A%C3%BC%2A%21%27%28%29'
    """
    return quote(text, safe=_SAFE)


def encode_names(names: Iterable[str]) -> str:
    """Encode each name and join them with a literal comma.

    An empty list gives ``","``, the placeholder PubNub uses in a path when
    only channel groups are given.
    """
    joined = ",".join([quote(name, safe=_SAFE) for name in names])
    return joined or ","


def decode_names(segment: str, *, plus_is_space: bool = False) -> list[str]:
    """Decode a percent-encoded list, then split it into names on its commas.

    PubNub's service decodes first, so ``%2C`` separates names as a literal
    ``,`` does (PubNub's JavaScript SDK sends ``add=a%2Cb``): a name never
    holds a comma.  The inverse of :func:`encode_names` for such names;
    ``","`` and ``""`` give ``[]``.  ``plus_is_space`` for query values (see
    :func:`decode_value`).
    """
    return [name for name in decode_value(segment, plus_is_space=plus_is_space).split(",") if name]


def timetoken_from_seconds(seconds: float) -> int:
    """The timetoken of a unix time in seconds (``IReactorTime.seconds()``).

    >>> timetoken_from_seconds(1481896370.7386265)
    14818963707386265
    """
    whole = int(seconds)  # split first: a float holds only ~16 significant digits
    return whole * TIMETOKENS_PER_SECOND + round((seconds - whole) * TIMETOKENS_PER_SECOND)


def json_dumps(value: Any) -> str:
    """Serialize state the way PubNub's SDK does (``json.dumps`` defaults).

    NaN and infinities are refused (``ValueError``): they are not JSON.
    """
    return json.dumps(value, allow_nan=False)


#: A query parameter's decoded value: text, or a list of names that goes on
#: the wire as encoded names joined by literal commas.
QueryValue = str | list[str]
QueryPairs = list[tuple[str, QueryValue]]


def _wire_value(value: QueryValue) -> str:
    if isinstance(value, str):
        return quote(value, safe=_SAFE)
    return ",".join([quote(name, safe=_SAFE) for name in value])


def _decoded_value(value: QueryValue) -> str:
    return value if isinstance(value, str) else ",".join(value)


def encode_query(pairs: Sequence[tuple[str, QueryValue]]) -> str:
    """Build a query string from decoded ``(key, value)`` pairs, in order."""
    return "&".join([f"{key}={_wire_value(value)}" for key, value in pairs])


def parse_query(query: str) -> list[tuple[str, str]]:
    """Split a raw query string into ``(key, raw value)`` pairs, values still encoded.

    Values stay encoded: each is decoded where it is read, once
    (:func:`decode_value`, or :func:`decode_names` for a list).
    """
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        pairs.append((unquote(key, errors="strict"), value))
    return pairs


def decode_value(raw: str, *, plus_is_space: bool = False) -> str:
    """Decode one percent-encoded path segment or query value.

    In a query, ``plus_is_space`` reads ``+`` as a space, as PubNub's service
    does for form-style encoders (HTTP libraries' ``params=``); PubNub's SDKs
    send a literal ``+`` as ``%2B`` and a space as ``%20``, so nothing they
    send changes meaning.  In a path ``+`` is a plus.
    """
    if plus_is_space:
        raw = raw.replace("+", " ")
    return unquote(raw, errors="strict")


def _pam_encode(text: str) -> str:
    # Signing keeps only A-Z a-z 0-9 _ . - literal ('~' too is encoded).
    return quote(text, safe="").replace("~", "%7E")


def canonical_query(pairs: Iterable[tuple[str, QueryValue]]) -> str:
    """The sorted, re-encoded query that a v2 signature covers.

    ``pairs`` hold decoded values; ``signature`` itself is left out.
    """
    return "&".join(
        f"{key}={_pam_encode(_decoded_value(value))}"
        for key, value in sorted(pairs, key=lambda pair: pair[0])
        if key != "signature"
    )


def _body_text(body: bytes | str) -> str:
    # surrogateescape: any bytes survive the round trip through str exactly,
    # and a UTF-8 body (all JSON we send) reads as itself, as the SDK signs it.
    return body if isinstance(body, str) else body.decode("utf-8", "surrogateescape")


def string_to_sign(
    publish_key: str,
    path: str,
    pairs: Iterable[tuple[str, QueryValue]],
    *,
    method: str = "GET",
    body: bytes | str = b"",
) -> str:
    r"""The text a v2 signature is computed over (PROTOCOL.md section 4).

    ``{METHOD}\n{publish_key}\n{path}\n{canonical query}\n{body}``: ``path``
    exactly as sent on the wire (percent-encoded), ``body`` the request body
    as sent (empty for GET and DELETE), as PubNub's SDK signs it.
    """
    return f"{method.upper()}\n{publish_key}\n{path}\n{canonical_query(pairs)}\n{_body_text(body)}"


def _hmac(secret_key: str, text: str) -> str:
    """URL-safe base64 of HMAC-SHA256 over ``text``, ``=`` padding kept."""
    digest = hmac.new(
        secret_key.encode("utf-8"), text.encode("utf-8", "surrogateescape"), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def sign(
    secret_key: str,
    publish_key: str,
    path: str,
    pairs: Iterable[tuple[str, QueryValue]],
    *,
    method: str = "GET",
    body: bytes | str = b"",
) -> str:
    """Return the ``v2.`` signature of a request (GET unless ``method`` says otherwise)."""
    text = string_to_sign(publish_key, path, pairs, method=method, body=body)
    return "v2." + _hmac(secret_key, text).rstrip("=")


def string_to_sign_v1(
    subscribe_key: str, publish_key: str, path: str, pairs: Iterable[tuple[str, QueryValue]]
) -> str:
    r"""The text a v1 signature is computed over: ``{sub}\n{pub}\n{path}\n{canonical query}``.

    No method, no body and no trailing newline.  PubNub's SDK still signs a
    publish by POST this way (see :func:`signature_version`).
    """
    return f"{subscribe_key}\n{publish_key}\n{path}\n{canonical_query(pairs)}"


def sign_v1(
    secret_key: str,
    subscribe_key: str,
    publish_key: str,
    path: str,
    pairs: Iterable[tuple[str, QueryValue]],
) -> str:
    """Return the v1 signature: URL-safe base64, ``=`` padding kept, no prefix."""
    return _hmac(secret_key, string_to_sign_v1(subscribe_key, publish_key, path, pairs))


def signature_version(method: str, path: str) -> int:
    """1 for a publish by POST (``/publish/...``), 2 for every other request.

    PubNub's SDK makes this one exception, and the service checks it the
    same way; the client and the embedded server both decide here.
    """
    return 1 if method.upper() == "POST" and path.startswith("/publish") else 2


def request_signature(
    secret_key: str,
    *,
    publish_key: str,
    subscribe_key: str,
    method: str,
    path: str,
    pairs: Iterable[tuple[str, QueryValue]],
    body: bytes | str = b"",
) -> str:
    """The ``signature`` parameter for a request, in the version it calls for.

    ``pairs`` are every query parameter (``timestamp`` included) with
    decoded values; a ``signature`` pair among them is ignored.
    """
    if signature_version(method, path) == 1:
        return sign_v1(secret_key, subscribe_key, publish_key, path, pairs)
    return sign(secret_key, publish_key, path, pairs, method=method, body=body)


_FORBIDDEN: Final = {
    ",": "a comma",
    ":": "a colon",
    "*": "an asterisk",
    "/": "a slash",
    "\\": "a backslash",
    " ": "a space",
}
#: The characters PubNub's naming rules forbid: those above and ASCII control characters.
_BREAKING: Final = re.compile(r"[,:*/\\ \x00-\x1f\x7f]")


def name_problem(name: str, *, wildcard: bool = False) -> str | None:
    """Why ``name`` breaks PubNub's channel naming rules, or ``None`` when it keeps them.

    PubNub's rules (:data:`NAMING_RULES_URL`): at most
    :data:`MAX_NAME_LENGTH` characters, and no comma, colon, asterisk,
    slash, backslash, space or ASCII control character.  They are stated for
    channels; this project applies them to channel groups too.  A
    ``-pnpres`` suffix is not part of the name.  A ``.`` is allowed (PubNub
    reserves it as the level separator of wildcard subscribe).  With
    ``wildcard`` (subscribe channels), a trailing ``.*`` is a pattern, not
    part of the name.

    >>> name_problem("chat.room-42")
    >>> name_problem("a:b")
    "contains a colon (':')"
    """
    name = name.removesuffix(PRESENCE_SUFFIX)
    if wildcard and name.endswith(".*") and len(name) > 2:
        name = name[:-2]
    found = _BREAKING.search(name)
    if found is not None:
        char = found.group()
        if char in _FORBIDDEN:
            return f"contains {_FORBIDDEN[char]} ({char!r})"
        return f"contains a control character (U+{ord(char):04X})"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    return None


def breaking_names(names: Sequence[str], *, wildcard: bool = False) -> list[tuple[str, str]]:
    """``(name, problem)`` for each of ``names`` that breaks the rules (see :func:`name_problem`).

    Names that keep the rules, the usual case, cost one scan of them all.
    """
    if not names:
        return []
    if max(map(len, names)) <= MAX_NAME_LENGTH and not _BREAKING.search("".join(names)):
        return []
    found = ((name, name_problem(name, wildcard=wildcard)) for name in names)
    return [(name, problem) for name, problem in found if problem is not None]


class FirstSeen:
    """Which keys were seen before, remembering at most ``capacity`` of them.

    :meth:`first` is true the first time a key is shown; past ``capacity``
    the key seen least recently is forgotten (and would count as new
    again), so memory stays bounded whatever arrives.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._seen: OrderedDict[Hashable, None] = OrderedDict()

    def first(self, key: Hashable) -> bool:
        """Whether ``key`` is new (not among those remembered); remember it."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
