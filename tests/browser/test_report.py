"""The impact report page in the Teams host sandbox: a coach opens it in Dutch and English, light, dark and contrast."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from playwright.sync_api import Frame, Page
from sqlalchemy import select

from plugin.db import get_session
from plugin.models import Award, Cohort
from plugin.services.demo import COHORT_NAME

from . import tabs_fixtures
from .conftest import BrowserLog
from .tabs_fixtures import api_as, open_tab

tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

ESTHER, SANNE = "Esther Koster", "Sanne de Vries"
CHARTS_DRAWN = "() => window.Chart && Object.keys(window.Chart.instances).length === 3"


def demo_cohort(server: Any) -> int:
    with server.app.app_context():
        return get_session().scalar(select(Cohort.id).where(Cohort.name == COHORT_NAME))


def open_report(page: Page, server: Any, name: str, locale: str, theme: str, query: str = "") -> Frame:
    url = f"/tabs/coach/report?cohort={demo_cohort(server)}{query}&locale={{locale}}&theme={{theme}}"
    return open_tab(page, server, "personal", name, locale=locale, theme=theme, url=url)


def texts(frame: Frame, selector: str) -> list[str]:
    return [text.strip() for text in frame.locator(selector).all_inner_texts()]


@pytest.mark.parametrize(("locale", "theme", "title"), [
    ("nl-NL", "default", "Impactrapport"), ("en-US", "dark", "Impact report"), ("nl-NL", "contrast", "Impactrapport"),
])
def test_a_coach_reads_the_impact_report(page: Page, tabs_server: Any, browser_log: BrowserLog, tab_screenshot: Any,
                                         locale: str, theme: str, title: str) -> None:
    data = api_as(tabs_server, ESTHER, f"/api/cohorts/{demo_cohort(tabs_server)}/impact?locale={locale}")
    frame = open_report(page, tabs_server, ESTHER, locale, theme)

    assert frame.evaluate("document.body.dataset.state") == "ready"
    assert frame.evaluate("document.documentElement.lang") == locale[:2]
    assert f"theme-{theme}" in frame.evaluate("document.documentElement.className")
    assert frame.locator("h1").inner_text() == title
    assert data["cohort"]["name"] in frame.locator("#report-line").inner_text()

    # What the API says, the page shows: statements, every figure with its definition, the teams.
    assert data["statements"], "the demo's numbers support at least one statement"
    assert texts(frame, "#statements li") == data["statements"]
    table_figures = [f for f in data["figures"] if f["unit"] != "count"]
    assert texts(frame, "#figures .figure-label") == [f["label"] for f in table_figures]
    assert texts(frame, "#figures .figure-definition") == [f["definition"] for f in table_figures]
    assert texts(frame, "#teams th") == [t["name"] for t in data["teams"]]

    # Three charts, each with its numbers as a table for screen readers.
    frame.wait_for_function(CHARTS_DRAWN)
    assert frame.locator("canvas[aria-hidden='true']").count() == 3
    assert frame.locator("#weekly-body tr").count() == len(data["weekly"])
    assert frame.locator("#rates-body tr").count() == 4
    assert frame.locator("#team-pick").is_visible()  # a coach can narrow the report to one team

    tab_screenshot(page, frame, f"{locale}-{theme}")
    assert browser_log.errors == [] and browser_log.external == []


def test_the_csv_download_has_the_figures_of_the_page(page: Page, tabs_server: Any, browser_log: BrowserLog) -> None:
    frame = open_report(page, tabs_server, ESTHER, "en-US", "default")
    frame.wait_for_function(CHARTS_DRAWN)

    with page.expect_download() as download:
        frame.locator("#download-csv").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))

    assert download.value.suggested_filename.startswith(f"impact-cohort-{demo_cohort(tabs_server)}-")
    statements = [r["statement"] for r in rows if r["section"] == "figure" and r["statement"]]
    assert statements == texts(frame, "#statements li")
    labels = [r["label"] for r in rows if r["section"] == "figure" and r["unit"] != "count"]
    assert labels == texts(frame, "#figures .figure-label")
    assert browser_log.errors == []


def test_a_lead_is_told_the_cohort_report_is_for_the_coach(page: Page, tabs_server: Any,
                                                           browser_log: BrowserLog) -> None:
    frame = open_report(page, tabs_server, SANNE, "en-US", "default")

    assert frame.evaluate("document.body.dataset.state") == "problem"
    assert frame.locator("#problem-title").inner_text() == "This report is for the group's coach"
    assert frame.locator("#retry").is_hidden()
    # The refused API call shows up as a failed resource in the console; nothing else may.
    assert [e for e in browser_log.errors if "Failed to load resource" not in e] == []


@pytest.mark.parametrize(("lang", "scheme", "expected"), [("nl", "light", "Geverifieerd"), ("en", "dark", "Verified")])
def test_the_public_verification_page(page: Page, tabs_server: Any, browser_log: BrowserLog, screenshot: Any,
                                      lang: str, scheme: str, expected: str) -> None:
    with tabs_server.app.app_context():
        public_id = get_session().scalar(select(Award.public_id).where(Award.public.is_(True)))
    page.emulate_media(color_scheme=scheme)
    response = page.goto(f"{tabs_server.url}/verify/{public_id}?lang={lang}")

    assert response is not None and response.status == 200
    assert expected in page.locator(".status").inner_text()
    assert page.locator("img.badge-image").evaluate("img => img.naturalWidth") == 256
    assert page.locator("a[href^='https://www.linkedin.com/profile/add']").count() == 1
    screenshot(page, f"{lang}-{scheme}")
    assert browser_log.errors == [] and browser_log.external == []
