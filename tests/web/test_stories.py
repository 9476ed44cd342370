"""Success stories: participants log outcomes, the cohort's coach reads and features the shareable ones, and the
impact report's service lists the featured stories."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugin.models import SuccessStory
from plugin.services.stories import featured_stories
from tests.factories import make_cohort

from .coaching_world import ADMIN, COACH, DAAN, FLEUR, LEAD, World, build_world

STORY = {"type": "client", "text": "Een klant belde na mijn post over de nieuwe subsidie: we hebben een afspraak.",
         "link": "https://teams.microsoft.com/l/message/19:abc/123", "shareable": True}


@pytest.fixture
def world(client, authority, session) -> World:
    return build_world(client, authority, session)


def story_count(session) -> int:
    return session.scalar(select(func.count()).select_from(SuccessStory))


def test_a_participant_logs_a_story_and_sees_it(world, session):
    answer = world.post(DAAN, "/api/me/stories", STORY)
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["type"] == "client" and body["shareable"] and not body["featured"]
    assert body["cohort_id"] == world.cohort.id
    assert [s["id"] for s in world.get(DAAN, "/api/me/stories").get_json()["stories"]] == [body["id"]]
    assert world.get(FLEUR, "/api/me/stories").get_json()["stories"] == []


@pytest.mark.parametrize("change,field", [
    ({"type": "lottery"}, "type"),
    ({"text": ""}, "text"),
    ({"text": "<b></b>"}, "text"),
    ({"text": "x" * 1001}, "text"),
    ({"link": "javascript:alert(1)"}, "link"),
    ({"shareable": "yes"}, "shareable"),
])
def test_invalid_stories_are_refused_and_nothing_is_stored(world, session, change, field):
    answer = world.post(DAAN, "/api/me/stories", {**STORY, **change})
    assert answer.status_code == 400 and answer.get_json()["field"] == field
    assert story_count(session) == 0


def test_html_is_stripped_from_a_story(world, session):
    body = world.post(DAAN, "/api/me/stories", {**STORY, "text": "<p>Gesprek met <b>klant</b></p>"}).get_json()
    assert body["text"] == "Gesprek met klant"


def test_someone_who_is_not_taking_part_cannot_log_a_story(world, session):
    assert world.post(COACH, "/api/me/stories", STORY).status_code == 404
    assert story_count(session) == 0


def test_the_coach_reads_and_features_shareable_stories_for_the_impact_report(world, session):
    shown = world.post(DAAN, "/api/me/stories", STORY).get_json()["id"]
    private = world.post(FLEUR, "/api/me/stories", {**STORY, "shareable": False, "type": "press"}).get_json()["id"]

    listed = world.get(COACH, f"/api/cohorts/{world.cohort.id}/stories")
    assert listed.status_code == 200
    assert {(s["id"], s["person"]["name"]) for s in listed.get_json()["stories"]} == {(shown, DAAN), (private, FLEUR)}

    featured = world.post(COACH, f"/api/stories/{shown}/feature")
    assert featured.status_code == 200 and featured.get_json()["featured"]
    refused = world.post(COACH, f"/api/stories/{private}/feature")
    assert refused.status_code == 409 and refused.get_json()["error"] == "not_shareable"

    assert [(s["id"], s["person"]["name"]) for s in featured_stories(session, world.cohort.id)] == [(shown, DAAN)]
    assert world.post(COACH, f"/api/stories/{shown}/feature", {"featured": False}).get_json()["featured"] is False
    assert featured_stories(session, world.cohort.id) == []


@pytest.mark.parametrize("who,status", [(DAAN, 403), (LEAD, 403), (None, 401)])
def test_only_coaches_read_and_feature(world, session, who, status):
    story = world.post(DAAN, "/api/me/stories", STORY).get_json()["id"]
    assert world.get(who, f"/api/cohorts/{world.cohort.id}/stories").status_code == status
    assert world.post(who, f"/api/stories/{story}/feature").status_code == status
    assert not session.get(SuccessStory, story).featured


def test_a_coach_of_another_cohort_cannot_feature(world, session):
    story = world.post(DAAN, "/api/me/stories", STORY).get_json()["id"]
    other = make_cohort(session, created_by_id=world.id(ADMIN))
    session.commit()
    world.cohort.created_by_id = world.id(ADMIN)  # the cohort now belongs to another coach
    session.commit()
    assert world.get(COACH, f"/api/cohorts/{world.cohort.id}/stories").status_code == 403
    assert world.post(COACH, f"/api/stories/{story}/feature").status_code == 403
    assert world.get(ADMIN, f"/api/cohorts/{other.id}/stories").get_json()["stories"] == []
    assert world.post(ADMIN, f"/api/stories/{story}/feature").status_code == 200  # admins may
    assert world.post(COACH, "/api/stories/99999/feature").status_code == 404
