"""``PubNub``: the client object that hands out endpoint builders."""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IAgent

from pubnub_twisted.config import PNConfiguration
from pubnub_twisted.endpoints.base import Names
from pubnub_twisted.endpoints.here_now import HereNow
from pubnub_twisted.transport import Transport

__all__ = ["PubNub", "PubNubTwisted"]


class PubNub:
    """A PubNub Presence client for Twisted.

    ``PubNub(config)`` uses the global reactor and its own connection pool.
    Tests pass ``reactor=`` (a ``task.Clock``, say) and ``agent=`` (for
    example ``treq.testing.RequestTraversalAgent`` over the embedded
    server's resource) so that no socket is opened.

    Every endpoint method returns a fresh builder; its setters return the
    builder and ``.deferred()`` sends the request.  ``stop()`` cancels what
    is in flight and closes the connections.
    """

    def __init__(
        self,
        config: PNConfiguration,
        reactor: IReactorTime | None = None,
        agent: IAgent | None = None,
    ) -> None:
        if not isinstance(config, PNConfiguration):
            raise TypeError(f"config must be a PNConfiguration, not {type(config).__name__}")
        if reactor is None:
            # Imported here, not at the top, so importing this module never
            # installs the default reactor.
            from twisted.internet import reactor as global_reactor  # noqa: PLC0415

            reactor = global_reactor
        assert reactor is not None
        #: This client's settings (a copy of the configuration it was given).
        self.config = config.copy()
        #: The reactor (or clock) this client schedules its timers on.
        self.reactor: IReactorTime = reactor
        self._transport = Transport(self.config, reactor, agent)

    @property
    def uuid(self) -> str:
        """This client's uuid."""
        return self.config.uuid

    # -- presence -----------------------------------------------------------

    def here_now(
        self,
        *,
        channels: Names | None = None,
        channel_groups: Names | None = None,
        include_state: bool | None = None,
        include_uuids: bool | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> HereNow:
        """Who is present: ``here_now().channels("a").include_state(True).deferred()``."""
        return HereNow(self)._configure(
            channels=channels,
            channel_groups=channel_groups,
            include_state=include_state,
            include_uuids=include_uuids,
            limit=limit,
            offset=offset,
        )

    # -- lifecycle ------------------------------------------------------------

    def stop(self) -> Deferred[None]:
        """Cancel every call in flight and close the connection pool.

        Calls still in flight end with ``PNCancelledCategory``.  The
        Deferred fires once the connections are closed.
        """
        return self._transport.stop()

    def __repr__(self) -> str:
        return f"PubNub(origin={self.config.origin!r}, uuid={self.config.uuid!r})"


#: The same class, under the name PubNub's old Twisted SDK used.
PubNubTwisted = PubNub
