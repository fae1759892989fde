"""``PNConfiguration``: keys, identity, origin, timeouts, TLS and retries."""

from __future__ import annotations

import uuid as _uuid
from typing import TYPE_CHECKING

from pubnub_twisted.enums import PNReconnectionPolicy
from pubnub_twisted.protocol import DEFAULT_ORIGIN, DEFAULT_PRESENCE_TIMEOUT

if TYPE_CHECKING:
    from pubnub_twisted.crypto import PubNubCryptoModule

__all__ = ["PNConfiguration"]

_SECRET_FIELDS = ("secret_key", "auth_key", "cipher_key")


class PNConfiguration:
    """Settings for a :class:`~pubnub_twisted.PubNub` client.

    Set the attributes, then hand the object to ``PubNub(config)``; the
    client takes a copy, so later changes do not affect it.  Field names
    follow PubNub's Python SDK.  ``repr`` never shows ``secret_key`` or
    ``auth_key``, only whether they are set.  Setting a name that is not a
    setting (a typo, or an option of another PubNub SDK) raises
    ``AttributeError`` instead of being silently ignored.
    """

    __slots__ = (
        "_heartbeat_interval",
        "_presence_timeout",
        "auth_key",
        "ca_certs_file",
        "cipher_key",
        "connect_timeout",
        "connection_pool_size",
        "crypto_module",
        "log_requests",
        "maximum_reconnection_interval",
        "maximum_reconnection_retries",
        "non_subscribe_request_timeout",
        "origin",
        "publish_key",
        "reconnect_policy",
        "reconnection_interval",
        "reconnection_jitter",
        "request_max_retries",
        "request_retry_delay",
        "request_retry_max_delay",
        "request_retry_policy",
        "secret_key",
        "ssl",
        "strict_names",
        "subscribe_key",
        "subscribe_request_timeout",
        "suppress_leave_events",
        "tls_verify",
        "use_random_initialization_vector",
        "uuid",
    )

    def __init__(self) -> None:
        #: Subscribe key (``sub-c-...``); every presence call needs it.
        self.subscribe_key: str | None = None
        #: Publish key; only needed to sign requests (with ``secret_key``).
        self.publish_key: str | None = None
        #: Secret key: when set, every request is signed (signature v2).
        self.secret_key: str | None = None
        #: Access Manager auth key or token, sent as ``auth``.
        self.auth_key: str | None = None
        #: This client's identity.  A random ``pn-<uuid4>`` unless you set one.
        self.uuid: str = f"pn-{_uuid.uuid4()}"
        #: Host (and optional ``:port``) of PubNub's service, or of a local server.
        self.origin: str = DEFAULT_ORIGIN
        #: Use HTTPS (verified).  Turn off for the embedded server on loopback.
        self.ssl: bool = True
        #: Deadline, in seconds, for a whole REST call: connect, headers, body, retries.
        self.non_subscribe_request_timeout: float = 10.0
        #: Deadline, in seconds, for opening a TCP connection.
        self.connect_timeout: float = 10.0
        #: Deadline, in seconds, for one subscribe long-poll.
        self.subscribe_request_timeout: float = 310.0
        #: PEM file of CA certificates to trust instead of the system's roots.
        self.ca_certs_file: str | None = None
        #: Verify TLS certificates and host names.  Turning it off logs a warning.
        self.tls_verify: bool = True
        #: Idle connections kept open per host (Twisted's default is 2).
        self.connection_pool_size: int = 20
        #: Retry policy for REST calls that failed in a way worth retrying
        #: (connection failures, HTTP 429 and 5xx); see README.
        self.request_retry_policy: PNReconnectionPolicy = PNReconnectionPolicy.EXPONENTIAL
        #: Retries after the first attempt (0 disables retrying).
        self.request_max_retries: int = 2
        #: Base delay, in seconds, between retries.
        self.request_retry_delay: float = 0.5
        #: Longest delay, in seconds, between retries (``Retry-After`` included).
        self.request_retry_max_delay: float = 5.0
        #: Subscribe loop: how to reconnect after a failed poll.
        self.reconnect_policy: PNReconnectionPolicy = PNReconnectionPolicy.EXPONENTIAL
        #: Subscribe loop: base delay, in seconds, between reconnection attempts.
        self.reconnection_interval: float = 2.0
        #: Subscribe loop: attempts before giving up (``-1``: never give up).
        self.maximum_reconnection_retries: int = 6
        #: Subscribe loop: longest delay, in seconds, between reconnection attempts
        #: (caps the EXPONENTIAL policy's doubling).
        self.maximum_reconnection_interval: float = 150.0
        #: Subscribe loop: up to this many seconds of random delay added to each
        #: reconnection delay, so that many clients do not retry in step (0: none).
        self.reconnection_jitter: float = 1.0
        #: Emit one ``twisted.logger`` event per call (operation, channels, status,
        #: category, latency; never keys or signatures).  Off by default: an
        #: application that never starts logging would otherwise buffer them.
        self.log_requests: bool = False
        #: Do not send a leave when unsubscribing.
        self.suppress_leave_events: bool = False
        #: Encrypt published messages and decrypt received and fetched ones with this
        #: key (PubNub's legacy cryptor unless ``crypto_module`` says otherwise).
        self.cipher_key: str | None = None
        #: Legacy cryptor: a random IV per message (PubNub's default) or the fixed one.
        self.use_random_initialization_vector: bool = True
        #: ``AesCbcCryptoModule(config)`` or ``LegacyCryptoModule(config)`` (see
        #: :mod:`pubnub_twisted.crypto`); ``None`` with ``cipher_key`` means legacy.
        self.crypto_module: PubNubCryptoModule | None = None
        #: Refuse (``PNERR_INVALID_NAME``, nothing sent) channel and group names
        #: that break PubNub's naming rules, instead of sending them with a
        #: warning logged once per name.  A comma is always refused.
        self.strict_names: bool = False
        self._presence_timeout: int = DEFAULT_PRESENCE_TIMEOUT
        self._heartbeat_interval: float | None = None

    @property
    def user_id(self) -> str:
        """The same field as ``uuid`` (PubNub's newer name)."""
        return self.uuid

    @user_id.setter
    def user_id(self, value: str) -> None:
        self.uuid = value

    @property
    def presence_timeout(self) -> int:
        """Seconds the service keeps us present without a heartbeat (default 300)."""
        return self._presence_timeout

    @presence_timeout.setter
    def presence_timeout(self, value: int) -> None:
        self.set_presence_timeout(value)

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between heartbeats: ``presence_timeout / 2 - 1`` unless set."""
        if self._heartbeat_interval is not None:
            return self._heartbeat_interval
        return self._presence_timeout / 2 - 1

    @heartbeat_interval.setter
    def heartbeat_interval(self, value: float) -> None:
        self._heartbeat_interval = value

    def set_presence_timeout(self, timeout: int) -> None:
        """Set the presence timeout; the heartbeat interval follows it."""
        self._presence_timeout = timeout
        self._heartbeat_interval = None

    def set_presence_timeout_with_custom_interval(self, timeout: int, interval: float) -> None:
        """Set the presence timeout and the heartbeat interval together."""
        self._presence_timeout = timeout
        self._heartbeat_interval = interval

    @property
    def scheme(self) -> str:
        """``https`` or ``http``, from ``ssl``."""
        return "https" if self.ssl else "http"

    def copy(self) -> PNConfiguration:
        """An independent copy of these settings."""
        clone = PNConfiguration.__new__(PNConfiguration)
        for name in self.__slots__:
            object.__setattr__(clone, name, getattr(self, name))
        return clone

    def __repr__(self) -> str:
        shown = []
        for name in sorted(slot.lstrip("_") for slot in self.__slots__):
            # (a private slot backs the property of the same name)
            value = getattr(self, name)
            if name in _SECRET_FIELDS:
                value = "<set>" if value else None
            shown.append(f"{name}={value!r}")
        return f"PNConfiguration({', '.join(shown)})"

    __str__ = __repr__
