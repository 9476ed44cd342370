"""A coach sets up cohorts: create one, pick its Teams teams and Viva Engage communities, enrol the members of
those teams (they start "invited"; they opt in themselves) and load programme files. Every change is audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..domain.programme import Programme, ProgrammeError, load_programme, parse_programme
from ..models import (
    AuditEntry,
    Cohort,
    CohortCommunity,
    CohortTeam,
    Community,
    Enrolment,
    Organisation,
    Person,
    Team,
    TeamMembership,
)
from .people import Caller
from .programmes import copy_missions, ensure_badges, programme_dirs
from .refusal import Refused
from .upsert import insert_ignore

log = logging.getLogger(__name__)

NAME_MAX = 200
GRACE_DAYS = (0, 14)
DEFAULT_GRACE_DAYS = 3
#: Programme files a coach uploads are small TOML documents; anything bigger is a mistake.
PROGRAMME_MAX_BYTES = 256 * 1024
#: Time zones offered first in the form (any IANA name is accepted).
COMMON_TIMEZONES = ("Europe/Amsterdam", "Europe/Brussels", "Europe/London", "Europe/Berlin", "Europe/Paris",
                    "UTC", "America/New_York", "Asia/Kolkata", "Asia/Singapore")


#: Error codes that mean "the input is wrong" (400); the others are conflicts with the stored state (409).
INVALID_CODES = frozenset({"invalid_field", "unknown_programme"})


class CohortError(Refused):
    """Bad input or a conflict for a coach's or lead's change: a code, an N_ msgid with `params` and the field."""

    def __init__(self, code: str, msgid: str, field: str | None = None, **params: object) -> None:
        super().__init__("invalid" if code in INVALID_CODES else "conflict", code, msgid, field=field, **params)


class Frozen(CohortError):
    """The cohort ended; its set-up no longer changes."""

    def __init__(self) -> None:
        super().__init__("frozen", N_("This group has ended; its set-up can no longer change."))


@dataclass(frozen=True)
class ProgrammeFile:
    """A programme that cohorts can run, from a shipped or loaded file."""

    key: str
    id: str
    version: int
    title: dict[str, str]
    weeks: int
    missions: int
    file: str
    shipped: bool


def programme_key(programme: Programme) -> str:
    """How the API names a programme version: `<id>@<version>`."""
    return f"{programme.id}@{programme.version}"


@lru_cache(maxsize=64)
def _parsed(path: Path, _mtime: float) -> Programme:
    return load_programme(path)


def programme_files(instance_path: str | Path | None) -> Iterator[tuple[Path, Programme | ProgrammeError, bool]]:
    """(path, programme or its error, shipped) for every programme file, shipped ones first (parsed once per
    version of the file)."""
    for index, folder in enumerate(programme_dirs(instance_path)):
        for path in sorted(folder.glob("*.toml")):
            try:
                yield path, _parsed(path, path.stat().st_mtime), index == 0
            except ProgrammeError as exc:
                yield path, exc, index == 0


def available_programmes(instance_path: str | Path | None) -> list[ProgrammeFile]:
    """Every valid programme file, shipped ones first; a broken file is logged and left out."""
    found: dict[str, ProgrammeFile] = {}
    for path, programme, shipped in programme_files(instance_path):
        if isinstance(programme, ProgrammeError):
            log.warning("programme file skipped: %s", programme)
            continue
        found.setdefault(programme_key(programme), _describe(programme, path, shipped))
    return list(found.values())


def find_programme(key: str, instance_path: str | Path | None) -> Programme:
    """The programme named `<id>@<version>`; CohortError when no file has it."""
    for _path, programme, _shipped in programme_files(instance_path):
        if not isinstance(programme, ProgrammeError) and programme_key(programme) == key:
            return programme
    raise CohortError("unknown_programme", N_("No programme file has %(programme)s."), "programme", programme=key)


def load_programme_file(session: Session, caller: Caller, filename: str, data: bytes,
                        instance_path: str | Path) -> tuple[ProgrammeFile, bool]:
    """Validate an uploaded programme and keep it in the instance folder; (programme, newly stored). Commits.

    Raises ProgrammeError (file, line, field, message) for an invalid file, and CohortError when another
    file already has the same id and version with different content (running cohorts depend on it).
    """
    name = Path(filename or "programme.toml").name
    if len(data) > PROGRAMME_MAX_BYTES:
        raise ProgrammeError(name, 1, "", f"the file is larger than {PROGRAMME_MAX_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProgrammeError(name, 1, "", "the file is not UTF-8 text") from exc
    programme = parse_programme(text, name)
    key = programme_key(programme)
    target_dir = Path(instance_path) / "programmes"
    target = target_dir / f"{programme.id}-v{programme.version}.toml"
    for path, existing, shipped in programme_files(instance_path):
        if isinstance(existing, ProgrammeError) or programme_key(existing) != key:
            continue
        if path.read_bytes() == data or existing == programme:
            return _describe(existing, path, shipped), False
        raise CohortError("version_exists", N_("Version %(version)s of %(programme)s is already loaded with "
                                                   "other content; give the new file a higher version."),
                              "version", version=programme.version, programme=programme.id)
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".toml.part")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: a half-written file is never picked up
    session.add(AuditEntry(actor_id=caller.person_id, action="programme.load", target_type="programme",
                           target_id=key, details={"file": name}))
    session.commit()
    return _describe(programme, target, False), True


def _describe(programme: Programme, path: Path, shipped: bool) -> ProgrammeFile:
    return ProgrammeFile(programme_key(programme), programme.id, programme.version,
                         {"en": programme.title.en, "nl": programme.title.nl}, len(programme.weeks),
                         sum(1 for _ in programme.missions()), path.name, shipped)


def create_cohort(session: Session, caller: Caller, fields: dict[str, Any], *,
                  instance_path: str | Path | None) -> Cohort:
    """Create a cohort from the form's fields (name, start_date, timezone, programme, grace_days); commits."""
    name = _text(fields.get("name"), "name", NAME_MAX)
    start = _date(fields.get("start_date"), "start_date")
    timezone = _timezone(fields.get("timezone") or _org_timezone(session))
    grace = _int(fields.get("grace_days", DEFAULT_GRACE_DAYS), "grace_days", *GRACE_DAYS)
    key = fields.get("programme")
    if not isinstance(key, str) or not key:
        raise CohortError("invalid_field", N_("Choose a programme."), "programme")
    programme = find_programme(key, instance_path)
    cohort = Cohort(name=name, start_date=start, timezone=timezone, grace_days=grace, weeks=len(programme.weeks),
                    programme_id=programme.id, programme_version=str(programme.version),
                    created_by_id=caller.person_id)
    session.add(cohort)
    session.flush()
    copy_missions(session, cohort, programme)
    ensure_badges(session)
    session.add(AuditEntry(actor_id=caller.person_id, action="cohort.create", target_type="cohort",
                           target_id=str(cohort.id), details={"name": name, "start_date": start.isoformat(),
                                                              "timezone": timezone, "programme": key}))
    session.commit()
    return cohort


def set_places(session: Session, caller: Caller, cohort: Cohort, team_ids: Iterable[object],
               community_ids: Iterable[object]) -> dict[str, list[int]]:
    """Make the cohort's Teams teams and Viva Engage communities exactly these; commits."""
    if cohort.frozen_at is not None:
        raise Frozen()
    teams = _existing(session, Team, team_ids, "team_ids")
    communities = _existing(session, Community, community_ids, "community_ids")
    session.execute(delete(CohortTeam).where(CohortTeam.cohort_id == cohort.id, CohortTeam.team_id.not_in(teams)))
    session.execute(delete(CohortCommunity).where(CohortCommunity.cohort_id == cohort.id,
                                                  CohortCommunity.community_id.not_in(communities)))
    insert_ignore(session, CohortTeam, [{"cohort_id": cohort.id, "team_id": t} for t in teams])
    insert_ignore(session, CohortCommunity, [{"cohort_id": cohort.id, "community_id": c} for c in communities])
    session.add(AuditEntry(actor_id=caller.person_id, action="cohort.places", target_type="cohort",
                           target_id=str(cohort.id), details={"teams": teams, "communities": communities}))
    session.commit()
    return places(session, cohort)


def places(session: Session, cohort: Cohort) -> dict[str, list[int]]:
    """The ids of the cohort's teams and communities."""
    return {
        "team_ids": sorted(session.scalars(select(CohortTeam.team_id).where(CohortTeam.cohort_id == cohort.id))),
        "community_ids": sorted(session.scalars(
            select(CohortCommunity.community_id).where(CohortCommunity.cohort_id == cohort.id))),
    }


def enrol_team_members(session: Session, caller: Caller, cohort: Cohort) -> int:
    """Invite every member of the cohort's teams who is not enrolled yet; returns how many were added. Commits.

    They start as "invited": taking part is opt-in, so they become active only when they agree themselves.
    Someone in several of the cohort's teams is enrolled once, with the team they joined first.
    """
    if cohort.frozen_at is not None:
        raise Frozen()
    team_ids = places(session, cohort)["team_ids"]
    if not team_ids:
        raise CohortError("no_teams", N_("Pick the group's teams first: their members are the ones invited."),
                          "team_ids")
    members = session.execute(
        select(TeamMembership.person_id, TeamMembership.team_id).join(Person, Person.id == TeamMembership.person_id)
        .where(TeamMembership.team_id.in_(team_ids), Person.erased_at.is_(None))
        .order_by(TeamMembership.person_id, TeamMembership.id)
    ).all()
    first_team: dict[int, int] = {}
    for person_id, team_id in members:
        first_team.setdefault(person_id, team_id)
    rows = [{"cohort_id": cohort.id, "person_id": person_id, "team_id": team_id, "status": "invited"}
            for person_id, team_id in first_team.items()]
    # Counted, not taken from the INSERT's rowcount, which PostgreSQL drivers do not report for ON CONFLICT batches.
    before = _enrolled(session, cohort)
    insert_ignore(session, Enrolment, rows)
    added = _enrolled(session, cohort) - before
    if added:
        session.add(AuditEntry(actor_id=caller.person_id, action="cohort.enrol", target_type="cohort",
                               target_id=str(cohort.id), details={"invited": added, "teams": team_ids}))
    session.commit()
    return added


def _enrolled(session: Session, cohort: Cohort) -> int:
    return session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort.id)) or 0


def enrolments(session: Session, cohort: Cohort) -> list[dict[str, Any]]:
    """Everyone enrolled in the cohort: name, team and status (invited, active, withdrawn)."""
    rows = session.execute(
        select(Enrolment.id, Enrolment.person_id, Person.display_name, Team.display_name, Enrolment.status)
        .join(Person, Person.id == Enrolment.person_id).outerjoin(Team, Team.id == Enrolment.team_id)
        .where(Enrolment.cohort_id == cohort.id).order_by(Team.display_name, Person.display_name)
    ).all()
    return [{"enrolment_id": e, "person_id": p, "name": name, "team": team, "status": status}
            for e, p, name, team, status in rows]


def setup_options(session: Session) -> dict[str, Any]:
    """What a coach picks from: the teams and communities sync/directory found, and the time zones."""
    members = dict(session.execute(
        select(TeamMembership.team_id, func.count()).group_by(TeamMembership.team_id)).all())
    teams = [{"id": t.id, "name": t.display_name, "members": members.get(t.id, 0)}
             for t in session.scalars(select(Team).order_by(Team.display_name))]
    communities = [{"id": c.id, "name": c.display_name}
                   for c in session.scalars(select(Community).order_by(Community.display_name))]
    return {"teams": teams, "communities": communities, "timezones": list(COMMON_TIMEZONES),
            "default_timezone": _org_timezone(session), "grace_days": DEFAULT_GRACE_DAYS}


# -- validation ------------------------------------------------------------------------------------------------
def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CohortError("invalid_field", N_("Give the group a name."), field)
    if len(value.strip()) > limit:
        raise CohortError("invalid_field", N_("The name can be at most %(limit)s characters."), field, limit=limit)
    return value.strip()


def _date(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise CohortError("invalid_field", N_("Give a start date such as 2026-09-07."), field) from None


def _timezone(value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise CohortError("invalid_field", N_("Unknown time zone %(zone)s."), "timezone", zone=str(value)) from None
    return str(value)


def _int(value: object, field: str, low: int, high: int) -> int:
    problem = CohortError("invalid_field", N_("The grace period is a whole number of days from %(low)s to %(high)s."),
                          field, low=low, high=high)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise problem
    try:
        number = int(value)
    except ValueError:
        raise problem from None
    if not low <= number <= high:
        raise problem
    return number


def _existing(session: Session, model: type, ids: Iterable[object], field: str) -> list[int]:
    if isinstance(ids, str | bytes) or not isinstance(ids, Iterable):
        raise CohortError("invalid_field", N_("Choose teams and communities from the lists."), field)
    wanted = set()
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CohortError("invalid_field", N_("Choose teams and communities from the lists."), field)
        wanted.add(value)
    found = set(session.scalars(select(model.id).where(model.id.in_(wanted)))) if wanted else set()
    if found != wanted:
        raise CohortError("invalid_field", N_("Choose teams and communities from the lists."), field)
    return sorted(found)


def _org_timezone(session: Session) -> str:
    return session.scalar(select(Organisation.timezone).limit(1)) or "Europe/Amsterdam"
