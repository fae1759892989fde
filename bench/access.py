"""What Access Manager enforcement costs the embedded server, per request.

Runs ``PresenceResource.respond`` in-process (no HTTP) for a heartbeat on
``--channels`` channels: without the Access Manager (the floor, 1.00), with a
token granting each channel by name, and with a token granting them by one
pattern; then a grant request and a refused tampered token.  Prints the median
microseconds per request of ``--reps`` runs and the ratio to the floor.
Nothing is asserted: read the ratios (see README.md).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable

from twisted.internet.task import Clock

from pubnub_twisted.access.tokens import PNToken, PNTokenPermissions, PNTokenResources
from pubnub_twisted.protocol import encode, encode_query, sign
from pubnub_twisted.server import PresenceResource, PresenceStore

SUB = "sub-c-bench"
SECRET = "sec-c-bench"
PUB = "pub-c-bench"


def _timed(run: Callable[[], object], ops: int) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        run()
    return (time.perf_counter() - start) / ops * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=3000, help="requests per run")
    parser.add_argument("--reps", type=int, default=5, help="runs per variant (median)")
    parser.add_argument("--channels", type=int, default=10, help="channels per request")
    args = parser.parse_args()

    clock = Clock()
    clock.advance(1_700_000_000)
    plain = PresenceResource(PresenceStore(clock), here_now_cache=0)
    managed = PresenceResource(
        PresenceStore(clock),
        here_now_cache=0,
        secret_key=SECRET,
        publish_key=PUB,
        access_manager=True,
    )
    assert managed.access is not None
    names = [f"room-{i}" for i in range(args.channels)]

    def token(resources: PNTokenResources, patterns: PNTokenResources) -> str:
        parsed = PNToken(2, int(clock.seconds()), 60, None, resources, patterns, {})
        assert managed.access is not None
        return managed.access.issue(SUB, parsed)

    by_name = token(
        PNTokenResources(channels={n: PNTokenPermissions(1) for n in names}), PNTokenResources()
    )
    by_pattern = token(
        PNTokenResources(), PNTokenResources(channels={"^room-[0-9]+$": PNTokenPermissions(1)})
    )
    raw = bytearray(base64.urlsafe_b64decode(by_name))
    raw[10] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    path = f"/v2/presence/sub-key/{SUB}/channel/{','.join(names)}/heartbeat?uuid=u"

    def heartbeat(resource: PresenceResource, auth: str | None) -> Callable[[], object]:
        target = (path + ("" if auth is None else f"&auth={encode(auth)}")).encode()
        return lambda: resource.respond(b"GET", target)

    body = json.dumps({"ttl": 5, "permissions": {"resources": {"channels": {"a": 1}}}})
    grant_path = f"/v3/pam/{SUB}/grant"
    pairs: list[tuple[str, str | list[str]]] = [
        ("uuid", "b"),
        ("timestamp", str(int(clock.seconds()))),
    ]
    pairs.append(("signature", sign(SECRET, PUB, grant_path, pairs, method="POST", body=body)))
    grant_target = f"{grant_path}?{encode_query(pairs)}".encode()

    variants: list[tuple[str, Callable[[], object]]] = [
        ("no Access Manager (floor)", heartbeat(plain, None)),
        (f"token, {args.channels} channels by name", heartbeat(managed, by_name)),
        ("token, one pattern", heartbeat(managed, by_pattern)),
        ("tampered token (403)", heartbeat(managed, tampered)),
        ("grant (signed POST)", lambda: managed.respond(b"POST", grant_target, body.encode())),
    ]
    medians = [
        statistics.median(_timed(run, args.ops) for _ in range(args.reps)) for _, run in variants
    ]
    floor = medians[0]
    print(f"{'variant':40} {'us/request':>11} {'ratio':>7}")
    for (name, _), median in zip(variants, medians, strict=True):
        print(f"{name:40} {median:11.1f} {median / floor:7.2f}")


if __name__ == "__main__":
    main()
