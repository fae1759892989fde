"""One subcommand per PubNub call (here-now, where-now, state, heartbeat, leave, groups,
time, publish, history), printed as a table or JSON."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from pubnub_twisted.cli._common import (
    EXIT_OK,
    add_client_options,
    add_names,
    config_from,
    dumps,
    jsonable,
    names_of,
    state_arg,
    table,
)
from pubnub_twisted.pubnub import PubNub

# -- operations ---------------------------------------------------------------

Operation = Callable[[PubNub, argparse.Namespace], "Deferred[Any]"]


def _here_now(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.here_now().include_state(args.state).include_uuids(not args.occupancy_only)
    names_of(builder, args)
    if args.limit is not None:
        builder.limit(args.limit)
    if args.offset is not None:
        builder.offset(args.offset)
    return builder.result()


def _time(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return pubnub.time().result()


def _where_now(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = pubnub.where_now()
    if args.target:
        builder.uuid(args.target)
    return builder.result()


def _get_state(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = names_of(pubnub.get_state(), args)
    if args.target:
        builder.uuid(args.target)
    return builder.result()  # type: ignore[no-any-return]


def _set_state(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return names_of(pubnub.set_state(), args).state(args.state).result()  # type: ignore[no-any-return]


def _heartbeat(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    builder = names_of(pubnub.heartbeat(), args)
    if args.state is not None:
        builder.state(args.state)
    if args.presence_timeout is not None:
        builder.presence_timeout(args.presence_timeout)
    return builder.result()  # type: ignore[no-any-return]


def _leave(pubnub: PubNub, args: argparse.Namespace) -> Deferred[Any]:
    return names_of(pubnub.leave(), args).result()  # type: ignore[no-any-return]


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


def message_arg(text: str) -> Any:
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


def add_operation_parsers(subparsers: Any) -> None:
    here_now = _subparser(subparsers, "here-now")
    add_names(here_now)
    here_now.add_argument("--state", action="store_true", help="include each occupant's state")
    here_now.add_argument("--occupancy-only", action="store_true", help="counts only, no uuids")
    here_now.add_argument("--limit", type=int, help="occupants per channel (1-1000)")
    here_now.add_argument("--offset", type=int, help="skip this many occupants per channel")

    where_now = _subparser(subparsers, "where-now")
    where_now.add_argument("--target", help="the uuid to look up (default: --uuid)")

    get_state = _subparser(subparsers, "get-state")
    add_names(get_state)
    get_state.add_argument("--target", help="whose state (default: --uuid)")

    set_state = _subparser(subparsers, "set-state")
    add_names(set_state)
    set_state.add_argument(
        "--state", type=state_arg, required=True, help="the state, a JSON object"
    )

    heartbeat = _subparser(subparsers, "heartbeat")
    add_names(heartbeat)
    heartbeat.add_argument(
        "--state", type=state_arg, help='state per channel, JSON: {"lobby": {"mood": "ok"}}'
    )
    heartbeat.add_argument("--presence-timeout", type=int, help="seconds to stay present")

    leave = _subparser(subparsers, "leave")
    add_names(leave)

    _subparser(subparsers, "time")

    publish = _subparser(subparsers, "publish")
    publish.add_argument("--channel", required=True, help="the channel")
    publish.add_argument(
        "--message", type=message_arg, required=True, help="the message: JSON, or plain text"
    )
    publish.add_argument("--meta", type=state_arg, help="meta for subscribers, a JSON object")
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


def _subparser(subparsers: Any, name: str) -> argparse.ArgumentParser:
    _, summary, example = OPERATIONS[name]
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_client_options(parser)
    parser.set_defaults(operation=name)
    return parser


async def run_operation(reactor: IReactorTime, args: argparse.Namespace, out: TextIO) -> int:
    pubnub = PubNub(config_from(args), reactor=reactor)
    try:
        operation = OPERATIONS[args.operation][0]
        result = await operation(pubnub, args)
    finally:
        await pubnub.stop()
    if args.json:
        out.write(dumps(jsonable(result), indent=2) + "\n")
    else:
        out.write(table(result) + "\n")
    return EXIT_OK
