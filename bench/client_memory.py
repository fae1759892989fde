"""Client memory: RSS of a client process after N here_now calls, ours against plain treq.

Each client (a fresh process pinned to CPU 1, ``_client.py --memory``) makes
here_now calls with 20 in flight to the embedded server in another process
and reports its resident memory after 1k, 10k, 20k, 50k and 100k calls.
Targets: ours no more than treq + 5 MB, and flat (no leak) from 10k to 100k
calls.  The treq process is the floor, measured in the same run.

    python bench/client_memory.py                       # 100,000 calls per client
    python bench/client_memory.py --checkpoints 1000,20000 --peers ours,treq,agent
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from _common import CONCURRENCY, machine, median, rotated, run_worker, server, table


def main() -> None:
    """Parse the options, run each client, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="1000,10000,20000,50000,100000")
    parser.add_argument("--peers", default="ours,treq")
    parser.add_argument("--reps", type=int, default=1, help="repetitions (default 1)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    peers = args.peers.split(",")
    checkpoints = [int(n) for n in args.checkpoints.split(",")]
    # (peer, calls) -> RSS MB, one per repetition
    rss: dict[tuple[str, int], list[float]] = defaultdict(list)
    start: dict[str, list[float]] = defaultdict(list)
    print(machine())
    with server("--here-now-cache", "3") as presence:
        for rep in range(args.reps):
            for peer in rotated(peers, rep):
                found = run_worker(
                    "_client.py",
                    [
                        f"--port={presence.port}",
                        f"--peer={peer}",
                        f"--memory={args.checkpoints}",
                        f"--concurrency={args.concurrency}",
                    ],
                )
                for record in found:
                    if record.get("errors"):
                        raise RuntimeError(f"{peer}: bad answers: {record}")
                    if not record.get("final"):
                        rss[peer, record["calls"]].append(record["rss_mb"])
                start[peer].append(found[0]["rss_start_mb"])
    floor = peers[1] if len(peers) > 1 else peers[0]
    rows = []
    for peer in peers:
        row: list[object] = [peer, f"{median(start[peer]):.1f}"]
        for calls in checkpoints:
            ours, base = median(rss[peer, calls]), median(rss[floor, calls])
            row.append(f"{ours:.1f} ({ours - base:+.1f})")
        first = median(rss[peer, checkpoints[min(1, len(checkpoints) - 1)]])
        row.append(f"{median(rss[peer, checkpoints[-1]]) - first:+.2f}")
        rows.append(row)
    headers = [
        "client",
        "RSS before calls",
        *(f"after {n:,} (vs {floor})" for n in checkpoints),
        f"growth {checkpoints[min(1, len(checkpoints) - 1)]:,} to {checkpoints[-1]:,}",
    ]
    print(table(headers, rows))
    print("RSS in MB (median of the repetitions); in brackets the difference to the floor.")


if __name__ == "__main__":
    main()
