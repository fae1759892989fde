"""Install PubNub's JavaScript SDK for the interop tests, once, outside the repository.

The SDK is pinned by ``tests/js/package.json`` and ``tests/js/package-lock.json``;
``npm ci`` installs exactly that into
``${PUBNUB_TWISTED_CACHE:-~/.cache/pubnub-twisted}/js/<hash of those two files>/``,
so a new pin gets a new folder and an unchanged one is reused.  Several trial
workers (``-j2``) may ask at once: one takes a file lock, installs into a
temporary folder beside the target and renames it into place (atomic), the
others wait for the lock and find the folder there.

Standard library only, and synchronous: CI runs it before the tests
(``python3 -m tests.js_install``), and the tests call it before they start
a server, when nothing else is running in the reactor.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

__all__ = ["SOURCE", "InstallError", "Missing", "cache_root", "install", "installed_dir", "node"]

#: The folder with the pinned package.json, package-lock.json and the driver script.
SOURCE: Final = Path(__file__).resolve().parent / "js"
_PINS: Final = ("package.json", "package-lock.json")
#: Seconds ``npm ci`` may take, and the lock may be waited for.
INSTALL_TIMEOUT: Final = 300.0


class Missing(Exception):
    """``node`` or ``npm`` is not on PATH: the JS interop tests cannot run here."""


class InstallError(Exception):
    """``npm ci`` failed (or timed out): the tests must fail, not skip."""


def cache_root() -> Path:
    """``$PUBNUB_TWISTED_CACHE``, or ``~/.cache/pubnub-twisted``."""
    configured = os.environ.get("PUBNUB_TWISTED_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "pubnub-twisted"


def installed_dir() -> Path:
    """Where the pinned SDK is (or will be) installed: a folder named by the pins' hash."""
    digest = hashlib.sha256()
    for name in _PINS:
        digest.update((SOURCE / name).read_bytes())
    return cache_root() / "js" / digest.hexdigest()[:16]


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Missing("PubNub's JavaScript SDK tests need node and npm on PATH")
    return node, npm


def node() -> str:
    """The path of ``node``; :class:`Missing` without node or npm."""
    return _tools()[0]


def install(timeout: float = INSTALL_TIMEOUT) -> Path:
    """Make sure the pinned SDK is installed; return its folder (it holds ``node_modules``).

    Raises :class:`Missing` without node or npm, :class:`InstallError` when
    ``npm ci`` fails.
    """
    _, npm = _tools()
    target = installed_dir()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InstallError(f"waited {timeout:.0f} s for {lock.name}") from None
                time.sleep(0.2)
        if not target.is_dir():  # another worker may have installed it meanwhile
            _install_into(npm, target, deadline)
    return target


def _install_into(npm: str, target: Path, deadline: float) -> None:
    """Run ``npm ci`` in a fresh folder beside ``target``, then rename it to ``target``."""
    for stale in target.parent.glob(f".{target.name}-*"):  # left by an install that died
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name in _PINS:
            shutil.copyfile(SOURCE / name, work / name)
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        # Its own process group, so a timeout ends npm and anything it started.
        with subprocess.Popen(
            command,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as npm_ci:
            try:
                _, stderr = npm_ci.communicate(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(npm_ci.pid, signal.SIGKILL)
                npm_ci.communicate()
                raise InstallError(f"{' '.join(command)} timed out in {work}") from None
        if npm_ci.returncode != 0:
            raise InstallError(
                f"{' '.join(command)} failed ({npm_ci.returncode}) in {work}:\n{stderr}"
            )
        if not (work / "node_modules" / "pubnub" / "package.json").is_file():
            raise InstallError(f"npm ci installed no pubnub package in {work}")
        os.rename(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def main() -> int:
    """``python3 -m tests.js_install``: install (or find) the SDK and print its folder."""
    try:
        print(install())
    except Missing as missing:
        print(f"skipped: {missing}", file=sys.stderr)
    except InstallError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
