"""Client CPU per here_now call: ours against a plain treq loop (1.00) and a plain Agent loop.

The embedded server runs in a process of its own (``serve.py``, here_now
cache 3 s, 5 channels of 20 to 24 occupants), pinned to CPU 0; each client
runs in a fresh process pinned to CPU 1 (``_client.py``), one after the
other, the order rotated every repetition.  Per variant (``single``: one
channel, about 1 KB of JSON; ``multi``: five) and mode (``seq``: one call
at a time; ``conc``: 20 in flight) it reports the median CPU ms per call
over the repetitions, its spread, and the ratio to the treq floor and to
the Agent floor (each paired within one repetition, then the median).
The server counts the connections each client process opened: with 20 in
flight there must be no more than 20 (no churn).  The spread of a fixed
CPU loop run in every client process is the machine noise.

    python bench/client_cpu.py                  # 5 repetitions, 2,000 calls per phase
    python bench/client_cpu.py --reps 7 --ops 4000 --peers ours,treq,agent
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict

from _common import (
    CONCURRENCY,
    Record,
    median,
    rotated,
    run_worker,
    server,
    source_state,
    spread,
    summary,
    table,
)
from _common import machine as machine_line

FLOOR, AGENT = "treq", "agent"


def run(args: argparse.Namespace) -> tuple[list[Record], dict[str, list[int]]]:
    """Every repetition: the records, and the connections each run of a peer opened."""
    results: list[Record] = []
    connections: dict[str, list[int]] = defaultdict(list)
    peers = args.peers.split(",")
    variants = args.variants.split(",")
    calls_per_run = len(variants) * (args.warmup + args.ops * len(args.modes.split(",")))
    with server("--here-now-cache", "3") as presence:
        for rep in range(args.reps):
            for peer in rotated(peers, rep):
                before = presence.stats()
                found = run_worker(
                    "_client.py",
                    [
                        f"--port={presence.port}",
                        f"--peer={peer}",
                        f"--ops={args.ops}",
                        f"--warmup={args.warmup}",
                        f"--concurrency={args.concurrency}",
                        f"--variants={args.variants}",
                        f"--modes={args.modes}",
                    ],
                )
                after = presence.stats()
                served = after["requests"] - before["requests"]
                if served != calls_per_run:
                    raise RuntimeError(
                        f"{peer}: the server saw {served} calls, not {calls_per_run}"
                    )
                connections[peer].append(after["connections"] - before["connections"])
                for record in found:
                    record["rep"] = rep
                    if record.get("errors"):
                        raise RuntimeError(f"{peer}: {record['errors']} bad answers: {record}")
                results += found
    return results, connections


def report(
    records: list[Record], connections: dict[str, list[int]], args: argparse.Namespace
) -> str:
    """The table: CPU per call, ratios to the floors, connections, RSS; and the noise."""
    phases = [r for r in records if not r.get("final")]
    cpu: dict[tuple[str, str, str], dict[int, float]] = defaultdict(dict)
    for r in phases:
        cpu[r["peer"], r["variant"], r["mode"]][r["rep"]] = r["cpu_ms_per_op"]

    def ratios(key: tuple[str, str, str], floor: str) -> list[float]:
        base = cpu.get((floor, key[1], key[2]), {})
        return [value / base[rep] for rep, value in cpu[key].items() if rep in base]

    rss: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.get("final"):
            rss[r["peer"]].append(r["rss_mb"])
    rows = []
    for peer in args.peers.split(","):
        for variant, mode in itertools.product(args.variants.split(","), args.modes.split(",")):
            key = (peer, variant, mode)
            values = list(cpu[key].values())
            to_treq, to_agent = ratios(key, FLOOR), ratios(key, AGENT)
            rows.append(
                [
                    f"**{peer}**" if peer == FLOOR else peer,
                    variant,
                    mode,
                    summary(values),
                    f"{min(values):.3f}",
                    f"{median(to_treq):.2f} (spread {spread(to_treq):.0%})" if to_treq else "-",
                    f"{median(to_agent):.2f}" if to_agent else "-",
                    max(connections[peer]),
                    f"{median(rss[peer]):.1f}",
                ]
            )
    headers = [
        "client",
        "variant",
        "mode",
        "CPU ms/call: median (min-max, spread)",
        "best",
        "÷ treq",
        "÷ Agent",
        "server conns/run (max)",
        "RSS MB at end",
    ]
    noise = [r["calibration_s"] * 1000 for r in records if r.get("final")]
    return "\n".join(
        [
            table(headers, rows),
            "",
            f"Machine noise: a fixed CPU loop took {summary(noise, 1)} ms over {len(noise)} "
            "client processes.",
        ]
    )


def main() -> None:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--ops", type=int, default=2000, help="calls per phase (default 2000)")
    parser.add_argument("--warmup", type=int, default=100, help="calls before each variant")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="in flight (20)")
    parser.add_argument("--peers", default="ours,treq,agent")
    parser.add_argument("--variants", default="single,multi")
    parser.add_argument("--modes", default="seq,conc")
    args = parser.parse_args()
    print(machine_line())
    print(f"client code: {source_state('pubnub_twisted/transport.py')}")
    records, connections = run(args)
    print(report(records, connections, args))


if __name__ == "__main__":
    main()
