"""Fixtures for the tab pages in the Teams host sandbox: the served app with the tabs and the demo data.

Import this module from a test module (``from .tabs_fixtures import *``-style names are listed below); it imports
plugin.web.api_tabs at collection time, before any app registers the API blueprint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask, Response, request
from playwright.sync_api import Frame, Page

import plugin.web.api_tabs  # noqa: F401 - adds /api/teams/by-graph-id to the API blueprint before it is registered
from plugin.db import get_session
from plugin.services.demo import demo_oid, seed_demo
from plugin.web.tabs import bp as tabs_bp

from .conftest import SCREENSHOTS, LiveServer

#: Stricter than production (no nonce at all): every script and style of a tab must be a file on our origin.
#: connect-src allows the CDN that teams-js asks for its list of host origins (answered by the conftest).
TAB_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self' https://res.cdn.office.net; object-src 'none'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'self'")
#: The tab's page state once it has rendered its content or a problem (see js/tabs/common.js).
SETTLED = "() => document.body && document.body.dataset.state !== 'loading'"


def install_tabs(app: Flask) -> None:
    """Register the tabs (until create_app does) and a strict CSP for them; call before the first request."""
    if "tabs" not in app.blueprints:
        app.register_blueprint(tabs_bp)

    @app.after_request
    def tab_csp(response: Response) -> Response:
        if request.path.startswith("/tabs/"):
            response.headers["Content-Security-Policy"] = TAB_CSP
        return response


@pytest.fixture(scope="module")
def tabs_server(live_server: LiveServer) -> LiveServer:
    """The live server with the tab pages registered and the demo organisation seeded (week 3 of the cohort)."""
    install_tabs(live_server.app)
    with live_server.app.app_context():
        seed_demo(get_session())
    return live_server


def open_tab(page: Page, server: LiveServer, tab: str, name: str, **params: str) -> Frame:
    """Open /dev/host framing `tab` as the demo person `name`; return the tab's frame once it has settled."""
    query = {"tab": tab, "user": demo_oid(name), **params}
    page.goto(f"{server.url}/dev/host?{urlencode(query)}")
    frame = page.frame(name="embedded-page-container")
    assert frame is not None
    frame.wait_for_function(SETTLED)
    return frame


def api_as(server: LiveServer, name: str, path: str) -> Any:
    """What the API answers `name` (a token minted by the sandbox authority), as JSON."""
    app = server.app
    token = app.extensions["sandbox"].authority.mint_sso_token(demo_oid(name))
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    return response.get_json()


@pytest.fixture
def tab_screenshot(request: pytest.FixtureRequest) -> Callable[[Page, Frame, str], Path]:
    """Save the whole tab (the frame's content, not the host around it) as screenshots/<test>-<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")

    def take(page: Page, frame: Frame, name: str) -> Path:
        # Grow the window until the frame shows the whole tab, then capture the frame's content.
        viewport = dict(page.viewport_size or {"width": 1400, "height": 900})
        for _attempt in range(8):
            content = frame.evaluate("() => document.body.scrollHeight")
            box = page.locator("#tab-frame").bounding_box()
            assert box is not None
            if box["height"] >= content:
                break
            viewport["height"] += int(content - box["height"]) + 1
            page.set_viewport_size(viewport)
        path = SCREENSHOTS / f"{test}-{name}.png"
        height = max(min(box["height"], content + 16), 200)
        page.screenshot(path=str(path), clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": height})
        return path

    return take
