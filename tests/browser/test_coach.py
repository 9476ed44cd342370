"""The coach pages and the lead's recognition in the Teams host sandbox (real teams-js, SSO token and API).

The demo organisation is in week 3 of its cohort: Esther Koster coaches it, Sanne de Vries leads Financieel
Advies, and three LinkedIn posts wait for review. Tests share one server (module scope), so each one uses
people the others leave alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Frame, Page

from plugin.services.demo import demo_oid, team_graph_id

from . import tabs_fixtures
from .conftest import BrowserLog, LiveServer
from .tabs_fixtures import api_as, open_tab

tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

COACH, LEAD, ADMIN = "Esther Koster", "Sanne de Vries", "Gerrit Post"
#: What a failed request (an API answer of 4xx on purpose) looks like in the console.
FAILED_LOAD = "Failed to load resource"


def assert_clean(log: BrowserLog, *, allow: tuple[str, ...] = ()) -> None:
    """No console errors or uncaught exceptions (apart from `allow`ed ones), and no request left the server."""
    assert [e for e in log.errors if not any(a in e for a in allow)] == []
    assert log.external == []


def api_send(server: LiveServer, name: str, method: str, path: str, body: Any = None) -> Any:
    """What the API answers `name` for a write, as (status, JSON)."""
    token = server.app.extensions["sandbox"].authority.mint_sso_token(demo_oid(name))
    response = server.app.test_client().open(path, method=method, json=body,
                                             headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


def texts(frame: Frame, selector: str) -> list[str]:
    return [text.strip() for text in frame.locator(selector).all_inner_texts()]


def wait_ready(frame: Frame) -> None:
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")


# -- the coach page ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "theme"), [("nl-NL", "default"), ("en-US", "dark"), ("en-US", "contrast")])
def test_the_coach_sees_the_groups_week(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any, locale: str, theme: str
) -> None:
    data = api_as(tabs_server, COACH, f"/api/coach?locale={locale}")
    frame = open_tab(page, tabs_server, "coach", COACH, locale=locale, theme=theme)

    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert frame.evaluate("document.documentElement.lang") == locale[:2]
    assert f"theme-{theme}" in frame.evaluate("document.documentElement.className")
    cohort = data["cohort"]
    headings = {"nl": ("Bewijs om te beoordelen", "Week 3 van 8"), "en": ("Evidence to review", "Week 3 of 8")}
    assert (frame.locator("#evidence-title").inner_text(), frame.locator("#summary-title").inner_text()) == \
        headings[locale[:2]]
    assert cohort["name"] in frame.locator("#cohort-line").inner_text()
    assert frame.locator("#cohort-select").input_value() == str(cohort["id"])
    summary = cohort["summary"]
    assert frame.locator("#sum-participants").inner_text() == str(summary["participants"])
    assert frame.locator("#sum-evidence").inner_text() == str(summary["evidence_pending"])
    assert frame.locator("#sum-risk").inner_text() == str(summary["at_risk"])

    # Who needs attention, with the detector's reasons in words, highest risk first.
    risk = frame.locator("#risk li.risk")
    assert risk.count() == len(cohort["at_risk"]) > 0
    assert texts(frame, "#risk li.risk .item-title") == [r["name"] for r in cohort["at_risk"]]
    assert texts(frame, "#risk li.risk:first-child .reasons li") == cohort["at_risk"][0]["reasons"]
    # The evidence queue (the personal helper's API) and the notes, nominations and recognitions.
    queue = api_as(tabs_server, COACH, f"/api/cohorts/{cohort['id']}/evidence?status=pending")["items"]
    assert frame.locator("#evidence li").count() == len(queue)
    assert texts(frame, "#checkins .note-text") == [c["note"] for c in cohort["checkins"]]
    assert texts(frame, "#nominations .item-title") == [n["nominee"]["name"] for n in cohort["nominations"]]
    assert texts(frame, "#recognitions .item-title") == [r["person"]["name"] for r in cohort["recognitions"]]
    # The impact report is one click away, for this group, in the same language and theme.
    link = frame.locator("#report-link")
    assert link.is_visible()
    assert link.get_attribute("href") == f"/tabs/coach/report?cohort={cohort['id']}&locale={locale}&theme={theme}"

    page.locator("#app-status", has_text="Ready").wait_for()
    tab_screenshot(page, frame, f"{locale}-{theme}")
    assert_clean(browser_log)


def test_a_coach_creates_a_group_with_the_keyboard(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    frame = open_tab(page, tabs_server, "coach", COACH, locale="en-US")
    running = frame.locator("#cohort-select").input_value()

    frame.locator("#new-cohort-button").focus()
    page.keyboard.press("Enter")
    assert frame.locator("#new-cohort").is_visible()
    assert frame.evaluate("document.activeElement.id") == "cohort-name"
    assert frame.locator("#cohort-timezone").input_value() == "Europe/Amsterdam"

    # Without a name the form says so next to the field, and nothing is created.
    frame.locator("#cohort-start").fill("2027-03-01")
    frame.locator("#cohort-create").click()
    problem = frame.locator("#cohort-name-problem")
    problem.wait_for()
    assert problem.inner_text() == "Give the group a name."
    assert frame.locator("#cohort-name").get_attribute("aria-invalid") == "true"
    tab_screenshot(page, frame, "form-problem")

    frame.locator("#cohort-name").fill("Voorjaar 2027")
    page.keyboard.press("Enter")  # submits the form
    frame.locator("#places-status", has_text="The group is created").wait_for()

    assert "Voorjaar 2027" in frame.locator("#cohort-select option:checked").inner_text()
    assert frame.locator("#new-cohort").is_hidden()
    assert frame.locator("#cohort-line").inner_text() == "Voorjaar 2027 · Starts on March 1, 2027"
    assert frame.locator("#places-status").inner_text() == "The group is created. Now pick its teams."
    created = [c for c in api_as(tabs_server, COACH, "/api/coach")["cohorts"] if c["name"] == "Voorjaar 2027"]
    assert len(created) == 1 and created[0]["start_date"] == "2027-03-01"

    # Pick two teams, invite their members; they show up as invited.
    for name in ("Financieel Advies", "IT & Data"):
        frame.get_by_label(name, exact=False).check()
    frame.locator("#places-save").click()
    frame.locator("#places-status", has_text="saved").wait_for()
    frame.locator("#enrol-button").click()
    frame.locator("#places-status", has_text="20").wait_for()
    frame.locator("#enrolled-summary").click()
    assert frame.locator("#enrolled tr").count() == 20
    assert set(texts(frame, "#enrolled td:nth-child(3)")) == {"Invited"}
    tab_screenshot(page, frame, "created")

    # Back to the running group through the picker.
    frame.locator("#cohort-select").select_option(running)
    frame.wait_for_function("() => document.getElementById('risk').children.length > 0")
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the refused form (400) on purpose


def pending_evidence(server: LiveServer, name: str) -> dict[str, Any]:
    """Hand in evidence as `name` through the personal API: the first mission of theirs that takes a link."""
    programme = api_as(server, name, "/api/me/programme?locale=en")
    mission = next(m for m in programme["missions"] if m.get("can_submit") and m["form"]["url"] == "required")
    url = {"linkedin": "https://www.linkedin.com/feed/update/urn:li:activity:7210000000000000042",
           "x": "https://x.com/noorderlicht/status/1810000000000000042"}[mission["form"]["platform"]]
    status, item = api_send(server, name, "POST", "/api/me/evidence",
                            {"mission": mission["slug"], "url": url, "note": "Mijn eigen post over ESG"})
    assert status == 201, item
    return item


def test_a_coach_reviews_evidence(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    item = pending_evidence(tabs_server, "Lotte Smit")
    frame = open_tab(page, tabs_server, "coach", COACH, locale="nl-NL")
    cohort_id = api_as(tabs_server, COACH, "/api/coach")["cohort"]["id"]
    queue = api_as(tabs_server, COACH, f"/api/cohorts/{cohort_id}/evidence?status=pending&locale=nl")["items"]
    card = frame.locator(f"#evidence li[data-id='{item['id']}']")
    assert card.locator(".item-title").inner_text() == "Lotte Smit"
    assert card.locator(".evidence-mission").inner_text() == next(
        e["mission"]["title"] for e in queue if e["id"] == item["id"])
    assert card.locator(".evidence-link a").get_attribute("href") == item["url"]
    assert card.locator(".evidence-note").inner_text() == "Mijn eigen post over ESG"

    # Rejecting needs a note: the form says so before anything is sent.
    card.locator(".reject").click()
    card.locator(".review-status[data-kind='error']").wait_for()
    assert card.get_attribute("data-reviewed") is None

    card.locator(".review-note").fill("Mooi stuk, goedgekeurd!")
    card.locator(".approve").click()
    card.locator(".review-status[data-kind='done']").wait_for()
    assert card.get_attribute("data-reviewed") == "approve"
    tab_screenshot(page, frame, "reviewed")

    approved = api_as(tabs_server, COACH, f"/api/cohorts/{cohort_id}/evidence?status=approved")["items"]
    assert [(e["id"], e["review_note"]) for e in approved if e["id"] == item["id"]] == [
        (item["id"], "Mooi stuk, goedgekeurd!")]
    assert_clean(browser_log)


def test_a_coach_writes_a_check_in_from_the_attention_list(
    page: Page, tabs_server: Any, browser_log: BrowserLog
) -> None:
    frame = open_tab(page, tabs_server, "coach", COACH, locale="en-US")
    first = frame.locator("#risk li.risk").first
    name = first.locator(".item-title").inner_text()
    first.locator(".risk-checkin").click()
    assert frame.evaluate("document.activeElement.id") == "checkin-note"
    assert name in frame.locator("#checkin-person option:checked").inner_text()

    frame.locator("#checkin-mission").select_option(label="Week 4: Halfway check-in")
    frame.locator("#checkin-note").fill("Talked about finding time for one post a week.")
    frame.locator("#checkin-save").click()
    frame.locator("#checkin-status[data-kind='done']").wait_for()

    assert "Halfway check-in" in frame.locator("#checkin-status").inner_text()
    assert texts(frame, "#checkins .item-title")[0] == name
    assert texts(frame, "#checkins .note-text")[0] == "Talked about finding time for one post a week."
    assert_clean(browser_log)


def test_the_coach_page_fits_a_phone(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    page.set_viewport_size({"width": 388, "height": 900})  # 68 px Teams rail + a 320 px tab
    frame = open_tab(page, tabs_server, "coach", COACH, locale="nl-NL")
    assert frame.evaluate("window.innerWidth") == 320
    assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    # Every form control has a label a screen reader announces.
    unlabeled = frame.evaluate("""() => Array.from(document.querySelectorAll(
        '#content input, #content select, #content textarea')).filter((el) => !el.closest('[hidden]')
        && el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.name)""")
    assert unlabeled == []
    tab_screenshot(page, frame, "320")
    assert_clean(browser_log)


def test_only_coaches_get_the_coach_page(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    frame = open_tab(page, tabs_server, "coach", LEAD, locale="en-US")
    assert frame.evaluate("document.body.dataset.problem") == "forbidden"
    assert frame.locator("#problem-title").inner_text() == "The coach pages are for coaches"
    assert frame.locator("#content").is_hidden()
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the API's 403


# -- recognition on the team tab ------------------------------------------------------------------------------------
def posted_cards(server: LiveServer) -> list[dict[str, Any]]:
    """Adaptive Cards the Graph emulator received in channel messages."""
    emulator = server.app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
    return [json.loads(a["content"]) for m in emulator.log()["postedMessages"]
            for a in emulator.scenario.messages[m["id"]].attachments]


@pytest.mark.parametrize(("locale", "theme", "colleague", "badge"), [
    ("nl-NL", "default", "Fleur Bakker", "Ambassadeur"), ("en-US", "dark", "Bram Meijer", "Ambassador")])
def test_a_lead_recognises_an_ambassador_who_then_sees_the_badge(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any, locale: str, theme: str,
    colleague: str, badge: str
) -> None:
    frame = open_tab(page, tabs_server, "team", LEAD, locale=locale, theme=theme, team=team_graph_id("fin"))
    assert frame.locator("#recognition").is_visible()
    frame.locator("#recognise-person").select_option(label=colleague)
    frame.locator("#recognise-kind input[value='ambassador']").check()
    frame.locator("#recognise-message").fill("Jouw klantcases maken het hele team beter.")
    frame.locator("#recognise-post").check()
    frame.locator("#recognise-send").click()
    status = frame.locator("#recognise-status[data-kind='done']")
    status.wait_for()

    assert colleague in status.inner_text() and "Algemeen" in status.inner_text()
    assert texts(frame, "#recent .item-title")[0] == colleague
    assert frame.locator("#recognise-person option", has_text=colleague).count() == 1
    card = posted_cards(tabs_server)[-1]
    assert card["lang"] == "nl" and colleague in json.dumps(card, ensure_ascii=False)  # the team works in Dutch
    tab_screenshot(page, frame, f"recognised-{locale}")

    mine = open_tab(page, tabs_server, "personal", colleague, locale=locale, theme=theme)
    wait_ready(mine)
    assert badge in texts(mine, "#badges-earned .badge-name")
    tab_screenshot(page, mine, f"badge-{locale}")
    assert_clean(browser_log)


def test_a_colleague_nominates_and_the_lead_confirms(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    frame = open_tab(page, tabs_server, "team", "Jeroen Bos", locale="en-US", team=team_graph_id("fin"))
    assert frame.evaluate("document.body.dataset.problem") == "forbidden"  # the progress is for leads
    form = frame.locator("#nominate")
    assert form.is_visible()
    frame.locator("#nominate-person").select_option(label="Anouk de Groot")
    frame.locator("#nominate-reason").fill("She explains Viva Engage to everyone.")
    frame.locator("#nominate-send").click()
    frame.locator("#nominate-status[data-kind='done']").wait_for()
    assert texts(frame, "#nominate-mine li") == ["Anouk de Groot: waiting for the lead"]
    tab_screenshot(page, frame, "nominated")

    lead = open_tab(page, tabs_server, "team", LEAD, locale="en-US", team=team_graph_id("fin"))
    item = lead.locator("#nominations li", has_text="Anouk de Groot")
    assert "Jeroen Bos" in item.inner_text()
    item.locator(".confirm-button").click()
    assert lead.evaluate("document.activeElement.id") == "recognise-message"
    assert lead.locator("#recognise-person option:checked").inner_text() == "Anouk de Groot"
    assert lead.locator("#recognise-nomination").is_visible()
    lead.locator("#recognise-message").fill("Thank you for helping us all get started!")
    lead.locator("#recognise-send").click()
    lead.locator("#recognise-status[data-kind='done']").wait_for()
    assert "Anouk de Groot is now an ambassador" in lead.locator("#recognise-status").inner_text()
    assert lead.locator("#nominations li", has_text="Anouk de Groot").count() == 0
    assert_clean(browser_log, allow=(FAILED_LOAD,))  # the colleague's 403 on the lead-only summary


def test_the_team_tab_fits_a_phone_with_the_recognition_form(
    page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any
) -> None:
    page.set_viewport_size({"width": 388, "height": 900})
    frame = open_tab(page, tabs_server, "team", LEAD, locale="nl-NL", theme="contrast", team=team_graph_id("fin"))
    assert frame.evaluate("document.documentElement.scrollWidth") <= 320
    assert frame.locator("#recognise-form").is_visible()
    tab_screenshot(page, frame, "320-contrast")
    assert_clean(browser_log)


def test_a_coach_withdraws_a_badge(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    frame = open_tab(page, tabs_server, "coach", COACH, locale="en-US")
    item = frame.locator("#recognitions li", has_text="Daan Jansen").first
    item.locator(".revoke-reason").fill("Given by mistake")
    item.locator(".revoke").click()
    item.locator(".recognition-revoked").wait_for()
    assert item.locator(".recognition-revoked").inner_text() == "Badge withdrawn: Given by mistake"
    daan = api_as(tabs_server, "Daan Jansen", "/api/me/programme?locale=en")
    assert not next(b for b in daan["badges"] if b["slug"] == "ambassador")["earned"]
    assert_clean(browser_log)
