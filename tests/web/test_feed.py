"""The knowledge feed: library items and colleagues' knowledge-sharing posts on the topics the participant follows,
newest first, paged, with deep links into Teams (no message text, which is never stored)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from plugin.models import Enrolment, LibraryItem
from tests.factories import make_activity, make_person

from .coaching_world import COACH, DAAN, FLEUR, THIJS, World, build_world

NOW = datetime.now(UTC)


@pytest.fixture
def world(client, authority, session) -> World:
    world = build_world(client, authority, session)
    enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(DAAN)))
    enrolment.intake = {"expertise": ["Duurzaamheid", "ESG"], "platforms": [], "goals": []}
    session.commit()
    return world


def add_item(session, url: str, topics: list[str], hours_ago: float, **extra) -> LibraryItem:
    item = LibraryItem(url=url, title={"en": f"About {url}", "nl": f"Over {url}"}, summary={"en": "", "nl": ""},
                       topics=topics, channels=[], created_at=NOW - timedelta(hours=hours_ago), **extra)
    session.add(item)
    session.commit()
    return item


def post(world: World, session, name: str, topics: list[str], hours_ago: float, **extra):
    channel = world.team_a.channels[0]
    fields = {"team_id": world.team_a.id, "channel_id": channel.id, "knowledge_sharing": True, "topics": topics,
              "occurred_at": NOW - timedelta(hours=hours_ago)}
    row = make_activity(session, author=world.people[name], **(fields | extra))
    session.commit()
    return row


def test_the_feed_shows_followed_topics_only_newest_first(world, session):
    add_item(session, "https://example.com/esg", ["esg"], hours_ago=5)
    add_item(session, "https://example.com/cloud", ["cloud"], hours_ago=1)
    add_item(session, "https://example.com/old", ["duurzaamheid"], hours_ago=30,
             expires_at=NOW - timedelta(hours=2))  # expired
    shared = post(world, session, FLEUR, ["duurzaamheid"], hours_ago=2)
    post(world, session, FLEUR, ["cloud"], hours_ago=3)  # not a followed topic
    post(world, session, THIJS, ["esg"], hours_ago=4, knowledge_sharing=False, broadcast=True)  # a broadcast
    post(world, session, THIJS, ["esg"], hours_ago=4, deleted_at=NOW)  # deleted
    post(world, session, DAAN, ["esg"], hours_ago=1)  # the caller's own
    outsider = make_person(session)
    make_activity(session, author=outsider, knowledge_sharing=True, topics=["esg"], occurred_at=NOW)  # not in cohort
    session.commit()

    answer = world.get(DAAN, "/api/me/feed?locale=en")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["topics"] == ["Duurzaamheid", "ESG"]
    entries = body["entries"]
    assert [(e["kind"], e.get("url") or e["id"]) for e in entries] == [
        ("post", shared.id), ("item", "https://example.com/esg")]
    colleague = entries[0]
    assert colleague["author"]["name"] == FLEUR and colleague["topics"] == ["duurzaamheid"]
    assert colleague["place"].endswith("› " + world.team_a.channels[0].display_name)
    link = urlsplit(colleague["link"])
    assert link.netloc == "teams.microsoft.com" and link.path.endswith(f"/{shared.external_id}")
    assert parse_qs(link.query)["groupId"] == [world.team_a.graph_id]
    assert not {"text", "body", "content"} & set(colleague)  # no message text is stored, so none is shown
    assert entries[1]["display_title"] == "About https://example.com/esg"


def test_the_feed_is_paged(world, session):
    for n in range(5):
        add_item(session, f"https://example.com/{n}", ["esg"], hours_ago=n)
    first = world.get(DAAN, "/api/me/feed?size=2").get_json()
    second = world.get(DAAN, "/api/me/feed?size=2&page=2").get_json()
    last = world.get(DAAN, "/api/me/feed?size=2&page=3").get_json()
    urls = [e["url"] for page in (first, second, last) for e in page["entries"]]
    assert urls == [f"https://example.com/{n}" for n in range(5)]
    assert first["has_more"] and second["has_more"] and not last["has_more"]


@pytest.mark.parametrize("query", ["page=0", "size=500", "page=two"])
def test_bad_paging_is_refused(world, query):
    answer = world.get(DAAN, f"/api/me/feed?{query}")
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_page"


def test_without_topics_the_feed_is_empty_and_says_so(world, session):
    add_item(session, "https://example.com/esg", ["esg"], hours_ago=1)
    body = world.get(FLEUR, "/api/me/feed").get_json()  # Fleur's intake has no topics
    assert body["topics"] == [] and body["entries"] == []


def test_only_participants_have_a_feed(world):
    assert world.get(COACH, "/api/me/feed").status_code == 404
    assert world.get(None, "/api/me/feed").status_code == 401
