"""The impact report of a cohort (or one of its teams): SQL aggregates, then the rules of `domain.impact`.

Who is counted: the cohort's *active* enrolments (people who agreed to take part), each in the team of their
enrolment. Their activity rows are counted per team and programme week in a handful of GROUP BY queries (the
database does the counting; Python only sees one row per team and week), so the report stays fast for a large
cohort with a year of history. Deleted messages and reactions (``deleted_at``) never count.

Access: the cohort's coach and admins see the cohort and every team; a lead sees only a team they lead, and
only with ``team=`` given (see :func:`may_see`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from ..domain import impact as rules
from ..domain.calendar import CohortCalendar
from ..domain.messages import N_
from ..models import (
    Activity,
    Award,
    Badge,
    Cohort,
    CohortTeam,
    Enrolment,
    Evidence,
    MissionProgress,
    Organisation,
    Team,
)
from .coach import Forbidden, NotFound, may_coach
from .people import Caller
from .progress import cohort_calendar

AMBASSADOR = "ambassador"


@dataclass(frozen=True)
class PeriodRange:
    """A period's weeks with their first and last day (local dates, the last one inclusive)."""

    weeks: tuple[int, ...]
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class TeamReport:
    """One team of the breakdown."""

    id: int | None
    name: str | None
    people: int
    suppressed: bool
    figures: rules.GroupFigures


@dataclass(frozen=True)
class ImpactReport:
    """The report of a cohort, or of one team when `team` is set."""

    cohort: dict[str, Any]
    team: dict[str, Any] | None
    generated_at: datetime
    min_group: int
    periods: dict[str, PeriodRange]
    group: rules.GroupFigures
    teams: list[TeamReport]


def may_see(caller: Caller, cohort: Cohort, team_id: int | None) -> bool:
    """The cohort's coach and admins see everything; a lead sees a team they lead (and only with `team_id`)."""
    return may_coach(caller, cohort) or (team_id is not None and team_id in caller.lead_team_ids)


def report_for(session: Session, caller: Caller, cohort_id: int, *, team_id: int | None = None,
               at: datetime | None = None) -> ImpactReport:
    """The report `caller` asked for; NotFound for an unknown cohort or team, Forbidden when not theirs."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(N_("This group does not exist."))
    # Access before the team check, so nobody learns which teams take part in a group that is not theirs.
    if not may_see(caller, cohort, team_id):
        raise Forbidden(N_("Only the group's coach sees its report; a lead sees the report of their own team."))
    if team_id is not None and team_id not in cohort_team_ids(session, cohort.id):
        raise NotFound(N_("This team does not take part in this group."))
    return impact_report(session, cohort, team_id=team_id, at=at)


def cohort_team_ids(session: Session, cohort_id: int) -> set[int]:
    """Teams of the cohort: linked to it, or the team of one of its enrolments."""
    linked = session.scalars(select(CohortTeam.team_id).where(CohortTeam.cohort_id == cohort_id))
    enrolled = session.scalars(select(Enrolment.team_id).where(
        Enrolment.cohort_id == cohort_id, Enrolment.team_id.is_not(None)).distinct())
    return set(linked) | set(enrolled)


def min_group_size(session: Session) -> int:
    """The organisation's smallest group a report may show (5 unless the organisation set another number)."""
    value = session.scalar(select(Organisation.min_group_size).order_by(Organisation.id).limit(1))
    return value or rules.MIN_GROUP


def impact_report(session: Session, cohort: Cohort, *, team_id: int | None = None,
                  at: datetime | None = None, min_group: int | None = None) -> ImpactReport:
    """Count the cohort's (or team's) activity per team and week and apply the report's rules; reads only."""
    at = at or datetime.now(UTC)
    min_group = min_group or min_group_size(session)
    calendar = cohort_calendar(cohort)
    programme_over = sum(1 for week in range(1, cohort.weeks + 1) if calendar.day_start(7 * week) <= at)
    baseline_over = sum(1 for week in range(cohort.baseline_weeks)
                        if calendar.day_start(-7 * week) <= at)
    periods = rules.make_periods(cohort.baseline_weeks, programme_over, baseline_weeks_over=baseline_over)
    weeks = periods.all_weeks
    # bounds[i] .. bounds[i + 1] is the i-th week of the report (baseline first); day_start is DST-aware.
    bounds = [calendar.day_start(_first_day(week)) for week in weeks]
    if weeks:
        bounds.append(calendar.day_start(_first_day(weeks[-1]) + 7))

    if session.get_bind().dialect.name == "postgresql":
        # The week bounds decide which index pays off; a cached generic plan (after five runs on one connection)
        # cannot see them and reads the table instead. Plan each report for its own bounds.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    counts = _count(session, cohort.id, team_id, weeks, bounds)
    team_ids = {team_id} if team_id is not None else cohort_team_ids(session, cohort.id)
    keys = sorted(team_ids | set(counts), key=lambda k: (k is None, k or 0))
    groups = {key: counts.get(key, rules.GroupCounts(0)) for key in keys}
    names = dict(session.execute(select(Team.id, Team.display_name).where(Team.id.in_([k for k in keys if k]))).all())
    breakdown = rules.team_breakdown(groups, periods, min_group=min_group)
    group = rules.build_figures(rules.total(groups.values()), periods, min_group=min_group)
    return ImpactReport(
        cohort={"id": cohort.id, "name": cohort.name, "start_date": cohort.start_date.isoformat(),
                "weeks": cohort.weeks, "baseline_weeks": cohort.baseline_weeks, "weeks_over": programme_over,
                "timezone": cohort.timezone},
        team={"id": team_id, "name": names.get(team_id)} if team_id is not None else None,
        generated_at=at, min_group=min_group,
        periods={period: _range(calendar, periods.of(period)) for period in rules.PERIODS},
        group=group,
        teams=[TeamReport(t.key, names.get(t.key) if t.key else None, t.people, t.suppressed, t.figures)
               for t in breakdown],
    )


def _first_day(week: int) -> int:
    """The programme day on which `week` begins (week 1 on day 0, baseline week -1 on day -7)."""
    return 7 * (week - 1) if week > 0 else 7 * week


def _range(calendar: CohortCalendar, weeks: Sequence[int]) -> PeriodRange:
    if not weeks:
        return PeriodRange((), None, None)
    first = calendar.start + timedelta(days=_first_day(weeks[0]))
    last = calendar.start + timedelta(days=_first_day(weeks[-1]) + 6)
    return PeriodRange(tuple(weeks), first, last)


# -- counting ---------------------------------------------------------------------------------------------------


def _week_index(column: ColumnElement, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index i with bounds[i] <= column < bounds[i + 1], as a balanced CASE tree (log2 weeks comparisons)."""

    def tree(low: int, high: int) -> ColumnElement[int]:
        if high - low == 1:
            return literal_column(str(low))
        middle = (low + high) // 2
        return case((column < bounds[middle], tree(low, middle)), else_=tree(middle, high))

    return tree(0, len(bounds) - 1)


def _active_enrolments(cohort_id: int, team_id: int | None) -> ColumnElement[bool]:
    condition = and_(Enrolment.cohort_id == cohort_id, Enrolment.status == "active")
    return and_(condition, Enrolment.team_id == team_id) if team_id is not None else condition


def _participants(cohort_id: int, team_id: int | None, person: ColumnElement) -> ColumnElement[bool]:
    return and_(Enrolment.person_id == person, _active_enrolments(cohort_id, team_id))


def _count(session: Session, cohort_id: int, team_id: int | None, weeks: Sequence[int],
           bounds: Sequence[datetime]) -> dict[int | None, rules.GroupCounts]:
    """Every count of the report, per team (None: participants without a team)."""
    people: dict[int | None, dict[str, Any]] = {}
    for row in session.execute(_people_query(cohort_id, team_id)):
        people[row.team_id] = row._asdict()
    extra: dict[int | None, dict[str, int]] = {key: {} for key in people}
    for name, query in (("missions_completed", _missions_query(cohort_id, team_id)),
                        ("external_posts", _evidence_query(cohort_id, team_id))):
        for key, value in session.execute(query):
            extra.setdefault(key, {})[name] = value
    for row in session.execute(_awards_query(cohort_id, team_id)):
        extra.setdefault(row.team_id, {}).update(badges=row.badges, badge_holders=row.holders,
                                                 ambassadors=row.ambassadors or 0)
    weekly: dict[int | None, dict[int, dict[str, int]]] = {}
    if weeks:
        for row in session.execute(_own_activity_query(cohort_id, team_id, bounds)):
            weekly.setdefault(row.team_id, {}).setdefault(weeks[row.bucket], {}).update(
                posts=row.posts, knowledge_posts=row.knowledge_posts, replies=row.replies, active=row.active)
        for row in session.execute(_received_query(cohort_id, team_id, bounds)):
            weekly.setdefault(row.team_id, {}).setdefault(weeks[row.bucket], {}).update(
                received=row.received, reached=row.reached)
    result = {}
    for key in people.keys() | extra.keys() | weekly.keys():
        p = people.get(key, {})
        result[key] = rules.GroupCounts(
            people=p.get("people", 0),
            weeks={week: rules.WeekCounts(**values) for week, values in weekly.get(key, {}).items()},
            connections=rules.Network(p.get("connection_people", 0), p.get("connections_before") or 0,
                                      p.get("connections_after") or 0),
            followers=rules.Network(p.get("follower_people", 0), p.get("followers_before") or 0,
                                    p.get("followers_after") or 0),
            **extra.get(key, {}),
        )
    return result


def _people_query(cohort_id: int, team_id: int | None) -> Select:
    both_connections = and_(Enrolment.baseline_connections.is_not(None), Enrolment.final_connections.is_not(None))
    both_followers = and_(Enrolment.baseline_followers.is_not(None), Enrolment.final_followers.is_not(None))
    query = select(
        Enrolment.team_id.label("team_id"), func.count().label("people"),
        func.count(case((both_connections, 1))).label("connection_people"),
        func.sum(case((both_connections, Enrolment.baseline_connections))).label("connections_before"),
        func.sum(case((both_connections, Enrolment.final_connections))).label("connections_after"),
        func.count(case((both_followers, 1))).label("follower_people"),
        func.sum(case((both_followers, Enrolment.baseline_followers))).label("followers_before"),
        func.sum(case((both_followers, Enrolment.final_followers))).label("followers_after"),
    ).where(Enrolment.cohort_id == cohort_id, Enrolment.status == "active").group_by(Enrolment.team_id)
    return query.where(Enrolment.team_id == team_id) if team_id is not None else query


def _missions_query(cohort_id: int, team_id: int | None) -> Select:
    return (select(Enrolment.team_id, func.count()).select_from(MissionProgress)
            .join(Enrolment, Enrolment.id == MissionProgress.enrolment_id)
            .where(_active_enrolments(cohort_id, team_id), MissionProgress.completed_at.is_not(None))
            .group_by(Enrolment.team_id))


def _evidence_query(cohort_id: int, team_id: int | None) -> Select:
    return (select(Enrolment.team_id, func.count()).select_from(Evidence)
            .join(Enrolment, Enrolment.id == Evidence.enrolment_id)
            .where(_active_enrolments(cohort_id, team_id), Evidence.status == "approved")
            .group_by(Enrolment.team_id))


def _awards_query(cohort_id: int, team_id: int | None) -> Select:
    return (select(Enrolment.team_id.label("team_id"), func.count().label("badges"),
                   func.count(distinct(Award.person_id)).label("holders"),
                   func.sum(case((Badge.slug == AMBASSADOR, 1), else_=0)).label("ambassadors"))
            .select_from(Award).join(Badge, Badge.id == Award.badge_id)
            .join(Enrolment, and_(Enrolment.person_id == Award.person_id, Enrolment.cohort_id == Award.cohort_id))
            .where(Award.cohort_id == cohort_id, Award.revoked_at.is_(None), _active_enrolments(cohort_id, team_id))
            .group_by(Enrolment.team_id))


def _own_activity_query(cohort_id: int, team_id: int | None, bounds: Sequence[datetime]) -> Select:
    """Posts, knowledge-sharing posts and replies of participants, and how many were active, per team and week."""
    rows = (select(Enrolment.team_id.label("team_id"), _week_index(Activity.occurred_at, bounds).label("bucket"),
                   Activity.kind, Activity.knowledge_sharing, Activity.author_id)
            .join(Enrolment, _participants(cohort_id, team_id, Activity.author_id))
            .where(Activity.occurred_at >= bounds[0], Activity.occurred_at < bounds[-1],
                   Activity.deleted_at.is_(None), Activity.kind.in_(("post", "reply")))
            .subquery())
    return (select(rows.c.team_id, rows.c.bucket,
                   func.count(case((rows.c.kind == "post", 1))).label("posts"),
                   func.count(case((and_(rows.c.kind == "post", rows.c.knowledge_sharing), 1))).label(
                       "knowledge_posts"),
                   func.count(case((rows.c.kind == "reply", 1))).label("replies"),
                   func.count(distinct(rows.c.author_id)).label("active"))
            .group_by(rows.c.team_id, rows.c.bucket))


class _PairKey(FunctionElement):
    """One value per (participant, colleague) pair, so that `count(DISTINCT …)` counts colleagues reached.

    Colleagues who never signed in to Ambassador have no person id, only their Entra object id. On PostgreSQL
    the key is a bigint (participant id × 2³², plus the colleague's id or, without one, a negative hash of the
    object id): hashing integers is much cheaper than strings on a year of reactions. Elsewhere it is text.
    """

    type = String()
    inherit_cache = True
    name = "pair_key"


@compiles(_PairKey)
def _pair_key_text(element: _PairKey, compiler: Any, **kw: Any) -> str:
    target, author_id, author_oid = (compiler.process(c, **kw) for c in element.clauses)
    return f"({target} || ':' || COALESCE(CAST({author_id} AS VARCHAR), {author_oid}))"


@compiles(_PairKey, "postgresql")
def _pair_key_postgresql(element: _PairKey, compiler: Any, **kw: Any) -> str:
    target, author_id, author_oid = (compiler.process(c, **kw) for c in element.clauses)
    return (f"(CAST({target} AS BIGINT) * 4294967296 + "
            f"COALESCE({author_id}, -1 - (hashtext({author_oid}) & 2147483647)))")


def _received_query(cohort_id: int, team_id: int | None, bounds: Sequence[datetime]) -> Select:
    """Replies and reactions colleagues gave participants, and distinct colleagues reached, per team and week."""
    rows = (select(Enrolment.team_id.label("team_id"), _week_index(Activity.occurred_at, bounds).label("bucket"),
                   _PairKey(Activity.target_author_id, Activity.author_id, Activity.author_oid).label("pair"))
            .join(Enrolment, _participants(cohort_id, team_id, Activity.target_author_id))
            .where(Activity.occurred_at >= bounds[0], Activity.occurred_at < bounds[-1],
                   Activity.deleted_at.is_(None), Activity.kind.in_(("reply", "reaction")),
                   or_(Activity.author_id.is_(None), Activity.author_id != Activity.target_author_id))
            .subquery())
    return (select(rows.c.team_id, rows.c.bucket, func.count().label("received"),
                   func.count(distinct(rows.c.pair)).label("reached"))
            .group_by(rows.c.team_id, rows.c.bucket))
