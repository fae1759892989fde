"""A member's heartbeat whose URL is built once and reused while nothing in it changes.

A kept member's heartbeat is the same request every interval: its names,
its state per channel, its uuid and the keeper's timeout.  Encoding the
state to JSON, validating the names and percent-encoding the query cost
more than the rest of the keeper's work per heartbeat, so the URL is kept on
the member (``_url``) with the :func:`url_key` it was built under, and
rebuilt when the key changes (another auth token after a renewal, another
origin) or when ``update()`` changes the member (it clears ``_url``).  A
signed request (secret key) carries a timestamp and is always rebuilt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pubnub_twisted.endpoints.presence.heartbeat import Heartbeat

if TYPE_CHECKING:
    from pubnub_twisted.keeper._member import KeptMember
    from pubnub_twisted.pubnub import PubNub

__all__ = ["KeptHeartbeat", "UrlKey", "url_key"]

#: What a heartbeat's URL depends on besides the member: auth, scheme, origin, subscribe key.
UrlKey = tuple[str | None, str, str, str | None]


def url_key(pubnub: PubNub) -> UrlKey | None:
    """The client's side of a heartbeat URL now; ``None`` when URLs must not be reused."""
    config = pubnub.config
    if config.secret_key:
        return None
    auth = pubnub._tokens.auth(config.auth_key)
    return (auth, config.scheme, config.origin, config.subscribe_key)


class KeptHeartbeat(Heartbeat):
    """The heartbeat of ``member``: reuses ``member._url`` while the client's side is the same.

    Otherwise it builds (and validates) the URL as any heartbeat does, and
    keeps it on the member for the next time.
    """

    def __init__(self, pubnub: PubNub, member: KeptMember) -> None:
        super().__init__(pubnub)
        self._member = member
        #: Names set only for the status, no state or timeout: see _url.
        self._bare = False

    def _url(self) -> str:
        # The client's side now, not when this request was made: a call repeated
        # after a token renewal must carry the new token.
        member = self._member
        keeper = member._keeper
        key = keeper._current_url_key()
        cached = member._url
        if cached is not None and key is not None and member._url_key is key:
            self._auth_sent = key[0]
            self._payload = None
            return cached
        if self._bare:  # made to reuse the URL, which no longer fits: fill it as usual
            self._bare = False
            keeper._filled(self, member.uuid, member.states, member.channels, member.channel_groups)
        url = super()._url()
        # Keep it only if the client's side did not change meanwhile (a
        # renewed token: _renew_when_denied rebuilds through here).
        if key is not None and keeper._current_url_key() is key:
            member._url, member._url_key = url, key
        else:
            member._url = member._url_key = None
        return url
