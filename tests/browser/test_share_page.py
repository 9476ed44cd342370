"""The share page in the Teams host sandbox: compose a share with live feedback and post it to a Teams channel, in
Dutch and English, in the three themes, at phone width and with the keyboard."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Frame, Page
from sqlalchemy import select

from plugin.db import get_session
from plugin.models import LibraryItem
from plugin.services.demo import demo_oid

from . import tabs_fixtures
from .conftest import BrowserLog, LiveServer
from .tabs_fixtures import open_tab

tabs_server = tabs_fixtures.tabs_server
tab_screenshot = tabs_fixtures.tab_screenshot

pytestmark = pytest.mark.usefixtures("tabs_server")

ITEM_URL = "https://example.com/insights/duurzame-financiering"
NOTES = {
    "nl": ("Ik heb dit vorige week met een klant in de bouw doorgenomen. Wat mij opviel: de subsidie dekt ook de "
           "advieskosten, dus reken die mee in je begroting. Zo kreeg die klant twintig procent extra ruimte."),
    "en": ("I went through this with a construction client last week. What struck me: the subsidy also covers the "
           "advisory costs, so include them in your budget. That gave the client twenty percent more room."),
}


@pytest.fixture(scope="module")
def library_item(tabs_server: LiveServer) -> int:
    """One shareable item in the library (what a coach would add)."""
    with tabs_server.app.app_context():
        session = get_session()
        item = session.scalar(select(LibraryItem).where(LibraryItem.url == ITEM_URL))
        if item is None:
            item = LibraryItem(
                url=ITEM_URL, topics=["duurzaamheid"], channels=[],
                title={"nl": "Nieuwe gids voor duurzame financiering in het mkb",
                       "en": "New guide to sustainable finance for SMEs"},
                summary={"nl": "Ons kantoor publiceert een gids die ondernemers helpt duurzame investeringen te "
                               "financieren, met voorbeelden uit de bouw en de logistiek.",
                         "en": "Our firm publishes a guide that helps entrepreneurs finance sustainable investments, "
                               "with examples from construction and logistics."})
            session.add(item)
            session.commit()
        return item.id


def open_share(page: Page, server: LiveServer, name: str, locale: str, theme: str) -> Frame:
    lang = locale.split("-")[0]
    frame = open_tab(page, server, "personal", name, locale=locale, theme=theme,
                     url=f"/tabs/share?locale={lang}&theme={theme}")
    frame.wait_for_function("() => document.body.dataset.state === 'ready'")
    return frame


def posts_by(server: LiveServer, name: str) -> list[Any]:
    scenario = server.app.extensions["sandbox"].scenario
    return [m for m in scenario.messages.values() if m.author_oid == demo_oid(name) and ITEM_URL in m.body_html]


@pytest.mark.parametrize(("name", "locale", "theme", "words"), [
    pytest.param("Lotte Smit", "nl-NL", "default", {"broadcast": "zendmast", "good": "Telt als kennisdelen",
                                                    "posted": "Geplaatst in"}, id="nl-default"),
    pytest.param("Sophie Brouwer", "en-US", "dark", {"broadcast": "broadcast", "good": "Counts as knowledge sharing",
                                                     "posted": "Posted in"}, id="en-dark"),
])
def test_compose_with_live_feedback_and_post_to_a_teams_channel(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any, library_item: int,
    name: str, locale: str, theme: str, words: dict[str, str],
) -> None:
    frame = open_share(page, tabs_server, name, locale, theme)
    frame.locator("#share-item").select_option(str(library_item))
    assert frame.locator("#share-item-summary").inner_text().strip()

    frame.locator("#share-note").fill("Trots!")
    hints = frame.locator("#share-hints")
    hints.filter(has_text=words["broadcast"]).wait_for()  # the debounced preview answered
    assert frame.locator("#share-feedback").get_attribute("data-state") == "improve"
    tab_screenshot(page, frame, "broadcast")

    frame.locator("#share-note").fill(NOTES[locale[:2]])
    frame.locator("#share-verdict", has_text=words["good"]).wait_for()
    assert frame.locator("#share-feedback").get_attribute("data-state") == "good"

    target = frame.locator("#share-target")
    channel = target.locator("optgroup").first.locator("option").first
    target.select_option(channel.get_attribute("value"))
    frame.locator("#share-post").click()
    frame.locator("#share-status", has_text=words["posted"]).wait_for()
    tab_screenshot(page, frame, "posted")

    [message] = posts_by(tabs_server, name)
    assert NOTES[locale[:2]][:40] in message.body_html
    assert browser_log.errors == [] and browser_log.external == []


def test_phone_width_high_contrast_and_keyboard(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, tab_screenshot: Any, library_item: int,
) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    frame = open_share(page, tabs_server, "Bram Meijer", "en-US", "contrast")
    # The whole page fits the width: nothing scrolls sideways.
    assert frame.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    for control in ("share-item", "share-note", "share-target", "story-text", "story-link"):
        label = frame.locator(f"label[for='{control}']")
        assert label.count() == 1 and label.inner_text().strip(), control

    frame.locator("#share-item").focus()
    page.keyboard.press("ArrowDown")  # the first library item
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "share-note"
    page.keyboard.type("Short note")
    frame.locator("#share-words", has_text="2 of at least 12").wait_for()

    copy = frame.locator("#share-target option", has_text="X").last
    frame.locator("#share-target").select_option(copy.get_attribute("value"))
    frame.locator("#share-post").focus()
    page.keyboard.press("Enter")
    frame.locator("#copy-field:not([hidden])").wait_for()
    text = frame.locator("#copy-text").input_value()
    assert text.startswith("Short note") and "utm_source=x" in text
    tab_screenshot(page, frame, "copy")
    assert browser_log.errors == [] and browser_log.external == []


def test_a_retry_after_a_lost_answer_posts_once(
    page: Page, tabs_server: LiveServer, browser_log: BrowserLog, library_item: int, tab_screenshot: Any,
) -> None:
    name = "Eva de Boer"
    frame = open_share(page, tabs_server, name, "en-US", "default")
    frame.locator("#share-item").select_option(str(library_item))
    frame.locator("#share-note").fill(NOTES["en"])
    target = frame.locator("#share-target")
    target.select_option(target.locator("optgroup").first.locator("option").first.get_attribute("value"))
    sent: list[dict[str, Any]] = []

    def lose_the_first_answer(route: Any) -> None:
        sent.append(route.request.post_data_json)
        if len(sent) == 1:
            route.fetch()  # the server posts the share ...
            route.abort("connectionreset")  # ... and its answer never reaches the tab
        else:
            route.continue_()

    page.route(lambda url: urlsplit(url).path == "/api/me/share", lose_the_first_answer)
    frame.locator("#share-post").click()  # disables the button until the request is over
    frame.locator("#share-post:not([disabled])").wait_for()
    assert "Posted" not in frame.locator("#share-status").inner_text()  # the tab never heard back
    assert len(posts_by(tabs_server, name)) == 1
    tab_screenshot(page, frame, "answer-lost")
    frame.locator("#share-post").click()  # the participant tries again
    frame.locator("#share-status", has_text="Posted in").wait_for()
    tab_screenshot(page, frame, "retried")

    assert len(sent) == 2 and sent[0]["idempotency_key"] and sent[0] == sent[1]
    assert len(posts_by(tabs_server, name)) == 1
    # The next share is a new one, with a key of its own.
    frame.locator("#share-note").fill(NOTES["en"] + " Second thought.")
    frame.locator("#share-post").click()
    frame.locator("#share-status", has_text="Posted in").wait_for()
    assert len(sent) == 3 and sent[2]["idempotency_key"] != sent[0]["idempotency_key"]
    assert len(posts_by(tabs_server, name)) == 2
    assert browser_log.external == []
