"""Every API route declares who may call it, and every route is checked for every kind of caller."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from plugin.models import Person, Team, TeamMembership
from plugin.services.demo import demo_oid

PERSONAS = {
    "anonymous": None,
    "employee": "Daan Jansen",
    "lead": "Sanne de Vries",
    "coach": "Esther Koster",
    "admin": "Gerrit Post",
}
#: Who may call a route of each access level (admins may do what coaches may; coaches see every team).
ALLOWED = {
    "anyone": set(PERSONAS),
    "employee": {"employee", "lead", "coach", "admin"},
    "lead": {"lead", "coach", "admin"},
    "coach": {"coach", "admin"},
    "admin": {"admin"},
}


@pytest.fixture
def teams(client, authority, session):
    """Two teams; Sanne owns the first one."""
    for name in PERSONAS.values():
        if name:
            client.get("/api/me", headers={"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"})
    own, other = Team(graph_id="team-own", display_name="Eigen team"), Team(graph_id="team-other", display_name="Ander")
    session.add_all([own, other])
    session.flush()
    sanne = session.scalar(select(Person).where(Person.entra_oid == demo_oid("Sanne de Vries")))
    session.add(TeamMembership(team_id=own.id, person_id=sanne.id, is_owner=True))
    session.flush()
    return own, other


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_api_route_declares_its_access(app):
    undeclared = [rule.rule for rule, _m in api_routes(app) if not hasattr(app.view_functions[rule.endpoint],
                                                                          "route_doc")]
    assert undeclared == []
    assert len(list(api_routes(app))) >= 3


def test_matrix_of_routes_and_roles(app, client, authority, teams):
    own, _other = teams
    checked = 0
    for rule, method in api_routes(app):
        access = app.view_functions[rule.endpoint].route_doc.access
        path = re.sub(r"<(?:int:)?\w+>", str(own.id), rule.rule)
        for persona, name in PERSONAS.items():
            headers = {} if name is None else {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}
            status = client.open(path, method=method, headers=headers, json={} if method != "GET" else None).status_code
            if persona in ALLOWED[access]:
                assert status not in (401, 403), (method, rule.rule, persona, status)
            else:
                assert status == (401 if name is None else 403), (method, rule.rule, persona, status)
            checked += 1
    assert checked >= 15


def test_a_lead_cannot_read_another_team(client, authority, teams):
    own, other = teams
    headers = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Sanne de Vries'))}"}
    assert client.get(f"/api/teams/{own.id}/summary", headers=headers).status_code == 200
    refused = client.get(f"/api/teams/{other.id}/summary", headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    coach = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Esther Koster'))}"}
    assert client.get(f"/api/teams/{other.id}/summary", headers=coach).status_code == 200


def test_openapi_lists_every_route_with_its_access(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert document["paths"]["/api/me"]["get"]["x-access"] == "employee"
    assert document["paths"]["/api/teams/{team_id}/summary"]["get"]["x-access"] == "lead"
    assert document["paths"]["/api/me"]["get"]["security"] == [{"teamsSso": []}]
