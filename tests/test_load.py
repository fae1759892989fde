"""Load with nothing lost: many clients at once against the embedded server on loopback.

:class:`LoadRun` is the scenario; ``bench/load.py`` runs the same one for
minutes (against a server in another process) and reports client memory.

Every client has its own uuid and connection pool and shares the reactor.
Each runs a *writer*: it joins two channels (a heartbeat carrying state),
then round after round writes its state (``set_state`` on one or both
channels, or a heartbeat with state), heartbeats, and reads ``here_now``
with state, where it must see itself with the state it last wrote.  Every
``leave_every``-th client leaves after ``leave_after`` rounds and then
checks it is gone.  ``readers`` more workers only read ``here_now`` (some
calls global) meanwhile.  A client's writes go one at a time, so the last
acknowledged write is the one the server applied last: at the end, an
auditor client checks over the wire that every uuid's state on every one
of its channels is its last acknowledged write (``{}`` after its leave)
and that each channel's occupants are exactly the clients still present.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults
from twisted.trial.unittest import TestCase

from pubnub_twisted import PNEnvelope, PNHereNowResult, PubNub
from pubnub_twisted.endpoints.base import Endpoint
from pubnub_twisted.models import JSONObject
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer

R = TypeVar("R")


@dataclass
class LoadPlan:
    """The size of a load run."""

    clients: int = 60
    #: Channels the clients spread over (each client is on two of them).
    channels: int = 4
    #: Rounds each writer runs (``None``: until ``duration`` has passed).
    rounds: int | None = 8
    #: Seconds the writers keep going (``None``: ``rounds`` decides).
    duration: float | None = None
    #: Every ``leave_every``-th client leaves (0: nobody leaves)...
    leave_every: int = 4
    #: ...after this many rounds.
    leave_after: int = 3
    #: here_now-only workers, besides one writer per client.
    readers: int = 20
    #: Prefix of the channel names.
    prefix: str = "load-"


class LoadRun:
    """One load run over ``clients``; :meth:`run`, then :meth:`audit`.

    ``problems`` lists every unexpected error and broken invariant seen.
    ``on_request(count)`` (optional) is called after each completed request.
    """

    def __init__(
        self,
        plan: LoadPlan,
        clients: Sequence[PubNub],
        on_request: Callable[[int], object] | None = None,
    ) -> None:
        self.plan = plan
        self.clients = list(clients)
        self.channels = [f"{plan.prefix}{i}" for i in range(plan.channels)]
        self.problems: list[str] = []
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.writes = 0
        #: uuid -> channel -> its last acknowledged state there (``{}``: none).
        self.expected: dict[str, dict[str, JSONObject]] = {}
        #: (uuid, channel) -> states sent whose outcome is unknown (the call failed).
        self.uncertain: dict[tuple[str, str], list[JSONObject]] = defaultdict(list)
        #: channel -> uuids present there (joined and not left).
        self.present: dict[str, set[str]] = {name: set() for name in self.channels}
        self.left: set[str] = set()
        self._on_request = on_request
        self._deadline: float | None = None
        self._writing = 0

    def channels_of(self, index: int) -> list[str]:
        """The two channels of client number ``index``."""
        count = len(self.channels)
        return [self.channels[index % count], self.channels[(index + 1) % count]]

    # -- calls --------------------------------------------------------------

    async def _call(self, endpoint: Endpoint[R], what: str) -> R | None:
        """Send one request; its result, or ``None`` (recorded as a problem) on error."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            envelope: PNEnvelope[R] = await endpoint.deferred()
        finally:
            self.in_flight -= 1
            self.requests += 1
            if self._on_request is not None:
                self._on_request(self.requests)
        if envelope.status.is_error():
            self.problems.append(f"{what}: {envelope.status}")
            return None
        return envelope.result

    async def _write(self, endpoint: Endpoint[R], uuid: str, states: dict[str, JSONObject]) -> bool:
        """Send a write of ``states`` (channel -> state); record it once acknowledged."""
        self.writes += 1
        if await self._call(endpoint, f"{uuid} write") is None:
            for channel, state in states.items():
                self.uncertain[uuid, channel].append(state)
            return False
        for channel, state in states.items():
            self.expected.setdefault(uuid, {})[channel] = state
            self.uncertain.pop((uuid, channel), None)
        return True

    # -- workers ------------------------------------------------------------

    def _going(self, done_rounds: int) -> bool:
        if self.plan.rounds is not None and done_rounds >= self.plan.rounds:
            return False
        return self._deadline is None or time.monotonic() < self._deadline

    async def _writer(self, index: int) -> None:
        client = self.clients[index]
        uuid = client.uuid
        mine = self.channels_of(index)
        leaves = self.plan.leave_every > 0 and index % self.plan.leave_every == 0
        first = {"uuid": uuid, "round": -1}
        joined = client.heartbeat().channels(mine).state({mine[0]: first})
        if await self._write(joined, uuid, {mine[0]: first, mine[1]: {}}):
            for channel in mine:
                self.present[channel].add(uuid)
        done = 0
        while self._going(done) and uuid not in self.left:
            await self._round(client, index, mine, done)
            done += 1
            if leaves and done == self.plan.leave_after:
                await self._leave(client, mine)
        self._writing -= 1

    async def _round(self, client: PubNub, index: int, mine: list[str], number: int) -> None:
        uuid = client.uuid
        state: JSONObject = {"uuid": uuid, "round": number, "tags": ["load", index], "x": 1.5}
        kind = (index + number) % 3
        if kind == 0:
            await self._write(
                client.set_state().channels(mine).state(state), uuid, dict.fromkeys(mine, state)
            )
        elif kind == 1:
            await self._write(
                client.set_state().channels(mine[1]).state(state), uuid, {mine[1]: state}
            )
        else:
            beat = client.heartbeat().channels(mine).state({mine[0]: state})
            await self._write(beat, uuid, {mine[0]: state})
        await self._call(client.heartbeat().channels(mine), f"{uuid} heartbeat")
        seen = await self._call(
            client.here_now().channels(mine).include_state(True), f"{uuid} here_now"
        )
        if seen is not None:
            self._check_self(uuid, seen, present=True)

    async def _leave(self, client: PubNub, mine: list[str]) -> None:
        uuid = client.uuid
        if await self._write(
            client.leave().channels(mine), uuid, {channel: {} for channel in mine}
        ):
            for channel in mine:
                self.present[channel].discard(uuid)
            self.left.add(uuid)
            seen = await self._call(client.here_now().channels(mine), f"{uuid} here_now")
            if seen is not None:
                self._check_self(uuid, seen, present=False)

    def _check_self(self, uuid: str, seen: PNHereNowResult, *, present: bool) -> None:
        """A client sees itself (with its last written state) exactly while present."""
        for entry in seen.channels:
            states = {o.uuid: o.state or {} for o in entry.occupants}
            if (uuid in states) != present:
                self.problems.append(f"{uuid} {'missing from' if present else 'still on'} {entry}")
            elif present and self._unexpected(uuid, entry.channel_name, states[uuid]):
                self.problems.append(f"{uuid} on {entry.channel_name}: state {states[uuid]}")

    async def _reader(self, index: int) -> None:
        client = self.clients[index % len(self.clients)]
        count = len(self.channels)
        number = 0
        while self._writing > 0:
            number += 1
            if number % 5 == 0:
                found = await self._call(client.here_now(), "global here_now")
            else:
                names = [self.channels[(index + number + k) % count] for k in range(1 + number % 3)]
                found = await self._call(
                    client.here_now().channels(names).include_state(number % 2 == 0), "here_now"
                )
            if found is not None:
                for entry in found.channels:
                    if entry.occupancy != len(entry.occupants):
                        self.problems.append(f"here_now lists {len(entry.occupants)}: {entry}")

    async def run(self) -> None:
        """Every writer and reader at once, until the plan says stop."""
        if self.plan.duration is not None:
            self._deadline = time.monotonic() + self.plan.duration
        self._writing = len(self.clients)
        workers = [self._writer(i) for i in range(len(self.clients))]
        workers += [self._reader(i) for i in range(self.plan.readers)]
        await gatherResults([ensureDeferred(w) for w in workers])

    # -- the end --------------------------------------------------------------

    def _unexpected(self, uuid: str, channel: str, state: JSONObject | None) -> bool:
        allowed = [self.expected.get(uuid, {}).get(channel, {}), *self.uncertain[uuid, channel]]
        return (state or {}) not in allowed

    async def audit(self, auditor: PubNub) -> None:
        """Check over the wire: final states are the last acknowledged writes; occupancy."""

        async def state_of(index: int) -> None:
            uuid = self.clients[index].uuid
            mine = self.channels_of(index)
            got = await self._call(auditor.get_state().channels(mine).uuid(uuid), "audit")
            states = {} if got is None else got.channels
            for channel, state in states.items():
                if self._unexpected(uuid, channel, state):
                    wanted = self.expected.get(uuid, {}).get(channel)
                    self.problems.append(
                        f"{uuid} on {channel}: {state}, last acknowledged {wanted}"
                    )

        for start in range(0, len(self.clients), 20):  # 20 at a time: one client's pool
            batch = range(start, min(start + 20, len(self.clients)))
            await gatherResults([ensureDeferred(state_of(i)) for i in batch])
        here = await self._call(
            auditor.here_now().channels(self.channels).include_state(True), "audit"
        )
        if here is None:
            return
        found = {entry.channel_name: entry for entry in here.channels}
        for channel, uuids in self.present.items():
            entry = found.get(channel)
            listed = {o.uuid: o.state for o in entry.occupants} if entry else {}
            occupancy = entry.occupancy if entry else 0
            if set(listed) != uuids or occupancy != len(uuids):
                self.problems.append(
                    f"{channel}: occupancy {occupancy}, {sorted(listed)}; expected {sorted(uuids)}"
                )
            for uuid, state in listed.items():
                if self._unexpected(uuid, channel, state):
                    self.problems.append(f"here_now: {uuid} on {channel} has {state}")
        if here.total_occupancy != sum(map(len, self.present.values())):
            self.problems.append(f"total occupancy {here.total_occupancy}")


class LoadTests(TestCase):
    """60 clients, 80 requests in flight, against one embedded server on loopback."""

    def setUp(self) -> None:
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)

    async def _load(self, plan: LoadPlan) -> LoadRun:
        clients = [self.server.client(f"load-user-{i:03}") for i in range(plan.clients)]
        load = LoadRun(plan, clients)
        await load.run()
        await load.audit(self.server.client("auditor"))
        return load

    def test_nothing_lost(self) -> Deferred[Any]:
        """No error; every final state is the last acknowledged write; occupancy is exact."""

        async def check() -> None:
            plan = LoadPlan(clients=60, rounds=8, leave_every=4, readers=20)
            load = await self._load(plan)
            self.assertEqual(load.problems, [])
            self.assertGreaterEqual(load.peak_in_flight, 50)
            self.assertEqual(len(load.left), 15)
            # Each joins, then writes once a round; a leaver stops after 3 rounds, and leaves.
            self.assertEqual(load.writes, 45 * (1 + 8) + 15 * (1 + 3 + 1))
            store = self.server.store
            for index, client in enumerate(load.clients):
                mine = load.channels_of(index)
                stored = store.get_state(DEFAULT_SUBSCRIBE_KEY, client.uuid, mine)
                self.assertEqual(stored, {c: load.expected[client.uuid][c] for c in mine})
            for channel, uuids in load.present.items():
                self.assertEqual(store.occupancy(DEFAULT_SUBSCRIBE_KEY, channel), len(uuids))
            self.assertEqual(sum(map(len, load.present.values())), (60 - 15) * 2)

        return ensureDeferred(check())
