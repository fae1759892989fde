"""pubnub-twisted from an asyncio program: tests/asyncio_program.py in a child process.

The asyncio reactor cannot be installed in trial's process (its reactor is
already running), hence the child.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

PROGRAM = Path(__file__).resolve().parent / "asyncio_program.py"


class AsyncioProgramTests(SynchronousTestCase):
    """The asyncio program talks to the embedded server through Deferred.asFuture."""

    def test_program(self) -> None:
        """It runs on AsyncioSelectorReactor, prints the presence it saw and exits 0."""
        child = subprocess.run(
            [sys.executable, str(PROGRAM)], check=False, capture_output=True, text=True, timeout=60
        )
        self.assertEqual((child.returncode, child.stderr), (0, ""))
        self.assertEqual(
            child.stdout.splitlines(),
            [
                "reactor: AsyncioSelectorReactor",
                "alice heartbeat: PNAcknowledgmentCategory",
                "bob heartbeat: PNAcknowledgmentCategory",
                "lobby: 2 present: alice, bob",
                "alice is on: lobby",
            ],
        )
