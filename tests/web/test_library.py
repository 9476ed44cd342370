"""The content library over the API: coaches and admins write, everyone reads what has not expired; every write
is validated (http/https URLs, lengths, HTML stripped) and a refused one changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.domain.classify import classify_post
from plugin.models import LibraryItem
from plugin.services.library import corporate_library

from .coaching_world import ADMIN, COACH, DAAN, LEAD, World, build_world

ITEM = {
    "url": "https://example.com/insights/mkb-financiering",
    "title": {"en": "New guide to sustainable finance for SMEs",
              "nl": "Nieuwe gids voor duurzame financiering in het mkb"},
    "summary": {"en": "Our firm publishes a guide that helps entrepreneurs finance sustainable investments.",
                "nl": "Ons kantoor publiceert een gids die ondernemers helpt duurzame investeringen te financieren."},
    "topics": ["#duurzaamheid", "financiering"],
}


@pytest.fixture
def world(client, authority, session) -> World:
    return build_world(client, authority, session)


def item_count(session) -> int:
    return session.scalar(select(func.count()).select_from(LibraryItem))


@pytest.mark.parametrize("who", [COACH, ADMIN])
def test_coaches_and_admins_add_items_that_everyone_reads(world, session, who):
    added = world.post(who, "/api/library", ITEM)
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert body["topics"] == ["duurzaamheid", "financiering"] and body["title"]["nl"].startswith("Nieuwe gids")

    listed = world.get(DAAN, "/api/library?locale=en")
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    assert item["url"] == ITEM["url"] and item["display_title"] == ITEM["title"]["en"]


@pytest.mark.parametrize("who,status", [(DAAN, 403), (LEAD, 403), (None, 401)])
def test_participants_and_leads_cannot_write(world, session, who, status):
    assert world.post(who, "/api/library", ITEM).status_code == status
    assert item_count(session) == 0


@pytest.mark.parametrize("change,field", [
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "ftp://example.com/file"}, "url"),
    ({"url": "https://"}, "url"),
    ({"url": "https://example.com/" + "a" * 2000}, "url"),
    ({"title": {"en": "", "nl": ""}}, "title"),
    ({"title": {"en": "x" * 201, "nl": "ok"}}, "title.en"),
    ({"title": {"de": "Hallo"}}, "title"),
    ({"summary": {"en": "y" * 1001}}, "summary.en"),
    ({"topics": "duurzaamheid"}, "topics"),
    ({"topics": [f"t{n}" for n in range(11)]}, "topics"),
    ({"channels": [{"type": "slack", "id": "x"}]}, "channels"),
    ({"expires_at": "next week"}, "expires_at"),
])
def test_invalid_items_are_refused_with_the_field_and_nothing_changes(world, session, change, field):
    answer = world.post(COACH, "/api/library", {**ITEM, **change})
    assert answer.status_code == 400
    assert answer.get_json()["field"] == field and answer.get_json()["message"]
    assert item_count(session) == 0


def test_html_is_stripped_from_texts(world, session):
    body = {**ITEM, "title": {"en": "<b>Bold</b> <script>alert(1)</script>move", "nl": "<i>Moedig</i> &amp; sterk"}}
    answer = world.post(COACH, "/api/library", body)
    assert answer.status_code == 201
    assert answer.get_json()["title"] == {"en": "Bold move", "nl": "Moedig & sterk"}


def test_the_same_link_twice_is_a_conflict(world, session):
    assert world.post(COACH, "/api/library", ITEM).status_code == 201
    again = world.post(COACH, "/api/library", ITEM)
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate_url"
    assert item_count(session) == 1


def test_expired_items_are_not_listed(world, session):
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert world.post(COACH, "/api/library", {**ITEM, "expires_at": past}).status_code == 201
    assert world.get(DAAN, "/api/library").get_json()["items"] == []


def test_a_coach_changes_and_removes_an_item(world, session):
    item_id = world.post(COACH, "/api/library", ITEM).get_json()["id"]
    changed = world.open("PATCH", COACH, f"/api/library/{item_id}", {"topics": ["advies"]})
    assert changed.status_code == 200 and changed.get_json()["topics"] == ["advies"]
    refused = world.open("PATCH", COACH, f"/api/library/{item_id}", {"url": "mailto:x@example.com"})
    assert refused.status_code == 400 and session.get(LibraryItem, item_id).url == ITEM["url"]
    assert world.open("DELETE", DAAN, f"/api/library/{item_id}").status_code == 403
    assert world.open("DELETE", COACH, f"/api/library/{item_id}").status_code == 204
    assert item_count(session) == 0
    assert world.open("DELETE", COACH, f"/api/library/{item_id}").status_code == 404


def test_library_items_are_the_corporate_texts_the_classifier_compares_against(world, session):
    pasted = f"<p>{ITEM['title']['nl']}. {ITEM['summary']['nl']}</p>"
    assert not classify_post(pasted, corporate_texts=corporate_library(session)).broadcast  # empty library
    assert world.post(COACH, "/api/library", ITEM).status_code == 201
    assert classify_post(pasted, corporate_texts=corporate_library(session)).broadcast


def test_the_library_routes_are_in_the_openapi_document(world):
    paths = world.client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/library", "/api/library/{item_id}", "/api/library/feeds", "/api/me/share",
            "/api/me/share/preview", "/api/me/feed", "/api/me/stories", "/api/cohorts/{cohort_id}/stories",
            "/api/stories/{story_id}/feature"} <= set(paths)
