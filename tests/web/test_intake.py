"""The intake survey (`POST /api/me/intake`): asked on the first visit, answers choose the mission variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from plugin.models import Cohort, Enrolment

from .personal_world import DAAN, GERRIT, World, make_world, mission_named

ANSWERS = {"platforms": ["linkedin", "x"], "connections": 512, "followers": 130,
           "expertise": ["Lean", "#cybersecurity", "lean "], "goals": ["network", "expertise"]}


@pytest.fixture
def world(app, client, authority) -> World:
    """Week 1; Daan has just been enrolled and has not seen the intake yet."""
    world = make_world(app, client, authority, week=1)
    world.enrol(DAAN, intake=None, intake_completed_at=None)
    return world


def answer(world: World, body, name: str = DAAN):
    return world.call("POST", "/api/me/intake?locale=en-US", name, json=body)


def stored(world: World) -> tuple:
    with world.db() as session:
        return tuple(session.execute(select(
            Enrolment.intake, Enrolment.intake_completed_at, Enrolment.baseline_connections,
            Enrolment.baseline_followers).where(Enrolment.person_id == world.people[DAAN])).one())


def test_the_first_visit_asks_for_the_intake(world):
    data = world.programme(DAAN)
    assert data["intake_needed"] is True
    intake = data["extra"]["intake"]
    assert intake["needed"] is True and intake["platforms"] == [] and intake["connections"] is None
    assert intake["platform_choices"] == ["linkedin", "x", "other"]
    assert intake["goal_choices"] == ["visibility", "network", "expertise", "clients", "informed"]


def test_answers_are_stored_and_the_intake_is_done(world):
    response = answer(world, ANSWERS)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["needed"] is False and body["completed_at"]
    assert body["platforms"] == ["linkedin", "x"] and body["goals"] == ["network", "expertise"]
    assert body["expertise"] == ["Lean", "cybersecurity"]  # trimmed, without "#", each topic once
    intake, completed_at, connections, followers = stored(world)
    assert intake == {"platforms": ["linkedin", "x"], "expertise": ["Lean", "cybersecurity"],
                      "goals": ["network", "expertise"]}
    assert completed_at is not None and (connections, followers) == (512, 130)
    assert world.programme(DAAN)["intake_needed"] is False


def test_the_networks_someone_uses_choose_their_missions(world):
    def snapshot_form():
        return mission_named(world.programme(DAAN), "starting-point")["form"]

    answer(world, {"platforms": ["linkedin", "x"]})
    assert snapshot_form()["figures"] == ["connections", "followers"]
    answer(world, {"platforms": ["linkedin"]})
    assert snapshot_form()["figures"] == ["connections"]  # no X: no followers to report

    with world.db() as session:  # week 3, to see the external mission
        session.get(Cohort, world.cohort.id).start_date -= timedelta(days=14)
    answer(world, {"platforms": ["x"]})
    on_x = mission_named(world.programme(DAAN), "first-external")
    answer(world, {"platforms": []})
    internal = mission_named(world.programme(DAAN), "first-external")
    assert on_x["form"]["platform"] == "x" and on_x["title"] == "Share it on X too"
    assert internal["form"] is None and internal["title"] == "Share it in the programme community"


def test_the_intake_can_be_skipped_and_answered_later(world):
    skipped = answer(world, {"skip": True})

    assert skipped.status_code == 200
    assert skipped.get_json()["needed"] is False and skipped.get_json()["skipped"] is True
    data = world.programme(DAAN)
    assert data["intake_needed"] is False and data["extra"]["intake"]["skipped"] is True
    assert stored(world)[1] is None  # skipped is not answered

    later = answer(world, {"platforms": ["linkedin"], "goals": ["visibility"]})
    assert later.status_code == 200 and later.get_json()["skipped"] is False
    assert stored(world)[1] is not None


def test_the_starting_figures_lock_after_the_first_week(world):
    answer(world, {"platforms": ["linkedin"], "connections": 300})
    with world.db() as session:
        session.get(Cohort, world.cohort.id).start_date -= timedelta(days=14)  # now week 3

    changed = answer(world, {"platforms": ["linkedin"], "connections": 350})
    same = answer(world, {"platforms": ["linkedin", "x"], "connections": 300})
    left_out = answer(world, {"platforms": ["linkedin", "x"], "goals": ["clients"]})

    assert (changed.status_code, changed.get_json()["error"], changed.get_json()["field"]) == \
        (409, "baseline_locked", "connections")
    assert same.status_code == 200 and left_out.status_code == 200
    assert left_out.get_json()["baseline_locked"] is True and left_out.get_json()["connections"] == 300
    assert stored(world)[2] == 300


def test_a_late_joiner_can_still_correct_the_figures_in_their_first_week(world):
    with world.db() as session:
        session.get(Cohort, world.cohort.id).start_date -= timedelta(days=14)  # week 3
        session.get(Enrolment, world.enrolments[DAAN].id).consented_at = datetime.now(UTC) - timedelta(hours=2)
    answer(world, {"platforms": ["linkedin"], "connections": 300})
    assert answer(world, {"platforms": ["linkedin"], "connections": 310}).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"platforms": ["linkedin", "myspace"]}, "platforms"),
    ({"platforms": "linkedin"}, "platforms"),
    ({"goals": ["fame"]}, "goals"),
    ({"connections": -1}, "connections"),
    ({"connections": "500"}, "connections"),
    ({"connections": 1.5}, "connections"),
    ({"followers": True}, "followers"),
    ({"followers": 10_000_001}, "followers"),
    ({"expertise": "lean"}, "expertise"),
    ({"expertise": ["a", "b", "c", "d", "e", "f"]}, "expertise"),
    ({"expertise": ["x" * 41]}, "expertise"),
    ({"shoe_size": 44}, "shoe_size"),
    ({"skip": True, "platforms": ["x"]}, None),
    ([], None),
    ("linkedin", None),
])
def test_bad_answers_are_refused_and_nothing_changes(world, body, field):
    before = stored(world)
    response = answer(world, body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json().get("field") == field and response.get_json()["message"]
    assert stored(world) == before


def test_only_participants_fill_in_the_intake(world):
    assert answer(world, ANSWERS, GERRIT).status_code == 404
    assert world.call("POST", "/api/me/intake", None, json=ANSWERS).status_code == 401
