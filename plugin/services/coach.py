"""What a coach sees of their cohorts: which cohorts are theirs, the week in figures and who is at risk.

A coach runs the cohorts they created (``Cohort.created_by_id``); an admin sees every cohort. Leads are not
coaches: they see their own team on the team tab (see :mod:`plugin.services.recognition`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import (
    Activity,
    Award,
    Badge,
    CheckIn,
    Cohort,
    Enrolment,
    Evidence,
    MissionProgress,
    Person,
    RiskAssessment,
    Team,
)
from .people import Caller
from .progress import cohort_calendar
from .refusal import Refused

#: A participant is "at risk" from this score on (a noisy-or of the detector's reasons, see domain/risk.py).
#: Missed and overdue missions alone stay below it; going quiet after the kickoff does not.
AT_RISK_SCORE = 0.6


class NotFound(Refused):
    """The cohort (or another record) does not exist."""

    def __init__(self, msgid: str = N_("This no longer exists."), **params: object) -> None:
        super().__init__("not_found", "not_found", msgid, **params)


class Forbidden(Refused):
    """The caller may not see or change this cohort (or team)."""

    def __init__(self, msgid: str = N_("Only the group's coach can do this."), **params: object) -> None:
        super().__init__("forbidden", "forbidden", msgid, **params)


def is_admin(caller: Caller) -> bool:
    """True for admins, who see every cohort."""
    return "admin" in caller.roles


def coached_cohorts(caller: Caller) -> Select[tuple[Cohort]]:
    """The query for the cohorts `caller` coaches (every cohort for an admin), newest first."""
    query = select(Cohort).order_by(Cohort.start_date.desc(), Cohort.id.desc())
    if not is_admin(caller):
        query = query.where(Cohort.created_by_id == caller.person_id)
    return query


def may_coach(caller: Caller, cohort: Cohort) -> bool:
    """True when `caller` coaches `cohort` (they created it as a coach) or is an admin."""
    return is_admin(caller) or (caller.has("coach") and cohort.created_by_id == caller.person_id)


def coached_cohort(session: Session, caller: Caller, cohort_id: int) -> Cohort:
    """The cohort if `caller` coaches it; NotFound or Forbidden otherwise."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(N_("This group does not exist."))
    if not may_coach(caller, cohort):
        raise Forbidden(N_("Only the group's coach can see or change it."))
    return cohort


def cohort_week(cohort: Cohort, at: datetime) -> int:
    """The programme week at `at` in the cohort's own time zone (0 before, weeks + 1 after)."""
    return cohort_calendar(cohort).week_of(at)


def cohort_list(session: Session, caller: Caller, *, at: datetime | None = None) -> list[dict[str, Any]]:
    """The caller's cohorts with their week and how many people are active or invited."""
    at = at or datetime.now(UTC)
    cohorts = list(session.scalars(coached_cohorts(caller)))
    counts: dict[int, dict[str, int]] = {c.id: {} for c in cohorts}
    if cohorts:
        for cohort_id, status, n in session.execute(
            select(Enrolment.cohort_id, Enrolment.status, func.count())
            .where(Enrolment.cohort_id.in_(counts)).group_by(Enrolment.cohort_id, Enrolment.status)
        ):
            counts[cohort_id][status] = n
    return [{"id": c.id, "name": c.name, "start_date": c.start_date.isoformat(), "weeks": c.weeks,
             "week": cohort_week(c, at), "frozen": c.frozen_at is not None,
             "active": counts[c.id].get("active", 0), "invited": counts[c.id].get("invited", 0)}
            for c in cohorts]


@dataclass(frozen=True)
class WeekSummary:
    """The cohort's current programme week in counts, computed from what is stored (no estimates)."""

    week: int
    weeks: int
    starts_at: str | None
    ends_at: str | None
    participants: int
    invited: int
    active_this_week: int
    posts_this_week: int
    knowledge_posts_this_week: int
    missions_completed_this_week: int
    evidence_pending: int
    at_risk: int
    ambassadors: int
    checkins_this_week: int


def week_summary(session: Session, cohort: Cohort, *, at: datetime | None = None) -> WeekSummary:
    """Counts for the cohort's current week: who was active, what was posted and completed, what waits."""
    at = at or datetime.now(UTC)
    calendar = cohort_calendar(cohort)
    week = calendar.week_of(at)
    shown = min(max(week, 1), cohort.weeks)
    start, end = calendar.day_start(7 * (shown - 1)), calendar.day_start(7 * shown)
    active_people = select(Enrolment.person_id).where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active")
    statuses = dict(session.execute(
        select(Enrolment.status, func.count()).where(Enrolment.cohort_id == cohort.id).group_by(Enrolment.status)
    ).all())
    in_week = (Activity.author_id.in_(active_people), Activity.deleted_at.is_(None),
               Activity.occurred_at >= start, Activity.occurred_at < end)
    active, posts, knowledge = session.execute(
        select(func.count(func.distinct(Activity.author_id)),
               func.count(case((Activity.kind == "post", Activity.id))),
               func.count(case(((Activity.kind == "post") & Activity.knowledge_sharing, Activity.id))))
        .where(*in_week)
    ).one()
    completed = session.scalar(
        select(func.count()).select_from(MissionProgress).join(Enrolment, MissionProgress.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id == cohort.id, MissionProgress.completed_at >= start,
               MissionProgress.completed_at < end)
    ) or 0
    pending = session.scalar(
        select(func.count()).select_from(Evidence).join(Enrolment, Evidence.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id == cohort.id, Evidence.status == "pending")
    ) or 0
    at_risk = session.scalar(
        select(func.count()).select_from(RiskAssessment).join(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", RiskAssessment.score >= AT_RISK_SCORE)
    ) or 0
    ambassadors = session.scalar(
        select(func.count()).select_from(Award).join(Badge)
        .where(Award.cohort_id == cohort.id, Award.revoked_at.is_(None), Badge.slug == "ambassador")
    ) or 0
    checkins = session.scalar(
        select(func.count()).select_from(CheckIn).join(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, CheckIn.created_at >= start, CheckIn.created_at < end)
    ) or 0
    running = 1 <= week <= cohort.weeks
    return WeekSummary(
        week=week, weeks=cohort.weeks, starts_at=start.isoformat() if running else None,
        ends_at=end.isoformat() if running else None, participants=statuses.get("active", 0),
        invited=statuses.get("invited", 0), active_this_week=active if running else 0,
        posts_this_week=posts if running else 0, knowledge_posts_this_week=knowledge if running else 0,
        missions_completed_this_week=completed if running else 0, evidence_pending=pending, at_risk=at_risk,
        ambassadors=ambassadors, checkins_this_week=checkins if running else 0,
    )


@dataclass(frozen=True)
class AtRisk:
    """A participant the 48-hour-effect detector worries about; `reasons` are msgids with their parameters."""

    enrolment_id: int
    person_id: int
    name: str | None
    team: str | None
    score: float
    reasons: list[dict[str, Any]]
    last_activity: str | None
    last_checkin: str | None
    computed_at: str


def at_risk(session: Session, cohort: Cohort, *, threshold: float = AT_RISK_SCORE) -> list[AtRisk]:
    """Active participants whose stored risk is at least `threshold`, highest first, with their last activity."""
    last_activity = (select(Activity.author_id, func.max(Activity.occurred_at).label("at"))
                     .where(Activity.deleted_at.is_(None)).group_by(Activity.author_id).subquery())
    last_checkin = (select(CheckIn.enrolment_id, func.max(CheckIn.created_at).label("at"))
                    .group_by(CheckIn.enrolment_id).subquery())
    rows = session.execute(
        select(RiskAssessment, Enrolment.person_id, Person.display_name, Team.display_name,
               last_activity.c.at, last_checkin.c.at)
        .join(Enrolment, RiskAssessment.enrolment_id == Enrolment.id)
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(Team, Team.id == Enrolment.team_id)
        .outerjoin(last_activity, last_activity.c.author_id == Enrolment.person_id)
        .outerjoin(last_checkin, last_checkin.c.enrolment_id == Enrolment.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", RiskAssessment.score >= threshold)
        .order_by(RiskAssessment.score.desc(), Person.display_name)
    ).all()
    return [
        AtRisk(risk.enrolment_id, person_id, name, team, round(risk.score, 2),
               [{"message": r["message"], "params": dict(r.get("params") or {})} for r in risk.reasons or []],
               _iso(activity_at), _iso(checkin_at), _iso(risk.computed_at) or "")
        for risk, person_id, name, team, activity_at, checkin_at in rows
    ]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
