"""The personal tab's "Your data" and header links in the Teams host sandbox: download everything about me as a
JSON file, erase it (a wrong name changes nothing; the right one erases and leaves the tab empty), and the link
to the coach pages for coaches and admins only; in Dutch and English, light and dark."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Frame, Page
from sqlalchemy import func, select

from plugin.db import get_session
from plugin.models import Enrolment, Person, PointsEntry

from . import tabs_fixtures
from .conftest import BrowserLog, LiveServer
from .tabs_fixtures import SETTLED, open_tab

tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

#: A deliberate 400 (a wrong confirmation) or 404 (not enrolled) shows up as a console error of the browser.
FAILED_LOAD = "Failed to load resource"

TEXTS = {
    "nl-NL": {"download": "Download mijn gegevens", "erase": "Wis mijn gegevens", "stays": "Wat blijft",
              "undo": "kan niet ongedaan", "wrong": "precies zoals het hier staat", "erased": "zijn gewist",
              "not_enrolled": "Je doet nog niet mee", "coach": "Coachpagina's", "consent": "Jouw gegevens"},
    "en-US": {"download": "Download my data", "erase": "Erase my data", "stays": "What stays",
              "undo": "cannot be undone", "wrong": "exactly as it is shown", "erased": "has been erased",
              "not_enrolled": "You are not taking part yet", "coach": "Coach pages", "consent": "Your data"},
}


def assert_clean(log: BrowserLog, *, allow: tuple[str, ...] = ()) -> None:
    """No console errors or uncaught exceptions (apart from `allow`ed ones), and no request left the server."""
    assert [e for e in log.errors if not any(a in e for a in allow)] == []
    assert log.external == []


def ready(frame: Frame) -> None:
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")


def person_state(server: LiveServer, name: str) -> dict[str, Any]:
    """What the database holds about `name` now: their rows by name, and the figures that must survive erasure."""
    with server.app.app_context():
        session = get_session()
        ids = list(session.scalars(select(Person.id).where(Person.display_name == name)))
        enrolment = session.scalar(select(Enrolment).join(Person, Person.id == Enrolment.person_id)
                                   .where(Person.display_name == name)) if ids else None
        return {
            "people": len(ids),
            "intake": enrolment.intake if enrolment else None,
            "points": session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))),
            "erased": session.scalar(select(func.count()).select_from(Person).where(Person.erased_at.is_not(None))),
        }


@pytest.mark.parametrize(("name", "locale", "theme"), [
    pytest.param("Daan Jansen", "nl-NL", "default", id="nl-default"),
    pytest.param("Sophie Brouwer", "en-US", "dark", id="en-dark"),
])
def test_download_my_data_as_a_json_file(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
    name: str, locale: str, theme: str,
) -> None:
    frame = open_tab(page, tabs_server, "personal", name, locale=locale, theme=theme)
    ready(frame)
    card = frame.locator("#my-data")
    assert card.is_visible()
    button = frame.locator("#export-button")
    assert button.inner_text().strip() == TEXTS[locale]["download"]

    with page.expect_download() as downloading:
        button.click()
    download = downloading.value
    assert download.suggested_filename.startswith("ambassador-export-")
    assert download.suggested_filename.endswith(".json")
    document = json.loads(download.path().read_text(encoding="utf-8"))
    assert document["person"]["display_name"] == name
    assert document["format"] == "ambassador-export/1"
    assert document["enrolments"] and document["enrolments"][0]["intake"] is not None
    frame.locator("#export-status", has_text=download.suggested_filename).wait_for()
    card.scroll_into_view_if_needed()
    tab_screenshot(page, frame, "downloaded")
    assert_clean(browser_log)


@pytest.mark.parametrize(("name", "locale", "theme"), [
    pytest.param("Fleur Bakker", "nl-NL", "default", id="nl-default"),
    pytest.param("Olga Nowak", "en-US", "dark", id="en-dark"),
])
def test_erase_asks_for_the_name_and_then_leaves_the_tab_empty(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
    name: str, locale: str, theme: str,
) -> None:
    words = TEXTS[locale]
    before = person_state(tabs_server, name)
    assert before["people"] == 1 and before["intake"] is not None
    frame = open_tab(page, tabs_server, "personal", name, locale=locale, theme=theme)
    ready(frame)

    ask = frame.locator("#erase-ask")
    assert ask.inner_text().strip() == words["erase"] and ask.get_attribute("aria-expanded") == "false"
    ask.click()
    form = frame.locator("#erase-form")
    assert form.is_visible()
    assert frame.evaluate("document.activeElement.id") == "erase-question"
    explanation = form.inner_text()
    assert words["stays"] in explanation and words["undo"] in explanation
    assert name in frame.locator("#erase-confirm-hint").inner_text()  # what to type is on the screen
    tab_screenshot(page, frame, "explained")

    confirm = frame.locator("#erase-confirm")
    confirm.fill("Someone Else")
    frame.locator("#erase-yes").click()
    error = frame.locator("#erase-confirm-error")
    error.wait_for()
    assert words["wrong"] in error.inner_text()
    assert confirm.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in confirm.get_attribute("aria-describedby")
    assert confirm.evaluate("el => el === document.activeElement")
    assert person_state(tabs_server, name) == before  # a wrong name changes nothing
    tab_screenshot(page, frame, "wrong-name")

    confirm.fill(name.upper())  # the name as Teams shows it, in any case
    frame.locator("#erase-yes").click()
    frame.wait_for_function("() => document.body.dataset.problem === 'not_enrolled'")
    result = frame.locator("#erase-result")
    assert words["erased"] in result.inner_text()
    assert frame.evaluate("document.activeElement.id") == "erase-result"
    assert words["not_enrolled"] in frame.locator("#problem").inner_text()
    assert frame.locator("#content").is_hidden() and frame.locator("#retry").is_hidden()
    assert frame.locator("#header-links").is_hidden()  # no pages to point someone new to

    after = person_state(tabs_server, name)
    assert after["people"] == 0  # nobody by that name: not the erased row, nor a new one signed in again
    assert after["erased"] == before["erased"] + 1
    assert after["points"] == before["points"]  # the anonymous figures stay
    tab_screenshot(page, frame, "erased")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the deliberate 400


def coach_link(frame: Frame) -> Any:
    return frame.locator("#coach-link")


@pytest.mark.parametrize(("locale", "theme"), [
    pytest.param("nl-NL", "dark", id="nl-dark"),
    pytest.param("en-US", "default", id="en-default"),
])
def test_a_coach_finds_the_coach_pages_from_the_personal_tab(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any, locale: str, theme: str,
) -> None:
    frame = open_tab(page, tabs_server, "personal", "Esther Koster", locale=locale, theme=theme)
    ready(frame)
    link = coach_link(frame)
    assert link.is_visible() and link.inner_text().strip() == TEXTS[locale]["coach"]
    target = urlsplit(link.get_attribute("href"))
    assert target.path == "/tabs/coach"
    assert parse_qs(target.query) == {"locale": [locale], "theme": [theme]}
    tab_screenshot(page, frame, "coach-link")

    link.click()
    frame.wait_for_url("**/tabs/coach?*")
    frame.wait_for_function(SETTLED)
    assert frame.evaluate("document.documentElement.className") == f"theme-{theme}"
    assert frame.locator("h1").inner_text().strip() == "Coach"
    assert frame.evaluate("document.documentElement.lang") == locale[:2]
    assert_clean(browser_log)


def test_an_employee_sees_no_coach_link_and_an_admin_does(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
) -> None:
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url) if "/api/" in request.url else None)
    frame = open_tab(page, tabs_server, "personal", "Thijs Visser", locale="en-US")
    ready(frame)
    assert coach_link(frame).is_hidden()
    share = frame.locator("#share-link")  # the one other page every participant has
    assert share.is_visible()
    assert urlsplit(share.get_attribute("href")).path == "/tabs/share"
    assert parse_qs(urlsplit(share.get_attribute("href")).query) == {"locale": ["en-US"], "theme": ["default"]}
    assert [urlsplit(url).path for url in calls] == ["/api/me/programme"]  # the whole tab is one request

    frame = open_tab(page, tabs_server, "personal", "Gerrit Post", locale="nl-NL")  # the admin takes no part
    assert frame.evaluate("document.body.dataset.problem") == "not_enrolled"
    assert coach_link(frame).is_visible()
    tab_screenshot(page, frame, "admin-not-enrolled")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the admin's 404


def test_the_consent_tells_about_download_and_erase_and_offers_them(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
) -> None:
    name = "Jeroen Bos"
    with tabs_server.app.app_context():
        session = get_session()
        enrolment = session.scalar(select(Enrolment).join(Person, Person.id == Enrolment.person_id)
                                   .where(Person.display_name == name))
        enrolment.status = "invited"
        enrolment.consented_at = None
        session.commit()
    frame = open_tab(page, tabs_server, "personal", name, locale="nl-NL", theme="dark")
    ready(frame)
    assert frame.locator("#consent").is_visible()
    assert TEXTS["nl-NL"]["consent"] in frame.locator("#consent").inner_text()
    assert frame.locator("#my-data").is_visible() and frame.locator("#export-button").is_visible()
    tab_screenshot(page, frame, "consent")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the 403 that asks for consent
