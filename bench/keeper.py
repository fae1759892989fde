"""The presence keeper at scale, against PubNub's official asyncio SDK keeping users present.

Two runs, each against the embedded server in a process of its own (CPU 0,
here_now cache off so every check reads the truth); the clients run pinned
to CPU 1:

1. ``_keeper_worker.py``: one client keeps ``--members`` users (default
   10,000) present on ``--channels`` channels (1,000; 1-3 channels each,
   with state), presence timeout 60 s, for ``--duration`` seconds (300).  A
   global here_now every 10 s must count exactly the living members'
   channels; ``--expire`` members (500) are expired halfway and must still
   count until they could lapse, and be gone a timeout later; after
   ``pubnub.stop()`` nobody is left.  It reports client RSS per member
   (beyond the client's baseline), client CPU in the steady state, server
   CPU per request, server connections, here_now at full load.  Then, as
   the floor, a bare Twisted ``Agent`` sends the same heartbeat URLs at the
   keeper's rate with the same bound in flight for ``--floor`` seconds
   (30): the CPU any Twisted HTTP/1.1 client pays for this load.
2. ``_official_users.py``: ``--official-users`` users (500) kept present by
   PubNub's official SDK, one ``PubNubAsyncio`` per user (the only way it can
   act as many users), heartbeats spread over the interval; RSS per user and
   CPU over ``--official-duration`` seconds (60).

    python bench/keeper.py                                  # about 8 minutes
    python bench/keeper.py --duration 120 --official-users 200
"""

from __future__ import annotations

import argparse
import json
import time

from _common import Record, machine, run_worker, server, table


def main() -> None:
    """Run both workers, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--timeout", type=int, default=60)
    parser.add_argument("--duration", type=float, default=300, help="seconds kept (default 300)")
    parser.add_argument("--expire", type=int, default=500)
    parser.add_argument("--official-users", type=int, default=500)
    parser.add_argument("--official-duration", type=float, default=60)
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument(
        "--floor", type=float, default=30, help="seconds of the bare Agent floor (0: none)"
    )
    parser.add_argument(
        "--profile", default="", help="cProfile the keeper's steady state into this file"
    )
    parser.add_argument(
        "--gather",
        action="store_true",
        help="wait for the members with gatherResults(when_present() each), not by polling",
    )
    args = parser.parse_args()
    print(machine(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    common = [f"--channels={args.channels}", f"--timeout={args.timeout}"]
    with server("--channels", "0", "--here-now-cache", "0") as presence:
        ours = run_worker(
            "_keeper_worker.py",
            [
                f"--origin={presence.origin}",
                f"--members={args.members}",
                f"--duration={args.duration}",
                f"--expire={args.expire}",
                f"--profile={args.profile}",
                f"--floor={args.floor}",
                *(["--gather"] if args.gather else []),
                *common,
            ],
        )
    official = []
    if not args.skip_official:
        with server("--channels", "0", "--here-now-cache", "0") as presence:
            official = run_worker(
                "_official_users.py",
                [
                    f"--origin={presence.origin}",
                    f"--users={args.official_users}",
                    f"--duration={args.official_duration}",
                    *common,
                ],
            )
    report(ours, official)


def report(ours: list[Record], official: list[Record]) -> None:
    """Print every record, then the summary table."""
    for record in [*ours, *official]:
        if record.get("phase") != "check":
            print(json.dumps(record, sort_keys=True))
    phase = {r["phase"]: r for r in ours if r["phase"] != "check"}
    checks = [r for r in ours if r["phase"] == "check"]
    counted = [r for r in checks if r["want"] is not None]
    exact = sum(1 for r in counted if r["ok"])
    enter, stop, here_now = phase["enter"], phase["stop"], phase["here_now"]
    ours_kb = kb_per_user(phase["memory"], "members")
    rows: list[list[object]] = [
        ["members kept / (channel, member) pairs", f"{enter['members']} / {enter['pairs']}"],
        ["entering all (wall, client CPU)", f"{enter['seconds']:.1f} s, {enter['cpu_s']:.1f} s"],
        [
            "here_now checks exact",
            f"{exact} of {len(counted)} ({len(checks) - len(counted)} skipped while the "
            "expired members lapse, each at its own time)",
        ],
        ["present after stop()", f"{stop['left_present']} ({stop['seconds']:.1f} s to leave all)"],
        ["client RSS per member beyond baseline", f"{ours_kb:.2f} KB"],
        ["client CPU, steady state", f"{phase['cpu']['share']:.1%} of a core"],
        [
            "client CPU per request, steady state",
            f"{1000 * phase['cpu']['cpu_s'] / phase['server']['requests']:.3f} ms",
        ],
        ["server CPU per request (heartbeats)", f"{phase['server']['ms_per_request']:.3f} ms"],
        ["server connections (whole run)", phase["server"]["connections"]],
        [
            f"here_now of all {here_now['occupancy']} with state (client wall; server CPU)",
            ", ".join(f"{s:.2f}" for s in here_now["seconds"])
            + f" s; {here_now['server_cpu_s'] / 3:.2f} s each",
        ],
    ]
    if "floor" in phase:
        floor = phase["floor"]
        ours_ms = 1000 * phase["cpu"]["cpu_s"] / phase["server"]["requests"]
        rows += [
            [
                "bare Agent, same URLs and rate (floor)",
                f"{floor['share']:.1%} of a core, {floor['ms_per_request']:.3f} ms per request "
                f"({floor['errors']} errors)",
            ],
            ["client CPU per request, ours / floor", f"{ours_ms / floor['ms_per_request']:.2f}"],
        ]
    if official:
        off = {r["phase"]: r for r in official}
        official_kb = kb_per_user(off["memory"], "users")
        rows += [
            ["official SDK: users (one PubNubAsyncio each)", off["memory"]["users"]],
            ["official SDK: RSS per user", f"{official_kb:.0f} KB"],
            ["official SDK: CPU", f"{off['cpu']['share']:.1%} of a core"],
            ["memory per user, official / ours", f"{official_kb / ours_kb:.0f}x"],
        ]
    print(table(["figure", "value"], rows))


def kb_per_user(memory: Record, count: str) -> float:
    """RSS beyond the baseline per user, in KB."""
    return float((memory["rss_mb"] - memory["baseline_mb"]) * 1024 / memory[count])


if __name__ == "__main__":
    main()
