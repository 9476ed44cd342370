"""Programmes and badge classes as the database sees them: cohort missions and badge rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.badges import BADGES
from ..domain.programme import Programme
from ..models import Badge, Cohort, Mission


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
    """Make sure every badge of the registry has a row; returns them by slug."""
    rows = {b.slug: b for b in session.scalars(select(Badge))}
    for slug, badge in BADGES.items():
        if slug not in rows:
            rows[slug] = Badge(slug=slug, manual=badge.manual)
            session.add(rows[slug])
    session.flush()
    return rows
