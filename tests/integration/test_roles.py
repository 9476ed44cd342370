"""Admins give roles in the app, and team leads follow who owns the team in Teams (read from Graph)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from plugin.adapters.graph import GraphClient
from plugin.models import AuditEntry, CohortTeam, Person, Team, TeamMembership
from plugin.services.demo import demo_oid, team_graph_id
from plugin.services.people import OWNERSHIP_TTL
from plugin.services.roles import refresh_ownership
from tests.factories import make_cohort, make_person


def bearer(authority, name: str) -> dict:
    return {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}


def test_grant_list_and_revoke_through_the_cli(runner, session, client, authority):
    client.get("/api/me", headers=bearer(authority, "Daan Jansen"))
    team = Team(graph_id="team-x", display_name="Team X")
    session.add(team)
    session.commit()
    upn = "daan.jansen@noorderlicht.example"

    assert runner.invoke(args=["roles", "grant", upn, "coach"]).output.strip() == f"{upn} is now coach"
    assert runner.invoke(args=["roles", "grant", upn, "coach"]).output.strip() == f"{upn} already was coach"
    assert runner.invoke(args=["roles", "grant", upn, "lead", "--team", "team-x"]).exit_code == 0
    assert "coach" in client.get("/api/me", headers=bearer(authority, "Daan Jansen")).get_json()["roles"]
    listing = runner.invoke(args=["roles", "list"]).output
    assert f"{upn}\tcoach" in listing and f"{upn}\tlead\tTeam X" in listing
    assert runner.invoke(args=["roles", "revoke", upn, "coach"]).output.strip() == f"{upn} is no longer coach"
    assert "coach" not in client.get("/api/me", headers=bearer(authority, "Daan Jansen")).get_json()["roles"]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("role.%"))).all()
    assert actions.count("role.grant") == 2 and actions.count("role.revoke") == 1


def test_bad_role_requests_are_one_readable_line(runner, session):
    make_person(session, upn="anna@example.test")
    session.commit()
    cases = {
        ("roles", "grant", "nobody@example.test", "coach"): "nobody known as 'nobody@example.test'",
        ("roles", "grant", "anna@example.test", "lead"): "a lead leads a team: give --team",
        ("roles", "grant", "anna@example.test", "coach", "--team", "x"): "the coach role is not tied to a team",
        ("roles", "grant", "anna@example.test", "lead", "--team", "nope"): "no team with group id 'nope'",
    }
    for args, fragment in cases.items():
        result = runner.invoke(args=list(args))
        assert result.exit_code == 1 and fragment in result.output and result.output.count("\n") == 1


def test_team_owners_in_teams_become_leads(app, session, client, authority):
    for name in ("Sanne de Vries", "Daan Jansen"):
        client.get("/api/me", headers=bearer(authority, name))
    team = Team(graph_id=team_graph_id("fin"), display_name="Financieel Advies")
    session.add(team)
    session.flush()
    cohort = make_cohort(session, start_date=date.today() - timedelta(days=3))
    session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
    session.commit()

    with GraphClient.from_app(app) as graph:
        owners = refresh_ownership(session, team, graph.team_members(team.graph_id))
    assert owners == 1
    sanne = session.scalar(select(Person).where(Person.entra_oid == demo_oid("Sanne de Vries")))
    rows = {m.person_id: m.is_owner for m in session.scalars(select(TeamMembership))}
    assert rows[sanne.id] is True and sum(rows.values()) == 1
    assert client.get("/api/me", headers=bearer(authority, "Sanne de Vries")).get_json()["lead_team_ids"] == [team.id]

    # Ownership read long ago no longer counts: it must be read from Teams again.
    membership = session.scalar(select(TeamMembership).where(TeamMembership.person_id == sanne.id))
    membership.refreshed_at = datetime.now(UTC) - OWNERSHIP_TTL - timedelta(minutes=1)
    session.commit()
    assert client.get("/api/me", headers=bearer(authority, "Sanne de Vries")).get_json()["lead_team_ids"] == []
    assert app.extensions["tasks"]["refresh_leads"].call_local() == 1
    assert client.get("/api/me", headers=bearer(authority, "Sanne de Vries")).get_json()["lead_team_ids"] == [team.id]
