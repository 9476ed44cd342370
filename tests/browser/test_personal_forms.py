"""The personal tab's forms in the Teams host sandbox: hand in evidence, answer the intake, change the language,
agree to take part; in Dutch and English, in the three Teams themes, with the keyboard and at phone width."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Frame, Page
from sqlalchemy import select

from plugin.db import get_session
from plugin.models import Enrolment, Person

from . import tabs_fixtures
from .conftest import BrowserLog, LiveServer
from .tabs_fixtures import SETTLED, api_as, open_tab

tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

#: The 403 a person who has not agreed yet gets from /api/me/programme shows up as a console error.
FAILED_LOAD = "Failed to load resource"


def assert_clean(log: BrowserLog, *, allow: tuple[str, ...] = ()) -> None:
    """No console errors or uncaught exceptions (apart from `allow`ed ones), and no request left the server."""
    assert [e for e in log.errors if not any(a in e for a in allow)] == []
    assert log.external == []


def change_enrolment(server: LiveServer, name: str, **fields: Any) -> None:
    """Set fields of `name`'s enrolment directly in the database (a coach's or a cohort's doing)."""
    with server.app.app_context():
        session = get_session()
        enrolment = session.scalar(select(Enrolment).join(Person, Person.id == Enrolment.person_id)
                                   .where(Person.display_name == name))
        for key, value in fields.items():
            setattr(enrolment, key, value)
        session.commit()


def open_evidence_mission(server: LiveServer, name: str, locale: str) -> dict[str, Any]:
    """The person's open mission that asks for a link, as the API describes it."""
    data = api_as(server, name, f"/api/me/programme?locale={locale}")
    return next(m for m in data["missions"] if m["can_submit"] and m["form"]["url"] == "required")


def wait_ready(frame: Frame) -> None:
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")


@pytest.mark.parametrize(("name", "locale", "theme", "link"), [
    pytest.param("Lotte Smit", "nl-NL", "default", "https://www.linkedin.com/posts/lotte-smit_lean-activity-1",
                 id="nl-default"),
    pytest.param("Sophie Brouwer", "en-US", "dark", "https://www.linkedin.com/posts/sophie-brouwer_data-activity-2",
                 id="en-dark"),
])
def test_hand_in_evidence_and_see_it_wait_for_review(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
    name: str, locale: str, theme: str, link: str,
) -> None:
    mission = open_evidence_mission(tabs_server, name, locale)
    if mission["form"]["platform"] == "x":
        link = link.replace("https://www.linkedin.com/posts/", "https://x.com/") + "/status/1"
    frame = open_tab(page, tabs_server, "personal", name, locale=locale, theme=theme)
    card = frame.locator(f".mission[data-slug='{mission['slug']}']")
    opener = card.locator(".evidence-open")
    assert opener.get_attribute("aria-expanded") == "false"

    opener.click()
    url = card.locator("input[name=url]")
    assert url.evaluate("el => el === document.activeElement")  # the form opens with the focus in it
    label = card.locator(f"label[for='{url.get_attribute('id')}']").inner_text()
    assert ("LinkedIn" if mission["form"]["platform"] == "linkedin" else "X") in label
    tab_screenshot(page, frame, "form")

    url.fill("www.linkedin.com/posts/zonder-https")  # refused by the server, shown at the field
    card.locator("fluent-button[type=submit]").click()
    error = card.locator(".evidence-url .field-error")
    error.wait_for()
    assert url.get_attribute("aria-invalid") == "true"
    assert "https://" in error.inner_text()
    assert error.get_attribute("id") in url.get_attribute("aria-describedby")
    assert url.evaluate("el => el === document.activeElement")
    tab_screenshot(page, frame, "refused")

    url.fill(link)
    card.locator("textarea[name=note]").fill("Mijn eigen kijk erop" if locale == "nl-NL" else "My own take on it")
    card.locator("fluent-button[type=submit]").click()

    card = frame.locator(f".mission[data-slug='{mission['slug']}'][data-evidence='pending']")
    card.wait_for()
    waiting = "Wacht op beoordeling" if locale == "nl-NL" else "Waiting for review"
    assert card.locator(".mission-status").inner_text().strip() == waiting
    assert card.locator(".evidence-state").evaluate("el => el === document.activeElement")
    assert card.locator(".evidence-open").count() == 0  # one piece of evidence waits per mission
    stored = open_evidence_mission_state(tabs_server, name, mission["slug"])
    assert stored["status"] == "pending" and stored["url"] == link
    tab_screenshot(page, frame, "pending")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the deliberate 400


def open_evidence_mission_state(server: LiveServer, name: str, slug: str) -> dict[str, Any]:
    data = api_as(server, name, "/api/me/programme?locale=en-US")
    return next(m for m in data["missions"] if m["slug"] == slug)["evidence"]


def test_hand_in_with_the_keyboard_only(page: Page, tabs_server: LiveServer, browser_log: BrowserLog) -> None:
    name = "Bram Meijer"
    mission = open_evidence_mission(tabs_server, name, "en-US")
    frame = open_tab(page, tabs_server, "personal", name, locale="en-US", theme="contrast")
    card = frame.locator(f".mission[data-slug='{mission['slug']}']")

    card.locator(".evidence-open").focus()
    page.keyboard.press("Enter")
    host = "x.com/bram/status/42" if mission["form"]["platform"] == "x" else "www.linkedin.com/posts/bram-42"
    page.keyboard.type(f"https://{host}")
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.name") == "note"
    page.keyboard.type("Written on the train")
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.getAttribute('type')") == "submit"
    assert frame.evaluate("document.activeElement.matches(':focus-visible')")  # Fluent draws its focus ring
    page.keyboard.press("Enter")

    frame.locator(f".mission[data-slug='{mission['slug']}'][data-evidence='pending']").wait_for()
    assert_clean(browser_log)


def test_fill_in_the_intake_on_the_first_visit(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    name = "Lisa van Leeuwen"
    change_enrolment(tabs_server, name, intake=None, intake_completed_at=None, baseline_connections=None,
                     baseline_followers=None)
    frame = open_tab(page, tabs_server, "personal", name, locale="nl-NL")
    intake = frame.locator("#intake")
    assert intake.is_visible()
    assert frame.locator("#intake-title").inner_text() == "Vertel iets over jezelf"
    tab_screenshot(page, frame, "intake-nl")

    frame.get_by_label("LinkedIn", exact=True).check()
    frame.get_by_label("X (voorheen Twitter)").check()
    frame.get_by_label("Geen van deze").check()  # "none" clears the others …
    assert not frame.get_by_label("LinkedIn", exact=True).is_checked()
    frame.get_by_label("LinkedIn", exact=True).check()  # … and choosing one clears "none"
    frame.get_by_label("X (voorheen Twitter)").check()
    assert not frame.get_by_label("Geen van deze").is_checked()
    frame.locator("#intake-connections").fill("250")
    frame.locator("#intake-followers").fill("40")
    frame.get_by_label("Waar weet je veel van?").fill("lean, cloud")
    frame.get_by_label("Mijn netwerk laten groeien").check()
    frame.locator("#intake-save").click()

    frame.locator("#page-status", has_text="Bedankt").wait_for()
    assert intake.is_hidden()
    answers = api_as(tabs_server, name, "/api/me/programme?locale=nl-NL")["extra"]["intake"]
    assert answers["platforms"] == ["linkedin", "x"] and answers["expertise"] == ["lean", "cloud"]
    assert (answers["connections"], answers["followers"], answers["goals"]) == (250, 40, ["network"])

    frame.locator("#intake-open").click()  # reopened from the settings, with the answers filled in
    assert intake.is_visible() and frame.locator("#intake-skip").is_hidden()
    assert frame.locator("#intake-expertise").input_value() == "lean, cloud"
    assert frame.evaluate("document.activeElement.id") == "intake-title"
    frame.locator("#intake-cancel").click()
    assert intake.is_hidden()
    assert_clean(browser_log)


def test_change_the_language_and_see_the_tab_switch(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    name = "Kevin de Wit"  # works in Teams in German; Ambassador speaks Dutch and English
    with tabs_server.app.app_context():
        session = get_session()
        session.scalar(select(Person).where(Person.display_name == name)).preferred_locale = "nl"
        session.commit()
    frame = open_tab(page, tabs_server, "personal", name, locale="de-DE")
    wait_ready(frame)
    assert frame.evaluate("document.documentElement.lang") == "nl"  # his own choice, not the browser's English
    assert frame.locator("h1").inner_text() == "Mijn programma"

    frame.get_by_label("Taal").select_option("en")
    frame.locator("#settings-save").click()
    frame.wait_for_function("() => document.documentElement.lang === 'en'")
    frame.wait_for_function(SETTLED)
    wait_ready(frame)

    assert frame.locator("h1").inner_text() == "My programme"
    assert frame.get_by_label("Language").input_value() == "en"
    mission_titles = [t.strip() for t in frame.locator("#missions .mission-title").all_inner_texts()]
    english = api_as(tabs_server, name, "/api/me/programme?locale=en-US")
    assert mission_titles == [m["title"] for m in english["missions"] if m["week"] == english["week"]]
    tab_screenshot(page, frame, "switched-en")
    assert_clean(browser_log)


def test_teams_language_comes_first_and_the_tab_says_so(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog
) -> None:
    frame = open_tab(page, tabs_server, "personal", "Niels Dijkstra", locale="nl-NL")
    frame.get_by_label("Taal").select_option("en")
    frame.get_by_label("Laat mij zien met mijn naam").check()
    frame.locator("#settings-save").click()

    frame.locator("#settings-status", has_text="Opgeslagen").wait_for()
    assert "Teams staat op Nederlands" in frame.locator("#settings-status").inner_text()
    assert frame.evaluate("document.documentElement.lang") == "nl"
    me = frame.locator("#ranking tr.me")  # named in the ranking now
    me.wait_for()
    assert "Niels Dijkstra" in me.inner_text()
    assert_clean(browser_log)


@pytest.mark.parametrize(("locale", "theme", "width"), [
    ("nl-NL", "default", 1400), ("en-US", "dark", 1400), ("nl-NL", "contrast", 388), ("en-US", "default", 388),
])
def test_consent_before_taking_part(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any,
    locale: str, theme: str, width: int,
) -> None:
    name = {"nl-NL": "Mark Dekker", "en-US": "Olga Nowak"}[locale] if width > 400 else \
        {"nl-NL": "Iris Smits", "en-US": "James O'Connor"}[locale]
    change_enrolment(tabs_server, name, status="invited", consented_at=None, consent_version=None)
    page.set_viewport_size({"width": width, "height": 900})
    frame = open_tab(page, tabs_server, "personal", name, locale=locale, theme=theme)

    assert frame.locator("#consent").is_visible() and frame.locator("#programme").is_hidden()
    text = frame.locator("#consent").inner_text()
    if locale == "nl-NL":
        assert "Doe je mee aan" in text and "De tekst van je berichten wordt niet bewaard" in text
    else:
        assert "Take part in" in text and "The text of your messages is not kept" in text
    if width < 400:
        assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    tab_screenshot(page, frame, "consent")

    frame.locator("#consent-yes").click()
    frame.locator("#programme #missions li").first.wait_for()
    assert frame.locator("#consent").is_hidden()
    assert frame.evaluate("document.activeElement.tagName") == "H1"
    with tabs_server.app.app_context():
        status, consented = get_session().execute(
            select(Enrolment.status, Enrolment.consented_at).join(Person, Person.id == Enrolment.person_id)
            .where(Person.display_name == name)).one()
    assert status == "active" and consented is not None and consented <= datetime.now(UTC)
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the 403 that asks for consent


def test_withdraw_and_join_again(page: Page, tabs_server: LiveServer, browser_log: BrowserLog) -> None:
    frame = open_tab(page, tabs_server, "personal", "Noor El Amrani", locale="en-US")
    frame.locator("#withdraw-ask").click()
    assert frame.evaluate("document.activeElement.id") == "withdraw-no"
    frame.locator("#withdraw-yes").click()

    frame.locator("#consent").wait_for()
    assert "You stopped taking part" in frame.locator("#consent-title").inner_text()
    assert frame.locator("#consent-yes").inner_text().strip() == "Take part again"
    frame.locator("#consent-yes").click()
    frame.locator("#programme #missions li").first.wait_for()
    assert_clean(browser_log, allow=(FAILED_LOAD,))


@pytest.mark.parametrize(("locale", "theme"), [("nl-NL", "default"), ("en-US", "dark"), ("nl-NL", "contrast")])
def test_settings_and_intake_fit_a_phone(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any, locale: str, theme: str
) -> None:
    page.set_viewport_size({"width": 388, "height": 900})
    frame = open_tab(page, tabs_server, "personal", "Ruben Mulder", locale=locale, theme=theme)
    frame.locator("#intake-open").click()
    mission = frame.locator(".mission .evidence-open").first
    if mission.count():
        mission.click()

    assert frame.evaluate("window.innerWidth") == 320
    assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    tab_screenshot(page, frame, "forms")
    assert_clean(browser_log)
