"""Every example in examples/ (PubNub's documented snippets) runs against the embedded server."""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks
from twisted.trial.unittest import TestCase

from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, LocalPresenceServer

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def example(name: str) -> Any:
    """Import ``examples/<name>.py`` (and the examples' ``_support``) as modules."""
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    return importlib.import_module(name)


class ExampleTests(TestCase):
    """Each documented snippet runs as written and prints the expected presence."""

    @inlineCallbacks
    def output(self, name: str) -> Generator[Deferred[Any], Any, str]:
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        yield ensureDeferred(example("_support").seed(server))
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        yield example(name).main(server.client("my-uuid"))
        return out.getvalue()

    @inlineCallbacks
    def check(self, name: str, *expected: str) -> Generator[Deferred[Any], Any, None]:
        text = yield self.output(name)
        for line in expected:
            self.assertIn(line, text.splitlines(), text)

    def test_here_now(self) -> Deferred[None]:
        """here_now for two channels lists each channel's occupants."""
        return self.check(
            "here_now",
            "channel: my_channel",
            "occupancy: 2",
            "uuid: myUuid1, state: None",
            "channel: demo",
            "uuid: some-other-uuid, state: None",
        )

    def test_here_now_state(self) -> Deferred[None]:
        """here_now with state shows the occupant's state."""
        return self.check(
            "here_now_state",
            "total_channels: 1",
            "channel_name: my_channel, occupancy: 2",
            "  uuid: myUuid1, state: {'abcd': {'age': 15}}",
            "  uuid: my-uuid, state: None",
        )

    def test_here_now_occupancy(self) -> Deferred[None]:
        """Occupancy only: the count with an empty occupants list."""
        return self.check(
            "here_now_occupancy", "channel_name: my_channel, occupancy: 2, occupants: []"
        )

    def test_here_now_groups(self) -> Deferred[None]:
        """here_now over channel groups covers their channels."""
        return self.check(
            "here_now_groups",
            "total_channels: 2",
            "channel_name: my_channel, occupancy: 2",
            "channel_name: demo, occupancy: 2",
        )

    def test_where_now(self) -> Deferred[None]:
        """where_now of our own uuid, with yield and with addCallback."""
        channels = "['my_channel', 'ch1', 'ch2', 'ch3']"
        return self.check("where_now", f"inlineCallbacks: {channels}", f"addCallback: {channels}")

    def test_where_now_other(self) -> Deferred[None]:
        """where_now of another uuid."""
        return self.check("where_now_other", "some-other-uuid is on: ['demo', 'ch2']")

    @inlineCallbacks
    def test_set_state(self) -> Generator[Deferred[Any], Any, None]:
        """set_state on three channels stores the state on each."""
        yield self.check("set_state", "state set: {'age': 20}")
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        yield example("set_state").main(server.client("my-uuid"))
        states = server.store.get_state(DEFAULT_SUBSCRIBE_KEY, "my-uuid", ["ch1", "ch2", "ch3"])
        self.assertEqual(states, {"ch1": {"age": 20}, "ch2": {"age": 20}, "ch3": {"age": 20}})

    def test_set_state_groups(self) -> Deferred[None]:
        """set_state through channel groups (with .future())."""
        return self.check("set_state_groups", "state set: {'age': 20}")

    def test_get_state(self) -> Deferred[None]:
        """get_state of another uuid: its state per channel, {} where it has none."""
        return self.check(
            "get_state", "ch1: {'first': 'Robert', 'last': 'Plant'}", "ch2: {}", "ch3: {}"
        )

    def test_presence_keeper_web(self) -> Deferred[None]:
        """The keeper web service: joins, state, a move and a quit show in here_now."""
        return self.check(
            "presence_keeper_web",
            "POST /join?user=alice&room=lobby -> {'joined': 'lobby'}",
            "GET /who?room=lobby -> {'alice': {'mood': 'ready'}, 'bob': None}",
            "GET /who?room=lobby -> {'alice': {'mood': 'ready'}}",
            "GET /who?room=game -> {'bob': None}",
            "GET /who?room=lobby -> {}",
            "kept: ['bob']",
        )

    def test_chat(self) -> Deferred[None]:
        """The lobby chat: a signal, two messages with meta, their history and count."""
        return self.check(
            "chat",
            "(my-uuid is typing)",
            "my-uuid [en]: hi all",
            "my-uuid [fr]: salut",
            "history: my-uuid said hi all",
            "history: my-uuid said salut",
            "since the first: 1",
        )
