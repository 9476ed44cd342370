"""Browser fixtures: the app with its sandbox served over HTTPS on a free loopback port, and headless Chromium.

HTTPS because teams-js (like Teams) refuses plain-http URLs, e.g. in `authentication.authenticate`. The browser
stays offline: requests that leave the server's origin are aborted and recorded, except teams-js's fetch of its
valid-origins list from the Office CDN, which is answered locally as the CDN would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Route, sync_playwright

import plugin.models  # noqa: F401 - registers every table
from plugin import create_app
from plugin.db import Base
from plugin.sandbox.host import init_host
from tests.integration.sandbox_server import serve, tls_files

if TYPE_CHECKING:
    from flask import Flask

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
#: Where teams-js 2.x fetches its list of valid host origins when it loads (internal/constants.js).
TEAMS_JS_VALID_DOMAINS = "https://res.cdn.office.net/teams-js/validDomains/json/validDomains.json"
_VALID_DOMAINS = {"validOrigins": ["teams.microsoft.com", "*.teams.microsoft.com", "*.cloud.microsoft",
                                   "outlook.office.com", "outlook.office365.com", "*.office.com",
                                   "*.microsoft365.com", "teams.live.com"]}


@dataclass
class LiveServer:
    """The running app: its https base URL and the Flask app behind it."""

    url: str
    app: Flask


@dataclass
class BrowserLog:
    """What the browser reported: console errors, uncaught page errors and blocked off-site requests."""

    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        """Record console errors and uncaught exceptions of `page` (all its frames)."""
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location.get('url', '')}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app (TESTING, SANDBOX, its own SQLite file, host page registered) on https://127.0.0.1:<port>."""
    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'browser.db'}"
    built: list[Flask] = []

    def build(base: str) -> Flask:
        app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url, "APP_BASE_URL": base})
        assert init_host(app), "the sandbox is not mounted"
        Base.metadata.create_all(app.extensions["db.engine"])
        built.append(app)
        return app

    with serve(build, tls_files(folder)) as (base, _served):
        yield LiveServer(base, built[0])
    _close_app(built[0])


def _close_app(app: Flask) -> None:
    # filterwarnings=error: release threads, sockets and connections before pytest checks for leaks.
    for mounted in app.extensions["sandbox"].apps.values():
        emulator = mounted.extensions.get("graph_emulator")
        if emulator is not None:
            emulator.close()
    client = app.extensions.get("authority_http")
    if client is not None:
        client.close()
    app.extensions["db.engine"].dispose()


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """The Playwright driver, per test module so its event loop is gone before other tests run."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright, live_server: LiveServer) -> Iterator[Browser]:
    """Headless Debian Chromium; closed before the server stops (it depends on live_server for that order)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is required for the browser tests but {CHROMIUM} does not exist "
                    "(apt-get install chromium)", pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def browser_log() -> BrowserLog:
    """Console errors and off-site requests of the current test's browser context."""
    return BrowserLog()


@pytest.fixture
def context(browser: Browser, live_server: LiveServer, browser_log: BrowserLog) -> Iterator[BrowserContext]:
    """A fresh, offline browser context that trusts the test server's self-signed certificate."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    base = live_server.url

    def offline(route: Route) -> None:
        url = route.request.url
        if url == TEAMS_JS_VALID_DOMAINS:
            route.fulfill(json=_VALID_DOMAINS, headers={"Access-Control-Allow-Origin": "*"})
        else:
            browser_log.external.append(url)
            route.abort()

    context.route(lambda url: not url.startswith(base), offline)
    context.on("page", browser_log.watch)  # pop-ups too
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A page in the offline context (watched for console errors, like every page of the context)."""
    return context.new_page()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Any]:
    """Save a full-page screenshot as tests/browser/screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")

    def take(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
