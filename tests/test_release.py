"""Release hygiene: one version source, the changelog, the wheel smoke test, typed chains."""

from __future__ import annotations

import io
import os
import re
import tomllib
from contextlib import redirect_stdout
from importlib import metadata
from pathlib import Path

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import __version__
from pubnub_twisted.cli import build_parser
from pubnub_twisted.testing import InMemoryPresence
from pubnub_twisted.transport import PNSDK
from tests import typing_usage
from tests.helpers import CannedResource, canned_client

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = ROOT / "pubnub_twisted" / "_version.py"


class VersionTests(SynchronousTestCase):
    """The version is written once, in _version.py, and everything reads it there."""

    def test_pnsdk(self) -> None:
        """pnsdk names this SDK and its version, as PubNub's format asks."""
        self.assertEqual(PNSDK, f"PubNub-Python-Twisted/{__version__}")
        self.assertRegex(__version__, r"^\d+\.\d+\.\d+$")

    def test_sent_with_every_request(self) -> None:
        """The pnsdk query parameter and the User-Agent header carry that version."""
        resource = CannedResource()
        pubnub, _, agent = canned_client(resource)
        pubnub.where_now().deferred()
        agent.flush()
        (seen,) = resource.seen
        self.assertIn(f"pnsdk=PubNub-Python-Twisted%2F{__version__}&", seen.query)
        self.assertEqual(seen.headers[b"User-Agent"], [PNSDK.encode()])

    def test_installed_distribution(self) -> None:
        """The installed distribution's metadata has the same version."""
        self.assertEqual(metadata.version("pubnub-twisted"), __version__)

    def test_pyproject_reads_it(self) -> None:
        """pyproject takes the version from _version.py and writes none of its own."""
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())
        self.assertIn("version", project["project"]["dynamic"])
        self.assertNotIn("version", project["project"])
        attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
        self.assertEqual(attr, "pubnub_twisted._version.__version__")

    def test_written_once(self) -> None:
        """No other module of the package spells the version out."""
        spelled = re.compile(re.escape(f'"{__version__}"') + "|" + re.escape(f"'{__version__}'"))
        writers = [
            str(path.relative_to(ROOT))
            for path in (ROOT / "pubnub_twisted").rglob("*.py")
            if spelled.search(path.read_text(encoding="utf-8"))
        ]
        self.assertEqual(writers, ["pubnub_twisted/_version.py"])

    def test_cli_version(self) -> None:
        """``pubnub-twisted --version`` prints it."""
        out = io.StringIO()
        with redirect_stdout(out), self.assertRaises(SystemExit) as exit_:
            build_parser().parse_args(["--version"])
        self.assertEqual(exit_.exception.code, 0)
        self.assertEqual(out.getvalue(), f"pubnub-twisted {__version__}\n")


class ChangelogTests(SynchronousTestCase):
    """CHANGELOG.md follows Keep a Changelog and knows the current version."""

    def test_current_version_is_the_latest_release(self) -> None:
        """The newest release heading is this version, with an ISO date."""
        text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
        self.assertIn("## [Unreleased]", text)
        releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
        self.assertNotEqual(releases, [])
        self.assertEqual(releases[0][0], __version__)


class WheelSmokeTests(SynchronousTestCase):
    """The wheel smoke test is wired up: a script, and a tox env that runs it."""

    def test_script(self) -> None:
        """.ci/wheel-smoke is executable, builds with python -m build and runs the demo."""
        script = ROOT / ".ci" / "wheel-smoke"
        self.assertTrue(os.access(script, os.X_OK))
        text = script.read_text()
        for step in ("-m build", "-m venv", "pip install", "-m pubnub_twisted demo", "--version"):
            self.assertIn(step, text)

    def test_tox_env(self) -> None:
        """tox -e wheel runs the script, with build installed."""
        tox = (ROOT / "tox.ini").read_text()
        section = tox.partition("[testenv:wheel]")[2].partition("\n[")[0]
        self.assertIn(".ci/wheel-smoke", section)
        self.assertRegex(section, r"deps = build")

    def test_build_in_dev_extra(self) -> None:
        """The dev extra installs build, so .ci/run's environment can run the script."""
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())
        self.assertTrue(
            any(
                dep.startswith("build")
                for dep in project["project"]["optional-dependencies"]["dev"]
            )
        )


class TypingUsageTests(SynchronousTestCase):
    """The chains tests/typing_usage.py pins for mypy also run, in memory."""

    def test_chains_run(self) -> None:
        """Every pinned chain sends its request and succeeds against the embedded server."""
        presence = InMemoryPresence()
        pubnub = presence.client("alice")
        self.assertIs(type(typing_usage.client(presence.config("bob"))), type(pubnub))
        pending = typing_usage.presence_chains(pubnub) + typing_usage.group_chains(pubnub)
        awaited = ensureDeferred(typing_usage.awaited(pubnub))
        for _ in range(7):  # awaited() sends its calls one after another
            presence.flush()
        for d in pending:
            outcome = self.successResultOf(d)
            status = getattr(outcome, "status", None)
            self.assertFalse(status is not None and status.is_error(), status)
        self.assertEqual(self.successResultOf(awaited), 1)  # its own heartbeat
        stopped = typing_usage.realtime(pubnub)
        presence.clock.advance(0)
        presence.flush()
        self.assertIsNone(self.successResultOf(stopped))
