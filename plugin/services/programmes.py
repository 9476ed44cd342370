"""Programmes and badge classes as the database sees them: cohort missions and badge rows."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.badges import BADGES
from ..domain.programme import DEFAULT_PATH, Programme, load_programme
from ..models import Badge, Cohort, Mission
from .upsert import insert_ignore


def copy_missions(session: Session, cohort: Cohort, programme: Programme) -> list[Mission]:
    """Give a cohort its own rows for the programme's missions (texts stay in the programme file)."""
    existing = {m.slug: m for m in session.scalars(select(Mission).where(Mission.cohort_id == cohort.id))}
    rows = []
    for week, mission in programme.missions():
        row = existing.get(mission.slug)
        if row is None:
            row = Mission(cohort_id=cohort.id, slug=mission.slug)
            session.add(row)
        row.week, row.type, row.params = week, mission.type, dict(mission.params)
        row.points, row.optional = mission.points, mission.optional
        rows.append(row)
    session.flush()
    return rows


def ensure_badges(session: Session) -> dict[str, Badge]:
    """Make sure every badge of the registry has a row (safe under concurrent workers); returns them by slug."""
    rows = {b.slug: b for b in session.scalars(select(Badge))}
    missing = [{"slug": slug, "manual": badge.manual} for slug, badge in sorted(BADGES.items()) if slug not in rows]
    if missing:
        insert_ignore(session, Badge, missing)
        rows = {b.slug: b for b in session.scalars(select(Badge))}
    return rows


class UnknownProgramme(LookupError):
    """No programme file has the cohort's programme id and version."""


def programme_dirs(instance_path: str | Path | None = None) -> list[Path]:
    """Where programme files live: the shipped ones, then those an admin loaded into the instance folder."""
    dirs = [DEFAULT_PATH.parent]
    if instance_path is not None:
        dirs.append(Path(instance_path) / "programmes")
    return dirs


@lru_cache(maxsize=32)
def _load_cached(path: Path, _mtime: float) -> Programme:
    return load_programme(path)


def programme_for(cohort: Cohort, instance_path: str | Path | None = None) -> Programme:
    """The programme (id and version) a cohort runs, from the shipped or admin-loaded files."""
    for folder in programme_dirs(instance_path):
        for path in sorted(folder.glob("*.toml")):
            programme = _load_cached(path, path.stat().st_mtime)
            if programme.id == cohort.programme_id and str(programme.version) == cohort.programme_version:
                return programme
    raise UnknownProgramme(f"no programme file for {cohort.programme_id} version {cohort.programme_version}")
