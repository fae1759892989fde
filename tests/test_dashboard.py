"""The dashboard's server side: access rule, feed, batches, event streams and routing."""

from __future__ import annotations

import hmac
import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any, cast
from urllib.parse import quote

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.server import Request
from twisted.web.test.requesthelper import DummyRequest

from pubnub_twisted.server import PresenceResource, PresenceStore, SubscribeOptions, listen
from pubnub_twisted.server.dashboard import Dashboard, decide, is_loopback, needs_token
from pubnub_twisted.server.dashboard._feed import PREVIEW
from pubnub_twisted.server.dashboard.resource import MAX_STREAMS

KEY = "sub-c-dash"


class AccessTests(SynchronousTestCase):
    """Who may see the dashboard: loopback listeners are open, others need the token."""

    def test_loopback_addresses(self) -> None:
        """Loopback addresses and localhost names count as loopback; nothing else does."""
        cases = {
            "127.0.0.1": True,
            "127.8.9.1": True,
            "::1": True,
            "[::1]": True,
            "::ffff:127.0.0.1": True,
            "localhost": True,
            "LOCALHOST.": True,
            "app.localhost": True,
            "0.0.0.0": False,
            "::": False,
            "192.168.1.2": False,
            "10.0.0.1": False,
            "::ffff:10.0.0.1": False,
            "example.com": False,
            "localhost.example.com": False,
            "127.0.0.1.nip.io": False,
            "": False,
        }
        self.assertEqual({host: is_loopback(host) for host in cases}, cases)
        self.assertEqual(
            {host: needs_token(host) for host in cases},
            {host: not loopback for host, loopback in cases.items()},
        )

    def test_open_dashboard_checks_host_header(self) -> None:
        """Open (loopback): a Host naming this machine passes; any other host is refused."""
        cases = {
            None: True,
            "127.0.0.1:8090": True,
            "localhost:8090": True,
            "localhost": True,
            "[::1]:8090": True,
            "evil.example": False,
            "evil.example:8090": False,
            "127.0.0.1.evil.example": False,
            "localhost.evil.example:80": False,
        }
        got = {
            host: decide(None, host_header=host, query_token=None, cookie_token=None).allowed
            for host in cases
        }
        self.assertEqual(got, cases)

    def test_hostile_tokens(self) -> None:
        """Only the exact token passes, as ?token= (which sets the cookie) or in the cookie."""
        token = "s3cret-Token_1"
        cases: list[tuple[str | None, str | None, tuple[bool, bool]]] = [
            (token, None, (True, True)),
            (None, token, (True, False)),
            ("wrong", token, (True, False)),
            (None, None, (False, False)),
            ("", "", (False, False)),
            (token[:-1], None, (False, False)),
            (token + "x", None, (False, False)),
            (token.upper(), None, (False, False)),
            (" " + token, None, (False, False)),
            (None, token[:-1], (False, False)),
            ("s3cret-Tökén", None, (False, False)),
        ]
        for query, cookie, expected in cases:
            verdict = decide(
                token, host_header="evil.example", query_token=query, cookie_token=cookie
            )
            self.assertEqual((verdict.allowed, verdict.set_cookie), expected, (query, cookie))

    def test_constant_time_comparison(self) -> None:
        """Tokens are compared with hmac.compare_digest, never with ==."""
        seen: list[tuple[bytes, bytes]] = []
        compare = hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            seen.append((a, b))
            return compare(a, b)

        self.patch(hmac, "compare_digest", spy)
        decide("tok", host_header=None, query_token="nope", cookie_token="tok")
        self.assertEqual(seen, [(b"tok", b"nope"), (b"tok", b"tok")])

    def test_listen_makes_a_token_off_loopback(self) -> None:
        """listen() on a non-loopback address guards the dashboard with a fresh random token."""
        tokens = []
        for _ in range(2):
            server = listen(MemoryReactorClock(), host="192.0.2.7", dashboard=True)
            self.addCleanup(server.stop)
            assert server.dashboard is not None and server.dashboard.token is not None
            tokens.append(server.dashboard.token)
            self.assertGreaterEqual(len(server.dashboard.token), 32)
            self.assertTrue(str(server.dashboard_url).endswith(f"/?token={tokens[-1]}"))
        self.assertNotEqual(tokens[0], tokens[1])
        loopback = listen(MemoryReactorClock(), host="127.0.0.1", dashboard=True)
        self.addCleanup(loopback.stop)
        assert loopback.dashboard is not None
        self.assertIsNone(loopback.dashboard.token)
        off = listen(MemoryReactorClock(), host="192.0.2.7")
        self.addCleanup(off.stop)
        self.assertEqual((off.dashboard, off.dashboard_url), (None, None))


class _StreamRequest(DummyRequest):
    """A DummyRequest that keeps a push producer instead of looping on it."""

    producer: Any = None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    def data(self) -> list[Any]:
        """The JSON batches written so far."""
        return [
            json.loads(chunk[len(b"data: ") :])
            for chunk in self.written
            if chunk.startswith(b"data: ")
        ]


class FeedTests(SynchronousTestCase):
    """The feed on a Clock: snapshot, charts, batches, bounded streams, no secrets."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.clock.advance(1000)  # bucket 200 of 5 s
        self.store = PresenceStore(self.clock)
        self.build()

    def build(self, **options: Any) -> None:
        feed = options.pop("feed", {})
        self.resource = PresenceResource(self.store, here_now_cache=0, **options)
        self.dashboard = Dashboard(self.resource, **feed)
        self.addCleanup(self.store.stop)
        self.addCleanup(self.resource.stop)
        self.addCleanup(self.dashboard.stop)

    def get(self, path: str) -> Any:
        status, body, _ = self.resource.respond(b"GET", path.encode())
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def heartbeat(self, uuid: str, channel: str, timeout: int = 60, **extra: str) -> None:
        query = "".join(f"&{k}={quote(v)}" for k, v in extra.items())
        self.get(
            f"/v2/presence/sub-key/{KEY}/channel/{channel}/heartbeat?uuid={uuid}"
            f"&heartbeat={timeout}{query}"
        )

    def attach(self) -> _StreamRequest:
        request = _StreamRequest([])
        self.dashboard.feed.attach(cast(Request, request))
        return request

    def test_snapshot(self) -> None:
        """Channels with occupancy, groups, the event log and request counts."""
        self.heartbeat("a", "lobby", state='{"lobby": {"mood": "ok"}}')
        self.heartbeat("b", "lobby")
        self.heartbeat("a", "game")
        self.get(
            f"/v1/channel-registration/sub-key/{KEY}/channel-group/rooms?add=lobby,game&uuid=x"
        )
        snap = self.dashboard.feed.snapshot()
        self.assertEqual([c[:3] for c in snap["channels"]], [[KEY, "lobby", 2], [KEY, "game", 1]])
        self.assertEqual(snap["groups"], [[KEY, "rooms", ["lobby", "game"]]])
        self.assertEqual(
            [(e["action"], e["channel"], e["uuid"]) for e in snap["events"]],
            [("join", "lobby", "a"), ("join", "lobby", "b"), ("join", "game", "a")],
        )
        self.assertEqual(snap["events"][0]["state"], {"mood": "ok"})
        self.assertEqual(snap["requests"], {"heartbeat": 3, "group": 1})
        self.assertEqual(snap["sub_keys"], [KEY])

    def test_chart_buckets(self) -> None:
        """A chart holds the last value per bucket, carried over quiet buckets up to now."""
        self.heartbeat("a", "lobby")
        self.clock.advance(12)  # two buckets on
        self.heartbeat("b", "lobby")
        self.heartbeat("c", "lobby")
        self.clock.advance(10)
        self.assertEqual(self.dashboard.feed.snapshot()["channels"][0][3], [1, 1, 3, 3, 3])

    def test_batches(self) -> None:
        """Nothing is written per event: one batch per flush interval carries them all."""
        request = self.attach()
        self.clock.advance(0)
        first = request.data()
        self.heartbeat("a", "lobby")
        self.heartbeat("b", "lobby")
        self.assertEqual(request.data(), first)
        self.clock.advance(0.25)
        batch = request.data()[-1]
        self.assertEqual([e["uuid"] for e in batch["events"]], ["a", "b"])
        self.assertEqual(batch["occupancy"], [[KEY, "lobby", 2]])
        self.assertEqual(batch["requests"], {"heartbeat": 2})
        self.assertGreater(batch["seq"], first[-1]["seq"] if first else 0)

    def test_batch_cap(self) -> None:
        """A batch carries at most batch_max events and counts the rest; the log keeps all."""
        self.build(feed={"batch_max": 3})
        request = self.attach()
        for uuid in "abcde":
            self.heartbeat(uuid, "lobby")
        self.clock.advance(0.25)
        batch = request.data()[-1]
        self.assertEqual((len(batch["events"]), batch["dropped"]), (3, 2))
        self.assertEqual(len(self.dashboard.feed.snapshot()["events"]), 5)

    def test_slow_browser_is_told_to_resync(self) -> None:
        """While the transport is full batches are dropped, then the browser is told to resync."""
        request = self.attach()
        self.clock.advance(0)
        written = len(request.written)
        request.producer.pauseProducing()
        for uuid in "abc":
            self.heartbeat(uuid, "lobby")
            self.clock.advance(0.25)
        self.assertEqual(len(request.written), written)
        request.producer.resumeProducing()
        self.assertEqual(request.written[-1], b"event: resync\ndata: {}\n\n")

    def test_stop_ends_streams_and_timers(self) -> None:
        """stop() finishes every event stream and leaves no timer of its own."""
        before = len(self.clock.getDelayedCalls())
        request = self.attach()
        self.assertEqual(self.dashboard.feed.streams, 1)
        self.dashboard.stop()
        self.assertEqual((request.finished, self.dashboard.feed.streams), (1, 0))
        self.assertEqual(len(self.clock.getDelayedCalls()), before)

    def test_gone_browser_is_forgotten(self) -> None:
        """A browser that disconnects is dropped, and the idle tick stops with the last one."""
        before = len(self.clock.getDelayedCalls())
        request = self.attach()
        self.clock.advance(0)
        request.processingFailed(Failure(ConnectionError("gone")))
        self.assertEqual(self.dashboard.feed.streams, 0)
        self.assertEqual(len(self.clock.getDelayedCalls()), before)

    def test_messages_and_intervals(self) -> None:
        """Published messages (previews cut at PREVIEW) and interval events reach the log."""
        self.build(subscribe=SubscribeOptions(announce_max=1, interval=10))
        self.resource.publish(KEY, "lobby", {"text": "x" * 1000}, publisher="a")
        self.heartbeat("a", "lobby")
        self.heartbeat("b", "lobby")
        self.clock.advance(10)
        events = self.dashboard.feed.snapshot()["events"]
        message = events[0]
        self.assertEqual((message["kind"], message["uuid"]), ("message", "a"))
        self.assertEqual(len(message["message"]), PREVIEW)
        interval = [e for e in events if e.get("action") == "interval"]
        self.assertEqual([(e["channel"], e["occupancy"]) for e in interval], [("lobby", 2)])

    def test_publish_and_signal_over_http(self) -> None:
        """A publish and a signal sent over PubNub's REST paths show as message and signal."""
        self.get(f"/publish/pub-c-x/{KEY}/0/lobby/0/%22hi%22?uuid=a")
        self.get(f"/signal/pub-c-x/{KEY}/0/lobby/0/%22ping%22?uuid=b")
        events = self.dashboard.feed.snapshot()["events"]
        self.assertEqual(
            [(e["kind"], e["uuid"], e["message"]) for e in events],
            [("message", "a", '"hi"'), ("signal", "b", '"ping"')],
        )

    def test_occupants_and_whereabouts(self) -> None:
        """A channel's occupants come in pages with state; a uuid's channels with its state."""
        for uuid in "abc":
            self.heartbeat(uuid, "lobby", state='{"lobby": {"n": 1}}')
        self.heartbeat("a", "game")
        page = self.dashboard.feed.occupants(KEY, "lobby", 1, 1)
        self.assertEqual(
            (page["occupancy"], page["occupants"]), (3, [{"uuid": "b", "state": {"n": 1}}])
        )
        where = self.dashboard.feed.whereabouts(KEY, "a")
        self.assertEqual(
            where["channels"],
            [{"channel": "lobby", "state": {"n": 1}}, {"channel": "game", "state": None}],
        )

    def test_no_secrets(self) -> None:
        """Auth keys and publish keys never reach the snapshot or the stream; state does."""
        self.build(auth_keys={"auth-SECRET-1"}, publish_key="pub-c-SECRET-2")
        request = self.attach()
        self.get(
            f"/v2/presence/sub-key/{KEY}/channel/lobby/heartbeat?uuid=a&auth=auth-SECRET-1"
            "&state=%7B%22lobby%22%3A%7B%22visible%22%3A1%7D%7D"
        )
        self.clock.advance(0.25)
        shown = json.dumps(self.dashboard.feed.snapshot()) + b"".join(request.written).decode()
        self.assertIn('"visible"', shown)
        self.assertNotIn("SECRET", shown)


class HTTPTests(TestCase):
    """The dashboard beside PubNub's paths on a real loopback port."""

    def setUp(self) -> None:
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.agent = Agent(reactor, pool=self.pool)

    def serve(self, **options: Any) -> Any:
        server = listen(reactor, here_now_cache=0, **options)
        self.addCleanup(server.stop)
        return server

    @inlineCallbacks
    def fetch(
        self, url: str, method: bytes = b"GET", headers: dict[bytes, bytes] | None = None
    ) -> Any:
        raw = Headers({k: [v] for k, v in (headers or {}).items()})
        response = yield self.agent.request(method, url.encode(), raw)
        body = yield readBody(response)
        return response, body

    @inlineCallbacks
    def test_routes(self) -> Any:
        """/ and /_dashboard/ are the dashboard's; PubNub's paths answer as before."""
        server = self.serve(dashboard=True)
        response, body = yield self.fetch(server.url + "/")
        self.assertEqual(response.code, 200)
        self.assertIn(b"<title>pubnub-twisted dashboard</title>", body)
        self.assertIn(
            b"script-src 'self'", response.headers.getRawHeaders(b"content-security-policy")[0]
        )
        response, _ = yield self.fetch(server.url + "/_dashboard/app.js")
        self.assertEqual(
            response.headers.getRawHeaders(b"content-type"), [b"text/javascript; charset=utf-8"]
        )
        response, body = yield self.fetch(server.url + "/time/0")
        self.assertEqual((response.code, len(json.loads(body))), (200, 1))
        response, body = yield self.fetch(server.url + "/_dashboard/nope")
        self.assertEqual((response.code, body), (404, b"Not Found\n"))
        response, _ = yield self.fetch(server.url + "/", method=b"POST")
        self.assertEqual(response.code, 405)
        response, body = yield self.fetch(server.url + "/", headers={b"host": b"evil.example"})
        self.assertEqual((response.code, body), (403, b"Forbidden\n"))

    @inlineCallbacks
    def test_off_by_default(self) -> Any:
        """Without dashboard=True, / is PubNub's resource's answer, as before."""
        server = self.serve()
        response, body = yield self.fetch(server.url + "/")
        self.assertNotIn(b"<html", body)
        self.assertNotEqual(response.code, 200)

    @inlineCallbacks
    def test_token_sets_cookie(self) -> Any:
        """?token= once: a redirect to / with an HttpOnly, SameSite=Strict cookie that works."""
        server = self.serve(dashboard=True, dashboard_token="tok123")
        response, body = yield self.fetch(server.url + "/_dashboard/api/snapshot")
        self.assertEqual((response.code, body), (403, b"Forbidden\n"))
        response, _ = yield self.fetch(server.url + "/?token=tok123")
        self.assertEqual(response.code, 303)
        self.assertEqual(response.headers.getRawHeaders(b"location"), [b"/"])
        (cookie,) = response.headers.getRawHeaders(b"set-cookie")
        self.assertEqual(
            cookie, b"pubnub_twisted_dashboard=tok123; Path=/; HttpOnly; SameSite=strict"
        )
        response, body = yield self.fetch(
            server.url + "/_dashboard/api/snapshot",
            headers={b"cookie": b"pubnub_twisted_dashboard=tok123"},
        )
        self.assertEqual(response.code, 200)
        self.assertIn("channels", json.loads(body))

    @inlineCallbacks
    def test_stream_cap(self) -> Any:
        """Past MAX_STREAMS open event streams, another one gets a 503."""
        server = self.serve(dashboard=True)
        for _ in range(MAX_STREAMS):
            server.dashboard.feed.attach(cast(Request, _StreamRequest([])))
        response, body = yield self.fetch(server.url + "/_dashboard/api/events")
        self.assertEqual((response.code, body), (503, b"Too many dashboard streams\n"))

    @inlineCallbacks
    def test_stop_closes_event_streams(self) -> Any:
        """server.stop() ends an open event stream, leaving the reactor clean."""
        server = self.serve(dashboard=True)
        response = yield self.agent.request(
            b"GET", (server.url + "/_dashboard/api/events").encode()
        )
        self.assertEqual(
            response.headers.getRawHeaders(b"content-type"), [b"text/event-stream; charset=utf-8"]
        )
        received: list[bytes] = []
        done: Deferred[None] = Deferred()

        class Collect(Protocol):
            def dataReceived(self, data: bytes) -> None:
                received.append(data)

            def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
                done.callback(None)

        response.deliverBody(Collect())
        server.resource.respond(
            b"GET", f"/v2/presence/sub-key/{KEY}/channel/c/heartbeat?uuid=a".encode()
        )
        yield server.stop()
        yield done
        self.assertTrue(b"".join(received).startswith(b"retry: 2000\n\n"))


class ServeTests(SynchronousTestCase):
    """``serve`` prints the dashboard's address; ``--no-dashboard`` turns it off."""

    def serve(self, *flags: str) -> tuple[list[str], str]:
        """Run ``serve --port 0 flags``, fetch ``/`` and stop it; its first lines and ``/``."""
        child = subprocess.Popen(
            [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0", *flags],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(child.kill)
        assert child.stdout is not None
        lines = [child.stdout.readline()]
        url = lines[0].split()[-1]
        if "--no-dashboard" not in flags:
            lines.append(child.stdout.readline())
        try:
            with urllib.request.urlopen(url + "/") as answer:
                page = answer.read().decode()
        except urllib.error.HTTPError as error:
            page = f"HTTP {error.code}"
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=10)
        return lines, page

    def test_dashboard_announced(self) -> None:
        """The second line names the dashboard, which is served at /."""
        lines, page = self.serve()
        url = lines[0].split()[-1]
        self.assertEqual(lines[1], f"dashboard: {url}/\n")
        self.assertIn("<title>pubnub-twisted dashboard</title>", page)

    def test_no_dashboard(self) -> None:
        """--no-dashboard: / is PubNub's resource's answer again."""
        _, page = self.serve("--no-dashboard")
        self.assertNotIn("<html", page)
