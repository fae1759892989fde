"""Secrets (auth key, secret key, signatures) never show in logs, repr, str or statuses.

Requests carry ``auth=`` and ``signature=`` in their URL, so no log event,
exception message or status field may carry the URL either.  Calls run
against the fault server on loopback, failing in every way it can, with
every ``twisted.logger`` event captured.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock
from twisted.logger import LogEvent, formatEvent
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import (
    PNConfiguration,
    PNReconnectionPolicy,
    PNStatusCategory,
    PubNub,
    PubNubException,
)
from pubnub_twisted.models import PNEnvelope
from tests.fakes import FakeAgent, Script
from tests.fault_server import (
    RESET_MID_BODY,
    SILENT,
    TRUNCATED_CHUNKED,
    FaultServer,
    LoopbackCase,
    answer,
    json_answer,
)
from tests.test_tls import server_options

AUTH_KEY = "auth-TOKEN-7f3a9c0d"
SECRET_KEY = "sec-c-SECRET-51b2e8aa"
FORBIDDEN = {
    "status": 403,
    "error": True,
    "service": "Access Manager",
    "message": "Forbidden",
    "payload": {"channels": ["a"]},
}
FAULTS = [
    json_answer(FORBIDDEN, 403),
    answer(500, b"<html>oops</html>"),
    answer(200, b"not json"),
    json_answer({"status": 200, "uuids": []}),
    RESET_MID_BODY,
    TRUNCATED_CHUNKED,
    SILENT,
]


def secret_config(origin: str, **overrides: Any) -> PNConfiguration:
    """A configuration with an auth key and a secret key (so requests are signed)."""
    from tests.helpers import config

    settings: dict[str, Any] = {
        "auth_key": AUTH_KEY,
        "secret_key": SECRET_KEY,
        "origin": origin,
        "non_subscribe_request_timeout": 0.5,
        "log_requests": True,
        "request_retry_policy": PNReconnectionPolicy.NONE,
        **overrides,
    }
    return config(**settings)


def event_text(event: LogEvent) -> str:
    """Everything a log observer could show of ``event``: text, fields, traceback."""
    parts = [formatEvent(event), repr(event)]
    failure = event.get("log_failure")
    if failure is not None:
        parts.append(failure.getTraceback())
    return "\n".join(parts)


def envelope_texts(envelope: PNEnvelope[Any]) -> list[str]:
    """Every rendering of an envelope, its status, error data and exception."""
    status = envelope.status
    texts = [repr(envelope), str(envelope), repr(status), str(status)]
    texts.append(repr(status.original_response))
    if status.error_data is not None:
        exception = status.error_data.exception
        texts += [repr(status.error_data), str(status.error_data), repr(exception), str(exception)]
    return texts


class SecretsTests(LoopbackCase):
    """No rendering of anything the client produces holds a secret."""

    def setUp(self) -> None:
        super().setUp()
        self.signatures: set[str] = set()
        self.addCleanup(self.assertLogsClean)

    def assertClean(self, text: str, where: str) -> None:
        """``text`` holds no secret and no secret-bearing query parameter."""
        for secret in (AUTH_KEY, SECRET_KEY, *self.signatures, "auth=", "signature="):
            self.assertNotIn(secret, text, f"{secret!r} leaked in {where}")

    def assertLogsClean(self) -> None:
        """Every event logged during the test is clean (run after the test's cleanups)."""
        for event in self.events:
            self.assertClean(event_text(event), "a log event")

    def collect_signatures(self, server: FaultServer) -> None:
        """Remember the signatures the server received, so they can be looked for."""
        for target in server.requests:
            query = parse_qs(urlsplit(target).query)
            self.assertEqual(query["auth"], [AUTH_KEY])
            self.signatures.update(query["signature"])

    @inlineCallbacks
    def test_failures(self) -> Any:
        """Every kind of failed call: envelope, status and exception hold no secret."""
        for fault in FAULTS:
            server = self.serve(fault)
            pubnub = PubNub(secret_config(server.origin))
            self.addCleanup(pubnub.stop)
            envelope = yield pubnub.here_now().channels("a").deferred()
            self.assertTrue(envelope.status.is_error())
            failure = yield self.assertFailure(
                pubnub.here_now().channels("a").result(), PubNubException
            )
            self.collect_signatures(server)
            self.assertEqual(len(server.requests), 2)
            for text in [*envelope_texts(envelope), repr(failure), str(failure)]:
                self.assertClean(text, repr(envelope.status))
        self.assertTrue(all(s.startswith("v2.") for s in self.signatures), self.signatures)
        self.assertGreater(len(self.events), len(FAULTS))  # the capture works

    @inlineCallbacks
    def test_success(self) -> Any:
        """A successful signed call: the envelope holds no secret."""
        server = self.serve(json_answer({"status": 200, "occupancy": 1, "uuids": ["u"]}))
        pubnub = PubNub(secret_config(server.origin))
        self.addCleanup(pubnub.stop)
        envelope = yield pubnub.here_now().channels("a").deferred()
        self.assertEqual(envelope.status.category, PNStatusCategory.PNAcknowledgmentCategory)
        self.collect_signatures(server)
        for text in envelope_texts(envelope):
            self.assertClean(text, "a success envelope")

    @inlineCallbacks
    def test_refused_and_unparsable_origin(self) -> Any:
        """Connection refused, and an origin the HTTP client cannot parse: no URL in the message."""
        for origin, category in [
            ("127.0.0.1:1", PNStatusCategory.PNUnexpectedDisconnectCategory),
            ("[::1", PNStatusCategory.PNBadRequestCategory),
            ("local host", PNStatusCategory.PNBadRequestCategory),
        ]:
            pubnub = PubNub(secret_config(origin))
            self.addCleanup(pubnub.stop)
            envelope = yield pubnub.here_now().channels("a").deferred()
            self.assertEqual(envelope.status.category, category)
            for text in envelope_texts(envelope):
                self.assertClean(text, origin)
                self.assertNotIn("/v2/presence", text)

    @inlineCallbacks
    def test_tls_failure_and_warning(self) -> Any:
        """An untrusted certificate, and the tls_verify=False warning: no secret logged."""
        server = self.serve(json_answer({"status": 200, "occupancy": 0}), tls=server_options("x"))
        for verify in (True, False):
            pubnub = PubNub(secret_config(f"localhost:{server.port}", ssl=True, tls_verify=verify))
            self.addCleanup(pubnub.stop)
            envelope = yield pubnub.here_now().channels("a").deferred()
            for text in envelope_texts(envelope):
                self.assertClean(text, "a TLS envelope")
        self.collect_signatures(server)
        self.assertEqual(len(server.requests), 1)  # the unverified client got through

    def test_validation_error(self) -> None:
        """A refused request (bad state): the envelope and exception hold no secret."""
        pubnub = PubNub(secret_config("127.0.0.1:1"))
        self.addCleanup(pubnub.stop)
        envelope = self.successResultOf(
            pubnub.set_state().channels("a").state([1]).deferred()  # type: ignore[arg-type]
        )
        self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        for text in envelope_texts(envelope):
            self.assertClean(text, "a validation envelope")

    def test_config_and_client(self) -> None:
        """repr and str of the configuration and the client show only that secrets are set."""
        config = secret_config("127.0.0.1:1")
        pubnub = PubNub(config)
        self.addCleanup(pubnub.stop)
        for text in (repr(config), str(config), repr(pubnub.config), repr(pubnub), str(pubnub)):
            self.assertClean(text, "a configuration")
        self.assertIn("auth_key='<set>'", repr(config))
        self.assertIn("secret_key='<set>'", repr(config))


class RedactionTests(SynchronousTestCase):
    """A failure whose text quotes the request URL does not carry its secrets on."""

    def test_failure_quoting_the_url(self) -> None:
        """An unexpected error quoting the URL: auth and signature values are hidden."""
        quoted = f"http://pubnub.test/v2?auth={AUTH_KEY}&signature=v2.SIGNED&uuid=u"
        agent = FakeAgent(Script(failure=ValueError(f"cannot fetch {quoted}")))
        pubnub = PubNub(secret_config("pubnub.test"), reactor=Clock(), agent=agent)
        envelope = self.successResultOf(pubnub.here_now().channels("a").deferred())
        self.assertEqual(envelope.status.category, PNStatusCategory.PNUnknownCategory)
        assert envelope.status.error_data is not None
        self.assertEqual(
            envelope.status.error_data.information,
            "Connection Error: ValueError: cannot fetch "
            "http://pubnub.test/v2?auth=<hidden>&signature=<hidden>&uuid=u",
        )
