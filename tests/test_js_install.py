"""tests/js_install.py: the JS SDK is installed once, atomically, and failures are loud.

A fake ``npm`` (a shell script first on PATH) stands in for the registry: it
logs each run and writes ``node_modules/pubnub/package.json`` where it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from tests import js_install

FAKE_NPM = """#!/bin/sh
echo "$@" >> "$FAKE_NPM_LOG"
sleep "${FAKE_NPM_SLEEP:-0}"
if [ -n "$FAKE_NPM_HANG" ]; then exec sleep 30; fi
if [ -n "$FAKE_NPM_FAIL" ]; then echo "npm ERR! no network" >&2; exit 1; fi
mkdir -p node_modules/pubnub && echo '{"version": "fake"}' > node_modules/pubnub/package.json
"""
ROOT = Path(__file__).resolve().parent.parent


class InstallTests(SynchronousTestCase):
    """``install()`` with a fake npm, into a temporary cache."""

    def setUp(self) -> None:
        base = Path(self.mktemp()).resolve()  # children run elsewhere
        self.bin = base / "bin"
        self.bin.mkdir(parents=True)
        for name, text in (("npm", FAKE_NPM), ("node", "#!/bin/sh\n")):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.cache = base / "cache"
        self.log = base / "npm.log"
        self.setenv("PATH", f"{self.bin}{os.pathsep}/usr/bin{os.pathsep}/bin")
        self.setenv("PUBNUB_TWISTED_CACHE", str(self.cache))
        self.setenv("FAKE_NPM_LOG", str(self.log))

    def setenv(self, name: str, value: str) -> None:
        """Set an environment variable (children inherit it) for this test only."""
        old = os.environ.get(name)
        os.environ[name] = value
        if old is None:
            self.addCleanup(os.environ.pop, name, None)
        else:
            self.addCleanup(os.environ.__setitem__, name, old)

    def runs(self) -> list[str]:
        """The argument lines of every fake npm run."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def test_installs_once_into_the_cache(self) -> None:
        """``npm ci`` runs once, into cache/js/<hash>; the next call reuses the folder."""
        target = js_install.install()
        self.assertEqual(target.parent, self.cache / "js")
        self.assertEqual(len(target.name), 16)
        self.assertTrue((target / "node_modules" / "pubnub" / "package.json").is_file())
        self.assertEqual((target / "package-lock.json").read_bytes(), self.pin("package-lock.json"))
        self.assertEqual(js_install.install(), target)
        self.assertEqual(self.runs(), ["ci --ignore-scripts --no-audit --no-fund"])
        leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(".")]
        self.assertEqual(leftovers, [])

    def pin(self, name: str) -> bytes:
        return (ROOT / "tests" / "js" / name).read_bytes()

    def test_folder_named_by_the_pins(self) -> None:
        """Other pins give another folder (a new SDK version is a new install)."""
        source = Path(self.mktemp())
        source.mkdir()
        for name in ("package.json", "package-lock.json"):
            (source / name).write_bytes(self.pin(name))
        self.patch(js_install, "SOURCE", source)
        same = js_install.installed_dir()
        (source / "package-lock.json").write_bytes(self.pin("package-lock.json") + b"\n")
        self.assertNotEqual(js_install.installed_dir(), same)
        self.assertEqual(js_install.installed_dir().parent, same.parent)

    def test_failure_is_an_error(self) -> None:
        """A failing ``npm ci`` raises InstallError with npm's output and leaves nothing behind."""
        self.setenv("FAKE_NPM_FAIL", "1")
        error = self.assertRaises(js_install.InstallError, js_install.install)
        self.assertIn("npm ERR! no network", str(error))
        self.assertFalse(js_install.installed_dir().exists())
        self.assertEqual([p.name for p in (self.cache / "js").iterdir() if p.is_dir()], [])

    def test_timeout_is_an_error(self) -> None:
        """An ``npm ci`` that outlives the timeout raises InstallError."""
        self.setenv("FAKE_NPM_HANG", "1")
        error = self.assertRaises(js_install.InstallError, js_install.install, timeout=0.5)
        self.assertIn("timed out", str(error))
        self.assertFalse(js_install.installed_dir().exists())

    def test_no_node_is_missing(self) -> None:
        """Without node or npm on PATH, install() raises Missing (the tests skip)."""
        (self.bin / "node").unlink()
        self.setenv("PATH", str(self.bin))
        self.assertRaises(js_install.Missing, js_install.install)
        self.assertEqual(self.runs(), [])

    def test_racing_workers_install_once(self) -> None:
        """Two processes asking at once: one runs npm ci, both get the same folder."""
        self.setenv("FAKE_NPM_SLEEP", "1")
        code = "from tests import js_install; print(js_install.install())"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [child.communicate(timeout=60)[0].strip() for child in children]
        self.assertEqual([child.returncode for child in children], [0, 0])
        self.assertEqual(outputs, [str(js_install.installed_dir())] * 2)
        self.assertEqual(len(self.runs()), 1)

    def test_command_line(self) -> None:
        """``python3 -m tests.js_install`` prints the folder; exit status 1 when npm fails."""

        def run() -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "tests.js_install"]
            return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)

        done = run()
        expected = str(js_install.installed_dir())
        self.assertEqual((done.returncode, done.stdout.strip()), (0, expected))
        self.setenv("PUBNUB_TWISTED_CACHE", str(self.cache) + "-2")
        self.setenv("FAKE_NPM_FAIL", "1")
        done = run()
        self.assertEqual(done.returncode, 1)
        self.assertIn("npm ERR! no network", done.stderr)
