"""Running ``python -m pubnub_twisted ...`` in a child process from a trial test."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any

from twisted.internet import protocol, reactor
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase


class CLIChild(protocol.ProcessProtocol):
    """A child process whose output lines are collected; waiters fire on a matching line."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.ended: Deferred[int] = Deferred()
        self._waiters: list[tuple[str, str, Deferred[str]]] = []
        self._partial = {1: "", 2: ""}

    def wait_for(self, stream: str, text: str) -> Deferred[str]:
        d: Deferred[str] = Deferred()
        for line in self.out if stream == "out" else self.err:
            if text in line:
                d.callback(line)
                return d
        self._waiters.append((stream, text, d))
        return d

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        text = self._partial[childFD] + data.decode("utf-8")
        *lines, self._partial[childFD] = text.split("\n")
        stream = "out" if childFD == 1 else "err"
        for line in lines:
            (self.out if childFD == 1 else self.err).append(line)
            for waiter in list(self._waiters):
                if waiter[0] == stream and waiter[1] in line:
                    self._waiters.remove(waiter)
                    waiter[2].callback(line)

    def processEnded(self, reason: Any) -> None:
        self.ended.callback(reason.value.exitCode)


def spawn_cli(
    case: TestCase, *args: str, env: dict[str, str] | None = None
) -> tuple[Any, CLIChild]:
    """Start ``python -m pubnub_twisted ARGS``; killed at the end of ``case`` if still running."""
    child = CLIChild()
    argv = [sys.executable, "-m", "pubnub_twisted", *args]
    process = reactor.spawnProcess(child, sys.executable, argv, env={**os.environ, **(env or {})})

    def kill() -> Deferred[int]:
        if process.pid is not None:
            with contextlib.suppress(Exception):  # already gone
                process.signalProcess(signal.SIGKILL)
        return child.ended

    case.addCleanup(kill)
    return process, child
