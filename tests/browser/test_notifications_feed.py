"""The host page's activity feed panel shows what the Graph emulator received for the signed-in person.

The notifications are planned and sent by the real service through the app's own Graph client, as the worker
does; the panel then shows them as Teams would: the manifest's template in the host's language, our preview text,
and a link that opens the tab the deep link names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from playwright.sync_api import Page

from plugin.adapters.graph import GraphClient
from plugin.db import get_session
from plugin.domain.programme import default_programme
from plugin.services.demo import demo_oid
from plugin.services.manifest import default_app_id
from plugin.services.notifications import deliver, plan_scheduled
from plugin.services.programmes import copy_missions
from tests.browser.conftest import BrowserLog, LiveServer
from tests.factories import make_cohort, make_enrolment, make_person

START = date(2026, 9, 7)
WEEK_2_OPENED = datetime.combine(date(2026, 9, 14), time(8, 5), tzinfo=ZoneInfo("Europe/Amsterdam")).astimezone(UTC)


def send_week_2_unlock(server: LiveServer, names: list[str]) -> None:
    """Enrol the demo people `names` and let the notification service plan and send week 2's unlock."""
    app = server.app
    with app.app_context():
        session = get_session()
        cohort = make_cohort(session, name="Feed panel", start_date=START)
        copy_missions(session, cohort, default_programme())
        for name in names:
            person = make_person(session, entra_oid=demo_oid(name), display_name=name, preferred_locale="nl")
            make_enrolment(session, cohort=cohort, person=person,
                           enrolled_at=datetime(2026, 9, 4, 9, tzinfo=UTC))
        session.commit()
        plan_scheduled(session, now=WEEK_2_OPENED)
        authority = app.extensions["sandbox"].authority
        client_id = app.config["AZURE_CLIENT_ID"]
        with GraphClient.from_app(app, lambda: authority.mint_app_token(client_id)) as graph:
            result = deliver(session, graph, app_id=default_app_id(client_id), now=WEEK_2_OPENED)
        assert result.sent == len(names)


def open_host(page: Page, server: LiveServer, name: str, locale: str) -> None:
    params = {"tab": "personal", "user": demo_oid(name), "locale": locale, "url": "/dev/host/probe"}
    page.goto(f"{server.url}/dev/host?{urlencode(params)}")


def test_the_feed_panel_lists_the_signed_in_persons_notifications_in_their_language(
    page: Page, live_server: LiveServer, browser_log: BrowserLog, screenshot: Any
) -> None:
    send_week_2_unlock(live_server, ["Daan Jansen", "Fleur Bakker"])
    title = next(m for week, m in default_programme().missions() if week == 2 and not m.optional).title

    open_host(page, live_server, "Daan Jansen", "nl-NL")
    mine = page.locator("#feed-list li.mine", has_text=f"Week 2 is begonnen: {title.nl}")
    mine.wait_for()
    assert f"Week 2 is begonnen. Begin met: {title.nl}" in mine.inner_text()  # the preview text
    assert page.locator("#feed-list li.mine").count() == 1  # one notification, though sent to two people
    screenshot(page, "nl")

    # The link opens the tab the deep link names (the personal tab), as the same person.
    mine.get_by_role("link", name="Open").click()
    page.wait_for_url("**/dev/host?*tab=personal*")
    assert demo_oid("Daan Jansen") in page.url and "url=" not in page.url

    # Teams renders the template in the reader's language; someone else sees their own copy.
    open_host(page, live_server, "Fleur Bakker", "en-US")
    page.locator("#feed-list li.mine", has_text=f"Week 2 has started: {title.nl}").wait_for()
    assert browser_log.errors == [] and browser_log.external == []
