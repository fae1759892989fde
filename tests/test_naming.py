"""PubNub's naming rules: commas refused, other breaches warned about once or refused if strict."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, inlineCallbacks
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import provider

from pubnub_twisted import PNStatusCategory, PubNubException
from pubnub_twisted.cli import build_parser, run_command
from pubnub_twisted.errors import PNERR_INVALID_NAME
from pubnub_twisted.protocol import MAX_NAME_LENGTH, NAMING_RULES_URL, FirstSeen, name_problem
from pubnub_twisted.server import PresenceResource, PresenceStore, listen
from pubnub_twisted.server._names import NameGuard
from pubnub_twisted.server._request import Refusal, parse, route
from pubnub_twisted.testing import InMemoryPresence, LocalPresenceServer
from tests.helpers import EndpointCase

LONGEST = "x" * MAX_NAME_LENGTH
BASE = "/v2/presence/sub-key/s"
REGISTRY = "/v1/channel-registration/sub-key/s/channel-group"


def warnings(case: SynchronousTestCase) -> list[LogEvent]:
    """Collect the warning-level log events emitted while ``case`` runs."""
    events: list[LogEvent] = []

    @provider(ILogObserver)
    def observer(event: LogEvent) -> None:
        if event.get("log_level") == LogLevel.warn and "rule" in event:
            events.append(event)

    globalLogPublisher.addObserver(observer)
    case.addCleanup(globalLogPublisher.removeObserver, observer)
    return events


class NameProblemTests(SynchronousTestCase):
    """The one rule both sides share: ``protocol.name_problem``."""

    def test_valid_names(self) -> None:
        """Dots, dashes, underscores, non-ASCII and 92 characters are all fine."""
        for name in ["lobby", "chat.room-42_a", "über😀", "a;b&c#d%e+f~g", LONGEST, "a.b.c"]:
            self.assertIsNone(name_problem(name), name)

    def test_each_forbidden_character(self) -> None:
        """Comma, colon, asterisk, slash, backslash, space and control characters break it."""
        cases = {
            "a,b": "a comma",
            "a:b": "a colon",
            "a*": "an asterisk",
            "a/b": "a slash",
            "a\\b": "a backslash",
            "a b": "a space",
        }
        for name, what in cases.items():
            self.assertEqual(name_problem(name), f"contains {what} ({name[1]!r})")
        self.assertEqual(name_problem("a\x07b"), "contains a control character (U+0007)")
        self.assertEqual(name_problem("a\x7f"), "contains a control character (U+007F)")
        self.assertEqual(name_problem("a\x00"), "contains a control character (U+0000)")
        self.assertIsNone(name_problem("a\x85b"))  # PubNub names ASCII control characters only

    def test_length(self) -> None:
        """At most 92 characters; a ``-pnpres`` suffix is not counted."""
        self.assertEqual(name_problem(LONGEST + "x"), "is 93 characters long (at most 92)")
        self.assertIsNone(name_problem(LONGEST + "-pnpres"))
        self.assertIsNotNone(name_problem(LONGEST + "x-pnpres"))

    def test_wildcard_pattern(self) -> None:
        """A trailing ``.*`` is a wildcard pattern only where patterns are allowed."""
        self.assertIsNone(name_problem("news.*", wildcard=True))
        self.assertIsNone(name_problem("news.*-pnpres", wildcard=True))
        self.assertIsNotNone(name_problem("news.*"))
        self.assertIsNotNone(name_problem(".*", wildcard=True))
        self.assertIsNotNone(name_problem("a:b.*", wildcard=True))
        self.assertIsNotNone(name_problem("news*", wildcard=True))


class FirstSeenTests(SynchronousTestCase):
    """The bounded memory behind warn-once."""

    def test_first_time_only(self) -> None:
        """``first`` is true once per key."""
        seen = FirstSeen()
        self.assertEqual([seen.first(k) for k in "abab"], [True, True, False, False])

    def test_bounded(self) -> None:
        """Past its capacity it forgets the least recently seen key, never growing further."""
        seen = FirstSeen(capacity=3)
        for key in range(1000):
            seen.first(key)
            self.assertLessEqual(len(seen), 3)
        self.assertFalse(seen.first(999))
        self.assertTrue(seen.first(0))  # forgotten, so new again
        with self.assertRaises(ValueError):
            FirstSeen(capacity=0)


class ClientCommaTests(EndpointCase):
    """A comma inside a name is refused by every builder that takes names; nothing is sent."""

    def test_every_rest_builder(self) -> None:
        """here_now, set/get_state, heartbeat, leave and the channel-group calls refuse it."""
        pubnub = self.pubnub
        builders: list[Any] = [
            pubnub.here_now().channels(["ok", "a,b"]),
            pubnub.here_now().channel_groups(("a,b",)),
            pubnub.set_state().channels(["a,b"]).state({"k": 1}),
            pubnub.set_state().channel_groups(["a,b"]).state({"k": 1}),
            pubnub.get_state().channels(["a,b"]),
            pubnub.get_state().channel_groups(["a,b"]),
            pubnub.heartbeat().channels(["a,b"]),
            pubnub.heartbeat().channel_groups(["a,b"]),
            pubnub.leave().channels(["a,b"]),
            pubnub.leave().channel_groups(["a,b"]),
            pubnub.add_channel_to_channel_group().channel_group("g").channels(["a,b"]),
            pubnub.remove_channel_from_channel_group().channel_group("g").channels(["a,b"]),
            pubnub.add_channel_to_channel_group().channel_group("g,h").channels("c"),
            pubnub.remove_channel_from_channel_group().channel_group("g,h").channels("c"),
            pubnub.list_channels_in_channel_group().channel_group("g,h"),
            pubnub.remove_channel_group().channel_group("g,h"),
        ]
        for builder in builders:
            self.refused(builder, "contains a comma")
            failure = self.failureResultOf(builder.result(), PubNubException)
            self.assertEqual(failure.value.pn_error, PNERR_INVALID_NAME)
            self.assertIn(NAMING_RULES_URL, str(failure.value))

    def test_string_still_split(self) -> None:
        """A single string ``"a,b"`` is still two names, as in PubNub's SDK."""
        uri = self.uri(self.pubnub.here_now().channels("a,b").channel_groups("g,h"))
        self.assertIn("/channel/a,b?channel-group=g,h&", uri)

    def test_uuid_may_hold_a_comma(self) -> None:
        """PubNub documents no character rule for uuids, so where_now sends one with a comma."""
        uri = self.uri(self.pubnub.where_now().uuid("u,1"))
        self.assertIn("/uuid/u%2C1?", uri)

    def test_subscribe_and_unsubscribe(self) -> None:
        """The subscribe builders refuse a comma at once."""
        for builder in (self.pubnub.subscribe(), self.pubnub.unsubscribe()):
            for setter in (builder.channels, builder.channel_groups):
                with self.assertRaises(PubNubException) as caught:
                    setter(["a,b"])
                self.assertIn("contains a comma", str(caught.exception))

    def test_presence_view(self) -> None:
        """A presence view refuses a comma in a channel or group name."""
        for names in ({"channels": ["a,b"]}, {"channel_groups": ("x", "a,b")}):
            with self.assertRaises(PubNubException) as caught:
                self.pubnub.presence_view(**names)
            self.assertEqual(caught.exception.pn_error, PNERR_INVALID_NAME)


class ClientRuleTests(EndpointCase):
    """Other rules: a warning once per name by default, a refusal with ``strict_names``."""

    def test_warns_once_per_name(self) -> None:
        """Each breaking name is sent, and warned about once, naming the name and the rule."""
        events = warnings(self)
        for _ in range(3):
            self.uri(self.pubnub.here_now().channels(["a:b", "ok"]).channel_groups("g h"))
        self.uri(self.pubnub.heartbeat().channels("a:b"))
        self.assertEqual([e["name"] for e in events], ["a:b", "g h"])
        self.assertEqual(
            [e["rule"] for e in events], ["contains a colon (':')", "contains a space (' ')"]
        )
        self.assertEqual(events[0]["log_namespace"], "pubnub_twisted.names")

    def test_presence_names_and_groups_stay_valid(self) -> None:
        """``-pnpres`` names, here_now of groups and wildcard subscribes warn about nothing."""
        events = warnings(self)
        self.uri(self.pubnub.here_now().channels(LONGEST + "-pnpres").channel_groups("g.1"))
        self.uri(self.pubnub.heartbeat().channels("news.*"))
        self.assertEqual(events, [])

    def test_strict_refuses_every_rest_builder(self) -> None:
        """With ``strict_names`` every REST builder refuses a breaking name before sending."""
        self.pubnub.config.strict_names = True
        pubnub = self.pubnub
        builders: list[Any] = [
            pubnub.here_now().channels("a:b"),
            pubnub.here_now().channel_groups("a*"),
            pubnub.set_state().channels("a/b").state({"k": 1}),
            pubnub.get_state().channel_groups("a\\b"),
            pubnub.heartbeat().channels("a b"),
            pubnub.leave().channel_groups("a\x01"),
            pubnub.add_channel_to_channel_group().channel_group("g").channels(LONGEST + "x"),
            pubnub.remove_channel_from_channel_group().channel_group("g").channels("a:b"),
            pubnub.list_channels_in_channel_group().channel_group("g:h"),
            pubnub.remove_channel_group().channel_group("g:h"),
        ]
        for builder in builders:
            self.refused(builder, "PubNub's naming rules forbid it")
        self.refused(pubnub.here_now().channels("x:y"), "channel 'x:y' contains a colon")
        self.refused(
            pubnub.get_state().channel_groups("g h"), "channel group 'g h' contains a space"
        )

    def test_strict_accepts_valid_names(self) -> None:
        """Strictness refuses only breaking names: these are sent."""
        self.pubnub.config.strict_names = True
        self.uri(self.pubnub.here_now().channels(["chat.room-1", LONGEST + "-pnpres"]))
        self.uri(self.pubnub.leave().channels("news.*"))


class ClientSubscribeRuleTests(SynchronousTestCase):
    """Subscribe, unsubscribe and the presence view under the rules."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.client = self.presence.client("me", strict_names=True)

    def tearDown(self) -> None:
        d = self.client.stop()
        self.presence.flush()
        self.successResultOf(d)

    def test_strict_subscribe_refuses(self) -> None:
        """A strict client's subscribe and unsubscribe refuse a breaking name at once."""
        for builder in (self.client.subscribe(), self.client.unsubscribe()):
            with self.assertRaises(PubNubException) as caught:
                builder.channels("a:b").execute()
            self.assertEqual(caught.exception.pn_error, PNERR_INVALID_NAME)
            with self.assertRaises(PubNubException):
                builder.channels("ok").channel_groups("g/h").execute()
        self.assertEqual(self.client.get_subscribed_channels(), [])

    def test_strict_subscribe_accepts_wildcards(self) -> None:
        """A wildcard pattern (``news.*``) is a valid subscribe channel, presence included."""
        self.client.subscribe().channels("news.*").with_presence().execute()
        self.assertIn("news.*", self.client.get_subscribed_channels())

    def test_strict_presence_view_refuses(self) -> None:
        """A strict client's presence view refuses a breaking name, subscribing to nothing."""
        for names in ({"channels": "ok,a:b"}, {"channel_groups": ["g h"]}):
            with self.assertRaises(PubNubException) as caught:
                self.client.presence_view(**names)
            self.assertEqual(caught.exception.pn_error, PNERR_INVALID_NAME)
        self.assertEqual(self.client.get_subscribed_channels(), [])
        self.assertEqual(self.client.get_subscribed_channel_groups(), [])

    def test_lenient_subscribe_warns_once(self) -> None:
        """A lenient client subscribes to a breaking name and warns once about it."""
        events = warnings(self)
        self.client.config.strict_names = False
        self.client.subscribe().channels("a:b").execute()
        self.client.unsubscribe().channels("a:b").execute()
        self.assertEqual([e["name"] for e in events], ["a:b"])


def answer(resource: PresenceResource, uri: str) -> tuple[int, Any]:
    """Status and decoded JSON body of a GET of ``uri``."""
    status, body, _ = resource.respond(b"GET", uri.encode())
    return status, json.loads(body)


class ServerRuleTests(SynchronousTestCase):
    """The embedded server: warn once per name, or 400 naming it when strict."""

    def setUp(self) -> None:
        self.store = PresenceStore(Clock())
        self.lenient = PresenceResource(self.store)
        self.strict = PresenceResource(self.store, strict_names=True)

    def tearDown(self) -> None:
        self.lenient.stop()
        self.strict.stop()
        self.store.stop()

    def test_warns_once_per_name(self) -> None:
        """A breaking name is served; one warning per name names it and its rule."""
        events = warnings(self)
        for _ in range(3):
            status, _ = answer(self.lenient, f"{BASE}/channel/a%3Ab/heartbeat?uuid=u")
            self.assertEqual(status, 200)
        answer(self.lenient, f"{BASE}/channel/a%3Ab,ok?uuid=u&channel-group=g%20h")
        self.assertEqual([e["name"] for e in events], ["a:b", "g h"])
        self.assertEqual(events[0]["rule"], "contains a colon (':')")
        self.assertEqual(events[0]["log_namespace"], "pubnub_twisted.server")
        self.assertEqual(self.store.where_now("s", "u"), ["a:b"])

    def test_strict_answers_400_naming_the_name(self) -> None:
        """Strict: 400 in PubNub's error shape, the message naming the name; nothing stored."""
        status, body = answer(self.strict, f"{BASE}/channel/ok,a%3Ab/heartbeat?uuid=u")
        self.assertEqual(status, 400)
        self.assertEqual(
            body,
            {
                "status": 400,
                "message": "Invalid channel name 'a:b': it contains a colon (':'), which "
                f"PubNub's naming rules forbid ({NAMING_RULES_URL})",
                "error": True,
                "service": "Presence",
            },
        )
        self.assertEqual(self.store.where_now("s", "u"), [])

    def test_strict_every_place_a_name_goes(self) -> None:
        """Channels, groups, a registry group and added channels are all checked."""
        refused = [
            (f"{BASE}/channel/,?uuid=u&channel-group=g%2Fh", "channel group name 'g/h'"),
            (f"{BASE}/channel/x%2A/uuid/u?uuid=u", "channel name 'x*'"),
            (f"{BASE}/channel/{'y' * 93}/uuid/u/data?uuid=u&state=%7B%7D", "is 93 characters long"),
            (f"{BASE}/channel/a%20b/leave?uuid=u", "channel name 'a b'"),
            ("/v2/subscribe/s/a%5Cb/0?uuid=u", "channel name 'a\\\\b'"),
            (f"{REGISTRY}/g%3Ah?uuid=u", "channel group name 'g:h'"),
            (f"{REGISTRY}/g?uuid=u&add=ok,x%3Ay", "channel name 'x:y'"),
        ]
        for uri, named in refused:
            status, body = answer(self.strict, uri)
            self.assertEqual((status, body["error"]), (400, True), uri)
            self.assertTrue(body["message"].startswith("Invalid "), body)
            self.assertIn(named, body["message"])
        service = answer(self.strict, f"{REGISTRY}/g%3Ah?uuid=u")[1]["service"]
        self.assertEqual(service, "channel-registry")
        self.assertEqual(self.store.channels_in_group("s", "g"), [])

    def test_strict_keeps_valid_names(self) -> None:
        """``-pnpres`` names, groups, wildcard subscribes and global calls are served."""
        ok = [
            f"{BASE}/channel/{'z' * 92}-pnpres?uuid=u",
            f"{BASE}/channel/,?uuid=u&channel-group=g.1,g.1-pnpres",
            f"{BASE}?uuid=u",
            f"{BASE}/uuid/u%2C1?uuid=u",
            f"{REGISTRY}/rooms?uuid=u&add=a.b,c-d",
        ]
        for uri in ok:
            self.assertEqual(answer(self.strict, uri)[0], 200, uri)
        status, _, _ = self.strict.respond(b"GET", b"/v2/subscribe/s/news.*/0?uuid=u&tt=0")
        self.assertEqual(status, 200)

    def test_warnings_bounded(self) -> None:
        """The guard's memory is bounded: past capacity an old name is warned about again."""
        events = warnings(self)
        guard = NameGuard(capacity=2)
        for name in ["a:1", "a:2", "a:3", "a:1"]:
            guard.check(route(parse(f"{BASE}/channel/{name}?uuid=u".encode())))
        self.assertEqual([e["name"] for e in events], ["a:1", "a:2", "a:3", "a:1"])
        guard.strict = True
        with self.assertRaises(Refusal):
            guard.check(route(parse(f"{BASE}/channel/a%3A1?uuid=u".encode())))


class HelperTests(TestCase):
    """``strict_names`` through ``listen()``, the testing helpers and the CLI."""

    def test_in_memory(self) -> None:
        """``InMemoryPresence(strict_names=True)``: a lenient client's bad name gets a 400."""
        presence = InMemoryPresence(strict_names=True)
        envelope = presence.call(presence.client().here_now().channels("a:b"))
        self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        self.assertEqual(envelope.status.status_code, 400)
        assert envelope.status.error_data is not None
        self.assertIn("Invalid channel name 'a:b'", envelope.status.error_data.information)

    @inlineCallbacks
    def test_local_server(self) -> Any:
        """``LocalPresenceServer.start(strict_names=True)`` refuses over real HTTP."""
        server = LocalPresenceServer.start(reactor, strict_names=True)
        self.addCleanup(server.stop)
        envelope = yield server.client().heartbeat().channels("a/b").deferred()
        self.assertEqual(envelope.status.status_code, 400)
        good = yield server.client().heartbeat().channels("a.b").deferred()
        self.assertFalse(good.status.is_error())

    def test_listen(self) -> Deferred[None]:
        """``listen(strict_names=True)`` serves a strict resource."""
        server = listen(reactor, strict_names=True)
        status, _, _ = server.resource.respond(b"GET", f"{BASE}/channel/a%3Ab?uuid=u".encode())
        self.assertEqual(status, 400)
        return server.stop()

    def test_serve_flag_parsed(self) -> None:
        """``serve --strict-names`` sets the option; without it names are served leniently."""
        self.assertTrue(build_parser().parse_args(["serve", "--strict-names"]).strict_names)
        self.assertFalse(build_parser().parse_args(["serve"]).strict_names)

    @inlineCallbacks
    def test_client_commands(self) -> Any:
        """The client commands split ``--channels a,b``, and ``--strict-names`` refuses."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        common = ["--origin", server.origin, "--no-ssl", "--subscribe-key", "sub-c-local"]
        for extra, code, shown in [([], 0, "OK\n"), (["--strict-names"], 1, "")]:
            args = build_parser().parse_args(
                ["heartbeat", *common, "--uuid", "cli", "--channels", "a,b:c", *extra]
            )
            out, err = io.StringIO(), io.StringIO()
            exit_code = yield ensureDeferred(run_command(reactor, args, out, err))
            self.assertEqual((exit_code, out.getvalue()), (code, shown), err.getvalue())
        self.assertIn("'b:c' contains a colon", err.getvalue())
        self.assertEqual(server.store.where_now("sub-c-local", "cli"), ["a", "b:c"])

    def test_serve_strict_child(self) -> None:
        """``python -m pubnub_twisted serve --strict-names`` answers 400 to a breaking name."""
        child = subprocess.Popen(
            [sys.executable, "-m", "pubnub_twisted", "serve", "--port", "0", "--strict-names"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(child.kill)
        assert child.stdout is not None
        url = child.stdout.readline().split()[-1]
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{url}{BASE}/channel/a%3Ab?uuid=u")
        self.assertEqual(caught.exception.code, 400)
        self.assertIn("'a:b'", json.load(caught.exception)["message"])
        caught.exception.close()
        child.terminate()
        _, err = child.communicate(timeout=10)
        self.assertEqual((child.returncode, err), (0, ""))
