"""What a team lead may see of their team: aggregates, and only the people who opted in to be shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.ranking import pseudonym_numbers
from ..models import Activity, Cohort, Enrolment, Organisation, Person, PointsEntry, Team
from .overview import programme_week


class NotFound(LookupError):
    """The team does not exist."""


@dataclass(frozen=True)
class ShownMember:
    """A participant who chose to appear in rankings (by name, or under a pseudonym)."""

    name: str | None  # only for people who chose to be named
    number: int  # their stable pseudonym number in this cohort
    points: int


@dataclass(frozen=True)
class TeamSummary:
    """A team in its current cohort; activity figures are None when the group is too small to show."""

    team_id: int
    name: str
    cohort: str | None
    week: int
    participants: int
    active_this_week: int | None
    knowledge_posts: int | None
    shown: list[ShownMember]


def current_cohort(session: Session, team_id: int) -> Cohort | None:
    """The team's cohort now: the newest one its members take part in (else the newest they are invited to)."""
    # A coach may already invite the team to next season's cohort; until someone says yes, this one stays.
    newest = (select(Cohort).join(Enrolment).where(Enrolment.team_id == team_id)
              .order_by(Cohort.start_date.desc(), Cohort.id.desc()).limit(1))
    return session.scalar(newest.where(Enrolment.status == "active")) or session.scalar(newest)


def team_summary(session: Session, team_id: int, *, today: datetime | None = None) -> TeamSummary:
    """The team's progress in its most recent cohort."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    today = today or datetime.now(UTC)
    org = session.scalar(select(Organisation).limit(1))
    min_group = org.min_group_size if org else 5
    cohort = current_cohort(session, team_id)
    if cohort is None:
        return TeamSummary(team.id, team.display_name, None, 0, 0, None, None, [])
    week = programme_week(cohort.start_date, today.date(), cohort.weeks)
    enrolments = session.execute(
        select(Enrolment.id, Enrolment.person_id, Enrolment.ranking_visibility, Person.display_name)
        .join(Person).where(Enrolment.cohort_id == cohort.id, Enrolment.team_id == team_id,
                            Enrolment.status == "active").order_by(Enrolment.id)
    ).all()
    people = [row.person_id for row in enrolments]
    week_start = datetime.combine(cohort.start_date + timedelta(weeks=max(week, 1) - 1), time(0), UTC)
    active = session.scalar(select(func.count(func.distinct(Activity.author_id)))
                            .where(Activity.author_id.in_(people), Activity.occurred_at >= week_start,
                                   Activity.deleted_at.is_(None))) or 0
    knowledge = session.scalar(select(func.count()).select_from(Activity).where(
        Activity.author_id.in_(people), Activity.knowledge_sharing.is_(True), Activity.deleted_at.is_(None),
        Activity.occurred_at >= datetime.combine(cohort.start_date, time(0), UTC))) or 0
    points = dict(session.execute(
        select(PointsEntry.person_id, func.sum(PointsEntry.amount))
        .where(PointsEntry.cohort_id == cohort.id, PointsEntry.person_id.in_(people))
        .group_by(PointsEntry.person_id)
    ).all())
    opted_in = [row for row in enrolments if row.ranking_visibility != "off"]
    numbers = pseudonym_numbers(f"cohort:{cohort.id}", [row.person_id for row in opted_in])
    shown = [
        ShownMember(row.display_name if row.ranking_visibility == "named" else None, numbers[row.person_id],
                    int(points.get(row.person_id, 0)))
        for row in opted_in
    ]
    shown.sort(key=lambda m: -m.points)
    big_enough = len(people) >= min_group
    return TeamSummary(team.id, team.display_name, cohort.name, week, len(people),
                       active if big_enough else None, knowledge if big_enough else None, shown)
