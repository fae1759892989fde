"""The ``pubnub-twisted`` command line (also ``python -m pubnub_twisted``).

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
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater, react

from pubnub_twisted._version import __version__
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.errors import PNERR_TLS_ERROR, PubNubException
from pubnub_twisted.models import (
    PNChannelGroupsListResult,
    PNGetStateResult,
    PNHereNowResult,
    PNSetStateResult,
    PNWhereNowResult,
)
from pubnub_twisted.models_messages import PNFetchMessagesResult, PNPublishResult
from pubnub_twisted.models_pubsub import PNTimeResponse
from pubnub_twisted.protocol import DEFAULT_ORIGIN
from pubnub_twisted.pubnub import PubNub
from pubnub_twisted.server.subscribe import SubscribeOptions

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A problem to report as one line on stderr."""


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _ssl_setting(value: str | None) -> bool:
    """``PUBNUB_SSL``: 0/false/no/off for plain HTTP, 1/true/yes/on (or unset) for TLS."""
    text = (value or "1").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CLIError(f"PUBNUB_SSL must be 1 or 0 (true/false, yes/no, on/off), not {text!r}")


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (environment variables in brackets)")
    group.add_argument(
        "--origin",
        default=_env("PUBNUB_ORIGIN") or DEFAULT_ORIGIN,
        help=f"host[:port] of PubNub or a local server [PUBNUB_ORIGIN] (default {DEFAULT_ORIGIN})",
    )
    group.add_argument(
        "--subscribe-key", default=_env("PUBNUB_SUBSCRIBE_KEY"), help="[PUBNUB_SUBSCRIBE_KEY]"
    )
    group.add_argument(
        "--publish-key", default=_env("PUBNUB_PUBLISH_KEY"), help="[PUBNUB_PUBLISH_KEY]"
    )
    group.add_argument(
        "--secret-key",
        default=_env("PUBNUB_SECRET_KEY"),
        help="sign requests with this key [PUBNUB_SECRET_KEY]",
    )
    group.add_argument("--auth-key", default=_env("PUBNUB_AUTH_KEY"), help="[PUBNUB_AUTH_KEY]")
    group.add_argument("--uuid", default=_env("PUBNUB_UUID"), help="our uuid [PUBNUB_UUID]")
    group.add_argument(
        "--no-ssl", action="store_true", help="plain HTTP (for a local server) [PUBNUB_SSL=0]"
    )
    group.add_argument(
        "--strict-names",
        action="store_true",
        help="refuse channel and group names that break PubNub's naming rules",
    )
    group.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    # Read with the other variables, when the arguments are parsed; checked in _config.
    parser.set_defaults(ssl_variable=_env("PUBNUB_SSL"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _config(args: argparse.Namespace) -> PNConfiguration:
    keyless = getattr(args, "operation", None) == "time"  # /time/0 names no key
    if not args.subscribe_key and not keyless:
        raise CLIError("a subscribe key is needed: --subscribe-key or PUBNUB_SUBSCRIBE_KEY")
    config = PNConfiguration()
    config.subscribe_key = args.subscribe_key
    config.publish_key = args.publish_key
    config.secret_key = args.secret_key
    config.auth_key = args.auth_key
    if args.uuid:
        config.uuid = args.uuid
    config.origin = args.origin
    config.ssl = not args.no_ssl and _ssl_setting(args.ssl_variable)
    config.strict_names = args.strict_names
    config.non_subscribe_request_timeout = args.timeout
    return config


def _state_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc


# -- output -------------------------------------------------------------------


def _dumps(value: Any, indent: int | None = None) -> str:
    """JSON for people and ``jq``: non-ASCII text kept as it is (UTF-8), keys sorted."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


def _jsonable(result: Any) -> Any:
    if isinstance(result, PNHereNowResult):
        return {
            "total_channels": result.total_channels,
            "total_occupancy": result.total_occupancy,
            "channels": {
                channel.channel_name: {
                    "occupancy": channel.occupancy,
                    "occupants": [{"uuid": o.uuid, "state": o.state} for o in channel.occupants],
                }
                for channel in result.channels
            },
        }
    if isinstance(result, (PNWhereNowResult, PNChannelGroupsListResult)):
        return {"channels": result.channels}
    if isinstance(result, PNGetStateResult):
        return {"channels": result.channels}
    if isinstance(result, PNSetStateResult):
        return {"state": result.state}
    if isinstance(result, PNTimeResponse):
        return {"timetoken": result.timetoken, "time": result.date_time().isoformat()}
    if isinstance(result, PNPublishResult):
        return {"timetoken": result.timetoken}
    if isinstance(result, PNFetchMessagesResult):
        return {
            "channels": {
                name: [
                    {"timetoken": item.timetoken, "uuid": item.uuid, "message": item.message}
                    for item in items
                ]
                for name, items in result.channels.items()
            }
        }
    return {"ok": True}


def _table(result: Any) -> str:
    if isinstance(result, PNHereNowResult):
        lines = [f"{result.total_occupancy} present on {result.total_channels} channel(s)"]
        for channel in result.channels:
            lines.append(f"  {channel.channel_name}  occupancy {channel.occupancy}")
            for occupant in channel.occupants:
                state = "" if occupant.state is None else "  " + _dumps(occupant.state)
                lines.append(f"    {occupant.uuid}{state}")
        return "\n".join(lines)
    if isinstance(result, (PNWhereNowResult, PNChannelGroupsListResult)):
        return "\n".join(result.channels) if result.channels else "(none)"
    if isinstance(result, PNGetStateResult):
        width = max((len(name) for name in result.channels), default=0)
        return "\n".join(
            f"{name.ljust(width)}  {_dumps(state)}" for name, state in result.channels.items()
        )
    if isinstance(result, PNSetStateResult):
        return _dumps(result.state)
    if isinstance(result, PNTimeResponse):
        return f"{result.timetoken}  {result.date_time().isoformat()}"
    if isinstance(result, PNPublishResult):
        return f"sent {result.timetoken}"
    if isinstance(result, PNFetchMessagesResult):
        lines = [
            f"{name}  {item.timetoken}  {item.uuid or '-'}  {_dumps(item.message)}"
            for name, items in result.channels.items()
            for item in items
        ]
        return "\n".join(lines) if lines else "(no messages)"
    return "OK"


# -- operations ---------------------------------------------------------------

Operation = Callable[[PubNub, argparse.Namespace], "Deferred[Any]"]


def _here_now(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.here_now().include_state(args.state).include_uuids(not args.occupancy_only)
    _names_of(builder, args)
    if args.limit is not None:
        builder.limit(args.limit)
    if args.offset is not None:
        builder.offset(args.offset)
    return builder.result()


def _names_of(builder: Any, args: argparse.Namespace) -> Any:
    channels, groups = _names(args)
    if channels:
        builder.channels(channels)
    if groups:
        builder.channel_groups(groups)
    return builder


def _names(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """``--channels a,b`` split on commas, then each ``--channel`` whole; groups alike."""
    channels = [name for name in (args.channels or "").split(",") if name]
    groups = [name for name in (args.groups or "").split(",") if name]
    return channels + (args.channel or []), groups + (args.group or [])


def _time(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return pubnub.time().result()


def _where_now(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.where_now()
    if args.target:
        builder.uuid(args.target)
    return builder.result()


def _get_state(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = _names_of(pubnub.get_state(), args)
    if args.target:
        builder.uuid(args.target)
    return builder.result()  # type: ignore[no-any-return]


def _set_state(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return _names_of(pubnub.set_state(), args).state(args.state).result()  # type: ignore[no-any-return]


def _heartbeat(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = _names_of(pubnub.heartbeat(), args)
    if args.state is not None:
        builder.state(args.state)
    if args.presence_timeout is not None:
        builder.presence_timeout(args.presence_timeout)
    return builder.result()  # type: ignore[no-any-return]


def _leave(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return _names_of(pubnub.leave(), args).result()  # type: ignore[no-any-return]


def _groups(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    if args.action == "add":
        builder: Any = pubnub.add_channel_to_channel_group().channels(args.channels)
    elif args.action == "remove":
        builder = pubnub.remove_channel_from_channel_group().channels(args.channels)
    elif args.action == "list":
        builder = pubnub.list_channels_in_channel_group()
    else:
        builder = pubnub.remove_channel_group()
    return builder.channel_group(args.group).result()  # type: ignore[no-any-return]


def _message_arg(text: str) -> Any:
    """JSON when the text is JSON, else the text itself as a string message."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _publish(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.publish().channel(args.channel).message(args.message).use_post(args.post)
    if args.meta is not None:
        builder.meta(args.meta)
    return builder.result()


def _history(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.fetch_messages().channels(args.channel).include_uuid(True)
    if args.count is not None:
        builder.maximum_per_channel(args.count)
    return builder.result()


OPERATIONS: dict[str, tuple[Operation, str, str]] = {
    "here-now": (
        _here_now,
        "who is present on channels, groups or everywhere",
        "pubnub-twisted here-now --channels lobby,game --state",
    ),
    "where-now": (
        _where_now,
        "the channels a uuid is present on (default: our own uuid)",
        "pubnub-twisted where-now --target alice",
    ),
    "get-state": (
        _get_state,
        "a uuid's state on channels or groups",
        "pubnub-twisted get-state --channels lobby --target alice",
    ),
    "set-state": (
        _set_state,
        "set our state on channels or groups",
        'pubnub-twisted set-state --channels lobby --state \'{"mood": "happy"}\'',
    ),
    "heartbeat": (
        _heartbeat,
        "announce our presence on channels or groups",
        "pubnub-twisted heartbeat --channels lobby --presence-timeout 60",
    ),
    "leave": (
        _leave,
        "leave channels or groups",
        "pubnub-twisted leave --channels lobby",
    ),
    "time": (
        _time,
        "the service's current time as a timetoken",
        "pubnub-twisted time --origin 127.0.0.1:8090 --no-ssl",
    ),
    "publish": (
        _publish,
        "publish a message (JSON, or plain text) on a channel",
        'pubnub-twisted publish --channel lobby --message \'{"text": "hi"}\'',
    ),
    "history": (
        _history,
        "the stored messages of channels, oldest first",
        "pubnub-twisted history --channel lobby --count 10",
    ),
    "groups": (
        _groups,
        "manage channel groups: add, remove, list, delete",
        "pubnub-twisted groups add rooms --channels lobby,game",
    ),
}


def _add_operation_parsers(subparsers: Any) -> None:
    here_now = _subparser(subparsers, "here-now")
    _add_names(here_now)
    here_now.add_argument("--state", action="store_true", help="include each occupant's state")
    here_now.add_argument("--occupancy-only", action="store_true", help="counts only, no uuids")
    here_now.add_argument("--limit", type=int, help="occupants per channel (1-1000)")
    here_now.add_argument("--offset", type=int, help="skip this many occupants per channel")

    where_now = _subparser(subparsers, "where-now")
    where_now.add_argument("--target", help="the uuid to look up (default: --uuid)")

    get_state = _subparser(subparsers, "get-state")
    _add_names(get_state)
    get_state.add_argument("--target", help="whose state (default: --uuid)")

    set_state = _subparser(subparsers, "set-state")
    _add_names(set_state)
    set_state.add_argument(
        "--state", type=_state_arg, required=True, help="the state, a JSON object"
    )

    heartbeat = _subparser(subparsers, "heartbeat")
    _add_names(heartbeat)
    heartbeat.add_argument(
        "--state", type=_state_arg, help='state per channel, JSON: {"lobby": {"mood": "ok"}}'
    )
    heartbeat.add_argument("--presence-timeout", type=int, help="seconds to stay present")

    leave = _subparser(subparsers, "leave")
    _add_names(leave)

    _subparser(subparsers, "time")

    publish = _subparser(subparsers, "publish")
    publish.add_argument("--channel", required=True, help="the channel")
    publish.add_argument(
        "--message", type=_message_arg, required=True, help="the message: JSON, or plain text"
    )
    publish.add_argument("--meta", type=_state_arg, help="meta for subscribers, a JSON object")
    publish.add_argument("--post", action="store_true", help="send the message as a POST body")

    history = _subparser(subparsers, "history")
    history.add_argument("--channel", action="append", required=True, help="a channel (repeatable)")
    history.add_argument(
        "--count", type=int, help="messages per channel (100 for one, 25 for several)"
    )

    groups = _subparser(subparsers, "groups")
    groups.add_argument("action", choices=["add", "remove", "list", "delete"])
    groups.add_argument("group", help="the channel group")
    groups.add_argument("--channels", help="comma-separated channels (add, remove)")


def _add_names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", help="comma-separated channels")
    parser.add_argument("--channel", action="append", help="one channel, taken whole (repeatable)")
    parser.add_argument("--groups", help="comma-separated channel groups")
    parser.add_argument(
        "--group", action="append", help="one channel group, taken whole (repeatable)"
    )


def _subparser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    _, summary, example = OPERATIONS[name]
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_client_options(parser)
    parser.set_defaults(operation=name)
    return parser


async def _run_operation(reactor: IReactorTime, args: argparse.Namespace, out: TextIO) -> int:
    pubnub = PubNub(_config(args), reactor=reactor)
    try:
        operation = OPERATIONS[args.operation][0]
        result = await operation(pubnub, args)
    finally:
        await pubnub.stop()
    if args.json:
        out.write(_dumps(_jsonable(result), indent=2) + "\n")
    else:
        out.write(_table(result) + "\n")
    return EXIT_OK


def _add_demo_parser(subparsers: Any) -> None:
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
    demo.add_argument("--origin", default=_env("PUBNUB_ORIGIN"), help="run against this origin")
    demo.add_argument("--subscribe-key", default=_env("PUBNUB_SUBSCRIBE_KEY"))
    demo.add_argument("--publish-key", default=_env("PUBNUB_PUBLISH_KEY"))
    demo.add_argument("--no-ssl", action="store_true", help="plain HTTP to --origin")
    demo.add_argument(
        "--presence-timeout",
        type=int,
        default=None,
        help="presence timeout of the user who times out (default 2 s locally, 20 remotely)",
    )
    demo.set_defaults(command_runner=_run_demo)


def _add_serve_parser(subparsers: Any) -> None:
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


def _add_watch_parser(subparsers: Any) -> None:
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
    _add_client_options(watch)
    watch.set_defaults(command_runner=_run_watch)


async def _run_watch(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from pubnub_twisted.watch import Watcher  # noqa: PLC0415

    channels, groups = _names(args)
    if not channels and not groups:
        raise CLIError("watch needs channels (CHANNELS or --channel) or --groups/--group")
    pubnub = PubNub(_config(args), reactor=reactor)
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


def _add_simulate_parser(subparsers: Any) -> None:
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
    _add_client_options(simulate)
    simulate.set_defaults(command_runner=_run_simulate)


async def _run_simulate(reactor: Any, args: argparse.Namespace, out: TextIO) -> int:
    from twisted.internet.task import LoopingCall  # noqa: PLC0415

    from pubnub_twisted.simulate import Simulation, SimulationOptions  # noqa: PLC0415

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
    pubnub = PubNub(_config(args), reactor=reactor)
    simulation = Simulation(pubnub, options)
    simulation.start()
    shown = ", ".join(simulation.channels[:3]) + (", ..." if options.channels > 3 else "")
    out.write(
        f"simulating {options.users} users on {options.channels} channels ({shown}), "
        f"{options.churn:g} changes per second; Ctrl-C makes them leave\n"
    )
    out.flush()
    reporter = LoopingCall(lambda: _write_line(out, simulation.status_line()))
    reporter.clock = reactor
    reporter.start(args.report_every, now=False)

    def shutdown() -> Deferred[None]:
        reporter.stop()
        left = simulation.stop()
        left.addBoth(lambda _: _write_line(out, "everyone left"))
        return left.addBoth(lambda _: pubnub.stop())

    reactor.addSystemEventTrigger("before", "shutdown", shutdown)
    await Deferred()  # until SIGINT/SIGTERM stops the reactor
    return EXIT_OK


def _write_line(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="pubnub-twisted",
        description="PubNub Presence from the command line, and a local presence server.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_demo_parser(subparsers)
    _add_serve_parser(subparsers)
    _add_watch_parser(subparsers)
    _add_simulate_parser(subparsers)
    _add_operation_parsers(subparsers)
    return parser


async def run_command(reactor: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a parsed command; return the exit code (errors are one line on ``err``)."""
    runner = getattr(args, "command_runner", _run_operation)
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
