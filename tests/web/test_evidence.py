"""Evidence for self-reported missions: handing it in from the personal tab, and reviewing it as coach or lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.models import Cohort, Enrolment, Evidence, MissionProgress, PointsEntry

from .personal_world import (
    DAAN,
    ESTHER,
    FLEUR,
    GERRIT,
    PRIYA,
    SANNE,
    TOM,
    World,
    make_world,
    mission_named,
)

LINK = "https://www.linkedin.com/posts/daan-jansen_lean-activity-7234"


@pytest.fixture
def world(app, client, authority) -> World:
    """Week 3: Daan and Fleur (team fin, led by Sanne) and Tom (team data, led by Priya) take part."""
    world = make_world(app, client, authority, week=3)
    for name, team in ((DAAN, "fin"), (FLEUR, "fin"), (SANNE, "fin"), (TOM, "data")):
        world.enrol(name, team)
    return world


def hand_in(world: World, name: str = DAAN, **body):
    body = {"mission": "first-external", "url": LINK, "note": "Mijn eerste bericht op LinkedIn"} | body
    return world.call("POST", "/api/me/evidence?locale=en-US", name, json=body)


def queue(world: World, name: str, status: str = "pending", cohort_id: int | None = None):
    return world.call("GET", f"/api/cohorts/{cohort_id or world.cohort.id}/evidence?status={status}", name)


def review(world: World, name: str, evidence_id: int, **body):
    return world.call("POST", f"/api/evidence/{evidence_id}/review?locale=en-US", name, json=body)


# -- handing in ------------------------------------------------------------------------------------------------------


def test_the_tab_offers_a_form_only_for_self_reported_missions(world):
    data = world.programme(DAAN)
    external = mission_named(data, "first-external")
    assert external["form"] == {"url": "required", "platform": "linkedin", "figures": []}
    assert external["can_submit"] is True and external["evidence"] is None
    automatic = mission_named(data, "first-note")
    assert automatic["form"] is None and automatic["can_submit"] is False


def test_handing_in_a_link_waits_for_review(world):
    response = hand_in(world)

    assert response.status_code == 201
    item = response.get_json()
    assert item["status"] == "pending" and item["url"] == LINK and item["note"] == "Mijn eerste bericht op LinkedIn"
    assert item["mission"] == {"slug": "first-external", "title": "Share it on LinkedIn too"}
    assert item["person"] == {"id": world.people[DAAN], "name": DAAN}
    assert item["team"]["name"] == "Finance"
    shown = mission_named(world.programme(DAAN), "first-external")
    assert shown["evidence"]["status"] == "pending" and shown["evidence"]["id"] == item["id"]
    assert shown["can_submit"] is False and shown["status"] != "done"  # not done until a coach approves


def test_one_piece_of_evidence_waits_per_mission(world):
    assert hand_in(world).status_code == 201
    before = world.evidence_rows()

    again = hand_in(world, url=LINK + "-2")

    assert again.status_code == 409
    assert again.get_json()["error"] == "evidence_pending"
    assert world.evidence_rows() == before


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"url": "ftp://www.linkedin.com/posts/1"}, "url", "invalid_url"),
    ({"url": "javascript:alert(1)"}, "url", "invalid_url"),
    ({"url": "https://user:pw@www.linkedin.com/posts/1"}, "url", "invalid_url"),
    ({"url": "https://x.com/daan/status/1"}, "url", "invalid_url"),  # the mission asks for LinkedIn
    ({"url": "https://example.org/blog"}, "url", "invalid_url"),
    ({"url": "https://[::1/posts"}, "url", "invalid_url"),
    ({"url": None}, "url", "invalid_url"),
    ({"url": 42}, "url", "invalid_url"),
    ({"url": "https://www.linkedin.com/" + "a" * 2100}, "url", "invalid_url"),
    ({"note": "x" * 1001}, "note", "invalid_note"),
    ({"figures": {"connections": 12}}, "figures", "invalid_figures"),
    ({"mission": "first-note"}, "mission", "not_self_reported"),
    ({"mission": "no-such-mission"}, "mission", "unknown_mission"),
    ({"mission": None}, "mission", "invalid_mission"),
    ({"proof": "screenshot"}, "proof", "unknown_field"),
])
def test_bad_input_is_refused_and_nothing_is_stored(world, body, field, code):
    response = hand_in(world, **body)

    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert answer["error"] == code and answer["field"] == field and answer["message"]
    assert world.count(Evidence) == 0


def test_a_body_that_is_not_json_is_refused(world):
    response = world.call("POST", "/api/me/evidence", DAAN, data="mission=first-external",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert world.count(Evidence) == 0


def test_refusals_speak_the_persons_language(world):
    response = world.call("POST", "/api/me/evidence?locale=nl-NL", DAAN,
                          json={"mission": "first-external", "url": "ftp://linkedin.com/x"})
    assert response.status_code == 400
    assert response.get_json()["message"] == "Plak een volledig webadres dat begint met https://."


def test_a_mission_that_is_not_open_takes_no_evidence(world):
    # Week 5's external mission is still locked in week 3; week 1's snapshot closed after its grace period.
    locked = hand_in(world, mission="expertise-external")
    closed = world.call("POST", "/api/me/evidence", DAAN,
                        json={"mission": "starting-point", "figures": {"connections": 300}})

    assert (locked.status_code, locked.get_json()["error"]) == (409, "mission_not_open")
    assert (closed.status_code, closed.get_json()["error"]) == (409, "mission_closed")
    assert world.count(Evidence) == 0


def test_network_snapshot_asks_for_the_figures_of_the_persons_networks(app, client, authority):
    world = make_world(app, client, authority, week=1)
    world.enrol(DAAN, intake={"platforms": ["linkedin", "x"]})
    world.enrol(FLEUR, intake={"platforms": ["linkedin"]})

    both = mission_named(world.programme(DAAN), "starting-point")["form"]
    linkedin_only = mission_named(world.programme(FLEUR), "starting-point")["form"]
    assert both == {"url": "optional", "platform": None, "figures": ["connections", "followers"]}
    assert linkedin_only["figures"] == ["connections"]

    missing = world.call("POST", "/api/me/evidence", DAAN,
                         json={"mission": "starting-point", "figures": {"connections": 412}})
    negative = world.call("POST", "/api/me/evidence", DAAN,
                          json={"mission": "starting-point", "figures": {"connections": 412, "followers": -1}})
    text = world.call("POST", "/api/me/evidence", DAAN,
                      json={"mission": "starting-point", "figures": {"connections": "412", "followers": 80}})
    assert [r.status_code for r in (missing, negative, text)] == [400, 400, 400]
    assert missing.get_json()["field"] == "figures.followers"
    assert world.count(Evidence) == 0

    stored = world.call("POST", "/api/me/evidence", DAAN,
                        json={"mission": "starting-point", "figures": {"connections": 412, "followers": 80}})
    assert stored.status_code == 201
    assert stored.get_json()["figures"] == {"connections": 412, "followers": 80}
    assert stored.get_json()["url"] is None  # the link is optional for a snapshot


def test_someone_not_taking_part_cannot_hand_in(world):
    response = hand_in(world, GERRIT)
    assert (response.status_code, response.get_json()["error"]) == (404, "not_enrolled")


def test_handing_in_needs_a_token(world):
    assert world.call("POST", "/api/me/evidence", None, json={"mission": "first-external"}).status_code == 401


# -- reviewing -------------------------------------------------------------------------------------------------------


def test_the_queue_shows_each_reviewer_what_they_may_review(world):
    ids = {name: hand_in(world, name, url=f"{LINK}-{n}").get_json()["id"]
           for n, name in enumerate((DAAN, FLEUR, SANNE, TOM))}

    def names(reviewer):
        response = queue(world, reviewer)
        assert response.status_code == 200, response.get_json()
        return [item["person"]["name"] for item in response.get_json()["items"]]

    assert names(ESTHER) == [DAAN, FLEUR, SANNE, TOM]  # a coach sees the whole cohort, oldest first
    assert names(GERRIT) == [DAAN, FLEUR, SANNE, TOM]  # so does an admin
    assert names(SANNE) == [DAAN, FLEUR]  # a lead: their own team, never their own evidence
    assert names(PRIYA) == [TOM]
    assert queue(world, DAAN).status_code == 403  # participants review nothing
    assert queue(world, None).status_code == 401
    item = queue(world, ESTHER).get_json()["items"][0]
    assert item == {
        "id": ids[DAAN], "person": {"id": world.people[DAAN], "name": DAAN},
        "team": {"id": world.teams["fin"], "name": "Finance"},
        "mission": {"slug": "first-external", "title": "Deel het ook op LinkedIn"}, "url": f"{LINK}-0",
        "note": "Mijn eerste bericht op LinkedIn", "figures": None, "status": "pending",
        "submitted_at": item["submitted_at"], "review_note": None, "reviewed_at": None,
    }  # the mission title in the reviewer's language (Esther's is Dutch)


def test_the_queue_checks_its_status_and_cohort(world):
    assert queue(world, ESTHER, status="done").status_code == 400
    assert queue(world, ESTHER, cohort_id=world.cohort.id + 1000).status_code == 404


def test_approval_completes_the_mission_and_is_audited(world):
    evidence_id = hand_in(world).get_json()["id"]
    points_before = world.programme(DAAN)["points"]

    response = review(world, SANNE, evidence_id, decision="approve", note="Mooi geschreven!")

    assert response.status_code == 200, response.get_json()
    item = response.get_json()
    assert item["status"] == "approved" and item["review_note"] == "Mooi geschreven!" and item["reviewed_at"]
    data = world.programme(DAAN)
    mission = mission_named(data, "first-external")
    assert mission["status"] == "done" and mission["evidence"]["status"] == "approved"
    assert data["points"] >= points_before + mission["points"]  # the recomputation stored the mission's points
    enrolment = world.enrolments[DAAN]
    done = world.scalar(select(MissionProgress.completed_at).where(
        MissionProgress.enrolment_id == enrolment.id, MissionProgress.completed_at.is_not(None)))
    assert done is not None
    assert world.scalar(select(func.sum(PointsEntry.amount)).where(
        PointsEntry.person_id == world.people[DAAN], PointsEntry.source_key.like("mission:first-external#%"))) \
        == mission["points"]
    [entry] = world.audit("evidence.approve")
    assert entry.actor_id == world.people[SANNE] and entry.target_id == str(evidence_id)
    assert entry.details["mission"] == "first-external" and entry.details["person_id"] == world.people[DAAN]
    assert queue(world, ESTHER).get_json()["items"] == []
    assert [i["id"] for i in queue(world, ESTHER, status="approved").get_json()["items"]] == [evidence_id]


def test_rejection_needs_a_note_and_lets_the_person_try_again(world):
    evidence_id = hand_in(world).get_json()["id"]

    silent = review(world, ESTHER, evidence_id, decision="reject", note="   ")
    assert (silent.status_code, silent.get_json()["error"]) == (400, "note_required")
    assert world.evidence_rows()[0][1] == "pending"

    rejected = review(world, ESTHER, evidence_id, decision="reject", note="Dit is een repost zonder eigen tekst.")
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    shown = mission_named(world.programme(DAAN), "first-external")
    assert shown["evidence"]["status"] == "rejected"
    assert shown["evidence"]["review_note"] == "Dit is een repost zonder eigen tekst."
    assert shown["can_submit"] is True and shown["status"] != "done"
    assert len(world.audit("evidence.reject")) == 1

    again = hand_in(world, url=LINK + "-met-eigen-tekst")
    assert again.status_code == 201
    assert [row[1] for row in world.evidence_rows()] == ["rejected", "pending"]
    assert mission_named(world.programme(DAAN), "first-external")["evidence"]["id"] == again.get_json()["id"]


def test_reviewing_twice_is_a_conflict(world):
    evidence_id = hand_in(world).get_json()["id"]
    assert review(world, ESTHER, evidence_id, decision="approve").status_code == 200
    before = world.evidence_rows()

    second = review(world, SANNE, evidence_id, decision="reject", note="Toch niet")

    assert (second.status_code, second.get_json()["error"]) == (409, "already_reviewed")
    assert world.evidence_rows() == before
    assert len(world.audit("evidence.approve")) == 1 and world.audit("evidence.reject") == []


@pytest.mark.parametrize(("reviewer", "status"), [
    (ESTHER, 200), (GERRIT, 200), (SANNE, 200),  # coach, admin, the lead of Daan's team
    (PRIYA, 403), (FLEUR, 403), (DAAN, 403), (None, 401),  # another team's lead, a colleague, himself, nobody
])
def test_who_may_review(world, reviewer, status):
    evidence_id = hand_in(world).get_json()["id"]
    response = review(world, reviewer, evidence_id, decision="approve")
    assert response.status_code == status
    assert world.evidence_rows()[0][1] == ("approved" if status == 200 else "pending")


def test_nobody_reviews_their_own_evidence(world):
    evidence_id = hand_in(world, SANNE).get_json()["id"]
    response = review(world, SANNE, evidence_id, decision="approve")
    assert response.status_code == 403
    assert "own evidence" in response.get_json()["message"]


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": ["approve"]},
                                  {"decision": "approve", "note": 7}, {"decision": "approve", "grade": "A"},
                                  {"decision": "approve", "note": "x" * 1001}, ["approve"]])
def test_bad_reviews_change_nothing(world, body):
    evidence_id = hand_in(world).get_json()["id"]
    response = world.call("POST", f"/api/evidence/{evidence_id}/review", ESTHER, json=body)
    assert response.status_code == 400 and response.get_json()["error"]
    assert world.evidence_rows()[0][1] == "pending" and world.audit("evidence.approve") == []


def test_reviewing_unknown_evidence_is_not_found(world):
    assert review(world, ESTHER, 999_999, decision="approve").status_code == 404


def test_a_link_counts_for_one_mission_only(world):
    # A late joiner (week 5) still has week 3's external mission open next to week 5's.
    with world.db() as session:
        session.get(Enrolment, world.enrolments[DAAN].id).enrolled_at = datetime.now(UTC) - timedelta(days=1)
        session.get(Cohort, world.cohort.id).start_date -= timedelta(days=14)  # now week 5
    first = hand_in(world)
    assert first.status_code == 201, first.get_json()
    assert review(world, ESTHER, first.get_json()["id"], decision="approve").status_code == 200

    reused = hand_in(world, mission="expertise-external", url=LINK.replace("https://www.", "http://") + "/")

    assert (reused.status_code, reused.get_json()["error"]) == (409, "url_used")
    assert hand_in(world, mission="expertise-external", url=LINK + "-nieuw").status_code == 201
