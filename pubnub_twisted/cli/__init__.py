"""The ``pubnub-twisted`` command line (also ``python -m pubnub_twisted``).

One module per family of subcommands: :mod:`.operations` (one per PubNub call),
:mod:`.serve` (``serve``, ``demo``), :mod:`.live` (``watch``, ``simulate``);
:mod:`._common` holds the connection options and the output.

``demo`` runs the guided tour against an embedded server, ``serve`` runs
the embedded server in the foreground, and one subcommand per presence
operation talks to any PubNub origin.  Keys can come from the environment
(``PUBNUB_SUBSCRIBE_KEY``, ``PUBNUB_PUBLISH_KEY``, ``PUBNUB_SECRET_KEY``,
``PUBNUB_AUTH_KEY``, ``PUBNUB_UUID``, ``PUBNUB_ORIGIN``, and ``PUBNUB_SSL=0``
for plain HTTP) so they stay out of shell history.  Errors are one line on
stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import react

from pubnub_twisted._version import __version__
from pubnub_twisted.cli._common import EXIT_FAILED, CLIError
from pubnub_twisted.cli.live import add_simulate_parser, add_watch_parser
from pubnub_twisted.cli.operations import add_operation_parsers, run_operation
from pubnub_twisted.cli.serve import add_demo_parser, add_serve_parser, subscribe_options
from pubnub_twisted.errors import PNERR_TLS_ERROR, PubNubException

__all__ = ["build_parser", "main", "run_command", "subscribe_options"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="pubnub-twisted",
        description="PubNub Presence from the command line, and a local presence server.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_demo_parser(subparsers)
    add_serve_parser(subparsers)
    add_watch_parser(subparsers)
    add_simulate_parser(subparsers)
    add_operation_parsers(subparsers)
    return parser


async def run_command(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a parsed command; return the exit code (errors are one line on ``err``)."""
    runner = getattr(args, "command_runner", run_operation)
    try:
        return int(await runner(reactor, args, out))
    except (CLIError, PubNubException) as exc:
        hint = ""
        if isinstance(exc, PubNubException) and exc.pn_error == PNERR_TLS_ERROR:
            hint = "; use --no-ssl (or PUBNUB_SSL=0) for a plain HTTP server such as `serve`"
        err.write(f"pubnub-twisted: error: {exc}{hint}\n")
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: parse ``argv`` and run the command (exits the process)."""
    args = build_parser().parse_args(argv)

    async def run(reactor: Any) -> None:
        try:
            code = await run_command(reactor, args, sys.stdout, sys.stderr)
        except BrokenPipeError:
            # Output piped into something that stopped reading (``| head``).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = EXIT_FAILED
        if code:
            raise SystemExit(code)

    react(lambda reactor: ensureDeferred(run(reactor)))
