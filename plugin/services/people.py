"""Who is calling: create or update the person behind a valid token, and work out their roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..adapters.entra import Identity
from ..i18n import normalise_locale
from ..models import Person, RoleAssignment, TeamMembership

#: Entra app roles (the token's `roles` claim) that map to Ambassador roles.
APP_ROLE_NAMES = {"coach": "coach", "admin": "admin", "ambassador.coach": "coach", "ambassador.admin": "admin"}
#: Team ownership read from Graph counts for this long before it must be read again.
OWNERSHIP_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Caller:
    """The signed-in person with the roles they hold now; `lead_team_ids` are the teams they lead."""

    person_id: int
    oid: str
    name: str | None
    locale: str | None
    roles: frozenset[str]
    lead_team_ids: frozenset[int]

    def has(self, role: str) -> bool:
        """True when the caller holds `role` (admins may do what coaches may)."""
        return role in self.roles or (role == "coach" and "admin" in self.roles)

    def leads(self, team_id: int | None) -> bool:
        """True when the caller leads `team_id` (admins and coaches see every team)."""
        return team_id in self.lead_team_ids or self.has("coach")


def sign_in(session: Session, identity: Identity, *, locale: str | None = None,
            now: datetime | None = None) -> Caller:
    """Create or update the person for a validated token and return them with their roles; commits."""
    now = now or datetime.now(UTC)
    person = session.scalar(select(Person).where(Person.entra_oid == identity.oid))
    if person is None:
        person = Person(entra_oid=identity.oid)
        session.add(person)
    changed = _update(person, identity, normalise_locale(locale))
    if changed or person.id is None:
        try:
            session.commit()
        except IntegrityError:  # another request created the same person a moment ago
            session.rollback()
            person = session.scalar(select(Person).where(Person.entra_oid == identity.oid))
            if person is None:
                raise
    return caller_for(session, person, identity, now=now)


def _update(person: Person, identity: Identity, locale: str | None) -> bool:
    if person.erased_at is not None:
        return False  # an erased person stays erased; they can enrol again explicitly
    wanted = {"display_name": identity.name, "upn": identity.username}
    if locale and not person.preferred_locale:
        wanted["preferred_locale"] = locale
    changed = False
    for name, value in wanted.items():
        if value and getattr(person, name) != value:
            setattr(person, name, value)
            changed = True
    return changed


def caller_for(session: Session, person: Person, identity: Identity, *, now: datetime) -> Caller:
    """Roles: everyone is an employee; coach/admin from the token's app roles or an admin's assignment;
    lead from an assignment or from owning the team in Teams (as last read from Graph)."""
    roles = {"employee"}
    roles |= {APP_ROLE_NAMES[r.lower()] for r in identity.roles if r.lower() in APP_ROLE_NAMES}
    lead_teams: set[int] = set()
    for assignment in session.scalars(select(RoleAssignment).where(RoleAssignment.person_id == person.id)):
        if assignment.role == "lead" and assignment.team_id is not None:
            lead_teams.add(assignment.team_id)
        elif assignment.role in ("coach", "admin"):
            roles.add(assignment.role)
    owned = session.scalars(select(TeamMembership.team_id).where(
        TeamMembership.person_id == person.id, TeamMembership.is_owner.is_(True),
        TeamMembership.refreshed_at >= now - OWNERSHIP_TTL,
    ))
    lead_teams.update(owned)
    if lead_teams:
        roles.add("lead")
    return Caller(person.id, person.entra_oid, person.display_name, person.preferred_locale, frozenset(roles),
                  frozenset(lead_teams))
