"""The dashboard in a real browser: headless Chromium from the system, driven by Selenium.

The server runs in trial's reactor; every Selenium call (blocking) runs in a
thread (``deferToThread``), so the reactor keeps serving the page meanwhile.
Without selenium, chromium or chromedriver the tests skip, naming what is
missing (``.ci/run`` installs Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import SkipTest, TestCase

from pubnub_twisted.server import PresenceServer, listen

KEY = "sub-c-dash"
#: Seconds a change may take to show on the page (batches are 250 ms apart).
DEADLINE = 15.0
_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _missing() -> str | None:
    """What the browser tests lack, or ``None``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not any(shutil.which(name) for name in _BROWSERS):
        return "no chromium on PATH (apt-get install chromium chromium-driver)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


def start_browser() -> tuple[Any, str]:
    """A headless Chromium and its fresh profile directory (blocking: call it in a thread)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = next(p for p in map(shutil.which, _BROWSERS) if p)
    profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service), profile


def quit_browser(driver: Any, profile: str) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: Any, script: str, what: str, *args: object) -> Any:
    """Poll ``script`` (JavaScript returning a value) until it is truthy; fail after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {what}")
        time.sleep(0.05)


_TEXT = "const e = document.querySelector(arguments[0]); return e && e.textContent;"


class BrowserTestCase(TestCase):
    """A server with the dashboard on a loopback port and a browser, both ended after."""

    def setUp(self) -> Any:
        missing = _missing()
        if missing:
            raise SkipTest(f"browser tests need a browser: {missing}")
        self.driver: Any = None

        def started(browser: tuple[Any, str]) -> None:
            self.driver = browser[0]
            self.addCleanup(lambda: deferToThread(quit_browser, *browser))

        return deferToThread(start_browser).addCallback(started)

    def serve(self, **options: Any) -> PresenceServer:
        server = listen(reactor, dashboard=True, here_now_cache=0, **options)
        self.addCleanup(server.stop)
        return server

    def browse(self, call: Callable[..., Any], *args: Any) -> Any:
        """Run ``call(driver, *args)`` in a thread; a Deferred of its result."""
        return deferToThread(call, self.driver, *args)

    def shows(self, selector: str, expected: str = "") -> Any:
        """Wait until the element at ``selector`` exists and contains ``expected``."""
        return self.browse(_wait_text, selector, expected)

    def lacks(self, selector: str) -> Any:
        """Wait until no element matches ``selector``."""
        return self.browse(_wait_gone, selector)


def _wait_text(driver: Any, selector: str, expected: str) -> str:
    script = (
        "const e = document.querySelector(arguments[0]);"
        " return e && e.textContent.includes(arguments[1]) ? [e.textContent] : null;"
    )
    return str(_wait(driver, script, f"{expected!r} in {selector}", selector, expected)[0])


def _wait_gone(driver: Any, selector: str) -> bool:
    script = "return document.querySelector(arguments[0]) === null;"
    return bool(_wait(driver, script, f"{selector} gone", selector))


def _call(server: PresenceServer, path: str) -> None:
    """One PubNub request straight into the server's resource; it must succeed."""
    status, body, _ = server.resource.respond(b"GET", path.encode())
    assert status == 200, (status, body)


def _heartbeat(
    server: PresenceServer, uuid: str, channel: str, timeout: int = 60, key: str = KEY
) -> None:
    _call(
        server,
        f"/v2/presence/sub-key/{key}/channel/{quote(channel, safe='')}/heartbeat"
        f"?uuid={quote(uuid, safe='')}&heartbeat={timeout}",
    )


def _set_state(server: PresenceServer, uuid: str, channel: str, state: object) -> None:
    text = quote(json.dumps(state), safe="")
    _call(
        server,
        f"/v2/presence/sub-key/{KEY}/channel/{channel}/uuid/{uuid}/data?uuid={uuid}&state={text}",
    )


def _leave(server: PresenceServer, uuid: str, channel: str) -> None:
    _call(server, f"/v2/presence/sub-key/{KEY}/channel/{channel}/leave?uuid={uuid}")


def _click(driver: Any, selector: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, selector).click()


def _type(driver: Any, selector: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.clear()
    field.send_keys(text + Keys.ENTER)


def _html_inside(driver: Any, selector: str) -> int:
    """How many elements are inside the element at ``selector`` (text only: 0)."""
    return int(
        driver.execute_script(
            "return document.querySelector(arguments[0]).childElementCount;", selector
        )
    )


class LiveDashboardTests(BrowserTestCase):
    """Presence changes on the server appear on the open page, without a reload."""

    @inlineCallbacks
    def test_presence_changes_appear_live(self) -> Any:
        """Join, state change, leave, timeout, a message, where-now and the filter work live."""
        server = self.serve()
        _heartbeat(server, "alice", "lobby")
        yield self.browse(lambda d: d.get(server.dashboard_url))
        yield self.shows('#status[data-live="true"]', "live")
        yield self.shows('tr[data-channel="lobby"] .occupancy', "1")

        _heartbeat(server, "bob", "lobby")
        yield self.shows('tr[data-channel="lobby"] .occupancy', "2")
        yield self.shows('#events li[data-action="join"][data-uuid="bob"]', "lobby")

        yield self.browse(_click, 'tr[data-channel="lobby"]')
        yield self.shows('#occupants li[data-uuid="bob"]', "bob")
        _set_state(server, "alice", "lobby", {"mood": "<b>busy</b>", "n": 1})
        shown = yield self.shows('#occupants li[data-uuid="alice"] pre', '"mood": "<b>busy</b>"')
        self.assertIn('"n": 1', shown)
        inside = yield self.browse(_html_inside, '#occupants li[data-uuid="alice"] pre')
        self.assertEqual(inside, 0)  # the state's markup is text, not elements
        yield self.shows('#events li[data-action="state-change"][data-uuid="alice"]', "busy")

        _leave(server, "bob", "lobby")
        yield self.shows('#events li[data-action="leave"][data-uuid="bob"]', "lobby")
        yield self.lacks('#occupants li[data-uuid="bob"]')
        yield self.shows('tr[data-channel="lobby"] .occupancy', "1")

        _heartbeat(server, "carol", "lobby", timeout=1)
        yield self.shows('#occupants li[data-uuid="carol"]', "carol")
        yield self.shows('#events li[data-action="timeout"][data-uuid="carol"]', "lobby")
        yield self.lacks('#occupants li[data-uuid="carol"]')

        _heartbeat(server, "alice", "games")
        yield self.browse(_type, "#where-uuid", "alice")
        yield self.shows('#where li[data-channel="games"]', "games")
        yield self.shows('#where li[data-channel="lobby"]', "busy")

        server.publish(KEY, "lobby", {"text": "<i>hello</i>"}, publisher="alice")
        yield self.shows('#events li[data-action="message"]', "<i>hello</i>")
        yield self.shows('#requests tr[data-operation="heartbeat"]', "heartbeat")

        yield self.browse(_type, "#filter", "gam")
        hidden = yield self.browse(
            lambda d: d.execute_script(
                "return [...document.querySelectorAll('#channels tbody tr')]"
                ".map(r => [r.dataset.channel, r.hidden]);"
            )
        )
        self.assertEqual(sorted(hidden), [["games", False], ["lobby", True]])
        shown = yield self.browse(
            lambda d: d.execute_script(
                "return [...document.querySelectorAll('#events li')]"
                ".filter(li => !li.hidden).map(li => li.dataset.channel);"
            )
        )
        self.assertEqual(set(shown), {"games"})

        points = yield self.browse(
            _wait,
            "return document.querySelector(arguments[0]).getAttribute('points');",
            "a sparkline",
            'tr[data-channel="lobby"] polyline',
        )
        self.assertRegex(points, r"^[0-9.]+,[0-9.]+( [0-9.]+,[0-9.]+)*$")


class TokenTests(BrowserTestCase):
    """A dashboard that needs a token refuses the browser without it and works with it."""

    @inlineCallbacks
    def test_token_then_cookie(self) -> Any:
        """No token or a wrong one: 403; the token once: a cookie, and the page goes live."""
        server = self.serve(dashboard_token="tok-" + "x" * 20)
        _heartbeat(server, "alice", "lobby")
        for address in (server.url + "/", server.url + "/?token=wrong"):
            yield self.browse(lambda d, a=address: d.get(a))
            yield self.shows("body", "Forbidden")
            present = yield self.browse(
                lambda d: d.execute_script("return document.getElementById('channels');")
            )
            self.assertIsNone(present)
        assert server.dashboard_url is not None
        yield self.browse(lambda d: d.get(server.dashboard_url))
        yield self.shows('tr[data-channel="lobby"] .occupancy', "1")
        address = yield self.browse(lambda d: d.current_url)
        self.assertEqual(address, server.url + "/")  # the token left the address bar
        cookies = yield self.browse(lambda d: d.get_cookies())
        self.assertEqual([(c["httpOnly"], c["sameSite"]) for c in cookies], [(True, "Strict")])
        visible = yield self.browse(lambda d: d.execute_script("return document.cookie;"))
        self.assertEqual(visible, "")  # HttpOnly: the page's script cannot read it
        _heartbeat(server, "bob", "lobby")
        yield self.shows('tr[data-channel="lobby"] .occupancy', "2")


class HostileTextTests(BrowserTestCase):
    """Names and state from users are shown as text: markup in them never runs."""

    @inlineCallbacks
    def test_markup_is_text(self) -> Any:
        """A uuid and a channel made of HTML show verbatim; their script never runs."""
        server = self.serve()
        yield self.browse(lambda d: d.get(server.dashboard_url))
        yield self.shows('#status[data-live="true"]', "live")
        evil = '<img src=x onerror="window.pwned=1">'
        _heartbeat(server, evil, "<b>room</b>")
        yield self.shows("#events li[data-action='join']", evil)
        yield self.shows("#channels tbody tr td.name", "<b>room</b>")
        yield self.browse(_click, "#channels tbody tr")
        yield self.shows("#occupants li .uuid", evil)
        found = yield self.browse(
            lambda d: d.execute_script(
                "return [window.pwned, document.querySelectorAll('main img, main b').length];"
            )
        )
        self.assertEqual(found, [None, 0])

    @inlineCallbacks
    def test_big_channel_pages(self) -> Any:
        """A channel of 150 shows 100 occupants and a button that shows the other 50."""
        server = self.serve()
        for n in range(150):
            _heartbeat(server, f"user-{n:03d}", "hall")
        yield self.browse(lambda d: d.get(server.dashboard_url))
        yield self.shows('tr[data-channel="hall"] .occupancy', "150")
        yield self.browse(_click, 'tr[data-channel="hall"]')
        yield self.shows("#occupant-note", "150 here, showing 100")
        yield self.lacks('#occupants li[data-uuid="user-149"]')
        yield self.browse(_click, "#more-occupants")
        yield self.shows('#occupants li[data-uuid="user-149"]', "user-149")
        yield self.shows("#occupant-note", "150 here")
        count = yield self.browse(
            lambda d: d.execute_script(
                "return [document.querySelectorAll('#occupants li').length,"
                " document.getElementById('more-occupants').hidden];"
            )
        )
        self.assertEqual(count, [150, True])

    @inlineCallbacks
    def test_subscribe_keys(self) -> Any:
        """Each subscribe key is a choice; choosing one lists only its channels."""
        server = self.serve()
        _heartbeat(server, "a", "lobby")
        yield self.browse(lambda d: d.get(server.dashboard_url))
        yield self.shows('tr[data-channel="lobby"] .occupancy', "1")
        _heartbeat(server, "b", "elsewhere", key="sub-c-other")
        yield self.shows('#sub-key option[value="sub-c-other"]', "sub-c-other")
        yield self.browse(_choose_key, "sub-c-other")
        yield self.shows('tr[data-channel="elsewhere"] .occupancy', "1")
        yield self.lacks('tr[data-channel="lobby"]')


def _choose_key(driver: Any, key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "sub-key")).select_by_value(key)
