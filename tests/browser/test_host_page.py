"""The Teams host sandbox (/dev/host) with the probe tab: the real teams-js, driven in headless Chromium."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from playwright.sync_api import BrowserContext, Frame, Page

from plugin import create_app
from plugin.sandbox.host import host_bp
from plugin.services.demo import channel_graph_id, demo_oid, demo_upn, team_graph_id

from .conftest import BrowserLog, LiveServer

PROBE = "/dev/host/probe?locale={locale}&theme={theme}"
PROBE_DONE = "() => window.probeState && (window.probeState.claims !== null || window.probeState.errors.length > 0)"


def open_host(page: Page, server: LiveServer, **params: str) -> Frame:
    """Open the host page framing the probe (unless `url` says otherwise); return the tab's frame."""
    params.setdefault("url", PROBE)
    page.goto(f"{server.url}/dev/host?{urlencode(params)}")
    frame = page.frame(name="embedded-page-container")
    assert frame is not None
    return frame


def probe_state(frame: Frame) -> dict[str, Any]:
    """The probe's results once it has initialized, read the context and asked for a token."""
    frame.wait_for_function(PROBE_DONE)
    return frame.evaluate("() => window.probeState")


def assert_clean(log: BrowserLog) -> None:
    """No console errors, uncaught exceptions or attempts to leave the test server."""
    assert log.errors == []
    assert log.external == []


@pytest.mark.parametrize(
    ("name", "ref", "locale", "theme"),
    [
        ("Sanne de Vries", "oid", "nl-NL", "default"),
        ("Priya Raman", "upn", "en-US", "dark"),
        ("Gerrit Post", "oid", "en-US", "contrast"),
    ],
)
def test_probe_gets_context_and_sso_token(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, screenshot: Any,
    name: str, ref: str, locale: str, theme: str,
) -> None:
    oid = demo_oid(name)
    frame = open_host(page, live_server, tab="personal", user=oid if ref == "oid" else demo_upn(name),
                      locale=locale, theme=theme)
    state = probe_state(frame)

    assert state["errors"] == []
    assert state["initialized"] is True
    context = state["context"]
    assert context["user"]["id"] == oid
    assert context["user"]["userPrincipalName"] == demo_upn(name)
    assert context["user"]["displayName"] == name
    assert context["user"]["tenant"]["id"] == live_server.app.config["AZURE_TENANT_ID"]
    assert context["app"]["locale"] == locale
    assert context["app"]["theme"] == theme
    assert (context["app"]["host"]["name"], context["app"]["host"]["clientType"]) == ("Teams", "web")
    assert context["page"]["frameContext"] == "content"
    assert context["page"]["id"] == "programme"
    assert context.get("team") is None and context.get("channel") is None  # a personal tab
    # The contentUrl placeholders were filled the way Teams fills them.
    assert frame.url.endswith(f"/dev/host/probe?{urlencode({'locale': locale, 'theme': theme})}")
    assert frame.evaluate("document.body.className") == f"theme-{theme}"

    claims = jwt.decode(state["token"], options={"verify_signature": False})
    assert claims == state["claims"]
    assert claims["oid"] == oid
    assert "access_as_user" in claims["scp"].split()
    assert claims["aud"] in (live_server.app.config["AZURE_CLIENT_ID"], live_server.app.config["SSO_AUDIENCE"])
    assert claims["tid"] == live_server.app.config["AZURE_TENANT_ID"]
    # The app's own validator (JWKS from /dev/aad) accepts what the host handed the tab.
    identity = live_server.app.extensions["token_validator"].validate(state["token"])
    assert identity.oid == oid

    page.locator("#app-status", has_text="Ready").wait_for()
    assert page.locator("#debug-log li[data-func='authentication.getAuthToken']").count() >= 1
    screenshot(page, "host")
    assert_clean(browser_log)


def test_theme_change_in_the_shell_reaches_the_tab(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, screenshot: Any
) -> None:
    frame = open_host(page, live_server, tab="personal", locale="en-US", theme="default")
    probe_state(frame)

    page.select_option("#theme-select", "dark")
    frame.wait_for_function("() => window.probeState.themeChanges.length === 1")
    page.select_option("#theme-select", "contrast")
    frame.wait_for_function("() => window.probeState.themeChanges.length === 2")

    assert frame.evaluate("() => window.probeState.themeChanges") == ["dark", "contrast"]
    assert frame.evaluate("document.body.className") == "theme-contrast"
    assert page.evaluate("document.body.className") == "theme-contrast"
    assert "theme=contrast" in page.url  # a reload keeps the theme
    screenshot(page, "contrast")
    assert_clean(browser_log)


def test_team_tab_context_names_team_and_channel(page: Page, live_server: LiveServer, browser_log: BrowserLog) -> None:
    team, channel = team_graph_id("fin"), channel_graph_id("fin", "Kennisdeling")
    frame = open_host(page, live_server, tab="team", user=demo_oid("Sanne de Vries"), locale="nl-NL", team=team,
                      channel=channel)
    context = probe_state(frame)["context"]

    assert context["team"]["groupId"] == team
    assert context["team"]["displayName"] == "Financieel Advies"
    assert context["team"]["internalId"] == channel_graph_id("fin", "Algemeen")  # the General channel's thread
    assert context["team"]["userRole"] == 0  # Sanne leads (owns) the team
    assert context["channel"]["id"] == channel
    assert context["channel"]["displayName"] == "Kennisdeling"
    assert context["channel"]["ownerGroupId"] == team
    assert_clean(browser_log)


def test_config_page_save_flow_switches_to_the_configured_tab(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, screenshot: Any
) -> None:
    frame = open_host(page, live_server, tab="config", user=demo_oid("Priya Raman"), locale="en-US")
    state = probe_state(frame)
    assert state["context"]["page"]["frameContext"] == "settings"
    assert state["saveHandler"] is True
    save = page.locator("#save-button")
    save.wait_for()
    page.wait_for_function("() => !document.getElementById('save-button').disabled")  # setValidityState(true)
    screenshot(page, "config")

    save.click()
    page.locator("#notice", has_text="Saved: Probe").wait_for()
    frame.wait_for_url("**/dev/host/probe?configured=1&locale=en-US&theme=default")
    state = probe_state(frame)

    assert state["errors"] == []
    assert state["context"]["page"]["frameContext"] == "content"
    assert state["context"]["page"]["id"] == "probe"  # the entityId the tab configured
    assert state["context"]["channel"]["id"] is not None
    assert page.locator("#tab-label").inner_text() == "Probe"
    assert page.locator("#debug-log li[data-func='settings.save.success']").count() == 1
    screenshot(page, "saved")
    assert_clean(browser_log)


@pytest.mark.parametrize(
    ("outcome", "key", "expected"),
    [("success", "authResult", "ok"), ("failure", "authError", "denied"), ("cancel", "authError", "CancelledByUser")],
)
def test_authenticate_opens_a_popup_and_returns_its_result(
    page: Page, context: BrowserContext, live_server: LiveServer, browser_log: BrowserLog,
    outcome: str, key: str, expected: str,
) -> None:
    url = PROBE + ("&auth=failure" if outcome == "failure" else "")
    frame = open_host(page, live_server, tab="personal", locale="nl-NL", url=url)
    probe_state(frame)

    with context.expect_page() as popup_info:
        frame.click("#auth-button")
    popup = popup_info.value
    if outcome == "cancel":
        popup.close()  # the user closes the window without finishing
    frame.wait_for_function(f"() => window.probeState.{key} !== null")

    assert frame.evaluate(f"() => window.probeState.{key}") == expected
    if outcome != "cancel":
        popup.wait_for_event("close")  # teams-js closes the pop-up after notifying
        assert popup.url.startswith(f"{live_server.url}/dev/host/probe-popup")
    assert_clean(browser_log)


def test_unimplemented_messages_get_an_error_answer(
    page: Page, live_server: LiveServer, browser_log: BrowserLog
) -> None:
    frame = open_host(page, live_server, tab="personal", locale="en-US")
    probe_state(frame)

    # A legacy API reads [false, reason]: its promise rejects with the host's reason.
    error = frame.evaluate("""() => microsoftTeams.app.openLink('https://teams.microsoft.com/l/entity/x/y')
        .then(() => null, (e) => e.message)""")
    assert error == "executeDeepLink is not implemented by the Ambassador host sandbox"
    # Anything else gets an SdkError, answered with the request's id and uuid (teams-js parses it as a UUID).
    uuid = "5f0c2a9e-3d4b-4c6a-9e8f-1a2b3c4d5e6f"
    answer = frame.evaluate("""(uuid) => new Promise((resolve) => {
        window.addEventListener('message', (e) => { if (e.data.id === 9999) resolve(e.data); });
        window.parent.postMessage({id: 9999, uuidAsString: uuid, func: 'bogus.call', args: [],
                                   apiVersionTag: 'v2_bogus.call'}, location.origin);
    })""", uuid)
    assert answer["id"] == 9999
    assert answer["uuidAsString"] == uuid
    message = "bogus.call is not implemented by the Ambassador host sandbox"
    assert answer["args"] == [{"errorCode": 100, "message": message}]
    assert page.locator("#debug-log li.unknown[data-func='bogus.call']").count() == 1
    assert_clean(browser_log)


def test_activity_feed_panel_lists_graph_notifications(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, screenshot: Any
) -> None:
    graph = live_server.app.extensions["sandbox"].apps.get("/dev/graph")
    open_host(page, live_server, tab="personal", locale="nl-NL")
    if graph is None:  # the Graph emulator is not mounted: the panel stays out of the way
        assert page.locator("#feed-panel").is_hidden()
        return
    recipient = demo_oid("Daan Jansen")
    graph.extensions["graph_emulator"].record_activity({
        "kind": "user", "from": {"application": live_server.app.config["AZURE_CLIENT_ID"]},
        "topic": {"source": "text", "value": "Week 3", "webUrl": "https://teams.microsoft.com/l/entity/x/y"},
        "activityType": "missionDue", "previewText": {"content": "Your week 3 mission is waiting"},
        "templateParameters": [], "chainId": None, "teamsAppId": None, "recipients": [recipient],
    })

    item = page.locator("#feed-list li", has_text="Your week 3 mission is waiting")
    item.wait_for()
    assert "missionDue" in item.inner_text()
    assert "Daan Jansen" in item.inner_text()
    screenshot(page, "feed")
    assert_clean(browser_log)


def test_host_routes_need_the_sandbox(database_url: str) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    app.register_blueprint(host_bp)
    client = app.test_client()
    for path in ("/dev/host", "/dev/host/probe", "/dev/host/static/host.js"):
        assert client.get(path).status_code == 404
    assert client.post("/dev/host/token", json={"user": demo_oid("Sanne de Vries")}).status_code == 404
    app.extensions["db.engine"].dispose()


def test_host_page_rejects_bad_parameters_and_mints_only_for_demo_users(live_server: LiveServer) -> None:
    client = live_server.app.test_client()
    assert client.get("/dev/host?tab=chat").status_code == 400
    assert client.get("/dev/host?theme=neon").status_code == 400
    assert client.get("/dev/host?locale=nl_NL;x").status_code == 400
    assert client.get("/dev/host?url=https://elsewhere.example/tab").status_code == 400
    assert client.get("/dev/host?user=nobody@example.com").status_code == 404
    assert client.post("/dev/host/token", data={"user": demo_oid("Sanne de Vries")}).status_code == 415
    assert client.post("/dev/host/token", json={"user": "nobody"}).status_code == 404
    assert client.post("/dev/host/token", json={"user": demo_oid("Sanne de Vries"),
                                                "tenantId": "00000000-0000-0000-0000-000000000000"}).status_code == 400
    minted = client.post("/dev/host/token", json={"user": demo_upn("Sanne de Vries")}).get_json()
    assert jwt.decode(minted["token"], options={"verify_signature": False})["oid"] == demo_oid("Sanne de Vries")
    page = client.get("/dev/host?tab=team&locale=en-US")
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert b"<script>" not in page.data  # no inline script: only the JSON config block and host.js
    config = json.loads(page.get_data(as_text=True).split('id="host-config">')[1].split("</script>")[0])
    assert config["context"]["locale"] == "en-US"
    assert config["runtime"]["supports"]["pages"]["config"] == {}
