"""A participant's settings: language, ranking visibility and muted notifications (`GET/PUT /api/me/settings`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from plugin.models import Enrolment, Person

from .personal_world import DAAN, FLEUR, GERRIT, SANNE, World, make_world


@pytest.fixture
def world(app, client, authority) -> World:
    """Week 3; Daan, Fleur and Sanne take part."""
    world = make_world(app, client, authority, week=3)
    for name in (DAAN, FLEUR, SANNE):
        world.enrol(name)
    return world


def settings(world: World, name: str | None, query: str = ""):
    return world.call("GET", f"/api/me/settings{query}", name)


def change(world: World, name: str | None, body, query: str = ""):
    return world.call("PUT", f"/api/me/settings{query}", name, json=body)


def stored(world: World, name: str) -> tuple:
    with world.db() as session:
        locale = session.scalar(select(Person.preferred_locale).where(Person.id == world.people[name]))
        row = session.execute(select(Enrolment.ranking_visibility, Enrolment.muted_notifications)
                              .where(Enrolment.person_id == world.people[name])).first()
    return locale, *(row or (None, None))


def test_rankings_are_off_and_nothing_is_muted_by_default(world):
    body = settings(world, DAAN).get_json()
    assert body["ranking_visibility"] == "off"
    assert body["muted_notifications"] == []
    assert body["notification_types"] == ["week_unlocked", "mission_due", "evidence_reviewed", "badge_earned",
                                          "recognised", "nudge", "cohort_finished"]
    assert body["locale"] == "auto" and body["enrolled"] is True
    assert world.programme(DAAN)["settings"]["ranking_visibility"] == "off"


def test_changing_one_setting_keeps_the_others(world):
    assert change(world, DAAN, {"muted_notifications": ["nudge", "mission_due"]}).status_code == 200
    response = change(world, DAAN, {"ranking_visibility": "named"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["ranking_visibility"] == "named"
    assert body["muted_notifications"] == ["mission_due", "nudge"]  # in the order of the types
    assert stored(world, DAAN) == (None, "named", ["mission_due", "nudge"])


def test_choosing_to_be_named_puts_the_person_in_the_ranking(world):
    assert world.programme(DAAN)["ranking"] is None
    change(world, DAAN, {"ranking_visibility": "named"})
    change(world, FLEUR, {"ranking_visibility": "pseudonymous"})

    ranking = world.programme(DAAN)["ranking"]

    assert [row["name"] for row in ranking if row["is_me"]] == [DAAN]
    assert [row["name"] for row in ranking if not row["is_me"]] == [None]  # Fleur, without her name
    assert SANNE not in {row["name"] for row in ranking}  # she kept rankings off


@pytest.mark.parametrize(("teams", "setting", "accept", "expected"), [
    ("nl-NL", "en", None, "nl"),  # the Teams language comes first
    ("en-US", "nl", None, "en"),
    ("de-DE", "en", "nl", "en"),  # Teams in a language Ambassador does not speak: the person's choice
    ("de-DE", "nl", "en", "nl"),
    ("de-DE", "auto", "en-GB,en;q=0.8", "en"),  # no choice: the browser's language
    (None, "auto", None, "nl"),  # nothing at all: Dutch
])
def test_the_language_follows_teams_then_the_setting_then_the_browser(world, teams, setting, accept, expected):
    assert change(world, DAAN, {"locale": setting}).status_code == 200
    query = f"?locale={teams}" if teams else ""
    headers = {"Accept-Language": accept} if accept else {}

    programme = world.call("GET", f"/api/me/programme{query}", DAAN, headers=headers).get_json()
    answer = world.call("GET", f"/api/me/settings{query}", DAAN, headers=headers).get_json()

    assert programme["extra"]["locale"] == expected
    assert answer["effective_locale"] == expected
    dutch = programme["weeks"][0]["title"] == "Je profiel en netwerk op orde"
    assert dutch == (expected == "nl")


def test_saving_a_language_says_which_language_the_tab_should_use(world):
    assert change(world, DAAN, {"locale": "en"}, "?locale=de-DE").get_json()["effective_locale"] == "en"
    assert change(world, DAAN, {"locale": "nl"}, "?locale=de-DE").get_json()["effective_locale"] == "nl"
    assert change(world, DAAN, {"locale": "en"}, "?locale=nl-NL").get_json()["effective_locale"] == "nl"
    assert stored(world, DAAN)[0] == "en"
    assert change(world, DAAN, {"locale": "auto"}).get_json()["locale"] == "auto"
    assert stored(world, DAAN)[0] is None


@pytest.mark.parametrize("body", [
    {"locale": "de"}, {"locale": None}, {"ranking_visibility": "public"}, {"ranking_visibility": True},
    {"muted_notifications": "nudge"}, {"muted_notifications": ["nudge", "spam"]}, {"muted_notifications": [1]},
    {"theme": "dark"}, {}, [], "en", None,
    {"locale": "en", "ranking_visibility": "everyone"},  # one bad value: the good one is not stored either
])
def test_bad_settings_are_refused_and_nothing_changes(world, body):
    before = stored(world, DAAN)
    response = change(world, DAAN, body)
    assert response.status_code == 400
    answer = response.get_json()
    assert set(answer) >= {"error", "message"} and answer["message"]
    assert stored(world, DAAN) == before


def test_someone_not_taking_part_can_still_choose_a_language(world):
    assert settings(world, GERRIT).get_json() | {"effective_locale": None} == {
        "locale": "auto", "ranking_visibility": None, "muted_notifications": None, "enrolled": False,
        "notification_types": settings(world, DAAN).get_json()["notification_types"], "effective_locale": None}
    assert change(world, GERRIT, {"locale": "en"}).status_code == 200
    refused = change(world, GERRIT, {"ranking_visibility": "named"})
    assert (refused.status_code, refused.get_json()["error"]) == (404, "not_enrolled")


def test_settings_need_a_token(world):
    assert settings(world, None).status_code == 401
    assert change(world, None, {"locale": "en"}).status_code == 401


def test_settings_are_in_the_openapi_document(world):
    paths = world.client.get("/api/openapi.json").get_json()["paths"]
    assert paths["/api/me/settings"]["put"]["x-access"] == "employee"
    assert paths["/api/me/settings"]["get"]["responses"]["200"]["content"]
