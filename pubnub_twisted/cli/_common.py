"""What the subcommands share: exit codes, errors, connection options, output."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, TextIO

from pubnub_twisted.config import PNConfiguration
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

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A problem to report as one line on stderr."""


def env(name: str) -> str | None:
    return os.environ.get(name) or None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def ssl_setting(value: str | None) -> bool:
    """``PUBNUB_SSL``: 0/false/no/off for plain HTTP, 1/true/yes/on (or unset) for TLS."""
    text = (value or "1").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CLIError(f"PUBNUB_SSL must be 1 or 0 (true/false, yes/no, on/off), not {text!r}")


def add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (environment variables in brackets)")
    group.add_argument(
        "--origin",
        default=env("PUBNUB_ORIGIN") or DEFAULT_ORIGIN,
        help=f"host[:port] of PubNub or a local server [PUBNUB_ORIGIN] (default {DEFAULT_ORIGIN})",
    )
    group.add_argument(
        "--subscribe-key", default=env("PUBNUB_SUBSCRIBE_KEY"), help="[PUBNUB_SUBSCRIBE_KEY]"
    )
    group.add_argument(
        "--publish-key", default=env("PUBNUB_PUBLISH_KEY"), help="[PUBNUB_PUBLISH_KEY]"
    )
    group.add_argument(
        "--secret-key",
        default=env("PUBNUB_SECRET_KEY"),
        help="sign requests with this key [PUBNUB_SECRET_KEY]",
    )
    group.add_argument("--auth-key", default=env("PUBNUB_AUTH_KEY"), help="[PUBNUB_AUTH_KEY]")
    group.add_argument("--uuid", default=env("PUBNUB_UUID"), help="our uuid [PUBNUB_UUID]")
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
    parser.set_defaults(ssl_variable=env("PUBNUB_SSL"))
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def config_from(args: argparse.Namespace) -> PNConfiguration:
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
    config.ssl = not args.no_ssl and ssl_setting(args.ssl_variable)
    config.strict_names = args.strict_names
    config.non_subscribe_request_timeout = args.timeout
    return config


def state_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc


# -- output -------------------------------------------------------------------


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON for people and ``jq``: non-ASCII text kept as it is (UTF-8), keys sorted."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False)


def jsonable(result: Any) -> Any:
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


def table(result: Any) -> str:
    if isinstance(result, PNHereNowResult):
        lines = [f"{result.total_occupancy} present on {result.total_channels} channel(s)"]
        for channel in result.channels:
            lines.append(f"  {channel.channel_name}  occupancy {channel.occupancy}")
            for occupant in channel.occupants:
                state = "" if occupant.state is None else "  " + dumps(occupant.state)
                lines.append(f"    {occupant.uuid}{state}")
        return "\n".join(lines)
    if isinstance(result, (PNWhereNowResult, PNChannelGroupsListResult)):
        return "\n".join(result.channels) if result.channels else "(none)"
    if isinstance(result, PNGetStateResult):
        width = max((len(name) for name in result.channels), default=0)
        return "\n".join(
            f"{name.ljust(width)}  {dumps(state)}" for name, state in result.channels.items()
        )
    if isinstance(result, PNSetStateResult):
        return dumps(result.state)
    if isinstance(result, PNTimeResponse):
        return f"{result.timetoken}  {result.date_time().isoformat()}"
    if isinstance(result, PNPublishResult):
        return f"sent {result.timetoken}"
    if isinstance(result, PNFetchMessagesResult):
        lines = [
            f"{name}  {item.timetoken}  {item.uuid or '-'}  {dumps(item.message)}"
            for name, items in result.channels.items()
            for item in items
        ]
        return "\n".join(lines) if lines else "(no messages)"
    return "OK"


def names_of(builder: Any, args: argparse.Namespace) -> Any:
    channels, groups = names(args)
    if channels:
        builder.channels(channels)
    if groups:
        builder.channel_groups(groups)
    return builder


def names(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """``--channels a,b`` split on commas, then each ``--channel`` whole; groups alike."""
    channels = [name for name in (args.channels or "").split(",") if name]
    groups = [name for name in (args.groups or "").split(",") if name]
    return channels + (args.channel or []), groups + (args.group or [])


def add_names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", help="comma-separated channels")
    parser.add_argument("--channel", action="append", help="one channel, taken whole (repeatable)")
    parser.add_argument("--groups", help="comma-separated channel groups")
    parser.add_argument(
        "--group", action="append", help="one channel group, taken whole (repeatable)"
    )


def write_line(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()
