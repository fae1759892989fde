"""The command line: operations, output formats, errors, demo and serve."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from dataclasses import fields
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pubnub_twisted.cli import build_parser, run_command, subscribe_options
from pubnub_twisted.demo import DemoOptions, run_demo
from pubnub_twisted.server import SubscribeOptions
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer

Gen = Generator[Deferred[Any], Any, Any]


class OperationTests(TestCase):
    """Each operation subcommand against the embedded server on loopback."""

    def setUp(self) -> None:
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)

    @inlineCallbacks
    def run_cli(self, *argv: str) -> Gen:
        """Run a command; return (exit code, stdout, stderr)."""
        common = ["--origin", self.server.origin, "--no-ssl", "--subscribe-key"]
        args = build_parser().parse_args([argv[0], *common, DEFAULT_SUBSCRIBE_KEY, *argv[1:]])
        out, err = io.StringIO(), io.StringIO()
        code = yield ensureDeferred(run_command(reactor, args, out, err))
        return code, out.getvalue(), err.getvalue()

    @inlineCallbacks
    def test_presence_round_trip(self) -> Gen:
        """heartbeat, set-state, here-now, where-now, get-state and leave, as tables."""
        code, out, _ = yield self.run_cli(
            "heartbeat",
            "--uuid",
            "alice",
            "--channels",
            "lobby,game",
            "--state",
            '{"lobby": {"mood": "ok"}}',
        )
        self.assertEqual((code, out), (0, "OK\n"))
        code, out, _ = yield self.run_cli("here-now", "--channels", "lobby", "--state")
        self.assertEqual(
            out, '1 present on 1 channel(s)\n  lobby  occupancy 1\n    alice  {"mood": "ok"}\n'
        )
        code, out, _ = yield self.run_cli("where-now", "--target", "alice")
        self.assertEqual(out, "lobby\ngame\n")
        code, out, _ = yield self.run_cli(
            "set-state", "--uuid", "alice", "--channels", "game", "--state", '{"a": 1}'
        )
        self.assertEqual(out, '{"a": 1}\n')
        code, out, _ = yield self.run_cli(
            "get-state", "--channels", "lobby,game", "--target", "alice"
        )
        self.assertEqual(out, 'lobby  {"mood": "ok"}\ngame   {"a": 1}\n')
        code, out, _ = yield self.run_cli("leave", "--uuid", "alice", "--channels", "lobby")
        self.assertEqual((code, out), (0, "OK\n"))
        code, out, _ = yield self.run_cli("where-now", "--target", "alice")
        self.assertEqual(out, "game\n")

    @inlineCallbacks
    def test_json_output(self) -> Gen:
        """--json prints a JSON document for scripts."""
        yield self.run_cli("heartbeat", "--uuid", "bob", "--channels", "x")
        code, out, _ = yield self.run_cli("here-now", "--channels", "x", "--json")
        self.assertEqual(code, 0)
        self.assertEqual(
            json.loads(out),
            {
                "total_channels": 1,
                "total_occupancy": 1,
                "channels": {"x": {"occupancy": 1, "occupants": [{"uuid": "bob", "state": None}]}},
            },
        )

    @inlineCallbacks
    def test_groups(self) -> Gen:
        """groups add / list / remove / delete."""
        yield self.run_cli("groups", "add", "rooms", "--channels", "a,b")
        _, out, _ = yield self.run_cli("groups", "list", "rooms")
        self.assertEqual(out, "a\nb\n")
        yield self.run_cli("groups", "remove", "rooms", "--channels", "a")
        _, out, _ = yield self.run_cli("groups", "list", "rooms", "--json")
        self.assertEqual(json.loads(out), {"channels": ["b"]})
        yield self.run_cli("groups", "delete", "rooms")
        _, out, _ = yield self.run_cli("groups", "list", "rooms")
        self.assertEqual(out, "(none)\n")

    @inlineCallbacks
    def test_error_is_one_line(self) -> Gen:
        """A refused call: one line on stderr, exit code 1, nothing on stdout."""
        code, out, err = yield self.run_cli("here-now", "--channels", "a", "--limit", "0")
        self.assertEqual((code, out), (1, ""))
        self.assertEqual(
            err,
            "pubnub-twisted: error: Invalid argument: limit must be an integer from 1 to 1000, "
            "not 0\n",
        )

    @inlineCallbacks
    def test_access_denied(self) -> Gen:
        """A 403 from the server is reported as one line with the status code."""
        server = LocalPresenceServer.start(reactor, auth_keys={"good"})
        self.addCleanup(server.stop)
        args = build_parser().parse_args(
            [
                "here-now",
                "--origin",
                server.origin,
                "--no-ssl",
                "--subscribe-key",
                "s",
                "--auth-key",
                "bad",
            ]
        )
        err = io.StringIO()
        code = yield ensureDeferred(run_command(reactor, args, io.StringIO(), err))
        self.assertEqual(code, 1)
        self.assertEqual(
            err.getvalue(), "pubnub-twisted: error: HTTP Client Error (403): Forbidden\n"
        )
        self.assertNotIn("bad", err.getvalue().replace("pubnub", ""))

    @inlineCallbacks
    def test_publish_and_history(self) -> Gen:
        """publish (JSON, plain text, by POST) then history, as a table and as JSON."""
        key = ["--publish-key", "pub-c-local", "--uuid", "alice"]
        code, out, _ = yield self.run_cli(
            "publish", *key, "--channel", "lobby", "--message", '{"text": "hi"}', "--meta", "{}"
        )
        self.assertEqual(code, 0)
        self.assertRegex(out, r"^sent [0-9]{17}\n$")
        first = int(out.split()[1])
        code, out, _ = yield self.run_cli(
            "publish", *key, "--channel", "lobby", "--message", "plain words", "--post"
        )
        self.assertEqual(code, 0)
        code, out, _ = yield self.run_cli("history", "--channel", "lobby")
        lines = out.splitlines()
        self.assertEqual(lines[0], f'lobby  {first}  alice  {{"text": "hi"}}')
        self.assertTrue(lines[1].endswith('  alice  "plain words"'), lines)
        code, out, _ = yield self.run_cli("history", "--channel", "lobby", "--count", "1", "--json")
        self.assertEqual(json.loads(out)["channels"]["lobby"][0]["message"], "plain words")
        code, out, err = yield self.run_cli("publish", "--channel", "lobby", "--message", "x")
        self.assertEqual(code, 1)
        self.assertIn("Publish key", err)


class ParserTests(SynchronousTestCase):
    """Arguments, environment variables and help."""

    def test_keys_from_environment(self) -> None:
        """Keys come from PUBNUB_* variables so they stay out of shell history."""
        env = {
            "PUBNUB_SUBSCRIBE_KEY": "sub-env",
            "PUBNUB_AUTH_KEY": "auth-env",
            "PUBNUB_ORIGIN": "127.0.0.1:1234",
            "PUBNUB_UUID": "env-user",
        }
        self.patch(os, "environ", env)
        args = build_parser().parse_args(["here-now"])
        self.assertEqual(
            (args.subscribe_key, args.auth_key, args.origin, args.uuid),
            ("sub-env", "auth-env", "127.0.0.1:1234", "env-user"),
        )

    def test_missing_subscribe_key(self) -> None:
        """No subscribe key anywhere: a clear one-line error, exit code 1."""
        self.patch(os, "environ", {})
        args = build_parser().parse_args(["here-now"])
        err = io.StringIO()
        d = ensureDeferred(run_command(reactor, args, io.StringIO(), err))
        self.assertEqual(self.successResultOf(d), 1)
        self.assertIn("a subscribe key is needed", err.getvalue())

    def test_help_has_example(self) -> None:
        """Each subcommand's --help shows an example."""
        for command in (
            "here-now",
            "where-now",
            "get-state",
            "set-state",
            "heartbeat",
            "leave",
            "groups",
            "publish",
            "history",
            "demo",
            "serve",
        ):
            out = io.StringIO()
            self.patch(sys, "stdout", out)
            with self.assertRaises(SystemExit):
                build_parser().parse_args([command, "--help"])
            self.assertIn("example", out.getvalue(), command)

    def test_bad_json_state(self) -> None:
        """set-state with invalid JSON is a usage error naming the problem."""
        err = io.StringIO()
        self.patch(sys, "stderr", err)
        with self.assertRaises(SystemExit) as raised:
            build_parser().parse_args(["set-state", "--channels", "a", "--state", "{nope"])
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("not valid JSON", err.getvalue())


class DemoTests(TestCase):
    """The demo tours every operation against the embedded server."""

    @inlineCallbacks
    def test_demo(self) -> Gen:
        """The tour prints each step, the leave, the timeout, live events, the view, the chat."""
        out = io.StringIO()
        yield ensureDeferred(run_demo(reactor, out, DemoOptions(presence_timeout=1)))
        text = out.getvalue()
        for expected in (
            "   lobby  3 present: alice, bob, dave",
            '   lobby  3 present: alice {"mood": "ready"}, bob, dave {"mood": "away"}',
            "   rooms holds: lobby, game",
            "   page 2: dave",
            "   alice asks about dave: lobby",
            '   alice\'s state on game: {"score": 42}',
            "   - bob left lobby: occupancy 3 -> 2",
            "   - carol timed out of game: alice still present",
            "   >> join         erin   on lobby  (occupancy 3)",
            '   >> state-change erin   on lobby  (occupancy 3)  state {"mood": "curious"}',
            "   >> leave        erin   on lobby  (occupancy 2)",
            "   >> join         frank  on lobby  (occupancy 3)",
            "   >> timeout      frank  on lobby  (occupancy 2)",
            '      view of lobby (2): alice {"score": 42}, dave {"mood": "away"}',
            "   + gina joined lobby",
            '      view of lobby (3): alice {"score": 42}, dave {"mood": "away"}, '
            'gina {"mood": "new"}',
            "   ~ dave changed state on lobby",
            "   - gina left lobby (leave)",
            '      view of lobby (2): alice {"score": 42}, dave {"mood": "back"}',
            "   (bob is typing)",
            "   bob [en]: game?",
            "   alice [fr]: oui!",
            "   history of lobby from bob's message on: bob: game?; alice: oui!",
            "Done: every presence operation ran over real HTTP.",
        ):
            self.assertIn(expected, text.splitlines(), text)


class ServeTests(SynchronousTestCase):
    """``python -m pubnub_twisted serve`` in a child process."""

    def serve(self, *flags: str) -> tuple[subprocess.Popen[str], str]:
        """Start ``serve --port 0`` (and ``flags``); return the child and its announced URL."""
        child = subprocess.Popen(
            [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(child.kill)
        assert child.stdout is not None
        first = child.stdout.readline()
        self.assertTrue(first.startswith("listening on http://127.0.0.1:"), first)
        return child, first.split()[-1]

    def test_serve(self) -> None:
        """It prints its address, answers PubNub requests, logs them and stops on SIGTERM."""
        child, url = self.serve()
        query = "?uuid=u1&pnsdk=x"
        with urllib.request.urlopen(f"{url}/v2/presence/sub-key/s/channel/c/heartbeat{query}"):
            pass
        with urllib.request.urlopen(f"{url}/v2/presence/sub-key/s/channel/c{query}") as answer:
            self.assertEqual(json.load(answer)["uuids"], ["u1"])
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=10)
        self.assertEqual(child.returncode, 0, err)
        self.assertIn("GET /v2/presence/sub-key/s/channel/c -> 200", out)
        self.assertEqual(err, "")

    def test_sigint(self) -> None:
        """Ctrl-C (SIGINT) right after the address is printed stops it cleanly too."""
        child, _ = self.serve()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=10)
        self.assertEqual((child.returncode, err), (0, ""))
        self.assertIn("Main loop terminated", out)

    def test_flags_reach_the_server(self) -> None:
        """--subscribe-key, --hold-time, --announce-max, --interval and --presence-deltas work."""
        flags = ["--subscribe-key", "sub-a", "--hold-time", "0", "--announce-max", "0"]
        child, url = self.serve(*flags, "--interval", "0.2", "--presence-deltas")
        self.addCleanup(child.communicate, timeout=10)
        self.addCleanup(child.send_signal, signal.SIGTERM)
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/v2/presence/sub-key/sub-b/channel/c?uuid=u")
        self.assertEqual(refused.exception.code, 400)
        self.assertEqual(json.load(refused.exception)["message"], "Invalid Subscribe Key")
        refused.exception.close()

        def get(path: str) -> Any:
            with urllib.request.urlopen(f"{url}{path}", timeout=5) as answer:
                return json.load(answer)

        cursor = get("/v2/subscribe/sub-a/c-pnpres/0?uuid=watcher&tt=0")["t"]["t"]
        get("/v2/presence/sub-key/sub-a/channel/c/heartbeat?uuid=u1&heartbeat=60")
        seen: list[Any] = []
        for _ in range(50):  # a poll with nothing new is answered at once (hold time 0)
            body = get(f"/v2/subscribe/sub-a/c-pnpres/0?uuid=watcher&tt={cursor}")
            cursor = body["t"]["t"]
            seen.extend(entry["d"] for entry in body["m"])
            if seen:
                break
            time.sleep(0.1)
        self.assertEqual(
            [(d["action"], d.get("join"), d["occupancy"]) for d in seen],
            [("interval", ["u1"], 1)],
            "announce_max 0: no join, an interval listing it",
        )

    def test_bad_flag_value(self) -> None:
        """A value the server refuses is a one-line error and exit code 1, before listening."""
        for flags, why in [
            (["--hold-time", "-1"], "hold_time and debounce must not be negative"),
            (["--subscribe-key", ""], "subscribe_keys must be non-empty strings"),
        ]:
            child = subprocess.run(
                [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0", *flags],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            self.assertEqual((child.returncode, child.stdout), (1, ""), flags)
            self.assertEqual(child.stderr, f"pubnub-twisted: error: {why}\n")


class ServeFlagTests(SynchronousTestCase):
    """Every SubscribeOptions field has a ``serve`` flag, and each flag sets its field."""

    def test_every_option_has_a_flag(self) -> None:
        """All flags given: the options hold exactly their values."""
        flags = ["--hold-time", "1.5", "--buffer-size", "7", "--buffer-ttl", "9", "--debounce", "2"]
        flags += ["--announce-max", "3", "--interval", "4", "--presence-deltas"]
        flags += ["--leave-on-disconnect", "--redeliver-events"]
        args = build_parser().parse_args(["serve", *flags])
        expected = SubscribeOptions(
            hold_time=1.5,
            buffer_size=7,
            buffer_ttl=9,
            announce_max=3,
            interval=4,
            presence_deltas=True,
            debounce=2,
            leave_on_disconnect=True,
            redeliver_events=True,
        )
        self.assertEqual(subscribe_options(args), expected)
        defaults = SubscribeOptions()
        names = [f.name for f in fields(SubscribeOptions)]
        differs = [name for name in names if getattr(defaults, name) != getattr(expected, name)]
        self.assertEqual(differs, names, "the flags set every field away from its default")

    def test_defaults(self) -> None:
        """No flags: PubNub's defaults, and no allow-list."""
        args = build_parser().parse_args(["serve"])
        self.assertEqual(subscribe_options(args), SubscribeOptions())
        self.assertIsNone(args.subscribe_keys)

    def test_repeatable_subscribe_key(self) -> None:
        """--subscribe-key collects every key given."""
        args = build_parser().parse_args(["serve", "--subscribe-key", "a", "--subscribe-key", "b"])
        self.assertEqual(args.subscribe_keys, ["a", "b"])
