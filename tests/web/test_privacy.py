"""Privacy rights through the API: export everything about me, erase me (anonymous figures stay), the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.models import Activity, AuditEntry, Award, Enrolment, Person, PointsEntry, Recognition
from plugin.services.demo import demo_oid
from tests.web.impact_world import DAAN, ESTHER, GERRIT, SANNE, bearer
from tests.web.privacy_world import EVIDENCE_URL, INTAKE, TOKEN_SECRET, build_privacy_world, database_text, traces


@pytest.fixture
def pw(app, client, authority):
    """The impact world with Daan's full set of data (tests/web/privacy_world.py)."""
    return build_privacy_world(app, client, authority)


def as_(pw, name, method, path, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if name is not None:
        headers |= bearer(pw.world.authority, name)
    return pw.world.client.open(path, method=method, headers=headers, **kwargs)


def impact(pw):
    response = as_(pw, ESTHER, "GET", f"/api/cohorts/{pw.world.cohort_id}/impact?locale=en")
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    data.pop("generated_at", None)
    return data


def team_summary(pw, team_id):
    data = as_(pw, ESTHER, "GET", f"/api/teams/{team_id}/summary").get_json()
    data.pop("shown")  # who opted in to be shown by name is personal; the figures are not
    return data


def team_totals(session, cohort_id):
    """Per team: participants, their posts and replies, responses they received, points and badges."""
    participants = select(Enrolment.person_id, Enrolment.team_id).where(
        Enrolment.cohort_id == cohort_id, Enrolment.status == "active").subquery()
    totals = {}
    for name, query in {
        "people": select(participants.c.team_id, func.count()).group_by(participants.c.team_id),
        "written": select(participants.c.team_id, func.count()).join(
            Activity, Activity.author_id == participants.c.person_id).where(Activity.deleted_at.is_(None))
        .group_by(participants.c.team_id),
        "received": select(participants.c.team_id, func.count()).join(
            Activity, Activity.target_author_id == participants.c.person_id).where(Activity.deleted_at.is_(None))
        .group_by(participants.c.team_id),
        "reached": select(participants.c.team_id, func.count(func.distinct(Activity.author_oid))).join(
            Activity, Activity.target_author_id == participants.c.person_id).group_by(participants.c.team_id),
        "points": select(participants.c.team_id, func.sum(PointsEntry.amount)).join(
            PointsEntry, PointsEntry.person_id == participants.c.person_id).group_by(participants.c.team_id),
        "badges": select(participants.c.team_id, func.count()).join(
            Award, Award.person_id == participants.c.person_id).where(Award.revoked_at.is_(None))
        .group_by(participants.c.team_id),
    }.items():
        totals[name] = dict(session.execute(query).all())
    return totals


# -- export ---------------------------------------------------------------------------------------------------------


def test_export_holds_everything_about_me_and_no_tokens(pw):
    response = as_(pw, DAAN, "GET", "/api/me/export")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ambassador-export-')
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    data = json.loads(text)
    assert data["format"] == "ambassador-export/1"
    assert data["person"]["display_name"] == DAAN and data["person"]["entra_oid"] == pw.oid
    [enrolment] = data["enrolments"]
    assert enrolment["team"] == "South" and enrolment["status"] == "active"
    assert enrolment["consent"]["version"] == "1" and enrolment["intake"]["answers"] == INTAKE
    assert enrolment["intake"]["connections"] == 300
    assert enrolment["settings"] == {"ranking_visibility": "named", "muted_notifications": ["nudge"]}
    assert [p["mission"] for p in enrolment["mission_progress"]] == ["share-a-post"]
    [evidence] = enrolment["evidence"]
    assert (evidence["url"], evidence["reviewed_by"], evidence["review_note"]) == (EVIDENCE_URL, ESTHER,
                                                                                   "Mooi stuk, Daan")
    assert enrolment["check_ins"][0]["note"] == "Daan twijfelt over LinkedIn"
    assert enrolment["risk"]["score"] == 0.7
    assert data["points"] == [{"cohort_id": pw.world.cohort_id, "total": 30, "entries": data["points"][0]["entries"]}]
    assert [(a["badge"], a["public"], a["awarded_by"]) for a in data["awards"]] == [("ambassador", True, SANNE)]
    assert [r["message"] for r in data["recognitions"]["received"]] == ["Daan, jouw stuk over zonnepanelen was top"]
    assert [r["message"] for r in data["recognitions"]["given"]] == ["Goed gedaan! Groet, Daan"]
    assert [n["reason"] for n in data["nominations"]["received"]] == ["Daan deelt veel kennis"]
    assert [n["reason"] for n in data["nominations"]["made"]] == ["Voorgedragen door Daan"]
    written = data["activity"]["written"]
    assert sorted(a["kind"] for a in written) == ["post", "post", "reaction", "reply"]
    assert {"knowledge_sharing", "own_words", "topics"} <= set(written[0]) and "text" not in written[0]
    assert data["activity"]["received"] == {"replies": 0, "reactions": 1}
    assert [n["type"] for n in data["notifications"]] == ["weekUnlocked"]
    assert data["roles"] == [{"role": "lead", "team": "South", "granted_at": data["roles"][0]["granted_at"]}]
    assert data["team_memberships"][0]["team"] == "South"
    assert data["sign_in"]["token_cache"]["stored"] is True
    assert data["sign_in"]["viva_engage"]["status"] == "ok"
    # Never the tokens, and nothing of the colleagues who reacted (their object ids are theirs).
    assert TOKEN_SECRET.decode("latin-1") not in text and "ciphertext" not in text
    with pw.db() as session:
        others = session.scalars(select(Person.entra_oid).where(Person.id != pw.daan)).all()
    assert not [oid for oid in others if oid in text]


def test_export_is_about_the_caller_only_and_is_audited(pw):
    sanne = as_(pw, SANNE, "GET", f"/api/me/export?person={pw.daan}").get_json()

    assert sanne["person"]["display_name"] == SANNE
    text = json.dumps(sanne)
    assert sanne["enrolments"] == [] and EVIDENCE_URL not in text and "Daan twijfelt" not in text
    assert [r["message"] for r in sanne["recognitions"]["given"]] == ["Daan, jouw stuk over zonnepanelen was top"]
    assert as_(pw, None, "GET", "/api/me/export").status_code == 401
    with pw.db() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.export")).one()
        assert (entry.actor_id, entry.details) == (pw.world.people[SANNE], {"requested_by": "self"})


# -- erase ----------------------------------------------------------------------------------------------------------


def test_erase_keeps_the_anonymous_figures_and_leaves_nothing_of_me(pw, connection):
    report_before, south_before = impact(pw), team_summary(pw, pw.south)
    with pw.db() as session:
        totals_before = team_totals(session, pw.world.cohort_id)
    assert totals_before["people"][pw.south] == 8 and totals_before["written"][pw.south] > 0
    assert traces(connection, pw.oid)  # the scan does see him before

    response = as_(pw, DAAN, "POST", "/api/me/erase", json={"confirm": "  daan   JANSEN "})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["erased"] is True
    assert traces(connection, pw.oid) == []
    assert impact(pw) == report_before
    assert team_summary(pw, pw.south) == south_before
    with pw.db() as session:
        assert team_totals(session, pw.world.cohort_id) == totals_before
        person = session.get(Person, pw.daan)
        assert person.erased_at is not None and person.entra_oid.startswith("erased:")
        assert (person.display_name, person.upn, person.email, person.preferred_locale) == (None, None, None, None)
        # What other people own stays, pointing at the nameless placeholder.
        assert session.get(Recognition, pw.recognition_to_daan).to_person_id == pw.daan
        assert session.get(Activity, pw.colleague_reaction).target_author_id == pw.daan
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erase")).one()
        assert (entry.actor_id, entry.target_id, entry.details) == (None, None, {"requested_by": "self"})


def test_after_erasing_the_same_account_starts_as_someone_new(pw):
    erased = as_(pw, DAAN, "POST", "/api/me/erase", json={"confirm": "daan.jansen@noorderlicht.example"})
    assert erased.status_code == 200

    me = as_(pw, DAAN, "GET", "/api/me").get_json()
    assert me["id"] != pw.daan and me["name"] == DAAN and me["oid"] == demo_oid(DAAN)
    assert "lead" not in me["roles"]
    programme = as_(pw, DAAN, "GET", "/api/me/programme")
    assert programme.status_code == 404 and programme.get_json()["error"] == "not_enrolled"
    fresh = as_(pw, DAAN, "GET", "/api/me/export").get_json()
    assert fresh["enrolments"] == [] and fresh["activity"]["written"] == [] and fresh["awards"] == []


@pytest.mark.parametrize("body", [{"confirm": "Sanne de Vries"}, {"confirm": ""}, {"confirm": 42}, {}, None])
def test_a_wrong_confirmation_is_refused_and_changes_nothing(pw, connection, body):
    before = database_text(connection)

    response = as_(pw, DAAN, "POST", "/api/me/erase", json=body)

    assert response.status_code == 400
    answer = response.get_json()
    assert answer["error"] == "confirmation_mismatch" and answer["field"] == "confirm" and answer["message"]
    assert database_text(connection) == before


def test_the_refusal_is_in_dutch_for_a_dutch_caller(pw):
    answer = as_(pw, DAAN, "POST", "/api/me/erase?locale=nl", json={"confirm": "iemand anders"}).get_json()

    assert answer["message"] == "Typ je naam of e-mailadres precies zoals het hier staat om je gegevens te wissen."


def test_nobody_can_erase_someone_else(pw):
    # The erase route only ever acts on the caller: naming Daan as someone else does nothing to him.
    response = as_(pw, SANNE, "POST", "/api/me/erase", json={"confirm": DAAN, "person": pw.daan})

    assert response.status_code == 400
    with pw.db() as session:
        assert session.get(Person, pw.daan).erased_at is None
    assert as_(pw, None, "POST", "/api/me/erase", json={"confirm": DAAN}).status_code == 401


# -- audit log ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "status"), [(None, 401), (DAAN, 403), (SANNE, 403), (ESTHER, 403), (GERRIT, 200)])
def test_only_admins_read_the_audit_log(pw, name, status):
    assert as_(pw, name, "GET", "/api/admin/audit").status_code == status


def test_the_audit_log_filters_and_pages(pw, runner):
    with pw.db() as session:
        old = datetime.now(UTC) - timedelta(days=40)
        session.add(AuditEntry(actor_id=pw.world.people[ESTHER], action="cohort.create", target_type="cohort",
                               target_id=str(pw.world.cohort_id), details={"name": "Voorjaar"}, created_at=old))
    assert runner.invoke(args=["roles", "grant", "sanne.de.vries@noorderlicht.example", "coach"]).exit_code == 0
    assert as_(pw, DAAN, "POST", "/api/me/erase", json={"confirm": DAAN}).status_code == 200

    everything = as_(pw, GERRIT, "GET", "/api/admin/audit").get_json()
    assert everything["total"] == len(everything["entries"]) == 4
    assert [e["action"] for e in everything["entries"]] == ["privacy.erase", "role.grant", "award.revoke",
                                                            "cohort.create"]
    assert everything["entries"][-1]["actor"] == {"id": pw.world.people[ESTHER], "name": ESTHER, "erased": False}
    roles = as_(pw, GERRIT, "GET", "/api/admin/audit?action=role").get_json()
    assert [e["action"] for e in roles["entries"]] == ["role.grant"]
    assert roles["entries"][0]["actor"] is None  # the command line
    recent = as_(pw, GERRIT, "GET", f"/api/admin/audit?since={(datetime.now(UTC) - timedelta(days=1)).date()}")
    assert recent.get_json()["total"] == 3
    second = as_(pw, GERRIT, "GET", "/api/admin/audit?per_page=3&page=2").get_json()
    assert (second["pages"], [e["action"] for e in second["entries"]]) == (2, ["cohort.create"])
    erase = everything["entries"][0]
    assert erase["actor"] is None and erase["target"] == {"type": "person", "id": None}
    assert "daan" not in json.dumps(everything).lower()


@pytest.mark.parametrize(("query", "field"), [("since=yesterday", "since"), ("page=0", "page"),
                                              ("per_page=1000", "per_page"), ("page=x", "page")])
def test_bad_audit_filters_are_400(pw, query, field):
    response = as_(pw, GERRIT, "GET", f"/api/admin/audit?{query}")

    assert response.status_code == 400
    assert response.get_json()["field"] == field
