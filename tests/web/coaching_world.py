"""A small organisation for the coach and recognition API tests: two teams, a coach's running cohort and people
who sign in with the sandbox's Teams SSO tokens (demo users, so the dev authority can mint their tokens).

Esther Koster is a coach and Gerrit Post an admin (app roles in their tokens); Sanne de Vries owns team A (the
demo's Financieel Advies, which works in Dutch) and Priya Raman team B (IT & Data, in English), which makes them
those teams' leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import flask_babel
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain.programme import default_programme
from plugin.models import Channel, Cohort, Enrolment, Person, Team, TeamMembership
from plugin.services import demo_data
from plugin.services.demo import channel_graph_id, demo_oid, team_graph_id
from plugin.services.programmes import copy_missions, ensure_badges
from tests.factories import make_cohort

COACH, ADMIN, LEAD, OTHER_LEAD = "Esther Koster", "Gerrit Post", "Sanne de Vries", "Priya Raman"
DAAN, FLEUR, THIJS, TOM = "Daan Jansen", "Fleur Bakker", "Thijs Visser", "Tom Hendriks"


@dataclass
class World:
    """The rows the tests use, and a way to call the API as one of the people."""

    client: FlaskClient
    authority: Any
    session: Session
    cohort: Cohort
    team_a: Team
    team_b: Team
    people: dict[str, Person] = field(default_factory=dict)

    def headers(self, name: str | None) -> dict[str, str]:
        """The Authorization header of `name` (no header for None)."""
        return {} if name is None else {"Authorization": f"Bearer {self.authority.mint_sso_token(demo_oid(name))}"}

    def get(self, name: str | None, path: str) -> Any:
        """GET `path` as `name`."""
        return self.open("GET", name, path)

    def post(self, name: str | None, path: str, body: Any = None) -> Any:
        """POST JSON `body` to `path` as `name`."""
        return self.open("POST", name, path, body if body is not None else {})

    def put(self, name: str | None, path: str, body: Any = None) -> Any:
        """PUT JSON `body` to `path` as `name`."""
        return self.open("PUT", name, path, body if body is not None else {})

    def open(self, method: str, name: str | None, path: str, body: Any = None, **kwargs: Any) -> Any:
        """One request as `name`."""
        # The `session` fixture keeps an app context open, which the test client's requests then share; forget
        # the language the previous request chose, as a request of its own would.
        flask_babel.refresh()
        return self.client.open(path, method=method, json=body, headers=self.headers(name), **kwargs)

    def id(self, name: str) -> int:
        """The person id of `name`."""
        return self.people[name].id


def demo_team(session: Session, key: str) -> Team:
    """A team of the demo tenant (so the sandbox's Graph emulator knows it and its channels)."""
    _key, name, locale, channels = next(row for row in demo_data.TEAMS if row[0] == key)
    team = Team(graph_id=team_graph_id(key), display_name=name, locale=locale)
    team.channels = [Channel(graph_id=channel_graph_id(key, c), display_name=c) for c in channels]
    session.add(team)
    session.flush()
    return team


def build_world(client: FlaskClient, authority: Any, session: Session) -> World:
    """Sign everyone in once (that creates their person rows), then build the teams and the running cohort."""
    names = (COACH, ADMIN, LEAD, OTHER_LEAD, DAAN, FLEUR, THIJS, TOM)
    for name in names:
        assert client.get("/api/me", headers={
            "Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}).status_code == 200
    people = {name: session.scalar(select(Person).where(Person.entra_oid == demo_oid(name))) for name in names}
    team_a, team_b = demo_team(session, "fin"), demo_team(session, "data")
    for name, team, owner in ((LEAD, team_a, True), (DAAN, team_a, False), (FLEUR, team_a, False),
                              (OTHER_LEAD, team_b, True), (THIJS, team_b, False), (TOM, team_b, False)):
        session.add(TeamMembership(team_id=team.id, person_id=people[name].id, is_owner=owner))
    # Week 2 of the programme, whatever day the tests run.
    start = (datetime.now(UTC) - timedelta(days=9)).date()
    programme = default_programme()
    cohort = make_cohort(session, name="Najaar", start_date=start, programme_id=programme.id,
                         programme_version=str(programme.version), created_by_id=people[COACH].id)
    copy_missions(session, cohort, programme)
    ensure_badges(session)
    for name, team in ((LEAD, team_a), (DAAN, team_a), (FLEUR, team_a), (OTHER_LEAD, team_b), (THIJS, team_b)):
        session.add(Enrolment(cohort_id=cohort.id, person_id=people[name].id, team_id=team.id, status="active",
                              consented_at=datetime.now(UTC), consent_version="1"))
    session.add(Enrolment(cohort_id=cohort.id, person_id=people[TOM].id, team_id=team_b.id, status="invited"))
    session.commit()
    return World(client, authority, session, cohort, team_a, team_b, people)
