"""The organisation overview shown on the demo's start page: aggregates only, never individuals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..models import Activity, Award, Badge, Cohort, Enrolment, Organisation, Team


@dataclass(frozen=True)
class TeamFigures:
    """A team's participation in a cohort; figures are None when the group is too small to show."""

    name: str
    participants: int
    active_this_week: int | None
    knowledge_posts: int | None


@dataclass(frozen=True)
class CohortOverview:
    """A cohort's week and its teams."""

    name: str
    start_date: date
    week: int
    weeks: int
    participants: int
    ambassadors: int
    teams: list[TeamFigures]


@dataclass(frozen=True)
class Overview:
    """Everything the start page shows."""

    organisation: str | None
    cohorts: list[CohortOverview]


def programme_week(start: date, today: date, weeks: int) -> int:
    """The programme week `today` falls in: 0 before the start, `weeks + 1` after the end."""
    if today < start:
        return 0
    return min((today - start).days // 7 + 1, weeks + 1)


def organisation_overview(session: Session, *, today: date | None = None) -> Overview:
    """Collect the overview with one query per cohort."""
    today = today or datetime.now(UTC).date()
    organisation = session.scalar(select(Organisation).limit(1))
    min_group = organisation.min_group_size if organisation else 5
    cohorts = []
    for cohort in session.scalars(select(Cohort).order_by(Cohort.start_date.desc())):
        week = programme_week(cohort.start_date, today, cohort.weeks)
        week_start = datetime.combine(cohort.start_date + timedelta(weeks=max(week, 1) - 1), datetime.min.time(), UTC)
        programme_start = datetime.combine(cohort.start_date, datetime.min.time(), UTC)
        rows = session.execute(
            select(
                Team.display_name,
                func.count(func.distinct(Enrolment.person_id)),
                func.count(func.distinct(case((Activity.occurred_at >= week_start, Activity.author_id)))),
                func.count(func.distinct(case(
                    (Activity.knowledge_sharing & (Activity.occurred_at >= programme_start), Activity.id)
                ))),
            )
            .join(Enrolment, Enrolment.team_id == Team.id)
            .outerjoin(Activity, (Activity.author_id == Enrolment.person_id) & (Activity.deleted_at.is_(None)))
            .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active")
            .group_by(Team.display_name)
            .order_by(Team.display_name)
        ).all()
        teams = [
            TeamFigures(name, n, active if n >= min_group else None, posts if n >= min_group else None)
            for name, n, active, posts in rows
        ]
        ambassadors = session.scalar(
            select(func.count()).select_from(Award).join(Badge)
            .where(Award.cohort_id == cohort.id, Award.revoked_at.is_(None), Badge.slug == "ambassador")
        ) or 0
        cohorts.append(CohortOverview(
            cohort.name, cohort.start_date, week, cohort.weeks, sum(t.participants for t in teams), ambassadors, teams
        ))
    return Overview(organisation.name if organisation else None, cohorts)
