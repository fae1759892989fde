"""``watch`` (events as they happen) and ``simulate`` (simulated users coming and going)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from twisted.internet.defer import Deferred

from pubnub_twisted.cli._common import (
    EXIT_OK,
    CLIError,
    add_client_options,
    config_from,
    names,
    write_line,
)
from pubnub_twisted.pubnub import PubNub


def add_watch_parser(subparsers: Any) -> None:
    watch = subparsers.add_parser(
        "watch",
        help="print presence events and messages as they happen (Ctrl-C leaves)",
        description="Subscribe with presence to channels and/or channel groups and print "
        "each presence event and message as one line (one JSON object per line with "
        "--json).  Status changes go to stderr.  Ctrl-C leaves cleanly.",
        epilog="examples:\n  pubnub-twisted watch lobby,game --no-ssl --origin 127.0.0.1:8090 "
        "--subscribe-key sub-c-x\n  pubnub-twisted watch --groups rooms --json | jq .event",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument("channels", nargs="?", help="comma-separated channels")
    watch.add_argument("--channel", action="append", help="one channel, taken whole (repeatable)")
    watch.add_argument("--groups", help="comma-separated channel groups")
    watch.add_argument("--group", action="append", help="one channel group (repeatable)")
    add_client_options(watch)
    watch.set_defaults(command_runner=_run_watch)


async def _run_watch(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from pubnub_twisted.cli.watcher import Watcher  # noqa: PLC0415

    channels, groups = names(args)
    if not channels and not groups:
        raise CLIError("watch needs channels (CHANNELS or --channel) or --groups/--group")
    pubnub = PubNub(config_from(args), reactor=reactor)
    pubnub.add_listener(Watcher(out, sys.stderr, as_json=args.json))
    builder = pubnub.subscribe().with_presence()
    if channels:
        builder.channels(channels)
    if groups:
        builder.channel_groups(groups)
    builder.execute()
    # Ctrl-C (SIGINT) or SIGTERM stops the reactor; before it stops, the
    # client leaves what it watched and closes its connections.
    reactor.addSystemEventTrigger("before", "shutdown", pubnub.stop)
    await Deferred()  # until SIGINT/SIGTERM stops the reactor
    return EXIT_OK


def add_simulate_parser(subparsers: Any) -> None:
    simulate = subparsers.add_parser(
        "simulate",
        help="keep simulated users present, coming and going (Ctrl-C: they leave)",
        description="Keep --users simulated users present on --channels channels (one to "
        "three each, with state) with a presence keeper, and every 1/--churn seconds make "
        "one leave, time out, change state or move (leavers and timed-out users are "
        "replaced, so the count stays steady).  A status line every --report-every "
        "seconds.  Ctrl-C makes everyone leave.",
        epilog="example:\n  pubnub-twisted simulate --users 1000 --channels 50 --churn 5 "
        "--origin 127.0.0.1:8090 --no-ssl --subscribe-key sub-c-local",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument("--users", type=int, default=100, help="users kept (default 100)")
    simulate.add_argument("--channels", type=int, default=10, help="channels (default 10)")
    simulate.add_argument(
        "--churn", type=float, default=1.0, help="changes per second (default 1; 0: none)"
    )
    simulate.add_argument(
        "--presence-timeout",
        type=int,
        default=20,
        help="presence timeout of the simulated users, seconds (default 20)",
    )
    simulate.add_argument("--seed", type=int, help="seed the random choices (repeatable runs)")
    simulate.add_argument(
        "--report-every", type=float, default=5.0, help="seconds between status lines"
    )
    add_client_options(simulate)
    simulate.set_defaults(command_runner=_run_simulate)


async def _run_simulate(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from twisted.internet.task import LoopingCall  # noqa: PLC0415

    from pubnub_twisted.cli.simulation import Simulation, SimulationOptions  # noqa: PLC0415

    options = SimulationOptions(
        users=args.users,
        channels=args.channels,
        churn=args.churn,
        presence_timeout=args.presence_timeout,
        seed=args.seed,
    )
    options.check()
    if not args.report_every > 0:
        raise CLIError("--report-every must be more than 0 seconds")
    pubnub = PubNub(config_from(args), reactor=reactor)
    simulation = Simulation(pubnub, options)
    simulation.start()
    shown = ", ".join(simulation.channels[:3]) + (", ..." if options.channels > 3 else "")
    out.write(
        f"simulating {options.users} users on {options.channels} channels ({shown}), "
        f"{options.churn:g} changes per second; Ctrl-C makes them leave\n"
    )
    out.flush()
    reporter = LoopingCall(lambda: write_line(out, simulation.status_line()))
    reporter.clock = reactor
    reporter.start(args.report_every, now=False)

    def shutdown() -> Deferred[None]:
        reporter.stop()
        left = simulation.stop()
        left.addBoth(lambda _: write_line(out, "everyone left"))
        return left.addBoth(lambda _: pubnub.stop())

    reactor.addSystemEventTrigger("before", "shutdown", shutdown)
    await Deferred()  # until SIGINT/SIGTERM stops the reactor
    return EXIT_OK
