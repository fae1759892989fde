"""``serve`` (the embedded server in the foreground) and ``demo`` (the guided tour)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from pubnub_twisted.cli._common import (
    EXIT_OK,
    CLIError,
    env,
)
from pubnub_twisted.server.subscribe import SubscribeOptions


def add_demo_parser(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="a guided tour of every presence operation (embedded server by default)",
        description="Start the embedded presence server on a loopback port and walk "
        "through every presence operation over real HTTP.  With --origin and keys, "
        "run the same tour against PubNub's service instead.",
        epilog="examples:\n  pubnub-twisted demo\n"
        "  pubnub-twisted demo --origin ps.pndsn.com --subscribe-key sub-c-... "
        "--publish-key pub-c-...",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--origin", default=env("PUBNUB_ORIGIN"), help="run against this origin")
    demo.add_argument("--subscribe-key", default=env("PUBNUB_SUBSCRIBE_KEY"))
    demo.add_argument("--publish-key", default=env("PUBNUB_PUBLISH_KEY"))
    demo.add_argument("--no-ssl", action="store_true", help="plain HTTP to --origin")
    demo.add_argument(
        "--presence-timeout",
        type=int,
        default=None,
        help="presence timeout of the user who times out (default 2 s locally, 20 remotely)",
    )
    demo.set_defaults(command_runner=_run_demo)


def add_serve_parser(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the embedded PubNub-compatible presence server",
        description="Run the embedded presence server in the foreground until SIGINT/SIGTERM.",
        epilog="example:\n  pubnub-twisted serve --port 8090\n"
        "  then: PUBNUB_ORIGIN=127.0.0.1:8090 pubnub-twisted here-now --no-ssl "
        "--subscribe-key sub-c-x\n"
        "  pubnub-twisted serve --subscribe-key sub-c-x --announce-max 2 --interval 5 "
        "--presence-deltas",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8090, help="port (0: any free port)")
    serve.add_argument(
        "--here-now-cache", type=float, default=3.0, help="seconds here_now answers are cached"
    )
    serve.add_argument("--secret-key", help="verify request signatures with this secret key")
    serve.add_argument("--publish-key", help="publish key (needed with --secret-key)")
    serve.add_argument(
        "--auth-key", action="append", dest="auth_keys", help="allow this auth key (repeatable)"
    )
    serve.add_argument(
        "--access-manager",
        action="store_true",
        help="Access Manager v3: grant/revoke tokens and require one (needs --secret-key)",
    )
    serve.add_argument(
        "--strict-names",
        action="store_true",
        help="answer 400 to channel and group names that break PubNub's naming rules "
        "(default: serve them and log a warning once per name)",
    )
    serve.add_argument(
        "--subscribe-key",
        action="append",
        dest="subscribe_keys",
        metavar="KEY",
        help="serve only this subscribe key (repeatable); requests for any other key get "
        'PubNub\'s 400 "Invalid Subscribe Key" (default: every key, each its own key space)',
    )
    serve.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="do not serve the live dashboard at / (it is open on a loopback address; on any "
        "other it needs the token printed at start-up)",
    )
    _add_subscribe_options(serve)
    serve.set_defaults(command_runner=_run_serve)


#: ``serve`` flags for :class:`SubscribeOptions` fields: (flag, field, type, help).
_SUBSCRIBE_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("--hold-time", "hold_time", float, "seconds an idle subscribe poll is held"),
    ("--announce-max", "announce_max", int, "occupancy above which a channel gets interval events"),
    ("--interval", "interval", float, "seconds between interval events"),
    (
        "--presence-deltas",
        "presence_deltas",
        bool,
        "interval events list who joined, left and timed out",
    ),
    (
        "--debounce",
        "debounce",
        float,
        "seconds a leave or timeout waits for the uuid to rejoin (0: off)",
    ),
    (
        "--leave-on-disconnect",
        "leave_on_disconnect",
        bool,
        "a client dropping its held poll leaves its channels",
    ),
    ("--buffer-size", "buffer_size", int, "events kept per channel for catch-up"),
    ("--buffer-ttl", "buffer_ttl", float, "seconds an event is kept for catch-up"),
    (
        "--redeliver-events",
        "redeliver_events",
        bool,
        "fault mode: repeat each batch of events in the next answer",
    ),
)


def _add_subscribe_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "subscribe and presence events (PubNub's keyset settings; PubNub's defaults)"
    )
    defaults = SubscribeOptions()
    for flag, name, kind, summary in _SUBSCRIBE_FLAGS:
        if kind is bool:
            group.add_argument(flag, dest=name, action="store_true", default=None, help=summary)
        else:
            default = getattr(defaults, name)
            metavar = "SECONDS" if kind is float else "N"
            group.add_argument(
                flag, dest=name, type=kind, metavar=metavar, help=f"{summary} (default {default:g})"
            )


def subscribe_options(args: argparse.Namespace) -> SubscribeOptions:
    """The :class:`SubscribeOptions` the ``serve`` flags ask for (defaults where unset)."""
    chosen = {name: getattr(args, name) for _, name, _, _ in _SUBSCRIBE_FLAGS}
    try:
        return SubscribeOptions(
            **{name: value for name, value in chosen.items() if value is not None}
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from None


async def _run_demo(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from pubnub_twisted.demo import DemoOptions, run_demo  # noqa: PLC0415

    options = DemoOptions()
    if args.origin:
        if not args.subscribe_key:
            raise CLIError("--origin needs --subscribe-key (or PUBNUB_SUBSCRIBE_KEY)")
        options = DemoOptions(
            origin=args.origin,
            subscribe_key=args.subscribe_key,
            publish_key=args.publish_key,
            ssl=not args.no_ssl,
            presence_timeout=20,
        )
    if args.presence_timeout is not None:
        options.presence_timeout = args.presence_timeout
    await run_demo(reactor, out, options)
    return EXIT_OK


async def _run_serve(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from twisted.internet.defer import Deferred  # noqa: PLC0415
    from twisted.logger import (  # noqa: PLC0415
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    from pubnub_twisted.server import listen  # noqa: PLC0415

    if args.secret_key and not args.publish_key:
        raise CLIError("--secret-key needs --publish-key (the signature covers it)")
    if args.access_manager and not args.secret_key:
        raise CLIError("--access-manager needs --secret-key (tokens are signed with it)")
    if args.access_manager and args.auth_keys:
        raise CLIError("--access-manager and --auth-key exclude each other (tokens replace keys)")
    subscribe = subscribe_options(args)
    try:
        server = listen(
            reactor,
            port=args.port,
            host=args.host,
            here_now_cache=args.here_now_cache,
            secret_key=args.secret_key,
            publish_key=args.publish_key,
            auth_keys=set(args.auth_keys) if args.auth_keys else None,
            access_manager=args.access_manager,
            strict_names=args.strict_names,
            subscribe=subscribe,
            subscribe_keys=set(args.subscribe_keys) if args.subscribe_keys else None,
            dashboard=args.dashboard,
        )
    except OSError as exc:
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    except ValueError as exc:  # a setting the server refuses (an empty --subscribe-key, say)
        raise CLIError(str(exc)) from None
    # Announce only once the reactor runs: its SIGINT/SIGTERM handlers are
    # installed by then, so a signal sent right after this line stops it cleanly.
    await deferLater(reactor, 0, lambda: None)
    out.write(f"listening on {server.url}\n")
    if server.dashboard_url is not None:  # with its token when not on loopback
        out.write(f"dashboard: {server.dashboard_url}\n")
    out.flush()
    # From here on, every request is logged (the server logs at debug level).
    levels = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)
    levels.setLogLevelForNamespace("pubnub_twisted.server", LogLevel.debug)
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(out), [levels])],
        discardBuffer=True,
        redirectStandardIO=False,
    )
    finished: Deferred[None] = Deferred()

    def shutdown() -> Deferred[None]:
        return server.stop()

    reactor.addSystemEventTrigger("before", "shutdown", shutdown)
    await finished  # until SIGINT/SIGTERM stops the reactor
    return EXIT_OK
