"""The personal tab's data: one request, in the person's language, private by default."""

from __future__ import annotations

import pytest

from plugin.db import get_session
from plugin.services.demo import demo_oid, seed_demo


@pytest.fixture
def demo(app):
    with app.app_context():
        return seed_demo(get_session())


def get(client, authority, name: str, query: str = ""):
    token = authority.mint_sso_token(demo_oid(name))
    return client.get(f"/api/me/programme{query}", headers={"Authorization": f"Bearer {token}"})


def test_a_participant_sees_this_weeks_missions_tip_and_badges(client, authority, demo):
    response = get(client, authority, "Daan Jansen", "?locale=nl-NL")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["week"] == 3 and len(body["weeks"]) == 8 and body["weeks"][2]["current"]
    assert body["weeks"][0]["title"] and body["tip"]
    this_week = [m for m in body["missions"] if m["week"] == 3]
    assert 3 <= len(this_week) <= 5
    assert {m["status"] for m in this_week} <= {"open", "due", "done", "overdue", "missed"}
    assert all(m["title"] and m["how"] for m in body["missions"])
    assert {b["slug"] for b in body["badges"]} >= {"first-share", "ambassador"}
    assert body["points"] >= 0 and body["cohort"]["name"].startswith("Social Embassy")


def test_texts_follow_the_teams_locale(client, authority, demo):
    nl = get(client, authority, "Daan Jansen", "?locale=nl-NL").get_json()
    en = get(client, authority, "Daan Jansen", "?locale=en-US").get_json()
    assert nl["weeks"][0]["title"] != en["weeks"][0]["title"]
    assert nl["badges"][0]["name"] != en["badges"][0]["name"]


def test_ranking_only_for_people_who_opted_in(client, authority, demo, session):
    from sqlalchemy import select

    from plugin.models import Enrolment, Person

    rows = session.execute(select(Person.display_name, Enrolment.ranking_visibility).join(Enrolment)).all()
    for name, visibility in rows:
        body = get(client, authority, name).get_json()
        if visibility == "off":
            assert body["ranking"] is None
        else:
            assert any(row["is_me"] for row in body["ranking"])
            named = {row["name"] for row in body["ranking"] if row["name"]}
            hidden = {n for n, v in rows if v != "named"}
            assert not named & hidden  # nobody appears by name unless they chose to


def test_someone_not_enrolled_gets_a_clear_answer(client, authority, demo):
    response = get(client, authority, "Gerrit Post", "?locale=nl-NL")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_enrolled",
                                   "message": "Je doet nog niet mee aan een programma.",
                                   "roles": ["admin", "employee"]}
