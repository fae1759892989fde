"""PubNub's official Python SDK works, unchanged, against the embedded server.

The server runs in a child process (``python -m pubnub_twisted serve``) so the
official SDK's blocking, threaded client can drive it from the test.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

try:
    from pubnub.callbacks import SubscribeCallback
    from pubnub.exceptions import PubNubException
    from pubnub.pnconfiguration import PNConfiguration
    from pubnub.pubnub import PubNub
except ImportError:  # pragma: no cover - the dev extra installs it
    PubNub = None

SUB = "sub-c-official"


class _Events(SubscribeCallback):  # type: ignore[misc]
    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Any, ...]] = queue.Queue()

    def status(self, pubnub: Any, status: Any) -> None:
        self.queue.put(("status", status.category.name))

    def presence(self, pubnub: Any, event: Any) -> None:
        self.queue.put(("presence", event.event, event.uuid, event.occupancy, event.state))

    def message(self, pubnub: Any, message: Any) -> None:
        self.queue.put(("message", message.message))


class OfficialCase(SynchronousTestCase):
    """The official SDK (pubnub 10.x) as ``self.pubnub``, against ``pubnub_twisted serve``."""

    def setUp(self) -> None:
        if PubNub is None:
            raise SkipTest("PubNub's official SDK is not installed (pip install pubnub)")
        self.url = self.serve()
        self.pubnub = self.client(self.url, SUB)

    def serve(self, *flags: str) -> str:
        """Start ``serve --port 0 --here-now-cache 0`` and ``flags``; return its URL."""
        command = [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0"]
        child = subprocess.Popen(
            [*command, "--here-now-cache", "0", *flags],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(child.wait, 10)
        self.addCleanup(child.terminate)
        assert child.stdout is not None
        return child.stdout.readline().split()[-1]

    def client(
        self, url: str, subscribe_key: str, user_id: str = "official", **settings: Any
    ) -> Any:
        """An official SDK client of the server at ``url``; ``settings``: PNConfiguration fields."""
        config = PNConfiguration()
        config.subscribe_key = subscribe_key
        config.publish_key = "pub-c-official"
        config.user_id = user_id
        config.origin = url.split("//", 1)[1]
        config.ssl = False
        for name, value in settings.items():
            setattr(config, name, value)
        pubnub = PubNub(config)
        self.addCleanup(pubnub.stop)
        return pubnub

    def official(self, user_id: str = "official", **settings: Any) -> Any:
        """Another official client of this test's server."""
        return self.client(self.url, SUB, user_id, **settings)


class OfficialSDKTests(OfficialCase):
    """Presence through the official SDK against ``python -m pubnub_twisted serve``."""

    def heartbeat(self, uuid: str, channel: str, seconds: int, state: Any = None) -> None:
        query = {"uuid": uuid, "heartbeat": str(seconds)}
        if state is not None:
            query["state"] = json.dumps({channel: state})
        path = f"/v2/presence/sub-key/{SUB}/channel/{channel}/heartbeat"
        with urllib.request.urlopen(f"{self.url}{path}?{urllib.parse.urlencode(query)}"):
            pass

    def test_rest_calls(self) -> None:
        """here_now, where_now, set_state and get_state through the official SDK."""
        self.heartbeat("alice", "lobby", 60, {"mood": "ok"})
        here = self.pubnub.here_now().channels(["lobby"]).include_state(True).sync().result
        self.assertEqual(here.total_occupancy, 1)
        occupant = here.channels[0].occupants[0]
        self.assertEqual((occupant.uuid, occupant.state), ("alice", {"mood": "ok"}))
        self.assertEqual(self.pubnub.where_now().uuid("alice").sync().result.channels, ["lobby"])
        stored = self.pubnub.set_state().channels(["lobby"]).state({"a": 1}).sync().result
        self.assertEqual(stored.state, {"a": 1})
        got = self.pubnub.get_state().channels(["lobby", "game"]).uuid("official").sync()
        self.assertEqual(got.result.channels, {"lobby": {"a": 1}, "game": {}})

    def test_subscribe_with_presence(self) -> None:
        """Subscribing with presence receives join (with state), leave and timeout."""
        events = _Events()
        self.pubnub.add_listener(events)
        self.pubnub.subscribe().channels("lobby").with_presence().execute()
        self.assertEqual(events.queue.get(timeout=10), ("status", "PNConnectedCategory"))
        self.assertEqual(events.queue.get(timeout=10), ("presence", "join", "official", 1, None))
        self.heartbeat("alice", "lobby", 60, {"mood": "ok"})
        self.assertEqual(
            events.queue.get(timeout=10), ("presence", "join", "alice", 2, {"mood": "ok"})
        )
        leave = f"/v2/presence/sub-key/{SUB}/channel/lobby/leave?uuid=alice"
        with urllib.request.urlopen(f"{self.url}{leave}"):
            pass
        self.assertEqual(events.queue.get(timeout=10), ("presence", "leave", "alice", 1, None))
        self.heartbeat("bob", "lobby", 1)
        self.assertEqual(events.queue.get(timeout=10), ("presence", "join", "bob", 2, None))
        self.assertEqual(events.queue.get(timeout=10), ("presence", "timeout", "bob", 1, None))
        self.pubnub.unsubscribe_all()

    def test_invalid_subscribe_key(self) -> None:
        """A key off the server's allow-list fails as PubNub's does: 400, Invalid Subscribe Key."""
        url = self.serve("--subscribe-key", SUB)
        with self.assertRaises(PubNubException) as refused:
            self.client(url, "sub-c-unknown").here_now().channels(["lobby"]).sync()
        self.assertEqual(refused.exception.get_status_code(), 400)
        self.assertIn("Invalid Subscribe Key", str(refused.exception))
        served = self.client(url, SUB).here_now().channels(["lobby"]).sync().result
        self.assertEqual(served.total_occupancy, 0)
