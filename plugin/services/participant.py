"""Everything the personal tab "My programme" shows, in one call (the tab's JSON is one request)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from ..domain.badges import BADGES
from ..domain.ranking import Standing, near_me, pseudonym_numbers, rank
from ..models import Award, Badge, Cohort, Enrolment, Person, PointsEntry
from . import evidence, intake, participation, settings
from .programmes import programme_for
from .progress import cohort_calendar, person_state


class NotEnrolled(LookupError):
    """The person takes part in no cohort."""


@dataclass(frozen=True)
class RankRow:
    """A neighbour in the "near me" ranking: a name only for people who chose to be named."""

    position: int
    points: int
    number: int
    name: str | None
    is_me: bool


@dataclass(frozen=True)
class MyProgramme:
    """The view model of the personal tab; texts are already in the person's language."""

    cohort: dict[str, Any]
    week: int
    weeks: list[dict[str, Any]]
    missions: list[dict[str, Any]]
    tip: str | None
    badges: list[dict[str, Any]]
    points: int
    streak: int
    active_weeks: list[int]
    risk_reasons: list[dict[str, Any]]
    team: dict[str, Any] | None
    ranking: list[RankRow] | None
    settings: dict[str, Any]
    intake_needed: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The view as a JSON-ready dict, like `dataclasses.asdict` but without copying every nested value."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.ranking is not None:
            data["ranking"] = [asdict(row) for row in self.ranking]
        return data


# The statements of the personal tab are built once, with bound parameters: building them per request cost more
# than running them.
_CURRENT_ENROLMENT = (
    select(Enrolment, Person.preferred_locale).select_from(Enrolment).join(Cohort, Cohort.id == Enrolment.cohort_id)
    .join(Person, Person.id == Enrolment.person_id)
    .options(contains_eager(Enrolment.cohort))
    .where(Enrolment.person_id == bindparam("person_id"), Enrolment.status == "active")
    .order_by(Cohort.start_date.desc()).limit(1)
)
_EARNED = select(Badge.slug).join(Award).where(
    Award.person_id == bindparam("person_id"), Award.cohort_id == bindparam("cohort_id"), Award.revoked_at.is_(None))
_POINTS = select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
    PointsEntry.cohort_id == bindparam("cohort_id"), PointsEntry.person_id == bindparam("person_id"))
# Each person's points are summed first, in one pass over the cohort's ledger, and then joined to the enrolments
# (not every ledger entry joined to its enrolment and the join grouped: about a quarter slower on PostgreSQL).
_TOTALS = (select(PointsEntry.person_id, func.sum(PointsEntry.amount).label("total"))
           .where(PointsEntry.cohort_id == bindparam("cohort_id")).group_by(PointsEntry.person_id).subquery())
_RANKED = (
    select(Enrolment.person_id, Enrolment.ranking_visibility, Person.display_name, func.coalesce(_TOTALS.c.total, 0))
    .join(Person, Person.id == Enrolment.person_id)
    .outerjoin(_TOTALS, _TOTALS.c.person_id == Enrolment.person_id)
    .where(Enrolment.cohort_id == bindparam("cohort_id"), Enrolment.status == "active",
           Enrolment.ranking_visibility != "off")
    .order_by(Enrolment.id)
)


def current_enrolment(session: Session, person_id: int) -> Enrolment:
    """The person's active enrolment in the most recently started cohort (its cohort loaded with it)."""
    return _current(session, person_id)[0]


def _current(session: Session, person_id: int) -> tuple[Enrolment, str | None]:
    """The current enrolment and the person's chosen language, in one query."""
    row = session.execute(_CURRENT_ENROLMENT, {"person_id": person_id}).first()
    if row is None:
        raise NotEnrolled("not enrolled in a cohort")
    return row[0], row[1]


def my_programme(session: Session, person_id: int, *, locale: str, at: datetime | None = None,
                 instance_path: str | Path | None = None) -> MyProgramme:
    """Replay this person's own events through the engine and assemble the personal tab."""
    at = at or datetime.now(UTC)
    try:
        enrolment, preferred_locale = _current(session, person_id)
    except NotEnrolled:
        participation.require_active(session, person_id)  # raises ConsentNeeded for an invited person
        raise
    participation.ask_again_after(session, enrolment)  # an ended programme gives way to a new invitation
    cohort = session.get(Cohort, enrolment.cohort_id)
    programme = programme_for(cohort, instance_path)
    calendar = cohort_calendar(cohort)
    state = person_state(session, cohort, enrolment, programme, at=at)
    week = min(max(calendar.week_of(at), 0), cohort.weeks)

    weeks = [{"number": w.number, "title": w.title.get(locale), "current": w.number == week,
              "done": w.number < week} for w in programme.weeks]
    texts = {m.slug: m for _n, m in programme.missions()}
    missions = []
    for mission in state.missions:
        if mission.week != week and mission.status not in ("overdue", "due"):
            continue
        source = texts[mission.slug].for_intake(enrolment.intake or {})
        missions.append({
            "slug": mission.slug, "week": mission.week, "type": mission.type, "source": str(mission.source),
            "status": str(mission.status), "optional": mission.optional, "points": mission.points,
            "current": mission.progress.current, "target": mission.progress.target,
            "due_at": mission.due_at.isoformat(), "title": source.title.get(locale),
            "description": source.description.get(locale), "how": source.how.get(locale),
        })
    evidence.add_to_missions(session, enrolment, programme, missions, frozen=state.frozen)
    answers = intake.intake_view(enrolment, at=at)
    tip = next((w.tip.get(locale) for w in programme.weeks if w.number == week), None)
    mine = {"person_id": person_id, "cohort_id": cohort.id}
    earned = set(session.scalars(_EARNED, mine))
    badges = [{"slug": slug, "name": b.name.get(locale), "description": b.description.get(locale),
               "criteria": b.criteria.get(locale), "earned": slug in earned, "manual": b.manual}
              for slug, b in BADGES.items()]
    ranking = _near_me(session, cohort, enrolment)
    # An opted-in person's points are in their own ranking row (the same sum); the others' need the query.
    points = next((row.points for row in ranking or () if row.is_me), None)
    if points is None:
        points = session.scalar(_POINTS, mine) or 0
    return MyProgramme(
        cohort={"id": cohort.id, "name": cohort.name, "start_date": cohort.start_date.isoformat(),
                "weeks": cohort.weeks, "frozen": cohort.frozen_at is not None, "timezone": cohort.timezone},
        week=week, weeks=weeks, missions=missions, tip=tip, badges=badges, points=int(points),
        streak=state.streak, active_weeks=list(state.active_weeks),
        risk_reasons=[{"message": r.msgid, "params": dict(r.params)} for r in state.risk.reasons],
        team=None, ranking=ranking,
        settings={"ranking_visibility": enrolment.ranking_visibility,
                  "muted_notifications": list(enrolment.muted_notifications or []),
                  "locale": preferred_locale},
        intake_needed=answers.needed,
        extra={"locale": locale, "intake": asdict(answers),
               "notification_types": list(settings.NOTIFICATION_TYPES),
               "consent": {"version": enrolment.consent_version,
                           "consented_at": enrolment.consented_at.isoformat() if enrolment.consented_at else None}},
    )


def _near_me(session: Session, cohort: Cohort, me: Enrolment) -> list[RankRow] | None:
    """Places around me among the people who opted in to rankings; None when I did not opt in."""
    if me.ranking_visibility == "off":
        return None
    rows = session.execute(_RANKED, {"cohort_id": cohort.id}).all()
    numbers = pseudonym_numbers(f"cohort:{cohort.id}", [r.person_id for r in rows])
    named = {r.person_id: r.display_name for r in rows if r.ranking_visibility == "named"}
    ranked = rank(Standing(r.person_id, int(r[3]), opted_in=r.person_id in named) for r in rows)
    return [RankRow(row.position, row.standing.points, numbers[row.standing.person_id],
                    named.get(row.standing.person_id), row.standing.person_id == me.person_id)
            for row in near_me(ranked, me.person_id)]
