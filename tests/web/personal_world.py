"""A small organisation for the personal-tab API tests: two teams, their leads, a coach, an admin, one cohort.

The people are demo-tenant users (so the sandbox authority mints their Teams SSO tokens); teams, the cohort and
enrolments are made with the factories, so each test states exactly the week and the intake it needs.

No app context stays open between requests (requests would then share `g`: one session, one cached locale);
:meth:`World.db` opens one briefly and commits what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.db import get_session
from plugin.domain.programme import default_programme
from plugin.models import AuditEntry, Cohort, Enrolment, Evidence, RoleAssignment
from plugin.services.demo import demo_oid
from plugin.services.programmes import copy_missions
from tests.factories import make_cohort, make_team

DAAN, FLEUR, SANNE = "Daan Jansen", "Fleur Bakker", "Sanne de Vries"  # team "fin"; Sanne leads it
TOM, PRIYA = "Tom Hendriks", "Priya Raman"  # team "data"; Priya leads it
ESTHER, GERRIT = "Esther Koster", "Gerrit Post"  # the coach; the IT admin (takes no part)


def bearer(authority: Any, name: str) -> dict[str, str]:
    """The Authorization header with `name`'s Teams SSO token."""
    return {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}


def start_for_week(week: int, today: date | None = None) -> date:
    """A cohort start date that puts today in the middle of programme week `week`."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=7 * (week - 1) + 2)


@dataclass
class World:
    """The people (by name), teams and cohort of a test, and a client to call the API as any of them."""

    app: Flask
    client: FlaskClient
    authority: Any
    people: dict[str, int]
    teams: dict[str, int]
    cohort: Cohort
    enrolments: dict[str, Enrolment] = field(default_factory=dict)

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A session of a short app context; what it wrote is committed at the end."""
        with self.app.app_context():
            session = get_session()
            yield session
            session.commit()

    def call(self, method: str, path: str, name: str | None, *, json: Any = None, **kwargs: Any):
        """Call the API as `name` (None: without a token)."""
        headers = dict(kwargs.pop("headers", {}))
        if name is not None:
            headers |= bearer(self.authority, name)
        return self.client.open(path, method=method, headers=headers, json=json, **kwargs)

    def enrol(self, name: str, team: str | None = "fin", **fields: Any) -> Enrolment:
        """Enrol `name` in the cohort (active and consented unless `fields` say otherwise)."""
        values = {"cohort_id": self.cohort.id, "person_id": self.people[name],
                  "team_id": self.teams[team] if team else None, "status": "active",
                  "enrolled_at": datetime.combine(self.cohort.start_date, datetime.min.time(), tzinfo=UTC)
                  - timedelta(days=3),
                  "consented_at": datetime.combine(self.cohort.start_date, datetime.min.time(), tzinfo=UTC)
                  - timedelta(days=3), "consent_version": "1",
                  "intake": {"platforms": ["linkedin"], "expertise": ["lean"], "goals": ["network"]},
                  "intake_completed_at": datetime.now(UTC) - timedelta(days=10)}
        with self.db() as session:
            enrolment = Enrolment(**(values | fields))
            session.add(enrolment)
        self.enrolments[name] = enrolment
        return enrolment

    def programme(self, name: str, query: str = "?locale=en-US") -> dict[str, Any]:
        """The personal tab's JSON for `name` (200 expected)."""
        response = self.call("GET", f"/api/me/programme{query}", name)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def count(self, model: type, *where: Any) -> int:
        """Rows of `model` matching `where`, as the database has them now."""
        with self.db() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def audit(self, action: str) -> list[AuditEntry]:
        """Audit entries with `action`."""
        with self.db() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))

    def evidence_rows(self) -> list[tuple]:
        """Every evidence row's content, to prove that a refused request changed nothing."""
        with self.db() as session:
            return [tuple(row) for row in session.execute(
                select(Evidence.id, Evidence.status, Evidence.url, Evidence.note, Evidence.review_note)
                .order_by(Evidence.id))]

    def scalar(self, statement: Any) -> Any:
        """One value read from the database now."""
        with self.db() as session:
            return session.scalar(statement)


def make_world(app: Flask, client: FlaskClient, authority: Any, *, week: int = 3) -> World:
    """Sign everyone in once (creating their Person rows), give the leads their teams and start a cohort."""
    people = {}
    for name in (DAAN, FLEUR, SANNE, TOM, PRIYA, ESTHER, GERRIT):
        response = client.get("/api/me", headers=bearer(authority, name))
        assert response.status_code == 200
        people[name] = response.get_json()["id"]
    world = World(app, client, authority, people, {}, None)  # type: ignore[arg-type]
    with world.db() as session:
        teams = {"fin": make_team(session, display_name="Finance"), "data": make_team(session, display_name="Data")}
        session.add_all([RoleAssignment(person_id=people[SANNE], role="lead", team_id=teams["fin"].id),
                         RoleAssignment(person_id=people[PRIYA], role="lead", team_id=teams["data"].id)])
        world.cohort = make_cohort(session, name="Najaar", start_date=start_for_week(week))
        copy_missions(session, world.cohort, default_programme())
        world.teams = {key: team.id for key, team in teams.items()}
    return world


def mission_named(data: dict[str, Any], slug: str) -> dict[str, Any]:
    """The mission `slug` of a personal-tab JSON."""
    return next(m for m in data["missions"] if m["slug"] == slug)
