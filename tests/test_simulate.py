"""``simulate``: simulated users kept present, churning at a steady rate; Ctrl-C leaves."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import SynchronousTestCase, TestCase

from pubnub_twisted import PubNubException
from pubnub_twisted.cli.simulation import Simulation, SimulationOptions
from pubnub_twisted.testing import DEFAULT_SUBSCRIBE_KEY, InMemoryPresence, LocalPresenceServer
from tests.cli_child import spawn_cli

SUB = DEFAULT_SUBSCRIBE_KEY
Gen = Generator[Deferred[Any], Any, Any]


def _present(store: Any, channels: list[str]) -> set[str]:
    """Every uuid present on any of ``channels``, as the server's store has it."""
    here = store.here_now(SUB, channels)
    return {occupant.uuid for channel in here.channels for occupant in channel.occupants}


class SimulationTests(SynchronousTestCase):
    """The simulation on a Clock against the in-memory server."""

    def setUp(self) -> None:
        self.presence = InMemoryPresence()
        self.addCleanup(self.presence.store.stop)
        self.client = self.presence.client("simulator")

    def start(self, **options: Any) -> Simulation:
        simulation = Simulation(self.client, SimulationOptions(seed=7, **options))
        simulation.start()
        self.presence.settle()
        return simulation

    def present(self, simulation: Simulation) -> set[str]:
        """Every simulated uuid present on any of the simulation's channels."""
        return _present(self.presence.store, simulation.channels)

    def test_users_present_with_state(self) -> None:
        """Every user is present at once on one to three channels, with state on each."""
        simulation = self.start(users=40, channels=8, churn=0)
        self.assertEqual(len(self.present(simulation)), 40)
        for uuid in self.present(simulation):
            channels = self.presence.store.where_now(SUB, uuid)
            self.assertTrue(1 <= len(channels) <= 3, channels)
            states = self.presence.store.get_state(SUB, uuid, channels)
            self.assertTrue(all("mood" in state for state in states.values()), states)

    def test_steady_churn(self) -> None:
        """Churn steps happen at the rate asked; leavers and timed-out users are replaced."""
        simulation = self.start(users=30, channels=5, churn=2, presence_timeout=20)
        self.presence.settle(60)
        steps = sum(
            simulation.counts[action] for action in ("leave", "timeout", "state-change", "move")
        )
        self.assertEqual(steps, 120)
        self.assertEqual(
            simulation.counts["join"],
            30 + simulation.counts["leave"] + simulation.counts["timeout"],
        )
        self.assertGreater(min(simulation.counts[a] for a in ("leave", "timeout", "move")), 10)
        self.assertEqual(len(simulation.keeper), 30)
        # Every kept user is present (nobody kept lapses); users expired in the last
        # 20 s may still be there too, until their timeout.
        present = self.present(simulation)
        self.assertTrue(set(simulation.keeper.members()) <= present)
        stopped = simulation.stop()
        self.presence.settle(21)
        self.successResultOf(stopped)
        self.assertEqual(self.present(simulation), set())

    def test_stop_leaves_everyone(self) -> None:
        """stop() makes every kept user leave at once (no wait for a timeout)."""
        simulation = self.start(users=12, channels=3, churn=0)
        stopped = simulation.stop()
        self.presence.settle()
        self.successResultOf(stopped)
        self.assertEqual(self.present(simulation), set())

    def test_bad_options(self) -> None:
        """Options out of range are a clear PubNubException naming them."""
        for options, text in (
            (SimulationOptions(users=0), "users must be 1 or more"),
            (SimulationOptions(channels=0), "channels must be 1 or more"),
            (SimulationOptions(churn=-1), "churn must be 0 or more"),
        ):
            with self.assertRaises(PubNubException) as raised:
                Simulation(self.client, options)
            self.assertIn(text, str(raised.exception))


class SimulateCommandTests(TestCase):
    """``python -m pubnub_twisted simulate`` in a child process, against a loopback server."""

    timeout = 60

    @inlineCallbacks
    def test_simulate_then_ctrl_c(self) -> Gen:
        """Users appear on the server; status lines come; SIGINT makes them all leave."""
        server = LocalPresenceServer.start(reactor)
        self.addCleanup(server.stop)
        process, child = spawn_cli(
            self,
            *("simulate", "--users", "25", "--channels", "4", "--churn", "20"),
            *("--report-every", "0.2", "--seed", "3", "--no-ssl"),
            *("--origin", server.origin, "--subscribe-key", SUB),
        )
        first = yield child.wait_for("out", "simulating 25 users on 4 channels")
        self.assertIn("sim-room-1, sim-room-2, sim-room-3, ...", first)
        yield child.wait_for("out", "users kept on 4 channels")
        channels = [f"sim-room-{n}" for n in range(1, 5)]
        present = _present(server.store, channels)
        self.assertGreaterEqual(len(present), 25)
        process.signalProcess("INT")
        code = yield child.ended
        self.assertEqual(code, 0, "\n".join(child.err))
        self.assertIn("everyone left", child.out)
        kept_before = {u for u in present if server.store.where_now(SUB, u)}
        # Everyone kept left on Ctrl-C; only users the churn let expire may linger.
        lingering = _present(server.store, channels)
        self.assertLessEqual(lingering, kept_before)
        self.assertLess(len(lingering), 25)
