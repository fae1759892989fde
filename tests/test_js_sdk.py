"""PubNub's JavaScript SDK (npm ``pubnub``, pinned in tests/js) against the embedded server.

The server listens on an ephemeral loopback port in this process; ``node
tests/js/interop.mjs`` drives the SDK, taking commands on stdin and writing
one JSON line per result and per listener callback.  The child runs under
``reactor.spawnProcess`` (the server must keep answering while it works),
with a deadline that kills it.  The pinned SDK is installed on first use
(tests/js_install.py); without node or npm these tests are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.defer import TimeoutError as WaitTimedOut
from twisted.internet.error import ProcessDone
from twisted.internet.interfaces import IDelayedCall, IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase

from pubnub_twisted import PNStatusCategory, PubNub, SubscribeCallback
from pubnub_twisted.models import PNStatus
from pubnub_twisted.models_pubsub import PNPresenceEventResult
from pubnub_twisted.testing import LocalPresenceServer
from tests import js_install
from tests.test_realtime_integration import eventually

Gen = Generator[Deferred[Any], Any, None]
Record = dict[str, Any]

SUB = "sub-c-js-interop"
PUB = "pub-c-js-interop"
JS_UUID = "js-user"
#: Seconds one answer or event may take.
WAIT = 15.0
#: Seconds the node child may live at most; then it is killed.
LIFETIME = 90.0


class NodeDriver(ProcessProtocol):
    """``node interop.mjs``: send commands, read results and listener events.

    ``call()`` sends a command and fires with its result (or fails with the
    SDK's error); ``event()`` fires with the first listener event that
    matches and has not been taken yet.  Every wait has a deadline of
    :data:`WAIT` seconds, and the child is killed after :data:`LIFETIME`.
    """

    def __init__(self) -> None:
        self.transport: IProcessTransport | None = None
        self.events: list[Record] = []  # every listener event, in order
        self._unclaimed: list[Record] = []
        self._waiting: list[tuple[Callable[[Record], bool], Deferred[Record]]] = []
        self._calls: dict[int, Deferred[Any]] = {}
        self._next_id = 0
        self._buffer = b""
        self._stderr = b""
        self._noise: list[str] = []
        self.ended: Deferred[int] = Deferred()
        self._exit_code: int | None = None
        self._killer: IDelayedCall | None = None

    @classmethod
    def spawn(cls, modules: Path, origin: str, uuid: str) -> NodeDriver:
        """Start the driver against ``origin`` with the SDK installed in ``modules``."""
        driver = cls()
        script = js_install.SOURCE / "interop.mjs"
        args = ["--modules", str(modules), "--origin", origin]
        args += ["--sub", SUB, "--pub", PUB, "--uuid", uuid]
        node = js_install.node()
        reactor.spawnProcess(driver, node, [node, str(script), *args], env=dict(os.environ))
        driver._killer = reactor.callLater(LIFETIME, driver.kill)
        return driver

    # -- ProcessProtocol ----------------------------------------------------

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._line(line.decode("utf-8", "replace"))

    def errReceived(self, data: bytes) -> None:
        self._stderr += data

    def processEnded(self, reason: Failure) -> None:
        if self._killer is not None and self._killer.active():
            self._killer.cancel()
        code = 0 if reason.check(ProcessDone) else getattr(reason.value, "exitCode", None)
        self._exit_code = -1 if code is None else code
        gone = RuntimeError(f"node ended ({self._exit_code}): {self.diagnostics()}")
        for call in self._calls.values():
            call.errback(gone)
        self._calls.clear()
        for _, waiter in self._waiting:
            waiter.errback(gone)
        self._waiting.clear()
        self.ended.callback(self._exit_code)

    def _line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            self._noise.append(line)
            return
        if "event" in record:
            self.events.append(record)
            for index, (matches, waiter) in enumerate(self._waiting):
                if matches(record):
                    del self._waiting[index]
                    waiter.callback(record)
                    return
            self._unclaimed.append(record)
        elif record.get("id") in self._calls:
            call = self._calls.pop(record["id"])
            if call.called:  # it timed out
                return
            if "error" in record:
                call.errback(JSError(record["error"]))
            else:
                call.callback(record["result"])
        else:
            self._noise.append(line)

    # -- commands and events ------------------------------------------------

    def diagnostics(self) -> str:
        """What the child said besides results (for failure messages)."""
        return f"stderr={self._stderr.decode('utf-8', 'replace')!r} other={self._noise!r}"

    def _send(self, command: Record) -> None:
        if self.transport is None or self._exit_code is not None:
            raise RuntimeError(f"node is not running: {self.diagnostics()}")
        self.transport.write(json.dumps(command).encode("utf-8") + b"\n")

    def call(self, op: str, **args: Any) -> Deferred[Any]:
        """Run one SDK call; fires with its result, fails with :class:`JSError`."""
        self._next_id += 1
        answer: Deferred[Any] = Deferred()
        self._calls[self._next_id] = answer
        self._send({"id": self._next_id, "op": op, "args": args})
        return self._deadline(answer, f"no answer to {op}")

    def event(self, **expected: Any) -> Deferred[Record]:
        """The first listener event not yet taken whose fields have the ``expected`` values."""

        def matches(record: Record) -> bool:
            return all(record.get(key) == value for key, value in expected.items())

        for record in self._unclaimed:
            if matches(record):
                self._unclaimed.remove(record)
                return succeed(record)
        waiter: Deferred[Record] = Deferred()
        self._waiting.append((matches, waiter))

        def forget(failure: Failure) -> Failure:
            self._waiting[:] = [item for item in self._waiting if item[1] is not waiter]
            return failure

        return self._deadline(waiter.addErrback(forget), f"no event {expected}")

    def _deadline(self, waiting: Deferred[Any], what: str) -> Deferred[Any]:
        def explain(failure: Failure) -> Failure:
            if failure.check(WaitTimedOut):
                seen = json.dumps(self.events)
                raise AssertionError(f"{what} in {WAIT} s; events {seen}; {self.diagnostics()}")
            return failure

        return waiting.addTimeout(WAIT, reactor).addErrback(explain)

    def kill(self) -> None:
        """End the child at once."""
        self._killer = None
        if self.transport is not None and self._exit_code is None:
            self.transport.signalProcess("KILL")

    @inlineCallbacks
    def exit(self) -> Gen:
        """Ask the child to stop its client and exit; kill it if it does not, in time."""
        timer = None
        if self._exit_code is None:
            self._send({"op": "exit"})
            assert self.transport is not None
            self.transport.closeStdin()
            timer = reactor.callLater(WAIT, self.kill)
        code = yield self.ended  # fired by processEnded, also after a kill
        if timer is not None and timer.active():
            timer.cancel()
        if code != 0:
            raise AssertionError(f"node exited with {code}: {self.diagnostics()}")


class JSError(Exception):
    """An SDK call failed in node (its message, category and status code)."""


class Watcher(SubscribeCallback):
    """Our own client's presence events, as (event, uuid, channel, occupancy)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, str, int]] = []
        self.statuses: list[PNStatusCategory] = []

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        self.events.append((event.event, event.uuid, event.channel, event.occupancy))

    def status(self, pubnub: PubNub, status: PNStatus) -> None:
        self.statuses.append(status.category)


def presence(action: str, uuid: str, channel: str, occupancy: int, **extra: Any) -> Record:
    """A presence event as interop.mjs prints it (through group ``g``'s presence)."""
    return {
        "event": "presence",
        "action": action,
        "uuid": uuid,
        "channel": channel,
        "subscription": "g-pnpres",
        "occupancy": occupancy,
        "state": None,
        **extra,
    }


class JavaScriptSDKTests(TestCase):
    """PubNub's JavaScript SDK, unchanged, works against the embedded server."""

    def setUp(self) -> None:
        try:
            modules = js_install.install()  # before the server: nothing to answer meanwhile
        except js_install.Missing as missing:
            raise SkipTest(str(missing)) from None
        self.server = LocalPresenceServer.start(reactor)
        self.addCleanup(self.server.stop)
        self.ours = self.client("py-user")
        self.js = NodeDriver.spawn(modules, self.server.origin, JS_UUID)
        self.addCleanup(self.js.exit)  # runs before server.stop (cleanups run in reverse)

    def client(self, uuid: str) -> PubNub:
        """Our own client of the server, on the JS client's keys."""
        return self.server.client(uuid, subscribe_key=SUB, publish_key=PUB)

    @inlineCallbacks
    def group(self, group: str, channels: list[str]) -> Gen:
        """The JS SDK adds ``channels`` to ``group``; both SDKs then list them."""
        added = yield self.js.call("addChannels", group=group, channels=channels)
        self.assertEqual(added, {})
        listed = yield self.js.call("listChannels", group=group)
        self.assertEqual(listed, {"channels": channels})
        ours = yield self.ours.list_channels_in_channel_group().channel_group(group).result()
        self.assertEqual(ours.channels, channels)

    @inlineCallbacks
    def subscribe_to_group(self) -> Gen:
        """JS makes group ``g``, subscribes to it with presence and sees its own joins."""
        yield self.group("g", ["ch-a", "ch-b"])
        yield self.js.call("subscribe", groups=["g"], withPresence=True)
        connected = yield self.js.event(event="status")
        self.assertEqual(
            connected,
            {
                "event": "status",
                "category": "PNConnectedCategory",
                "operation": "PNSubscribeOperation",
                "channels": [],
                "groups": ["g", "g-pnpres"],
            },
        )
        for channel in ("ch-a", "ch-b"):
            joined = yield self.js.event(action="join", channel=channel)
            self.assertEqual(joined, presence("join", JS_UUID, channel, 1))

    @inlineCallbacks
    def test_group_presence(self) -> Gen:
        """Through a group with presence, JS sees our client join and leave one of its channels."""
        yield self.subscribe_to_group()
        yield self.ours.heartbeat().channels("ch-a").result()
        joined = yield self.js.event(action="join", uuid="py-user")
        self.assertEqual(joined, presence("join", "py-user", "ch-a", 2))
        yield self.ours.leave().channels("ch-a").result()
        left = yield self.js.event(action="leave", uuid="py-user")
        self.assertEqual(left, presence("leave", "py-user", "ch-a", 1))
        self.assertEqual(
            [(e["action"], e["uuid"], e["channel"]) for e in self.js.events[1:]],
            [
                ("join", JS_UUID, "ch-a"),
                ("join", JS_UUID, "ch-b"),
                ("join", "py-user", "ch-a"),
                ("leave", "py-user", "ch-a"),
            ],
        )

    @inlineCallbacks
    def test_here_now_by_group(self) -> Gen:
        """JS ``hereNow({channelGroups})`` lists every occupant of the group's channels."""
        yield self.group("g", ["ch-a", "ch-b"])
        yield self.ours.heartbeat().channels("ch-a", "ch-b").state({"ch-a": {"k": 1}}).result()
        yield self.client("py-two").heartbeat().channel_groups("g").result()
        answer = yield self.js.call("hereNow", groups=["g"], includeState=True)
        # Occupants in the order they joined; one without state has no "state" key (as
        # PubNub answers), and this SDK passes the entry on as it is.
        self.assertEqual(
            answer,
            {
                "totalChannels": 2,
                "totalOccupancy": 4,
                "channels": {
                    "ch-a": {
                        "name": "ch-a",
                        "occupancy": 2,
                        "occupants": [{"uuid": "py-user", "state": {"k": 1}}, {"uuid": "py-two"}],
                    },
                    "ch-b": {
                        "name": "ch-b",
                        "occupancy": 2,
                        "occupants": [{"uuid": "py-user"}, {"uuid": "py-two"}],
                    },
                },
            },
        )
        yield self.group("h", ["ch-c"])
        yield self.client("py-three").heartbeat().channels("ch-c").result()
        # Two groups: this SDK sends channel-group=g%2Ch, the comma encoded
        counts = yield self.js.call("hereNow", groups=["g", "h"], includeUUIDs=False)
        self.assertEqual(
            (counts["totalChannels"], counts["totalOccupancy"]), (3, 5), json.dumps(counts)
        )
        self.assertEqual(
            {name: (c["occupancy"], c["occupants"]) for name, c in counts["channels"].items()},
            {"ch-a": (2, []), "ch-b": (2, []), "ch-c": (1, [])},
        )

    @inlineCallbacks
    def test_state(self) -> Gen:
        """State set by JS (by channel and by group) is what JS and our client read back."""
        yield self.group("g", ["ch-a", "ch-b"])
        stored = yield self.js.call("setState", channels=["ch-c"], state={"mood": "ok"})
        self.assertEqual(stored, {"state": {"mood": "ok"}})
        got = yield self.js.call("getState", channels=["ch-c"])
        self.assertEqual(got, {"channels": {"ch-c": {"mood": "ok"}}})
        stored = yield self.js.call("setState", groups=["g"], state={"seat": 3})
        self.assertEqual(stored, {"state": {"seat": 3}})
        got = yield self.js.call("getState", groups=["g"], channels=["ch-c"])
        everywhere = {"ch-a": {"seat": 3}, "ch-b": {"seat": 3}, "ch-c": {"mood": "ok"}}
        # With several channels or a group PubNub answers {"payload": {"channels": {...}}}
        # (recorded answers; PROTOCOL.md section 2), and this SDK version returns that
        # payload as its "channels": the nesting is the JS SDK's, not the server's.
        self.assertEqual(got, {"channels": {"channels": everywhere}})
        ours = yield self.ours.get_state().channels("ch-a", "ch-b", "ch-c").uuid(JS_UUID).result()
        self.assertEqual(ours.channels, everywhere)
        yield self.ours.set_state().channels("ch-c").state({"from": "python"}).result()
        theirs = yield self.js.call("getState", channels=["ch-c"], uuid="py-user")
        self.assertEqual(theirs, {"channels": {"ch-c": {"from": "python"}}})

    @inlineCallbacks
    def test_state_while_subscribed(self) -> Gen:
        """JS setState while subscribed to the group: a state-change on each of its channels."""
        yield self.subscribe_to_group()
        yield self.js.call("setState", groups=["g"], state={"seat": 3})
        for channel in ("ch-a", "ch-b"):
            changed = yield self.js.event(action="state-change", channel=channel)
            self.assertEqual(
                changed, presence("state-change", JS_UUID, channel, 1, state={"seat": 3})
            )
        here = yield self.ours.here_now().channel_groups("g").include_state(True).result()
        occupants = [(c.channel_name, o.uuid, o.state) for c in here.channels for o in c.occupants]
        self.assertEqual(
            sorted(occupants), [("ch-a", JS_UUID, {"seat": 3}), ("ch-b", JS_UUID, {"seat": 3})]
        )

    @inlineCallbacks
    def test_leave(self) -> Gen:
        """JS unsubscribing from a group, then a channel: our watcher sees each leave."""
        yield self.group("g", ["ch-a", "ch-b"])
        watcher, seen = self.client("watcher"), Watcher()
        watcher.add_listener(seen)
        watcher.subscribe().channels("ch-a-pnpres", "room-pnpres").execute()
        yield eventually(lambda: PNStatusCategory.PNConnectedCategory in seen.statuses)
        yield self.js.call("subscribe", channels=["room"], groups=["g"])
        yield eventually(lambda: len(seen.events) == 2)
        self.assertEqual(
            sorted(seen.events), [("join", JS_UUID, "ch-a", 1), ("join", JS_UUID, "room", 1)]
        )
        yield self.js.call("unsubscribe", groups=["g"])
        yield eventually(lambda: len(seen.events) == 3)
        self.assertEqual(seen.events[2], ("leave", JS_UUID, "ch-a", 0))
        where = yield self.ours.where_now().uuid(JS_UUID).result()
        self.assertEqual(where.channels, ["room"])
        yield self.js.call("unsubscribe", channels=["room"])
        yield eventually(lambda: len(seen.events) == 4)
        self.assertEqual(seen.events[3], ("leave", JS_UUID, "room", 0))
        where = yield self.ours.where_now().uuid(JS_UUID).result()
        self.assertEqual(where.channels, [])
