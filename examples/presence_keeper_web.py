"""A twisted.web lobby service that keeps its users present on PubNub from one client.

Routes (all answer JSON):

* ``POST /join?user=alice&room=lobby``: the user enters the room (present at once);
* ``POST /state?user=alice&room=lobby&mood=busy``: their state in that room;
* ``POST /move?user=alice&room=game``: they move (leave the old room, join the new);
* ``POST /quit?user=alice``: they leave;
* ``GET /who?room=lobby``: who PubNub says is in the room, with their state.

Every user is a member of one presence keeper: one client, one connection
pool, heartbeats spread over the interval, a leave when they go.  Run it
with ``python examples/presence_keeper_web.py``: it serves on a loopback
port, plays a short session against itself and prints what it sees.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import Any

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from pubnub_twisted import KeptMember, PresenceKeeper, PubNub, PubNubException


class Lobby(Resource):
    """The service: its users are the keeper's members."""

    isLeaf = True

    def __init__(self, pubnub: PubNub) -> None:
        Resource.__init__(self)
        self.pubnub = pubnub
        self.keeper: PresenceKeeper = pubnub.presence_keeper()

    def render(self, request: Request) -> Any:
        args = {key.decode(): values[0].decode() for key, values in request.args.items()}
        route = request.path.decode().strip("/")
        handler = getattr(self, "do_" + route, None)
        if handler is None:
            request.setResponseCode(404)
            return b'{"error": "no such route"}'
        d = handler(**args)
        d.addCallback(self.answer, request, 200)
        d.addErrback(lambda failure: self.answer({"error": str(failure.value)}, request, 400))
        return NOT_DONE_YET

    def answer(self, body: Any, request: Request, code: int) -> None:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        request.write(json.dumps(body).encode())
        request.finish()

    @inlineCallbacks
    def do_join(self, user: str, room: str) -> Generator[Deferred[Any], Any, Any]:
        member = self.keeper.enter(user, channels=[room])
        yield member.when_present()
        return {"joined": room}

    def do_state(self, user: str, room: str, **state: str) -> Deferred[Any]:
        member = self.member(user)
        return member.update(state={room: state}).addCallback(lambda _: {"state": state})

    def do_move(self, user: str, room: str) -> Deferred[Any]:
        member = self.member(user)
        return member.update(channels=[room]).addCallback(lambda _: {"moved": room})

    def do_quit(self, user: str) -> Deferred[Any]:
        member = self.member(user)
        return member.leave().addCallback(lambda _: {"quit": True})

    @inlineCallbacks
    def do_who(self, room: str) -> Generator[Deferred[Any], Any, Any]:
        result = yield self.pubnub.here_now().channels(room).include_state(True).result()
        return {o.uuid: o.state for o in result.channels[0].occupants}

    def member(self, user: str) -> KeptMember:
        member = self.keeper.member(user)
        if member is None:
            raise PubNubException(f"{user} has not joined")
        return member


@inlineCallbacks
def main(pubnub: PubNub) -> Generator[Deferred[Any], Any, None]:
    lobby = Lobby(pubnub)
    site: Any = Site(lobby)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    address: Any = port.getHost()
    base = "http://127.0.0.1:%d" % address.port
    try:
        for method, path in [
            ("POST", "/join?user=alice&room=lobby"),
            ("POST", "/join?user=bob&room=lobby"),
            ("POST", "/state?user=alice&room=lobby&mood=ready"),
            ("GET", "/who?room=lobby"),
            ("POST", "/move?user=bob&room=game"),
            ("GET", "/who?room=lobby"),
            ("GET", "/who?room=game"),
            ("POST", "/quit?user=alice"),
            ("GET", "/who?room=lobby"),
        ]:
            response = yield treq.request(method, base + path, persistent=False)
            body = yield response.json()
            print("%s %s -> %s" % (method, path, body))
        print("kept:", lobby.keeper.members())
    finally:
        yield lobby.keeper.stop()
        yield maybeDeferred(port.stopListening)


if __name__ == "__main__":
    from _support import run

    run(main)
