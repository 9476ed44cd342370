"""Roles an admin gives in the app (coach, admin, lead of a team) and team ownership read from Teams."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..adapters.graph import TeamMember
from ..models import AuditEntry, Person, RoleAssignment, Team, TeamMembership

ASSIGNABLE = ("coach", "admin", "lead")


class RoleError(ValueError):
    """The request cannot be carried out; the message says why in one line."""


@dataclass(frozen=True)
class RoleRow:
    """One assignment, for listing."""

    person: str
    role: str
    team: str | None


def find_person(session: Session, who: str) -> Person:
    """A person by Entra object id, UPN or e-mail address."""
    person = session.scalar(select(Person).where(or_(Person.entra_oid == who, Person.upn == who,
                                                     Person.email == who)))
    if person is None:
        raise RoleError(f"nobody known as {who!r} (they appear after their first visit to the app)")
    return person


def _team(session: Session, role: str, team_graph_id: str | None) -> Team | None:
    if role != "lead":
        if team_graph_id:
            raise RoleError(f"the {role} role is not tied to a team; leave out --team")
        return None
    if not team_graph_id:
        raise RoleError("a lead leads a team: give --team with the team's Microsoft 365 group id")
    team = session.scalar(select(Team).where(Team.graph_id == team_graph_id))
    if team is None:
        raise RoleError(f"no team with group id {team_graph_id!r} takes part yet")
    return team


def grant(session: Session, who: str, role: str, *, team_graph_id: str | None = None,
          actor_id: int | None = None) -> bool:
    """Give `role` to a person (audited); False when they already had it. Commits."""
    if role not in ASSIGNABLE:
        raise RoleError(f"unknown role {role!r}; choose one of {', '.join(ASSIGNABLE)}")
    person, team = find_person(session, who), _team(session, role, team_graph_id)
    team_id = team.id if team else None
    exists = session.scalar(select(RoleAssignment).where(
        RoleAssignment.person_id == person.id, RoleAssignment.role == role,
        RoleAssignment.team_id.is_(None) if team_id is None else RoleAssignment.team_id == team_id))
    if exists is not None:
        return False
    session.add(RoleAssignment(person_id=person.id, role=role, team_id=team_id, granted_by_id=actor_id))
    session.add(AuditEntry(actor_id=actor_id, action="role.grant", target_type="person", target_id=str(person.id),
                           details={"role": role, "team": team_graph_id}))
    session.commit()
    return True


def revoke(session: Session, who: str, role: str, *, team_graph_id: str | None = None,
           actor_id: int | None = None) -> bool:
    """Take `role` away from a person (audited); False when they did not have it. Commits."""
    person, team = find_person(session, who), _team(session, role, team_graph_id)
    query = select(RoleAssignment).where(RoleAssignment.person_id == person.id, RoleAssignment.role == role)
    if team is not None:
        query = query.where(RoleAssignment.team_id == team.id)
    rows = list(session.scalars(query))
    for row in rows:
        session.delete(row)
    if rows:
        session.add(AuditEntry(actor_id=actor_id, action="role.revoke", target_type="person",
                               target_id=str(person.id), details={"role": role, "team": team_graph_id}))
        session.commit()
    return bool(rows)


def list_roles(session: Session) -> list[RoleRow]:
    """Every role given in the app, by person."""
    rows = session.execute(
        select(Person.upn, Person.entra_oid, RoleAssignment.role, Team.display_name)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .outerjoin(Team, Team.id == RoleAssignment.team_id)
        .order_by(Person.upn, RoleAssignment.role)
    ).all()
    return [RoleRow(upn or oid, role, team) for upn, oid, role, team in rows]


def refresh_ownership(session: Session, team: Team, members: Iterable[TeamMember], *,
                      now: datetime | None = None) -> int:
    """Store who owns `team` in Teams (its leads), as just read from Graph; returns the owners found. Commits."""
    now = now or datetime.now(UTC)
    members = list(members)
    people = {p.entra_oid: p.id for p in session.scalars(
        select(Person).where(Person.entra_oid.in_([m.user_id for m in members])))}
    current = {m.person_id: m for m in session.scalars(select(TeamMembership).where(TeamMembership.team_id == team.id))}
    seen = set()
    for member in members:
        person_id = people.get(member.user_id)
        if person_id is None:
            continue  # not signed in yet: nothing about them is stored until they use the app
        seen.add(person_id)
        row = current.get(person_id) or TeamMembership(team_id=team.id, person_id=person_id)
        row.is_owner, row.refreshed_at = member.is_owner, now
        session.add(row)
    for person_id, row in current.items():
        if person_id not in seen:
            session.delete(row)  # left the team
    session.commit()
    return sum(1 for m in members if m.is_owner and m.user_id in people)
