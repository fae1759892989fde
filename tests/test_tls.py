"""TLS against a local server whose certificates are made here, on loopback.

A test CA signs the server's certificate.  The client trusts it only when
``ca_certs_file`` names that CA; a certificate for another host name is
refused; a server that does not speak TLS is a TLS failure, not a hang; and
turning verification off works but logs a warning.
"""

from __future__ import annotations

import datetime
import ipaddress
from functools import cache
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet.defer import CancelledError, inlineCallbacks
from twisted.internet.ssl import CertificateOptions, PrivateCertificate
from twisted.internet.task import deferLater
from twisted.logger import LogLevel, formatEvent

from pubnub_twisted import PNStatusCategory
from pubnub_twisted.models import PNEnvelope
from tests.fault_server import (
    HERE_NOW,
    STALL_AFTER_HEADERS,
    Fault,
    LoopbackCase,
    deaf,
    json_answer,
    reactor,
)

Category = PNStatusCategory

CA_NAME = "pubnub-twisted test CA"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _sign(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(CA_NAME))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


@cache
def _ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    extensions = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (usage, True),
        (ski, False),
    ]
    return key, _sign(CA_NAME, key, key, extensions)


def ca_pem() -> bytes:
    """The test CA's certificate, PEM."""
    return _pem(_ca()[1])


@cache
def server_options(*names: str) -> CertificateOptions:
    """Server TLS options with a certificate the test CA issued for ``names``."""
    ca_key = _ca()[0]
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.SubjectAlternativeName(alt_names), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (aki, False),
    ]
    cert = _sign(names[0], key, ca_key, extensions)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    options: CertificateOptions = PrivateCertificate.loadPEM(_pem(cert) + key_pem).options()
    return options


class TLSCase(LoopbackCase):
    """Clients that can trust the test CA."""

    timeout_s = 3.0

    def ca_file(self) -> str:
        """A PEM file holding the test CA's certificate."""
        path: str = self.mktemp()
        with open(path, "wb") as pem_file:
            pem_file.write(ca_pem())
        return path


class TLSTests(TLSCase):
    """Certificate and host name checks, with a CA made for the test."""

    @inlineCallbacks
    def call(self, names: tuple[str, ...] | None, **overrides: Any) -> Any:
        """here_now over HTTPS to "localhost"; the server has a cert for ``names``.

        ``names=None`` is a plain HTTP server.
        """
        tls = None if names is None else server_options(*names)
        server = self.serve(json_answer(HERE_NOW), tls=tls)
        pubnub = self.client(f"localhost:{server.port}", server, ssl=True, **overrides)
        envelope: PNEnvelope[Any] = yield self.here_now(pubnub)
        self.assertTrue(envelope.status.tls_enabled)
        return envelope

    @inlineCallbacks
    def test_trusted_with_ca_file(self) -> Any:
        """The server's CA in ca_certs_file: the call succeeds."""
        envelope = yield self.call(("localhost",), ca_certs_file=self.ca_file())
        self.assertEqual(envelope.status.category, Category.PNAcknowledgmentCategory)
        self.assertEqual(envelope.result.total_occupancy, 1)

    @inlineCallbacks
    def test_untrusted_ca(self) -> Any:
        """The system roots do not know the test CA: TLSUntrustedCertificate."""
        envelope = yield self.call(("localhost",))
        self.assertStatus(
            envelope,
            Category.PNTLSUntrustedCertificateCategory,
            None,
            "TLS Certificate Not Trusted: certificate not trusted",
        )
        assert envelope.status.error_data is not None
        self.assertIn("certificate verify failed", envelope.status.error_data.information)

    @inlineCallbacks
    def test_hostname_mismatch(self) -> Any:
        """A trusted certificate for another host name: TLSUntrustedCertificate naming it."""
        envelope = yield self.call(("other.example",), ca_certs_file=self.ca_file())
        self.assertStatus(
            envelope,
            Category.PNTLSUntrustedCertificateCategory,
            None,
            "TLS Certificate Not Trusted: certificate does not match the host name 'localhost'",
        )

    @inlineCallbacks
    def test_plain_server(self) -> Any:
        """ssl=True against a plain HTTP server: TLSConnectionFailed, not a hang."""
        envelope = yield self.call(None, ca_certs_file=self.ca_file())
        self.assertStatus(
            envelope,
            Category.PNTLSConnectionFailedCategory,
            None,
            "TLS Error: TLS handshake failed",
        )

    @inlineCallbacks
    def test_verification_off(self) -> Any:
        """tls_verify=False reaches an untrusted server, and a warning is logged."""
        envelope = yield self.call(("other.example",), tls_verify=False)
        self.assertEqual(envelope.status.category, Category.PNAcknowledgmentCategory)
        warnings = [
            formatEvent(event) for event in self.events if event.get("log_level") == LogLevel.warn
        ]
        self.assertEqual(len(warnings), 1)
        self.assertIn("TLS certificate verification is turned off", warnings[0])

    def test_verification_on_by_default(self) -> None:
        """A client with default settings logs no TLS warning (verification is on)."""
        self.client("localhost:1", ssl=True)
        self.assertEqual([e for e in self.events if e.get("log_level") == LogLevel.warn], [])


class DeafPeerTests(TLSCase):
    """A TLS peer that stops reading never answers our close alert: we must not wait for it."""

    def deaf_server(self, fault: Fault) -> Any:
        """A TLS server that applies ``fault`` then stops reading, and a client for it."""
        server = self.serve(deaf(fault), tls=server_options("localhost"))
        pubnub = self.client(f"localhost:{server.port}", ssl=True, ca_certs_file=self.ca_file())
        return pubnub, server

    @inlineCallbacks
    def test_cancel_reading_body(self) -> Any:
        """Cancel mid-body over TLS: the client's socket is closed at once."""
        pubnub, server = self.deaf_server(STALL_AFTER_HEADERS)
        d = pubnub.here_now().channels("a").deferred()
        yield server.wait_requests(1)
        yield deferLater(reactor, 0.2, lambda: None)
        self.assertEqual(len(self.client_sockets()), 1)
        d.cancel()
        yield self.assertFailure(d, CancelledError)
        yield deferLater(reactor, 0.1, lambda: None)  # a close takes a reactor turn or two
        self.assertEqual(self.client_sockets(), set())

    @inlineCallbacks
    def test_stop_with_idle_connection(self) -> Any:
        """stop() with a pooled TLS connection to a deaf server fires at once, socket closed."""
        pubnub, _ = self.deaf_server(json_answer(HERE_NOW))
        envelope = yield pubnub.here_now().channels("a").deferred()
        self.assertEqual(envelope.status.category, Category.PNAcknowledgmentCategory)
        self.assertEqual(len(self.client_sockets()), 1)
        yield pubnub.stop().addTimeout(1, reactor)
        self.assertEqual(self.client_sockets(), set())
