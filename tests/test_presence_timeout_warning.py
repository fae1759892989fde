"""A presence timeout under PubNub's documented 20 s minimum: kept, with one warning."""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.logger import LogLevel, capturedLogs
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNConfiguration, PubNub
from pubnub_twisted._presence_timeout import is_local_origin
from pubnub_twisted.testing import InMemoryPresence


def warnings_for(origin: str, timeout: int) -> list[str]:
    """The warnings logged while a client for ``origin`` with ``timeout`` is made."""
    config = PNConfiguration()
    config.subscribe_key = "sub-c-x"
    config.origin = origin
    config.set_presence_timeout(timeout)
    with capturedLogs() as events:
        PubNub(config, reactor=Clock())
    return [
        str(event["log_format"]).format(**event)
        for event in events
        if event["log_level"] is LogLevel.warn
    ]


class WarningTests(SynchronousTestCase):
    """When the client warns, and what it says."""

    def test_short_timeout_to_pubnub(self) -> None:
        """Below 20 s towards PubNub's service: one warning naming the value and the minimum."""
        (warning,) = warnings_for("ps.pndsn.com", 8)
        self.assertIn("presence_timeout=8", warning)
        self.assertIn("20 s minimum", warning)

    def test_no_warning(self) -> None:
        """20 s or more anywhere, or any value towards a local server: no warning."""
        self.assertEqual(warnings_for("ps.pndsn.com", 20), [])
        for origin in ("127.0.0.1:8090", "localhost:8090", "[::1]:8090", "presence.invalid"):
            self.assertEqual(warnings_for(origin, 2), [], origin)

    def test_once_per_client(self) -> None:
        """The warning comes when the client is made, not again on each call."""
        presence = InMemoryPresence()  # answers whatever the origin says
        config = presence.config("alice", origin="ps.pndsn.com", presence_timeout=5)
        with capturedLogs() as events:
            pubnub = PubNub(config, reactor=presence.clock, agent=presence.agent)
            for _ in range(2):
                envelope = presence.call(pubnub.heartbeat().channels("ch"))
                self.assertFalse(envelope.status.is_error())
        self.assertEqual(len([e for e in events if e["log_level"] is LogLevel.warn]), 1)

    def test_short_timeout_still_sent(self) -> None:
        """The value is sent as given (the embedded server honours it: 2 s means 2 s)."""
        presence = InMemoryPresence()
        alice = presence.client("alice", presence_timeout=2)
        presence.call(alice.heartbeat().channels("lobby"))
        self.assertEqual(presence.store.occupancy("sub-c-local", "lobby"), 1)
        presence.clock.advance(2)
        self.assertEqual(presence.store.occupancy("sub-c-local", "lobby"), 0)

    def test_local_origins(self) -> None:
        """Loopback addresses and localhost are local; other hosts are not."""
        local = ["127.0.0.1", "127.9.9.9:80", "[::1]:80", "::1", "LOCALHOST", "a.localhost:1"]
        remote = ["ps.pndsn.com", "10.0.0.1:80", "localhost.example.com", "[::2]:80", ""]
        self.assertEqual([is_local_origin(origin) for origin in local], [True] * len(local))
        self.assertEqual([is_local_origin(origin) for origin in remote], [False] * len(remote))
