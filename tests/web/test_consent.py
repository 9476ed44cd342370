"""Opt-in: an invited person sees what taking part means, says yes (or later no), and nothing counts before that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.domain.programme import default_programme
from plugin.models import Enrolment, MissionProgress, PointsEntry, Team
from plugin.services.demo import demo_oid
from plugin.services.ingest import ingest_channel_message
from plugin.services.participation import CONSENT_VERSION
from plugin.services.programmes import copy_missions
from tests.factories import make_cohort
from tests.integration.ingest_fixtures import KNOWLEDGE_HTML, chat_message

from .personal_world import DAAN, ESTHER, FLEUR, GERRIT, SANNE, World, make_world


@pytest.fixture
def world(app, client, authority) -> World:
    """Week 3: Daan was invited and has not answered; Fleur takes part."""
    world = make_world(app, client, authority, week=3)
    world.enrol(DAAN, status="invited", consented_at=None, consent_version=None)
    world.enrol(FLEUR)
    return world


def consent(world: World, name: str = DAAN, body=None):
    return world.call("POST", "/api/me/consent?locale=en-US", name,
                      json={"version": CONSENT_VERSION} if body is None else body)


def withdraw(world: World, name: str = DAAN):
    return world.call("DELETE", "/api/me/consent?locale=en-US", name)


def enrolment_of(world: World, name: str = DAAN) -> tuple:
    with world.db() as session:
        return tuple(session.execute(select(Enrolment.status, Enrolment.consented_at, Enrolment.consent_version,
                                            Enrolment.ranking_visibility)
                                     .where(Enrolment.person_id == world.people[name])).one())


def points_of(world: World, name: str = DAAN) -> int:
    return world.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                        .where(PointsEntry.person_id == world.people[name]))


def post_as(world: World, name: str, message_id: str) -> frozenset[int]:
    """Daan (or `name`) shares knowledge in the team's channel an hour ago, as Graph would deliver it."""
    with world.db() as session:
        team = session.get(Team, world.teams["fin"])
        message = chat_message(message_id, demo_oid(name), KNOWLEDGE_HTML,
                               created=datetime.now(UTC) - timedelta(hours=1))
        return ingest_channel_message(session, message, team_graph_id=team.graph_id,
                                      channel_graph_id=team.channels[0].graph_id).cohort_ids


def test_an_invited_person_is_asked_for_consent(world):
    response = world.call("GET", "/api/me/programme?locale=en-US", DAAN)

    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "consent_needed" and body["message"]
    assert body["consent"] == {"status": "invited", "version": CONSENT_VERSION, "cohort": {
        "id": world.cohort.id, "name": "Najaar", "start_date": world.cohort.start_date.isoformat(), "weeks": 8}}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/me/intake", {"platforms": ["linkedin"]}),
    ("POST", "/api/me/evidence", {"mission": "first-external", "url": "https://www.linkedin.com/posts/1"}),
])
def test_nothing_is_collected_before_consent(world, method, path, body):
    response = world.call(method, path, DAAN, json=body)
    assert (response.status_code, response.get_json()["error"]) == (403, "consent_needed")
    assert enrolment_of(world)[0] == "invited"


def test_taking_part_starts_the_programme(world):
    response = consent(world)

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "active" and body["consent_version"] == CONSENT_VERSION and body["consented_at"]
    status, consented_at, version, ranking = enrolment_of(world)
    assert (status, version, ranking) == ("active", CONSENT_VERSION, "off")  # rankings stay off until chosen
    assert abs(consented_at - datetime.now(UTC)) < timedelta(minutes=5)
    data = world.programme(DAAN)
    assert data["extra"]["consent"]["version"] == CONSENT_VERSION
    [entry] = world.audit("enrolment.consent")
    assert entry.actor_id == world.people[DAAN] and entry.details["from"] == "invited"


def test_consenting_twice_changes_nothing(world):
    first = consent(world).get_json()
    second = consent(world)
    assert second.status_code == 200 and second.get_json() == first
    assert len(world.audit("enrolment.consent")) == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "invalid_version"),
    ({"version": 1}, 400, "invalid_version"),
    ("yes", 400, "invalid_version"),
    ({"version": "0"}, 409, "consent_outdated"),  # the text changed since the tab showed it
])
def test_consent_must_name_the_text_that_was_shown(world, body, status, code):
    response = consent(world, body=body)
    assert (response.status_code, response.get_json()["error"]) == (status, code)
    assert enrolment_of(world)[0] == "invited" and world.audit("enrolment.consent") == []


def test_someone_without_an_invitation_cannot_consent(world):
    response = consent(world, GERRIT)
    assert (response.status_code, response.get_json()["error"]) == (404, "not_invited")
    assert consent(world, None).status_code == 401


def test_withdrawing_stops_the_programme_and_can_be_undone(world):
    consent(world)
    world.call("PUT", "/api/me/settings", DAAN, json={"ranking_visibility": "named"})

    response = withdraw(world)

    assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
    assert enrolment_of(world)[0] == "withdrawn" and enrolment_of(world)[3] == "off"  # out of every ranking
    again = world.call("GET", "/api/me/programme?locale=en-US", DAAN)
    assert again.status_code == 403 and again.get_json()["consent"]["status"] == "withdrawn"
    assert (withdraw(world).status_code, withdraw(world).get_json()["error"]) == (404, "not_enrolled")
    assert len(world.audit("enrolment.withdraw")) == 1

    assert consent(world).get_json()["status"] == "active"  # changed their mind
    assert world.audit("enrolment.consent")[-1].details["from"] == "withdrawn"


def test_activity_counts_only_after_consent(world):
    recompute = world.app.extensions["tasks"]["recompute"]

    affected = post_as(world, DAAN, "1700000000001")
    recompute(world.cohort.id)

    assert affected == frozenset()  # ingestion does not even wake the cohort for an invited person
    assert points_of(world) == 0
    assert world.count(MissionProgress, MissionProgress.enrolment_id == world.enrolments[DAAN].id) == 0

    consent(world)  # queues the recomputation

    data = world.programme(DAAN)
    assert points_of(world) > 0 and data["points"] == points_of(world)
    assert world.count(MissionProgress, MissionProgress.enrolment_id == world.enrolments[DAAN].id) > 0
    assert post_as(world, DAAN, "1700000000002") == frozenset({world.cohort.id})

    withdraw(world)
    before = points_of(world)
    post_as(world, DAAN, "1700000000003")
    recompute(world.cohort.id)
    assert points_of(world) == before  # after withdrawing, nothing new counts


def test_a_lead_does_not_see_an_invited_person(world):
    summary = world.call("GET", f"/api/teams/{world.teams['fin']}/summary", SANNE).get_json()
    assert summary["participants"] == 1  # Fleur; Daan has not said yes
    assert world.call("GET", f"/api/cohorts/{world.cohort.id}/evidence", ESTHER).get_json() == {"items": []}


def test_a_new_invitation_comes_after_a_finished_programme(world):
    with world.db() as session:
        earlier = make_cohort(session, name="Voorjaar", start_date=world.cohort.start_date - timedelta(weeks=20),
                              frozen_at=datetime.now(UTC) - timedelta(weeks=9))
        copy_missions(session, earlier, default_programme())
        session.add(Enrolment(cohort_id=earlier.id, person_id=world.people[DAAN], status="active",
                              consented_at=datetime.now(UTC) - timedelta(weeks=21), consent_version="1"))

    asked = world.call("GET", "/api/me/programme?locale=en-US", DAAN)

    assert asked.status_code == 403 and asked.get_json()["consent"]["cohort"]["name"] == "Najaar"
    consent(world)
    assert world.programme(DAAN)["cohort"]["name"] == "Najaar"
