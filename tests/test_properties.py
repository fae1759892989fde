"""Hostile input, property-tested: any names and any JSON state round-trip exactly."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from pubnub_twisted import PNStatusCategory
from pubnub_twisted.protocol import PRESENCE_SUFFIX, breaking_names, name_problem
from pubnub_twisted.testing import InMemoryPresence

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any Unicode a name can hold on the wire (lone surrogates cannot be UTF-8 encoded), including
# slashes, &, #, %, spaces and emoji, but no comma (PubNub splits name lists on commas: a comma
# is refused, see CommaTests); presence channels are not data channels.
name_chars = st.characters(blacklist_categories=["Cs"], blacklist_characters=",")
name = st.text(alphabet=name_chars, min_size=1, max_size=24).filter(
    lambda text: not text.endswith(PRESENCE_SUFFIX)
)
hostile = st.sampled_from(["a;b", "a/b", "x&y", "#", "%", "100%25", " sp ace ", "😀", "ü", "+"])
with_comma = st.builds(
    lambda head, tail: f"{head},{tail}", st.text(name_chars), st.text(name_chars)
)
names = st.lists(st.one_of(name, hostile), min_size=1, max_size=5, unique=True)
uuids = st.one_of(name, hostile, st.just("u,1")).filter(lambda text: len(text) <= 92)

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(max_size=8, alphabet=st.characters(blacklist_categories=["Cs"])),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
json_object = st.dictionaries(
    st.text(max_size=10, alphabet=st.characters(blacklist_categories=["Cs"])),
    json_value,
    max_size=5,
)


class RoundTripTests(SynchronousTestCase):
    """What goes in comes back out, byte for byte, through the real protocol."""

    @SETTINGS
    @given(channels=names, groups=names, uuid=uuids)
    def test_names_round_trip(self, channels: list[str], groups: list[str], uuid: str) -> None:
        """Channels, groups and uuids set by heartbeat read back by here_now and where_now."""
        presence = InMemoryPresence()
        client = presence.client(uuid)
        group = groups[0]
        added = presence.call(
            client.add_channel_to_channel_group().channel_group(group).channels(channels)
        )
        self.assertFalse(added.status.is_error(), added.status)
        listed = presence.call(client.list_channels_in_channel_group().channel_group(group))
        assert listed.result is not None
        self.assertEqual(listed.result.channels, channels)
        beat = presence.call(client.heartbeat().channel_groups([group]))
        self.assertFalse(beat.status.is_error(), beat.status)
        where = presence.call(presence.client("observer").where_now().uuid(uuid))
        assert where.result is not None
        self.assertEqual(where.result.channels, channels)
        here = presence.call(presence.client("observer").here_now().channels(channels))
        assert here.result is not None
        self.assertEqual(
            {c.channel_name: [o.uuid for o in c.occupants] for c in here.result.channels},
            {channel: [uuid] for channel in channels},
        )

    @SETTINGS
    @given(channels=names, state=json_object)
    def test_state_round_trip(self, channels: list[str], state: dict[str, Any]) -> None:
        """Any JSON object set with set_state comes back equal from get_state."""
        presence = InMemoryPresence()
        client = presence.client("me")
        stored = presence.call(client.set_state().channels(channels).state(state))
        self.assertFalse(stored.status.is_error(), stored.status)
        assert stored.result is not None
        self.assertEqual(stored.result.state, state)
        got = presence.call(client.get_state().channels(channels))
        assert got.result is not None
        self.assertEqual(got.result.channels, dict.fromkeys(channels, state))


class RefusedInputTests(SynchronousTestCase):
    """Input that cannot be sent gives a clear error and nothing is sent."""

    def refused(self, builder: Any, message: str) -> None:
        presence = self.presence
        envelope = presence.call(builder)
        self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        assert envelope.status.error_data is not None
        self.assertIn(message, envelope.status.error_data.information)
        self.assertEqual(presence.store.where_now("sub-c-local", "me"), [])

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.client = self.presence.client("me")

    @SETTINGS
    @given(state=st.one_of(st.lists(json_leaf), st.text(), st.integers(), st.none()))
    def test_non_dict_state(self, state: Any) -> None:
        """State that is not a dict is refused."""
        self.refused(
            self.client.set_state().channels("a").state(state), "State missing or not a dict"
        )

    def test_unserializable_state(self) -> None:
        """Values JSON cannot hold (objects, NaN, infinities, non-string keys) are refused."""
        bad_states: list[Any] = [
            {"when": object()},
            {"x": math.nan},
            {"x": [math.inf]},
            {1: "one"},
            {"nested": {"bytes": b"raw"}},
        ]
        for state in bad_states:
            self.refused(
                self.client.set_state().channels("a").state(state), "State is not JSON serializable"
            )
            self.refused(
                self.client.heartbeat().channels("a").state({"a": state}),
                "State is not JSON serializable",
            )

    @SETTINGS
    @given(
        uuid=st.one_of(
            st.just(""),
            st.integers(),
            st.none(),
            st.binary(min_size=1),
            st.text(min_size=93, max_size=120),
        )
    )
    def test_bad_uuid(self, uuid: Any) -> None:
        """An empty, non-string or over-long uuid is refused before anything is sent."""
        client = self.presence.client("me")
        client.config.uuid = uuid
        self.refused(client.heartbeat().channels("a"), "uuid missing or not a string")

    def test_unencodable_names(self) -> None:
        """Names with lone surrogates (not UTF-8) are refused with a clear message."""
        self.refused(self.client.heartbeat().channels("bad\ud800"), "Invalid argument")
        self.refused(self.client.where_now().uuid("bad\udfff"), "uuid")
        self.refused(
            self.client.list_channels_in_channel_group().channel_group("g\ud800"),
            "Channel group missing",
        )


class NamingRuleTests(SynchronousTestCase):
    """PubNub's naming rules: commas always refused, the rest refused only when strict."""

    @SETTINGS
    @given(bad=with_comma, others=st.lists(name, max_size=3))
    def test_comma_refused_everywhere(self, bad: str, others: list[str]) -> None:
        """A list item holding a comma is refused by every builder; nothing is sent."""
        presence = InMemoryPresence()
        client = presence.client("me")
        listed = [*others, bad]
        builders: list[Any] = [
            client.here_now().channels(listed),
            client.here_now().channel_groups(listed),
            client.heartbeat().channels(listed),
            client.leave().channel_groups(listed),
            client.set_state().channels(listed).state({"a": 1}),
            client.get_state().channel_groups(listed),
            client.add_channel_to_channel_group().channel_group("g").channels(listed),
            client.remove_channel_from_channel_group().channel_group("g").channels(listed),
            client.list_channels_in_channel_group().channel_group(bad),
            client.remove_channel_group().channel_group(bad),
        ]
        for builder in builders:
            envelope = presence.call(builder)
            assert envelope.status.error_data is not None
            self.assertIn("contains a comma", envelope.status.error_data.information)
            self.assertEqual(envelope.status.category, PNStatusCategory.PNBadRequestCategory)
        self.assertEqual(presence.store.where_now("sub-c-local", "me"), [])
        self.assertEqual(presence.store.channels_in_group("sub-c-local", "g"), [])

    @SETTINGS
    @given(
        listed=st.lists(
            st.one_of(name, hostile, st.sampled_from(["news.*", "a,b", "x" * 93, "y" * 92])),
            max_size=6,
        ),
        wildcard=st.booleans(),
    )
    def test_breaking_names_matches_name_problem(self, listed: list[str], wildcard: bool) -> None:
        """The batch check (fast path included) finds exactly what the per-name rule finds."""
        expected = [(n, name_problem(n, wildcard=wildcard)) for n in listed]
        self.assertEqual(
            breaking_names(listed, wildcard=wildcard), [(n, p) for n, p in expected if p]
        )

    @SETTINGS
    @given(channel=st.one_of(name, hostile, st.text(alphabet=name_chars, min_size=90, max_size=99)))
    def test_strict_client_and_server_agree(self, channel: str) -> None:
        """A strict client refuses exactly the names a strict server answers 400 to."""
        presence = InMemoryPresence(strict_names=True)
        lenient = presence.call(
            presence.client("me").set_state().channels([channel]).state({"a": 1})
        )
        strict = presence.call(
            presence.client("me", strict_names=True).here_now().channels([channel])
        )
        broken = name_problem(channel) is not None
        self.assertEqual(lenient.status.is_error(), broken)
        self.assertEqual(strict.status.is_error(), broken)
        if broken:
            self.assertEqual(lenient.status.status_code, 400)
            self.assertIsNone(strict.status.status_code)  # refused before sending
        stored = presence.store.get_state("sub-c-local", "me", [channel])[channel]
        self.assertEqual(stored, {} if broken else {"a": 1})
