"""What the benchmarks share: names, seeding, processes, CPU pinning, statistics, tables.

Not a benchmark itself.  Every script in ``bench/`` imports it as ``_common``
(the scripts run as ``python bench/NAME.py``, so ``bench/`` is on
``sys.path``).  Results travel from worker processes to drivers as lines
``BENCH {json}`` on stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid as _uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
SUB_KEY = "sub-c-bench"
USER_ID = "bench-client"
CHANNEL_PREFIX = "bench-ch-"
#: Calls in flight in the concurrent mode.
CONCURRENCY = 20
#: Channels of the "multi" variant.
MULTI = 5
#: The CPU the server runs on, and the one clients run on (when there are two).
SERVER_CPU, CLIENT_CPU = 0, 1

Record = dict[str, Any]

# The repository itself is importable (``tests``; the package when not installed).
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


# -- the data the servers hold ------------------------------------------------


def channel_name(index: int) -> str:
    """The name of bench channel number ``index``."""
    return f"{CHANNEL_PREFIX}{index}"


def occupancy_of(channel: str, occupants: int = 0) -> int:
    """Occupants seeded on ``channel``: ``occupants``, or 20 to 24 (by name) when 0."""
    return occupants or 20 + zlib.crc32(channel.encode()) % 5


def occupant_uuid(channel: str, index: int) -> str:
    """A uuid-shaped, deterministic occupant name."""
    digest = hashlib.md5(f"{channel}/{index}".encode()).digest()
    return str(_uuid.UUID(bytes=digest, version=4))


def occupant_state(index: int) -> dict[str, Any]:
    """The state seeded for occupant number ``index`` (when state is seeded)."""
    return {"mood": "busy" if index % 2 else "free", "score": index, "tags": ["bench"]}


def variant_channels(variant: str, multi: int = MULTI) -> list[str]:
    """The channels a ``single`` or ``multi`` call asks about."""
    return [channel_name(i) for i in range(1 if variant == "single" else multi)]


def expected_totals(channels: Sequence[str], occupants: int = 0) -> tuple[int, int]:
    """``(total_occupancy, total_channels)`` a here_now of ``channels`` must report."""
    return sum(occupancy_of(c, occupants) for c in channels), len(channels)


# -- measuring ------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def calibrate() -> float:
    """CPU seconds of a fixed pure-Python loop: its spread across a run is the machine noise."""
    started = time.process_time()
    total = 0
    for i in range(300_000):
        total += i * i % 7
    return time.process_time() - started


def pin(cpu: int, pid: int = 0) -> bool:
    """Run ``pid`` (0: this process) on ``cpu`` only, if the machine has it."""
    if cpu >= (os.cpu_count() or 1):
        return False
    os.sched_setaffinity(pid, {cpu})
    return True


def median(values: Iterable[float]) -> float:
    """The median."""
    return statistics.median(list(values))


def spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far repetitions of one figure disagree."""
    middle = median(values)
    return (max(values) - min(values)) / middle if middle else 0.0


def summary(values: Sequence[float], digits: int = 3) -> str:
    """``median (min-max, spread N%)``."""
    return (
        f"{median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f}, "
        f"spread {spread(values):.0%})"
    )


def rotated(items: Sequence[str], turn: int) -> list[str]:
    """``items`` rotated by ``turn``: each repetition starts with another one."""
    shift = turn % len(items)
    return [*items[shift:], *items[:shift]]


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    """One line about where the figures come from."""
    load = os.getloadavg()
    return (
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def source_state(relative: str) -> str:
    """A file's git blob hash, and whether it differs from HEAD (the code being measured)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    blob = git("hash-object", relative)[:10]
    changed = git("status", "--porcelain", "--", relative)
    return f"{relative} {blob} ({'modified since HEAD' if changed else 'as in HEAD'})"


# -- worker output ----------------------------------------------------------------


def emit(record: Record) -> None:
    """Hand a result to the driver (one ``BENCH {json}`` line)."""
    sys.stdout.write("BENCH " + json.dumps(record, sort_keys=True) + "\n")
    sys.stdout.flush()


def records(output: str) -> list[Record]:
    """The ``BENCH`` records in a worker's output."""
    return [json.loads(line[6:]) for line in output.splitlines() if line.startswith("BENCH ")]


def run_worker(script: str, args: Sequence[str], cpu: int = CLIENT_CPU) -> list[Record]:
    """Run ``bench/<script> args`` in a new process on ``cpu``; its records."""
    command = [sys.executable, str(BENCH_DIR / script), *args]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    pin(cpu, child.pid)
    output, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}")
    return records(output)


# -- servers in their own process -----------------------------------------------


class ServerProcess:
    """``bench/serve.py`` in a process of its own, pinned to :data:`SERVER_CPU`."""

    def __init__(self, args: Sequence[str]) -> None:
        command = [sys.executable, str(BENCH_DIR / "serve.py"), *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.pinned = pin(SERVER_CPU, self.process.pid)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"serve.py said {line!r}")
        self.port = int(line.split()[1])

    @property
    def origin(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def stats(self) -> Record:
        """Requests served, connections that carried one, server CPU seconds, RSS."""
        url = f"http://{self.origin}/__stats"
        with urllib.request.urlopen(url, timeout=30) as answer:
            stats: Record = json.loads(answer.read())
        return stats

    def stop(self) -> None:
        """End the process."""
        self.process.terminate()
        self.process.wait(timeout=30)


@contextmanager
def server(*args: str) -> Iterator[ServerProcess]:
    """A :class:`ServerProcess` for the duration of a ``with`` block."""
    process = ServerProcess(args)
    try:
        yield process
    finally:
        process.stop()
