"""The guided tour: every presence operation over real HTTP, explained as it runs.

``python -m pubnub_twisted demo`` starts the embedded server on a loopback
port, lets a few simulated users join with heartbeats and state, then walks
through here_now (plain, with state, occupancy only, channel groups, paged),
where_now, set_state and get_state (channels and groups), a leave and a
timeout, then shows live presence events (join, state-change, leave,
timeout) arriving at a subscribed watcher, and ends with a live presence
view (``pubnub.presence_view``) printed as it changes, and a short lobby chat
(publish with meta, a typing signal, the history).  With ``--origin`` and keys it
runs the same tour against PubNub.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTCP, IReactorTime
from twisted.internet.task import deferLater

from pubnub_twisted.callbacks import SubscribeCallback
from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.models import PNHereNowResult
from pubnub_twisted.models_pubsub import (
    PNMessageResult,
    PNPresenceEventResult,
    PNSignalMessageResult,
)
from pubnub_twisted.presence_view import PresenceView, PresenceViewListener
from pubnub_twisted.pubnub import PubNub
from pubnub_twisted.testing import LocalPresenceServer

__all__ = ["DemoOptions", "run_demo"]

LOBBY, GAME, GROUP = "lobby", "game", "rooms"


@dataclass
class DemoOptions:
    """Where to run the tour: the embedded server (default) or a real origin."""

    origin: str | None = None
    subscribe_key: str | None = None
    publish_key: str | None = None
    ssl: bool = True
    #: Presence timeout of the user who times out (seconds; PubNub allows 20 or more).
    presence_timeout: int = 2


class _Tour:
    def __init__(self, out: TextIO, make_config: Callable[[str], PNConfiguration]) -> None:
        self.out = out
        self.make_config = make_config
        self.clients: dict[str, PubNub] = {}
        self.step = 0

    def client(self, uuid: str, reactor: IReactorTime) -> PubNub:
        if uuid not in self.clients:
            self.clients[uuid] = PubNub(self.make_config(uuid), reactor=reactor)
        return self.clients[uuid]

    def title(self, text: str) -> None:
        self.step += 1
        self.say(f"\n{self.step}. {text}")

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def show(self, result: PNHereNowResult, with_state: bool = False) -> None:
        for channel in result.channels:
            if channel.occupants:
                people = ", ".join(
                    f"{o.uuid} {json.dumps(o.state)}" if with_state and o.state else o.uuid
                    for o in channel.occupants
                )
                self.say(f"   {channel.channel_name:<6} {channel.occupancy} present: {people}")
            else:
                self.say(f"   {channel.channel_name:<6} {channel.occupancy} present")
        self.say(f"   total: {result.total_occupancy} on {result.total_channels} channel(s)")


class _Watcher(SubscribeCallback):
    """Prints presence events as they arrive; lets the tour wait for the next one."""

    def __init__(self, tour: _Tour, clock: IReactorTime) -> None:
        self.tour = tour
        self.clock = clock
        self.seen = 0
        self._waiting: list[tuple[int, Deferred[None]]] = []

    def presence(self, pubnub: PubNub, event: PNPresenceEventResult) -> None:
        state = "" if event.state is None else f"  state {json.dumps(event.state)}"
        self.tour.say(
            f"   >> {event.event:<12} {event.uuid or '':<6} on {event.channel}"
            f"  (occupancy {event.occupancy}){state}"
        )
        self.seen += 1
        for count, waiter in list(self._waiting):
            if self.seen >= count:
                self._waiting.remove((count, waiter))
                waiter.callback(None)

    async def until(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` events have arrived (at most ``timeout`` seconds)."""
        if self.seen >= count:
            return
        waiter: Deferred[None] = Deferred()
        self._waiting.append((count, waiter))
        waiter.addTimeout(timeout, self.clock)
        await waiter


async def run_demo(reactor: Any, out: TextIO, options: DemoOptions | None = None) -> None:
    """Run the tour, printing to ``out``; raises ``PubNubException`` if a call fails."""
    options = options or DemoOptions()
    server: LocalPresenceServer | None = None
    make_config: Callable[[str], PNConfiguration]
    if options.origin is None:
        server = LocalPresenceServer.start(reactor)
        make_config = server.config
        where = f"the embedded PubNub-compatible presence server at {server.server.url}"
    else:
        remote = options

        def make_config(uuid: str) -> PNConfiguration:
            config = PNConfiguration()
            config.subscribe_key = remote.subscribe_key
            config.publish_key = remote.publish_key
            config.uuid = uuid
            config.origin = remote.origin or config.origin
            config.ssl = remote.ssl
            return config

        where = f"{'https' if options.ssl else 'http'}://{options.origin}"

    tour = _Tour(out, make_config)
    tour.say("pubnub-twisted demo: a tour of PubNub Presence over real HTTP")
    tour.say(f"server: {where}")
    try:
        await _walk(tour, reactor, options)
    finally:
        for pubnub in tour.clients.values():
            await pubnub.stop()
        if server is not None:
            await server.stop()
    tour.say("\nDone: every presence operation ran over real HTTP.")


async def _walk(tour: _Tour, reactor: IReactorTCP, options: DemoOptions) -> None:
    assert IReactorTime.providedBy(reactor)
    clock: IReactorTime = reactor
    alice, bob = tour.client("alice", clock), tour.client("bob", clock)
    carol, dave = tour.client("carol", clock), tour.client("dave", clock)

    tour.title("Users join with heartbeats (a heartbeat keeps a user present)")
    await alice.heartbeat().channels(LOBBY, GAME).state({LOBBY: {"mood": "ready"}}).result()
    tour.say(f'   + alice joins {LOBBY} and {GAME}, with state {{"mood": "ready"}} in {LOBBY}')
    await bob.heartbeat().channels(LOBBY).result()
    tour.say(f"   + bob joins {LOBBY}")
    await dave.heartbeat().channels(LOBBY).state({LOBBY: {"mood": "away"}}).result()
    tour.say(f'   + dave joins {LOBBY}, with state {{"mood": "away"}}')
    timeout = options.presence_timeout
    await carol.heartbeat().channels(GAME).presence_timeout(timeout).result()
    tour.say(f"   + carol joins {GAME}, with a presence timeout of {timeout} s")

    tour.title(f"here_now: who is on {LOBBY} and {GAME}?")
    tour.show(await bob.here_now().channels(LOBBY, GAME).result())

    tour.title("here_now with state")
    tour.show(await bob.here_now().channels(LOBBY).include_state(True).result(), True)

    tour.title("here_now, occupancy only (no uuids)")
    tour.show(await bob.here_now().channels(LOBBY, GAME).include_uuids(False).result())

    tour.title(f"Channel groups: {GROUP} = {LOBBY} + {GAME}, then here_now over the group")
    await bob.add_channel_to_channel_group().channel_group(GROUP).channels(LOBBY, GAME).result()
    listed = await bob.list_channels_in_channel_group().channel_group(GROUP).result()
    tour.say(f"   {GROUP} holds: {', '.join(listed.channels)}")
    tour.show(await bob.here_now().channel_groups(GROUP).result())

    tour.title(f"here_now, paged: two occupants of {LOBBY} at a time")
    offset, page = 0, 1
    while True:
        result = await bob.here_now().channels(LOBBY).limit(2).offset(offset).result()
        names = [o.uuid for o in result.channels[0].occupants]
        tour.say(f"   page {page}: {', '.join(names) or '(empty)'}")
        if len(names) < 2:
            break
        offset, page = offset + 2, page + 1

    tour.title("where_now: where is a user?")
    mine = await alice.where_now().result()
    tour.say(f"   alice asks about herself: {', '.join(mine.channels)}")
    theirs = await alice.where_now().uuid("dave").result()
    tour.say(f"   alice asks about dave: {', '.join(theirs.channels)}")

    tour.title("set_state and get_state, on channels and on a channel group")
    stored = await bob.set_state().channels(LOBBY).state({"mood": "chatty"}).result()
    tour.say(f"   bob sets {json.dumps(stored.state)} on {LOBBY}")
    stored = await alice.set_state().channel_groups(GROUP).state({"score": 42}).result()
    tour.say(f"   alice sets {json.dumps(stored.state)} on every channel of {GROUP}")
    state = await bob.get_state().channels(LOBBY, GAME).uuid("alice").result()
    for channel, value in state.channels.items():
        tour.say(f"   alice's state on {channel}: {json.dumps(value)}")
    state = await bob.get_state().channels(LOBBY).result()
    tour.say(f"   bob's own state on {LOBBY}: {json.dumps(state.channels[LOBBY])}")

    tour.title(f"A leave: bob leaves {LOBBY}")
    before = (await alice.here_now().channels(LOBBY).result()).total_occupancy
    await bob.leave().channels(LOBBY).result()
    after = (await alice.here_now().channels(LOBBY).result()).total_occupancy
    tour.say(f"   - bob left {LOBBY}: occupancy {before} -> {after}")

    tour.title(f"A timeout: carol stops sending heartbeats ({timeout} s presence timeout)")
    tour.say(f"   waiting {timeout + 1} s ...")
    await deferLater(clock, timeout + 1, lambda: None)
    result = await alice.here_now().channels(GAME).result()
    present = [o.uuid for o in result.channels[0].occupants] if result.channels else []
    gone = "carol" not in present
    tour.say(
        f"   - carol timed out of {GAME}: {', '.join(present) or 'nobody'} still present"
        if gone
        else f"   carol is still present on {GAME} (the server has not timed her out yet)"
    )

    await _live(tour, clock, options)
    await _chat(tour, clock)


async def _live(tour: _Tour, clock: IReactorTime, options: DemoOptions) -> None:
    tour.title(f"Live presence events: a watcher subscribes to {LOBBY}'s presence")
    tour.say("   (as an observer of lobby-pnpres: it receives events but is not counted)")
    watcher = tour.client("watcher", clock)
    events = _Watcher(tour, clock)
    watcher.add_listener(events)
    watcher.subscribe().channels(f"{LOBBY}-pnpres").execute()
    await deferLater(clock, 0.3, lambda: None)  # the watcher's first poll is under way
    erin, frank = tour.client("erin", clock), tour.client("frank", clock)
    tour.say(f"   erin subscribes to {LOBBY}:")
    erin.subscribe().channels(LOBBY).execute()
    await events.until(1)
    tour.say("   erin sets her state:")
    await erin.set_state().channels(LOBBY).state({"mood": "curious"}).result()
    await events.until(2)
    tour.say(f"   erin unsubscribes from {LOBBY}:")
    erin.unsubscribe().channels(LOBBY).execute()
    await events.until(3)
    timeout = options.presence_timeout
    tour.say(f"   frank sends one heartbeat ({timeout} s presence timeout), then goes quiet:")
    await frank.heartbeat().channels(LOBBY).presence_timeout(timeout).result()
    await events.until(5, timeout=timeout + 10)
    watcher.unsubscribe_all()
    await _view(tour, clock)


class _ViewPrinter(PresenceViewListener):
    """Prints each change of a presence view, then the view itself."""

    def __init__(self, tour: _Tour, view: PresenceView, clock: IReactorTime) -> None:
        self.tour, self.view, self.clock = tour, view, clock
        self._waiter: Deferred[None] | None = None

    def on_join(self, channel: str, uuid: str, state: Any) -> None:
        self._changed(f"+ {uuid} joined {channel}")

    def on_leave(self, channel: str, uuid: str, reason: str) -> None:
        self._changed(f"- {uuid} left {channel} ({reason})")

    def on_state_change(self, channel: str, uuid: str, state: Any) -> None:
        self._changed(f"~ {uuid} changed state on {channel}")

    def show(self) -> None:
        people = self.view.occupants(LOBBY)
        shown = ", ".join(
            uuid if state is None else f"{uuid} {json.dumps(state)}"
            for uuid, state in sorted(people.items())
        )
        self.tour.say(f"      view of {LOBBY} ({len(people)}): {shown}")

    def _changed(self, what: str) -> None:
        if self._waiter is None:
            return  # the first sync's joins: shown whole once synced
        self.tour.say(f"   {what}")
        self.show()
        waiter, self._waiter = self._waiter, None
        waiter.callback(None)

    def next_change(self) -> Deferred[None]:
        """Fires at the view's next change (fails after 10 s)."""
        self._waiter = Deferred()
        return self._waiter.addTimeout(10, self.clock)


async def _view(tour: _Tour, clock: IReactorTime) -> None:
    tour.title(f"A live presence view of {LOBBY}: a here_now snapshot kept current by events")
    viewer = tour.client("viewer", clock)
    view = viewer.presence_view(channels=LOBBY)
    printer = _ViewPrinter(tour, view, clock)
    view.add_listener(printer)
    await view.when_synced()
    tour.say("   synced:")
    printer.show()
    gina, dave = tour.client("gina", clock), tour.client("dave", clock)
    change = printer.next_change()
    await gina.heartbeat().channels(LOBBY).state({LOBBY: {"mood": "new"}}).result()
    await change
    change = printer.next_change()
    await dave.set_state().channels(LOBBY).state({"mood": "back"}).result()
    await change
    change = printer.next_change()
    await gina.leave().channels(LOBBY).result()
    await change
    view.stop()


class _ChatPrinter(SubscribeCallback):
    """Prints the lobby's messages and signals; fires ``done`` after ``expected`` messages."""

    def __init__(self, tour: _Tour, clock: IReactorTime, expected: int) -> None:
        self.tour, self.expected = tour, expected
        self.connected: Deferred[None] = Deferred()
        self.done: Deferred[None] = Deferred()
        self.done.addTimeout(10, clock)

    def status(self, pubnub: PubNub, status: Any) -> None:
        if not self.connected.called:
            self.connected.callback(None)

    def signal(self, pubnub: PubNub, signal: PNSignalMessageResult) -> None:
        self.tour.say(f"   ({signal.publisher} is {signal.message})")

    def message(self, pubnub: PubNub, message: PNMessageResult) -> None:
        lang = (message.user_metadata or {}).get("lang", "?")
        self.tour.say(f"   {message.publisher} [{lang}]: {message.message['text']}")
        self.expected -= 1
        if self.expected == 0:
            self.done.callback(None)


async def _chat(tour: _Tour, clock: IReactorTime) -> None:
    tour.title(f"A lobby chat: alice listens on {LOBBY}, bob and alice talk")
    alice, bob = tour.client("alice", clock), tour.client("bob", clock)
    printer = _ChatPrinter(tour, clock, expected=2)
    alice.add_listener(printer)
    alice.subscribe().channels(LOBBY).execute()
    await printer.connected
    await bob.signal().channel(LOBBY).message("typing").result()
    sent = (
        await bob.publish().channel(LOBBY).message({"text": "game?"}).meta({"lang": "en"}).result()
    )
    await alice.publish().channel(LOBBY).message({"text": "oui!"}).meta({"lang": "fr"}).result()
    await printer.done
    history = (
        await bob.fetch_messages().channels(LOBBY).include_uuid(True).end(sent.timetoken).result()
    )
    said = [f"{item.uuid}: {item.message['text']}" for item in history.channels.get(LOBBY, [])]
    tour.say(f"   history of {LOBBY} from bob's message on: {'; '.join(said)}")
    alice.unsubscribe_all()
