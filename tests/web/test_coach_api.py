"""The coach pages' API: cohorts, teams and communities, enrolment, programme files, at-risk list and check-ins."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plugin.domain.programme import DEFAULT_PATH, default_programme
from plugin.models import (
    Activity,
    AuditEntry,
    CheckIn,
    Cohort,
    Community,
    Enrolment,
    Evidence,
    Mission,
    MissionProgress,
    RiskAssessment,
)
from tests.factories import make_cohort

from .coaching_world import ADMIN, COACH, DAAN, FLEUR, LEAD, THIJS, TOM, World, build_world


@pytest.fixture
def world(client, authority, session) -> World:
    return build_world(client, authority, session)


@pytest.fixture
def programmes_dir(app, tmp_path: Path) -> Path:
    """Loaded programme files go to a fresh instance folder, not the repository's."""
    app.instance_path = str(tmp_path)
    return tmp_path / "programmes"


def cohort_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Cohort))


def audit_actions(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# -- access ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status", "error"), [
    (None, 401, "missing_token"), (DAAN, 403, "forbidden"), (LEAD, 403, "forbidden"), (COACH, 200, None),
    (ADMIN, 200, None)])
def test_only_coaches_and_admins_open_the_coach_page(world, who, status, error):
    response = world.get(who, "/api/coach")
    assert response.status_code == status
    if error:
        assert response.get_json()["error"] == error and response.get_json()["message"]


def test_a_coach_sees_their_own_cohorts_and_an_admin_sees_all(world, session):
    other = make_cohort(session, name="Someone else's", created_by_id=world.id(ADMIN))
    session.commit()

    mine = world.get(COACH, "/api/coach").get_json()
    assert [c["name"] for c in mine["cohorts"]] == ["Najaar"]
    assert mine["cohort"]["id"] == world.cohort.id
    refused = world.get(COACH, f"/api/coach?cohort={other.id}")
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert world.get(COACH, f"/api/cohorts/{other.id}/at-risk").status_code == 403
    assert world.get(COACH, "/api/cohorts/999999/at-risk").status_code == 404

    everything = world.get(ADMIN, "/api/coach").get_json()
    assert {c["name"] for c in everything["cohorts"]} == {"Najaar", "Someone else's"}
    assert world.get(ADMIN, f"/api/coach?cohort={world.cohort.id}").get_json()["cohort"]["name"] == "Najaar"


def test_the_coach_page_shows_the_cohorts_week_in_one_request(world, session):
    fleur_enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(FLEUR)))
    mission = session.scalar(select(Mission).where(Mission.cohort_id == world.cohort.id,
                                                   Mission.type == "external_post"))
    session.add(Evidence(enrolment_id=fleur_enrolment.id, mission_id=mission.id, url="https://www.linkedin.com/x"))
    session.add(Activity(source="teams", external_id="p1", kind="post", author_oid="x", author_id=world.id(DAAN),
                         occurred_at=datetime.now(UTC) - timedelta(hours=1), knowledge_sharing=True))
    session.commit()

    page = world.get(COACH, "/api/coach?locale=en").get_json()

    summary = page["cohort"]["summary"]
    assert (summary["week"], summary["weeks"]) == (2, 8)
    assert summary["participants"] == 5 and summary["invited"] == 1
    assert summary["evidence_pending"] == 1
    assert summary["posts_this_week"] == 1 and summary["knowledge_posts_this_week"] == 1
    assert summary["active_this_week"] == 1
    assert page["cohort"]["programme"]["title"] == default_programme().title.en
    assert {t["name"] for t in page["options"]["teams"]} >= {"Financieel Advies", "IT & Data"}
    assert [p["key"] for p in page["programmes"]] == ["social-embassy@1"]
    assert [m["slug"] for m in page["cohort"]["coach_missions"]][0] == "kickoff-checkin"
    statuses = {e["name"]: e["status"] for e in page["cohort"]["enrolments"]}
    assert statuses[TOM] == "invited" and statuses[DAAN] == "active"
    report = world.client.get(f"{page['report_url']}?cohort={world.cohort.id}&locale=en")
    assert report.status_code == 200 and report.mimetype == "text/html"  # the impact report opens from here


# -- creating a cohort ----------------------------------------------------------------------------------------------
def test_a_coach_creates_a_cohort_with_the_programmes_missions(world, session):
    response = world.post(COACH, "/api/cohorts?locale=en", {
        "name": "Voorjaar 2027", "start_date": "2027-03-01", "timezone": "Europe/Brussels",
        "programme": "social-embassy@1", "grace_days": 5})

    assert response.status_code == 201
    created = response.get_json()
    assert (created["name"], created["start_date"], created["timezone"]) == ("Voorjaar 2027", "2027-03-01",
                                                                             "Europe/Brussels")
    assert (created["weeks"], created["grace_days"]) == (8, 5)
    missions = session.scalar(select(func.count()).select_from(Mission).where(Mission.cohort_id == created["id"]))
    assert missions == sum(1 for _ in default_programme().missions())
    assert world.get(COACH, "/api/coach").get_json()["cohorts"][0]["name"] == "Voorjaar 2027"
    [entry] = audit_actions(session, "cohort.create")
    assert entry.actor_id == world.id(COACH) and entry.target_id == str(created["id"])


@pytest.mark.parametrize(("body", "field"), [
    ({"start_date": "2027-03-01"}, "name"),
    ({"name": "   ", "start_date": "2027-03-01"}, "name"),
    ({"name": "x" * 201, "start_date": "2027-03-01"}, "name"),
    ({"name": "A", "start_date": "1 maart"}, "start_date"),
    ({"name": "A", "start_date": "2027-03-01", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "A", "start_date": "2027-03-01", "grace_days": 30}, "grace_days"),
    ({"name": "A", "start_date": "2027-03-01", "grace_days": "drie"}, "grace_days"),
    ({"name": "A", "start_date": "2027-03-01", "programme": "nope@1"}, "programme"),
    ({"name": "A", "start_date": "2027-03-01", "programme": None}, "programme"),
])
def test_bad_cohort_input_is_refused_and_changes_nothing(world, session, body, field):
    before = cohort_count(session)
    response = world.post(COACH, "/api/cohorts?locale=nl", {"programme": "social-embassy@1", **body})
    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] in ("invalid_field", "unknown_programme") and answer["field"] == field
    assert answer["message"]
    assert cohort_count(session) == before
    assert audit_actions(session, "cohort.create") == []


def test_errors_come_in_the_callers_language(world):
    dutch = world.post(COACH, "/api/cohorts?locale=nl", {"start_date": "2027-03-01"}).get_json()["message"]
    english = world.post(COACH, "/api/cohorts?locale=en", {"start_date": "2027-03-01"}).get_json()["message"]
    assert english == "Give the group a name."
    assert dutch != english


# -- teams, communities and enrolment ---------------------------------------------------------------------------------
def test_picking_teams_and_communities_then_inviting_their_members(world, session):
    community = Community(yammer_group_id="31158067201", display_name="Kennisnetwerk")
    session.add(community)
    cohort = make_cohort(session, name="Nieuw", created_by_id=world.id(COACH))
    session.commit()

    nothing_yet = world.post(COACH, f"/api/cohorts/{cohort.id}/enrolments")
    assert nothing_yet.status_code == 409 and nothing_yet.get_json()["error"] == "no_teams"

    placed = world.put(COACH, f"/api/cohorts/{cohort.id}/places",
                       {"team_ids": [world.team_a.id, world.team_b.id], "community_ids": [community.id]})
    assert placed.status_code == 200
    assert placed.get_json() == {"team_ids": sorted([world.team_a.id, world.team_b.id]),
                                 "community_ids": [community.id]}

    invited = world.post(COACH, f"/api/cohorts/{cohort.id}/enrolments")
    assert invited.status_code == 200 and invited.get_json()["invited"] == 6
    assert {e["status"] for e in invited.get_json()["enrolments"]} == {"invited"}
    again = world.post(COACH, f"/api/cohorts/{cohort.id}/enrolments")
    assert again.get_json()["invited"] == 0  # nobody is enrolled twice
    assert session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort.id)) == 6

    narrowed = world.put(COACH, f"/api/cohorts/{cohort.id}/places", {"team_ids": [world.team_a.id]})
    assert narrowed.get_json() == {"team_ids": [world.team_a.id], "community_ids": []}
    assert [e.details["invited"] for e in audit_actions(session, "cohort.enrol")] == [6]
    assert len(audit_actions(session, "cohort.places")) == 2


def test_inviting_a_team_to_next_season_keeps_its_team_tab_on_the_running_group(world, session):
    upcoming = make_cohort(session, name="Voorjaar", start_date=world.cohort.start_date.replace(
        year=world.cohort.start_date.year + 1), created_by_id=world.id(COACH))
    session.commit()
    world.put(COACH, f"/api/cohorts/{upcoming.id}/places", {"team_ids": [world.team_a.id]})
    assert world.post(COACH, f"/api/cohorts/{upcoming.id}/enrolments").get_json()["invited"] == 3

    summary = world.get(LEAD, f"/api/teams/{world.team_a.id}/summary").get_json()
    board = world.get(LEAD, f"/api/teams/{world.team_a.id}/recognitions").get_json()
    assert summary["cohort"] == "Najaar" and board["cohort"]["name"] == "Najaar"
    assert world.get(COACH, "/api/coach").get_json()["cohort"]["name"] == "Najaar"  # the running one first


@pytest.mark.parametrize("body", [{"team_ids": [999999]}, {"team_ids": "all"}, {"community_ids": [True]}])
def test_unknown_teams_or_communities_change_nothing(world, session, body):
    response = world.put(COACH, f"/api/cohorts/{world.cohort.id}/places", body)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_field"
    assert world.get(COACH, "/api/coach").get_json()["cohort"]["team_ids"] == []


def test_an_ended_cohort_keeps_its_set_up(world, session):
    world.cohort.frozen_at = datetime.now(UTC)
    session.commit()
    response = world.put(COACH, f"/api/cohorts/{world.cohort.id}/places", {"team_ids": [world.team_a.id]})
    assert response.status_code == 409 and response.get_json()["error"] == "frozen"


def test_a_coach_cannot_change_another_coachs_cohort(world, session):
    other = make_cohort(session, name="Niet van mij", created_by_id=world.id(ADMIN))
    session.commit()
    response = world.put(COACH, f"/api/cohorts/{other.id}/places", {"team_ids": [world.team_a.id]})
    assert response.status_code == 403
    assert world.put(ADMIN, f"/api/cohorts/{other.id}/places", {"team_ids": [world.team_a.id]}).status_code == 200


# -- programme files ---------------------------------------------------------------------------------------------
def upload(world, name: str, text: str, who: str = COACH):
    return world.open("POST", who, "/api/programmes?locale=en", data={"file": (io.BytesIO(text.encode()), name)},
                      content_type="multipart/form-data")


def test_loading_a_programme_file_makes_it_available_for_new_cohorts(world, session, programmes_dir):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace('id = "social-embassy"', 'id = "sales-embassy"', 1)

    loaded = upload(world, "sales.toml", text)
    assert loaded.status_code == 201
    assert loaded.get_json()["key"] == "sales-embassy@1" and loaded.get_json()["weeks"] == 8
    assert (programmes_dir / "sales-embassy-v1.toml").read_text(encoding="utf-8") == text
    assert upload(world, "sales.toml", text).status_code == 200  # the same file again changes nothing
    as_json = world.post(COACH, "/api/programmes", {"filename": "sales.toml", "content": text})
    assert as_json.status_code == 200 and as_json.get_json()["key"] == "sales-embassy@1"

    keys = [p["key"] for p in world.get(COACH, "/api/programmes").get_json()["items"]]
    assert keys == ["social-embassy@1", "sales-embassy@1"]
    created = world.post(COACH, "/api/cohorts", {"name": "Sales", "start_date": "2027-01-04",
                                                 "programme": "sales-embassy@1"})
    assert created.status_code == 201 and created.get_json()["programme"]["key"] == "sales-embassy@1"
    assert [e.target_id for e in audit_actions(session, "programme.load")] == ["sales-embassy@1"]


def test_a_broken_programme_file_is_refused_with_file_line_and_field(world, programmes_dir):
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace('type = "checkin"', 'type = "telepathy"', 1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if 'type = "telepathy"' in row)

    response = upload(world, "broken.toml", text)

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "invalid_programme" and answer["message"] == "The programme file has a problem."
    assert (answer["file"], answer["line"]) == ("broken.toml", line)
    assert answer["field"] == "weeks[0].missions[0].type" and "telepathy" in answer["detail"]
    assert not programmes_dir.exists()


def test_invalid_toml_and_a_changed_version_are_refused(world, programmes_dir):
    bad = upload(world, "x.toml", "id = \n")
    assert bad.status_code == 400 and bad.get_json()["line"] == 1 and "TOML" in bad.get_json()["detail"]
    changed = DEFAULT_PATH.read_text(encoding="utf-8").replace('en = "Social Embassy:', 'en = "Social Embassy 2:', 1)
    conflict = upload(world, "same-version.toml", changed)
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "version_exists"
    assert world.open("POST", COACH, "/api/programmes").status_code == 400
    assert upload(world, "x.toml", "id = 1\n", who=LEAD).status_code == 403


# -- at risk and check-ins ------------------------------------------------------------------------------------------
def test_the_at_risk_list_explains_in_words_with_the_last_activity(world, session):
    enrolments = {e.person_id: e for e in session.scalars(select(Enrolment).where(
        Enrolment.cohort_id == world.cohort.id))}
    session.add_all([
        RiskAssessment(enrolment_id=enrolments[world.id(DAAN)].id, score=0.82, reasons=[
            {"message": "No activity for %(days)d days", "params": {"days": 9}, "weight": 0.45},
            {"message": "Only active in the first %(hours)d hours after kickoff", "params": {"hours": 48},
             "weight": 0.5}]),
        RiskAssessment(enrolment_id=enrolments[world.id(FLEUR)].id, score=0.2, reasons=[
            {"message": "Overdue missions: %(count)d", "params": {"count": 1}, "weight": 0.1}]),
    ])
    last = datetime.now(UTC) - timedelta(days=9)
    session.add(Activity(source="teams", external_id="old", kind="post", author_oid="x", author_id=world.id(DAAN),
                         occurred_at=last))
    session.commit()

    english = world.get(COACH, f"/api/cohorts/{world.cohort.id}/at-risk?locale=en").get_json()["items"]
    assert [r["name"] for r in english] == [DAAN]  # Fleur's risk is low
    assert english[0]["reasons"] == ["No activity for 9 days", "Only active in the first 48 hours after kickoff"]
    assert datetime.fromisoformat(english[0]["last_activity"]) == last.replace(microsecond=last.microsecond)
    assert english[0]["team"] == "Financieel Advies" and english[0]["score"] == 0.82
    dutch = world.get(COACH, f"/api/cohorts/{world.cohort.id}/at-risk?locale=nl").get_json()["items"]
    assert dutch[0]["reasons"][0] != english[0]["reasons"][0] and "9" in dutch[0]["reasons"][0]
    assert world.get(COACH, "/api/coach").get_json()["cohort"]["summary"]["at_risk"] == 1


def test_a_check_in_note_confirms_the_coach_mission(world, session):
    enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(THIJS)))
    kickoff = session.scalar(select(Mission).where(Mission.cohort_id == world.cohort.id,
                                                   Mission.slug == "kickoff-checkin"))

    response = world.post(COACH, f"/api/cohorts/{world.cohort.id}/checkins?locale=en",
                          {"enrolment_id": enrolment.id, "note": "Good talk about goals.", "mission_id": kickoff.id})

    assert response.status_code == 201
    note = response.get_json()
    assert (note["person"], note["coach"], note["mission"]) == (THIJS, COACH, "Kickoff with your coach")
    listed = world.get(COACH, f"/api/cohorts/{world.cohort.id}/checkins").get_json()["items"]
    assert [c["note"] for c in listed] == ["Good talk about goals."]
    progress = session.scalar(select(MissionProgress).where(MissionProgress.enrolment_id == enrolment.id,
                                                            MissionProgress.mission_id == kickoff.id))
    assert progress is not None and progress.completed_at is not None  # the recomputation ran
    [entry] = audit_actions(session, "checkin.create")
    assert entry.actor_id == world.id(COACH) and entry.details["mission"] == "kickoff-checkin"


def test_a_plain_note_completes_nothing(world, session):
    enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(DAAN)))
    response = world.post(COACH, f"/api/cohorts/{world.cohort.id}/checkins",
                          {"enrolment_id": enrolment.id, "note": "Quick chat."})
    assert response.status_code == 201 and response.get_json()["mission"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"enrolment_id": None}, "enrolment_id"), ({"enrolment_id": 999999}, "enrolment_id"),
    ({"enrolment_id": "invited"}, "enrolment_id"), ({"note": "  "}, "note"), ({"note": "x" * 4001}, "note"),
    ({"mission_id": "post"}, "mission_id"), ({"mission_id": 999999}, "mission_id"),
])
def test_bad_check_ins_are_refused_and_store_nothing(world, session, change, field):
    daan = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(DAAN)))
    tom = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(TOM)))
    post = session.scalar(select(Mission).where(Mission.cohort_id == world.cohort.id, Mission.type != "checkin"))
    body = {"enrolment_id": daan.id, "note": "Fine.", **change}
    if change.get("enrolment_id") == "invited":
        body["enrolment_id"] = tom.id  # not taking part (yet)
    if change.get("mission_id") == "post":
        body["mission_id"] = post.id  # completes by itself, not by a coach

    response = world.post(COACH, f"/api/cohorts/{world.cohort.id}/checkins", body)

    assert response.status_code == 400 and response.get_json()["field"] == field
    assert session.scalar(select(func.count()).select_from(CheckIn)) == 0


def test_leads_cannot_write_check_ins(world, session):
    daan = session.scalar(select(Enrolment).where(Enrolment.person_id == world.id(DAAN)))
    response = world.post(LEAD, f"/api/cohorts/{world.cohort.id}/checkins", {"enrolment_id": daan.id, "note": "x"})
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


# -- the page shell ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("locale", "heading", "button"), [("nl-NL", "Coach", "Nieuwe groep"),
                                                            ("en-US", "Coach", "New group")])
def test_the_coach_tab_shell_speaks_the_teams_language_and_holds_no_data(client, locale, heading, button):
    response = client.get(f"/tabs/coach?locale={locale}&theme=dark")
    assert response.status_code == 200 and "no-cache" in response.headers["Cache-Control"]
    page = response.text
    assert f'<html lang="{locale[:2]}" class="theme-dark" data-tab="coach">' in page
    assert f"<h1>{heading}</h1>" in page and f">{button}</button>" in page
    assert "<script>" not in page and " style=" not in page  # the CSP allows neither
    assert 'src="/static/js/tabs/coach.js"' in page
    texts = json.loads(page.split('<script type="application/json" id="i18n">')[1].split("</script>")[0])
    assert texts["problem_forbidden_title"] and "{name}" in texts["approved"]
    assert set(texts["invited"]) == {"one", "other"}


def test_the_coach_tabs_own_code_fits_the_budget(client):
    def body(path: str) -> bytes:
        response = client.get(path)
        try:
            assert response.status_code == 200, path
            return response.get_data()
        finally:
            response.close()  # static files are streamed from disk

    page = client.get("/tabs/coach?locale=en").text
    own = [path for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page) if "/vendor/" not in path]
    modules = {f"/static/js/tabs/{name}" for path in own if path.endswith(".js")
               for name in re.findall(r'from "\./([\w-]+\.js)"', body(path).decode())}
    assert "/static/js/tabs/common.js" in modules
    assert sum(len(body(path)) for path in [*own, *modules]) < 150 * 1024  # DESIGN.md §5: own JS and CSS per tab
