"""The command line's ``watch`` and ``time``, name and TLS options, and UTF-8 output."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Generator
from typing import Any

from twisted.internet import protocol, reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pubnub_twisted.cli import build_parser, run_command
from pubnub_twisted.cli.watcher import Watcher, message_record
from pubnub_twisted.enums import PNOperationType, PNStatusCategory
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
)
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer
from tests.cli_child import spawn_cli

Gen = Generator[Deferred[Any], Any, Any]

#: The first bytes of a TLS 1.2 ClientHello record (content type 22, version 3.1).
CLIENT_HELLO_START = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32


class _CLICase(TestCase):
    def setUp(self) -> None:
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)

    @inlineCallbacks
    def run_cli(self, *argv: str, ssl: bool = False, key: bool = True) -> Gen:
        """Run a command against the server; return (exit code, stdout, stderr)."""
        common = ["--origin", self.server.origin, "--timeout", "5"]
        if not ssl:
            common.append("--no-ssl")
        if key:
            common += ["--subscribe-key", DEFAULT_SUBSCRIBE_KEY]
        args = build_parser().parse_args([argv[0], *common, *argv[1:]])
        out, err = io.StringIO(), io.StringIO()
        code = yield ensureDeferred(run_command(reactor, args, out, err))
        return code, out.getvalue(), err.getvalue()


class TimeAndNamesTests(_CLICase):
    """``time``, ``--channel``/``--group``, ``--json`` in UTF-8."""

    @inlineCallbacks
    def test_time_without_keys(self) -> Gen:
        """``time`` needs no subscribe key, as in PubNub's SDKs, and prints a timetoken."""
        self.patch(os, "environ", {})
        before = int(reactor.seconds() * 10**7)
        code, out, err = yield self.run_cli("time", key=False)
        self.assertEqual((code, err), (0, ""))
        timetoken = int(out.split()[0])
        self.assertGreaterEqual(timetoken, before)
        code, out, _ = yield self.run_cli("time", "--json", key=False)
        self.assertGreaterEqual(json.loads(out)["timetoken"], timetoken)

    @inlineCallbacks
    def test_repeatable_channel(self) -> Gen:
        """``--channel`` (repeatable) adds whole names beside the comma list of ``--channels``."""
        code, _, err = yield self.run_cli(
            "heartbeat", "--uuid", "al", "--channels", "a,b", "--channel", "c", "--channel", "d"
        )
        self.assertEqual((code, err), (0, ""))
        _, out, _ = yield self.run_cli("where-now", "--target", "al", "--json")
        self.assertEqual(sorted(json.loads(out)["channels"]), ["a", "b", "c", "d"])

    @inlineCallbacks
    def test_json_keeps_utf8(self) -> Gen:
        """--json writes non-ASCII text as it is, not as \\u escapes."""
        yield self.run_cli(
            "heartbeat", "--uuid", "zoë", "--channel", "lobby", "--state",
            '{"lobby": {"mood": "ça va"}}',
        )  # fmt: skip
        _, out, _ = yield self.run_cli("here-now", "--channel", "lobby", "--state", "--json")
        self.assertIn('"uuid": "zoë"', out)
        self.assertIn('"mood": "ça va"', out)
        self.assertNotIn("\\u", out)
        _, table, _ = yield self.run_cli("get-state", "--channel", "lobby", "--target", "zoë")
        self.assertEqual(table, 'lobby  {"mood": "ça va"}\n')


class TLSHintTests(_CLICase):
    """A TLS client on the plain port is told at once, and the CLI suggests --no-ssl."""

    @inlineCallbacks
    def test_cli_suggests_no_ssl(self) -> Gen:
        """TLS against ``serve``: the handshake fails at once with a hint naming --no-ssl."""
        started = reactor.seconds()
        code, _, err = yield self.run_cli("here-now", "--channel", "lobby", ssl=True)
        self.assertEqual(code, 1)
        self.assertIn("TLS", err)
        self.assertIn("--no-ssl", err)
        self.assertIn("PUBNUB_SSL=0", err)
        # The server ends the handshake: no wait for the 5 s client timeout.
        self.assertLess(reactor.seconds() - started, 4)

    @inlineCallbacks
    def test_server_answers_tls_in_plain_http(self) -> Gen:
        """The server answers a ClientHello with a plain-text 400 and closes the connection."""
        received: list[bytes] = []
        closed: Deferred[None] = Deferred()

        class Raw(protocol.Protocol):
            def connectionMade(self) -> None:
                self.transport.write(CLIENT_HELLO_START)  # type: ignore[union-attr]

            def dataReceived(self, data: bytes) -> None:
                received.append(data)

            def connectionLost(self, reason: Any = None) -> None:
                closed.callback(None)

        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.server.server.port)
        yield connectProtocol(endpoint, Raw())
        yield closed
        answer = b"".join(received)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer)
        self.assertIn(b"plain HTTP, not TLS", answer)

    def test_pubnub_ssl_variable(self) -> None:
        """PUBNUB_SSL=0 turns TLS off like --no-ssl; a bad value is a clear error."""
        from pubnub_twisted.cli._common import config_from

        self.patch(os, "environ", {"PUBNUB_SSL": "0", "PUBNUB_SUBSCRIBE_KEY": "s"})
        self.assertFalse(config_from(build_parser().parse_args(["here-now"])).ssl)
        self.patch(os, "environ", {"PUBNUB_SSL": "true", "PUBNUB_SUBSCRIBE_KEY": "s"})
        self.assertTrue(config_from(build_parser().parse_args(["here-now"])).ssl)
        self.patch(os, "environ", {"PUBNUB_SSL": "sometimes", "PUBNUB_SUBSCRIBE_KEY": "s"})
        err = io.StringIO()
        args = build_parser().parse_args(["here-now"])
        d = ensureDeferred(run_command(reactor, args, io.StringIO(), err))
        self.assertEqual(self.successResultOf(d), 1)
        self.assertIn("PUBNUB_SSL must be 1 or 0", err.getvalue())


def _event(**fields: Any) -> PNPresenceEventResult:
    values: dict[str, Any] = {
        "event": "join",
        "uuid": "zoë",
        "timestamp": 1_700_000_000,
        "occupancy": 2,
        "state": None,
        "channel": "lobby",
        "subscription": None,
        "timetoken": 17_000_000_001_234_567,
    }
    values.update(fields)
    return PNPresenceEventResult(**values)


class WatcherTests(SynchronousTestCase):
    """The lines ``watch`` writes for each event."""

    def lines(self, as_json: bool, *events: Any) -> tuple[list[str], list[str]]:
        out, status = io.StringIO(), io.StringIO()
        watcher = Watcher(out, status, as_json=as_json)
        for event in events:
            if isinstance(event, PNPresenceEventResult):
                watcher.presence(None, event)  # type: ignore[arg-type]
            elif isinstance(event, PNSignalMessageResult):
                watcher.signal(None, event)  # type: ignore[arg-type]
            elif isinstance(event, PNMessageResult):
                watcher.message(None, event)  # type: ignore[arg-type]
            else:
                watcher.status(None, event)  # type: ignore[arg-type]
        return out.getvalue().splitlines(), status.getvalue().splitlines()

    def test_table_lines(self) -> None:
        """One readable line per event, with time, action, channel, uuid, occupancy, state."""
        lines, _ = self.lines(
            False,
            _event(state={"mood": "ça va"}, event="state-change", subscription="rooms"),
            _event(event="interval", uuid=None, join=["a", "b"], timeout=["c"]),
            PNMessageResult({"text": "hi"}, "lobby", None, 17_000_000_001_234_567, "zoë"),
        )
        self.assertEqual(
            lines,
            [
                "2023-11-14T22:13:20.123Z  state-change lobby via rooms  zoë  occupancy=2"
                '  state={"mood":"ça va"}',
                "2023-11-14T22:13:20.123Z  interval     lobby  occupancy=2  join=a,b  timeout=c",
                '2023-11-14T22:13:20.123Z  message  lobby from zoë: {"text":"hi"}',
            ],
        )

    def test_signals_and_message_types(self) -> None:
        """A signal gets its own line and type; custom type and decryption error are kept."""
        lines, _ = self.lines(
            False, PNSignalMessageResult("typing", "lobby", None, 17_000_000_001_234_567, "zoë")
        )
        self.assertEqual(lines, ['2023-11-14T22:13:20.123Z  signal   lobby from zoë: "typing"'])
        message = PNMessageResult(
            "x", "lobby", None, 1, "zoë", custom_message_type="chat", error=ValueError("bad key")
        )
        record = message_record(message)
        self.assertEqual(
            (record["type"], record["custom_message_type"], record["error"]),
            ("message", "chat", "bad key"),
        )
        self.assertEqual(message_record(PNSignalMessageResult("s", "c", None, 1))["type"], "signal")

    def test_json_lines(self) -> None:
        """--json: one JSON object per line, UTF-8 as it is; statuses go to the other stream."""
        status = PNStatus(
            PNStatusCategory.PNConnectedCategory, PNOperationType.PNSubscribeOperation
        )
        event = _event(state={"mood": "ça va"}, precise_timestamp=1_700_000_000_123)
        lines, statuses = self.lines(True, event, status)
        self.assertEqual(len(lines), 1)
        self.assertIn("ça va", lines[0])
        self.assertEqual(
            json.loads(lines[0]),
            {
                "type": "presence",
                "time": "2023-11-14T22:13:20.123Z",
                "timetoken": 17_000_000_001_234_567,
                "event": "join",
                "channel": "lobby",
                "subscription": None,
                "uuid": "zoë",
                "occupancy": 2,
                "precise_timestamp": 1_700_000_000_123,
                "state": {"mood": "ça va"},
            },
        )
        self.assertEqual(statuses, ["# PNConnectedCategory"])


class WatchProcessTests(TestCase):
    """``python -m pubnub_twisted watch`` in a child process, Ctrl-C included."""

    timeout = 60

    @inlineCallbacks
    def test_watch_then_ctrl_c(self) -> Gen:
        """Events print as they happen (one JSON object per line); SIGINT leaves cleanly."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        process, child = spawn_cli(
            self,
            "watch",
            "lobby",
            "--json",
            "--origin",
            server.origin,
            "--subscribe-key",
            DEFAULT_SUBSCRIBE_KEY,
            "--uuid",
            "watcher",
            env={"PUBNUB_SSL": "0"},
        )
        yield child.wait_for("err", "PNConnectedCategory")
        self.assertEqual(server.store.where_now(DEFAULT_SUBSCRIBE_KEY, "watcher"), ["lobby"])
        alice = server.client("zoë")
        yield alice.heartbeat().channels("lobby").state({"lobby": {"mood": "ça va"}}).deferred()
        line = yield child.wait_for("out", "zoë")
        record = json.loads(line)
        self.assertEqual(
            (record["event"], record["uuid"], record["state"]), ("join", "zoë", {"mood": "ça va"})
        )
        process.signalProcess("INT")
        code = yield child.ended
        self.assertEqual(code, 0, "\n".join(child.err))
        # It left on the way out: no wait for a presence timeout.
        self.assertEqual(server.store.where_now(DEFAULT_SUBSCRIBE_KEY, "watcher"), [])
