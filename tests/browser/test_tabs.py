"""The tabs in the Teams host sandbox: the real teams-js, the SSO token and the API, driven in headless Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Frame, Page, Route

from plugin.services.demo import team_graph_id

from . import tabs_fixtures
from .conftest import BrowserLog
from .tabs_fixtures import api_as, open_tab

# The fixtures of tabs_fixtures, visible to pytest in this module.
tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

DAAN, SANNE, GERRIT = "Daan Jansen", "Sanne de Vries", "Gerrit Post"
#: Failed requests a test provokes on purpose show up as console errors of this form.
FAILED_LOAD = "Failed to load resource"


def assert_clean(log: BrowserLog, *, allow: tuple[str, ...] = ()) -> None:
    """No console errors or uncaught exceptions (apart from `allow`ed ones), and no request left the server."""
    assert [e for e in log.errors if not any(a in e for a in allow)] == []
    assert log.external == []


def texts(frame: Frame, selector: str) -> list[str]:
    return [text.strip() for text in frame.locator(selector).all_inner_texts()]


def teams_format(frame: Frame, kind: str, value: Any, options: dict[str, Any] | None = None) -> str:
    """Format `value` in the frame as the tab does, with the Teams locale (Intl, like the tab)."""
    return frame.evaluate(
        """([kind, value, options]) => {
            const locale = new URLSearchParams(location.search).get('locale');
            return kind === 'number' ? new Intl.NumberFormat(locale).format(value)
                : new Intl.DateTimeFormat(locale, options).format(new Date(value));
        }""",
        [kind, value, options or {}],
    )


@pytest.mark.parametrize(
    ("locale", "theme"),
    [("nl-NL", "default"), ("en-US", "default"), ("en-US", "dark"), ("nl-NL", "contrast")],
)
def test_personal_tab_shows_this_weeks_programme(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any, locale: str, theme: str
) -> None:
    data = api_as(tabs_server, DAAN, f"/api/me/programme?locale={locale}")
    frame = open_tab(page, tabs_server, "personal", DAAN, locale=locale, theme=theme)

    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert frame.evaluate("document.documentElement.lang") == locale[:2]
    assert f"theme-{theme}" in frame.evaluate("document.documentElement.className")
    if locale == "en-US":
        assert frame.locator("h1").inner_text() == "My programme"
    assert data["cohort"]["name"] in frame.locator("#cohort-line").inner_text()

    # The eight weeks, the third one highlighted (and marked for screen readers).
    assert frame.locator("#weeks li").count() == 8
    current = frame.locator("#weeks li.current")
    assert current.count() == 1
    assert current.get_attribute("aria-current") == "step"
    assert "3" in current.locator(".week-label").inner_text()
    assert current.locator(".week-title").inner_text() == data["weeks"][2]["title"]
    assert frame.locator("#weeks li.done").count() == 2

    # This week's missions in the person's language, each with its status in words, progress and due date.
    this_week = [m for m in data["missions"] if m["week"] == 3]
    earlier = [m for m in data["missions"] if m["week"] != 3]
    assert texts(frame, "#missions .mission-title") == [m["title"] for m in this_week]
    assert texts(frame, "#earlier-missions .mission-title") == [m["title"] for m in earlier]
    for mission in data["missions"]:
        card = frame.locator(f".mission[data-slug='{mission['slug']}']")
        assert card.get_attribute("data-status") == mission["status"]
        assert card.locator(".mission-status").inner_text().strip()  # not colour alone
        target = max(mission["target"], 1)
        shown = target if mission["status"] == "done" else min(mission["current"], target)
        assert card.locator(".mission-count").inner_text().startswith(str(shown))
        assert card.locator(".mission-bar").get_attribute("aria-label")
        if mission["status"] != "done":
            # Deadlines are shown in the cohort's own time zone, whatever the viewer's browser says.
            due = teams_format(frame, "date", mission["due_at"], {
                "weekday": "long", "day": "numeric", "month": "long", "hour": "2-digit", "minute": "2-digit",
                "timeZone": data["cohort"]["timezone"]})
            assert due in card.locator(".mission-due").inner_text()
        assert card.locator(".mission-how p").text_content() == mission["how"]

    assert frame.locator("#tip").inner_text() == data["tip"]
    assert frame.locator("#points").inner_text() == teams_format(frame, "number", data["points"])
    assert frame.locator("#streak").inner_text().startswith(str(data["streak"]))

    earned = [b for b in data["badges"] if b["earned"]]
    locked = [b for b in data["badges"] if not b["earned"]]
    assert texts(frame, "#badges-earned .badge-name") == [b["name"] for b in earned]
    assert texts(frame, "#badges-locked .badge-name") == [b["name"] for b in locked]
    assert texts(frame, "#badges-locked .badge-text") == [b["criteria"] for b in locked]

    ranking = frame.locator("#ranking-section")
    if data["ranking"]:
        assert ranking.is_visible()
        rows = frame.locator("#ranking tr")
        assert rows.count() == len(data["ranking"])
        me = frame.locator("#ranking tr.me")
        assert me.count() == 1
        mine = next(r for r in data["ranking"] if r["is_me"])
        assert (mine["name"] or f"#{mine['number']}") in me.inner_text()
    else:
        assert ranking.is_hidden()

    page.locator("#app-status", has_text="Ready").wait_for()  # app.notifySuccess reached Teams
    tab_screenshot(page, frame, f"{locale}-{theme}")
    assert_clean(browser_log)


def test_mission_texts_follow_the_teams_language(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    dutch = texts(open_tab(page, tabs_server, "personal", DAAN, locale="nl-NL"), ".mission-title")
    english = texts(open_tab(page, tabs_server, "personal", DAAN, locale="en-US"), ".mission-title")
    assert dutch and english and len(dutch) == len(english)
    assert set(dutch).isdisjoint(english)
    assert_clean(browser_log)


def test_theme_changes_in_teams_reach_the_tab(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    frame = open_tab(page, tabs_server, "personal", DAAN, locale="en-US", theme="default")
    light = frame.evaluate("getComputedStyle(document.body).backgroundColor")

    page.select_option("#theme-select", "dark")
    frame.wait_for_function("() => document.documentElement.classList.contains('theme-dark')")
    dark = frame.evaluate("getComputedStyle(document.body).backgroundColor")
    page.select_option("#theme-select", "contrast")
    frame.wait_for_function("() => document.documentElement.classList.contains('theme-contrast')")

    assert light != dark
    assert frame.evaluate("document.documentElement.className.match(/theme-/g).length") == 1
    assert frame.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
    assert_clean(browser_log)


@pytest.mark.parametrize("locale", ["nl-NL", "en-US"])
def test_personal_tab_fits_a_phone(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any, locale: str
) -> None:
    page.set_viewport_size({"width": 388, "height": 900})  # 68 px Teams rail + a 320 px tab
    frame = open_tab(page, tabs_server, "personal", DAAN, locale=locale)

    assert frame.evaluate("window.innerWidth") == 320
    assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    first_week, second_week = frame.locator("#weeks li").nth(0), frame.locator("#weeks li").nth(1)
    assert first_week.bounding_box()["y"] < second_week.bounding_box()["y"]  # one week per row
    tab_screenshot(page, frame, f"320-{locale}")
    assert_clean(browser_log)


def test_how_to_complete_opens_with_the_keyboard(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    frame = open_tab(page, tabs_server, "personal", DAAN, locale="en-US")
    summary = frame.locator("#missions .mission-how summary").first
    how = frame.locator("#missions .mission-how p").first
    assert how.is_hidden()

    summary.focus()
    page.keyboard.press("Enter")

    assert how.is_visible()
    assert frame.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert_clean(browser_log)


def test_someone_not_enrolled_gets_a_friendly_message(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    frame = open_tab(page, tabs_server, "personal", GERRIT, locale="en-US")

    assert frame.evaluate("document.body.dataset.problem") == "not_enrolled"
    problem = frame.locator("#problem")
    assert problem.get_attribute("role") == "alert"
    assert "not taking part" in problem.inner_text()
    assert frame.locator("#retry").is_hidden()  # retrying would not change who is enrolled
    assert frame.locator("#content").is_hidden()
    tab_screenshot(page, frame, "not-enrolled")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the API's 404


def test_offline_then_back_online(
    page: Page, context: BrowserContext, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    def unreachable(route: Route) -> None:
        route.abort("internetdisconnected")

    context.route("**/api/me/programme*", unreachable)
    frame = open_tab(page, tabs_server, "personal", DAAN, locale="en-US")
    assert frame.evaluate("document.body.dataset.problem") == "network"
    assert frame.locator("#retry").is_visible()

    context.set_offline(True)
    frame.locator("#retry").click()
    frame.wait_for_function("() => document.body.dataset.problem === 'offline'")
    assert "offline" in frame.locator("#problem-title").inner_text().lower()
    tab_screenshot(page, frame, "offline")

    context.unroute("**/api/me/programme*", unreachable)
    context.set_offline(False)  # the tab tries again by itself
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")
    assert frame.locator("#missions li").count() >= 1
    assert_clean(browser_log, allow=(FAILED_LOAD,))


def test_sign_in_trouble_gets_a_friendly_message(
    page: Page, context: BrowserContext, tabs_server: Any, browser_log: BrowserLog
) -> None:
    context.route("**/api/me/programme*", lambda route: route.fulfill(
        status=401, json={"error": "invalid_token", "message": "The token has expired."}))
    frame = open_tab(page, tabs_server, "personal", DAAN, locale="en-US")

    assert frame.evaluate("document.body.dataset.problem") == "sign_in"
    assert "sign you in" in frame.locator("#problem-title").inner_text()
    assert "expired" not in frame.locator("#problem").inner_text()  # no technical details
    assert frame.locator("#retry").is_visible()
    assert_clean(browser_log, allow=(FAILED_LOAD,))


def test_team_tab_shows_the_leads_team(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    team = api_as(tabs_server, SANNE, f"/api/teams/by-graph-id/{team_graph_id('fin')}")
    summary = api_as(tabs_server, SANNE, f"/api/teams/{team['id']}/summary")
    frame = open_tab(page, tabs_server, "team", SANNE, locale="nl-NL", team=team_graph_id("fin"))

    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert frame.locator("h1").inner_text() == "Financieel Advies"
    assert summary["cohort"] in frame.locator("#team-line").inner_text()
    assert frame.locator("#participants").inner_text() == str(summary["participants"])
    assert frame.locator("#active").inner_text() == str(summary["active_this_week"])
    assert frame.locator("#knowledge").inner_text() == str(summary["knowledge_posts"])
    assert "Deelnemers" in frame.locator("dl.stats").inner_text()  # an existing Dutch translation
    names = texts(frame, "#shown td:first-child")
    assert len(names) == len(summary["shown"])
    for row, shown in zip(names, summary["shown"], strict=True):
        assert row == (shown["name"] or f"Ambassadeur #{shown['number']}")
    tab_screenshot(page, frame, "lead")
    assert_clean(browser_log)


def test_team_tab_in_dark_theme_narrow(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    page.set_viewport_size({"width": 388, "height": 900})
    frame = open_tab(page, tabs_server, "team", SANNE, locale="en-US", theme="dark", team=team_graph_id("fin"))
    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    tab_screenshot(page, frame, "dark-320")
    assert_clean(browser_log)


def test_team_tab_tells_others_it_is_for_leads(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    frame = open_tab(page, tabs_server, "team", DAAN, locale="en-US", team=team_graph_id("fin"))

    assert frame.evaluate("document.body.dataset.problem") == "forbidden"
    assert frame.locator("#problem-title").inner_text() == "This tab is for team leads"
    assert "My programme" in frame.locator("#problem-text").inner_text()
    assert frame.locator("#content").is_hidden()
    assert "Financieel" not in frame.locator("body").inner_text()
    tab_screenshot(page, frame, "employee")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the API's 403


def test_config_tab_saves_the_team_tab(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any, screenshot: Any
) -> None:
    group = team_graph_id("fin")
    frame = open_tab(page, tabs_server, "config", SANNE, locale="en-US", team=group)

    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert "Financieel Advies" in frame.locator("#where").inner_text()
    page.wait_for_function("() => !document.getElementById('save-button').disabled")  # setValidityState(true)
    screenshot(page, "config")

    page.locator("#save-button").click()
    page.locator("#notice", has_text="Saved: Ambassador").wait_for()
    frame.wait_for_url(f"**/tabs/team?team={group}&locale=en-US&theme=default")
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")

    assert page.locator("#tab-label").inner_text() == "Ambassador"
    assert frame.locator("h1").inner_text() == "Financieel Advies"
    assert page.locator("#debug-log li[data-func='settings.save.success']").count() == 1
    assert frame.evaluate("() => microsoftTeams.app.getContext().then((c) => c.page.id)") == "ambassador-team"
    screenshot(page, "saved")
    assert_clean(browser_log)


def test_outside_teams_the_page_says_where_it_belongs(
    page: Page, tabs_server: Any, browser_log: BrowserLog
) -> None:
    page.goto(f"{tabs_server.url}/tabs/personal?locale=en-US&theme=default")
    page.wait_for_function("() => document.body.dataset.state === 'problem'", timeout=20_000)

    assert page.evaluate("document.body.dataset.problem") == "not_in_teams"
    assert page.locator("#problem-title").inner_text() == "Open Ambassador in Microsoft Teams"
    assert page.locator("#content").is_hidden()
    assert_clean(browser_log)
