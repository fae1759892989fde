"""Regenerate docs/dashboard.png: the dashboard of a server with simulated users.

Run from the repository root (it needs what tests/test_dashboard_browser.py needs:
selenium, chromium and chromedriver)::

    PYTHONPATH=. python docs/screenshot.py

Sixty simulated users come and go on a few channels for about half a minute, as
plain heartbeats, state changes and leaves into a loopback server (some stop
heartbeating and time out); a few publish messages.  The charts use 1-second
buckets instead of 5 so that this short run fills them.  Then a headless Chromium
opens the dashboard, picks a channel and a uuid, and saves the picture.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread

from pubnub_twisted.server import (
    PresenceResource,
    PresenceServer,
    PresenceSite,
    PresenceStore,
    SubscribeOptions,
)
from pubnub_twisted.server.dashboard import Dashboard
from tests.test_dashboard_browser import quit_browser, start_browser

KEY = "sub-c-demo"
OUT = Path(__file__).with_name("dashboard.png")
CHANNELS = ["lobby", "game.1", "game.2", "game.3", "support", "chat-en", "chat-fr"]
MOODS = ["playing", "away", "reading", "typing", "idle"]
TICKS = 60  # half-second steps of churn


def _call(server: PresenceServer, path: str) -> None:
    status, body, _ = server.resource.respond(b"GET", path.encode())
    if status != 200:
        raise RuntimeError(f"{path}: {status} {body!r}")


def _heartbeat(server: PresenceServer, uuid: str, channel: str, timeout: int, state: Any) -> None:
    text = quote(json.dumps({channel: state}), safe="")
    _call(
        server,
        f"/v2/presence/sub-key/{KEY}/channel/{channel}/heartbeat?uuid={uuid}"
        f"&heartbeat={timeout}&state={text}",
    )


def _snap(driver: Any, address: str) -> int:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    driver.find_element(By.CSS_SELECTOR, 'tr[data-channel="lobby"]').click()
    field = driver.find_element(By.ID, "where-uuid")
    field.send_keys("user-007" + Keys.ENTER)
    driver.execute_script("document.activeElement.blur();")
    driver.execute_script("return new Promise(r => setTimeout(r, 800));")
    driver.save_screenshot(address)
    return OUT.stat().st_size


async def main(reactor: Any) -> None:
    rng = random.Random(15)
    store = PresenceStore(reactor)
    resource = PresenceResource(store, here_now_cache=0, subscribe=SubscribeOptions())
    board = Dashboard(resource, step=1.0, points=40)
    site = PresenceSite(resource, reactor, dashboard=board)
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    server = PresenceServer(port, site, store)
    driver, profile = await deferToThread(start_browser)
    try:
        for group, members in (("games", "game.1,game.2,game.3"), ("chats", "chat-en,chat-fr")):
            _call(
                server,
                f"/v1/channel-registration/sub-key/{KEY}/channel-group/{group}"
                f"?add={members}&uuid=admin",
            )
        await deferToThread(driver.get, f"{server.url}/")
        present: dict[tuple[str, str], dict[str, Any]] = {}
        users = [f"user-{n:03d}" for n in range(1, 61)]
        for tick in range(TICKS):
            for _ in range(rng.randint(1, 4)):  # arrivals
                uuid, channel = rng.choice(users), rng.choice(CHANNELS[: 2 + tick // 8])
                present[uuid, channel] = {"mood": rng.choice(MOODS), "level": rng.randint(1, 9)}
            if present and rng.random() < 0.5:  # a departure
                uuid, channel = rng.choice(sorted(present))
                del present[uuid, channel]
                _call(server, f"/v2/presence/sub-key/{KEY}/channel/{channel}/leave?uuid={uuid}")
            if present and rng.random() < 0.2:  # someone goes quiet and times out
                del present[rng.choice(sorted(present))]
            if present and rng.random() < 0.3:  # a state change
                present[rng.choice(sorted(present))]["mood"] = rng.choice(MOODS)
            if rng.random() < 0.15:
                server.publish(KEY, rng.choice(CHANNELS), {"text": "gg"}, rng.choice(users))
            for (uuid, channel), state in present.items():
                _heartbeat(server, uuid, channel, 4, state)
            await task.deferLater(reactor, 0.5, lambda: None)
        size = await deferToThread(_snap, driver, str(OUT))
        sys.stdout.write(f"wrote {OUT} ({size // 1024} KiB)\n")
    finally:
        await deferToThread(quit_browser, driver, profile)
        stopped: Deferred[None] = server.stop()
        await stopped


if __name__ == "__main__":
    task.react(lambda reactor: Deferred.fromCoroutine(main(reactor)))
