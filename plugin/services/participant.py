"""Everything the personal tab "My programme" shows, in one call (the tab's JSON is one request)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def current_enrolment(session: Session, person_id: int) -> Enrolment:
    """The person's active enrolment in the most recently started cohort."""
    enrolment = session.scalar(
        select(Enrolment).join(Cohort).where(Enrolment.person_id == person_id, Enrolment.status == "active")
        .order_by(Cohort.start_date.desc()).limit(1)
    )
    if enrolment is None:
        raise NotEnrolled("not enrolled in a cohort")
    return enrolment


def my_programme(session: Session, person_id: int, *, locale: str, at: datetime | None = None,
                 instance_path: str | Path | None = None) -> MyProgramme:
    """Replay this person's own events through the engine and assemble the personal tab."""
    at = at or datetime.now(UTC)
    try:
        enrolment = current_enrolment(session, person_id)
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
    earned = set(session.scalars(
        select(Badge.slug).join(Award).where(Award.person_id == person_id, Award.cohort_id == cohort.id,
                                             Award.revoked_at.is_(None))
    ))
    badges = [{"slug": slug, "name": b.name.get(locale), "description": b.description.get(locale),
               "criteria": b.criteria.get(locale), "earned": slug in earned, "manual": b.manual}
              for slug, b in BADGES.items()]
    points = session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
        PointsEntry.cohort_id == cohort.id, PointsEntry.person_id == person_id)) or 0
    return MyProgramme(
        cohort={"id": cohort.id, "name": cohort.name, "start_date": cohort.start_date.isoformat(),
                "weeks": cohort.weeks, "frozen": cohort.frozen_at is not None, "timezone": cohort.timezone},
        week=week, weeks=weeks, missions=missions, tip=tip, badges=badges, points=int(points),
        streak=state.streak, active_weeks=list(state.active_weeks),
        risk_reasons=[{"message": r.msgid, "params": dict(r.params)} for r in state.risk.reasons],
        team=None, ranking=_near_me(session, cohort, enrolment),
        settings={"ranking_visibility": enrolment.ranking_visibility,
                  "muted_notifications": list(enrolment.muted_notifications or []),
                  "locale": session.get(Person, person_id).preferred_locale},
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
    rows = session.execute(
        select(Enrolment.person_id, Enrolment.ranking_visibility, Person.display_name,
               func.coalesce(func.sum(PointsEntry.amount), 0))
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(PointsEntry, (PointsEntry.person_id == Enrolment.person_id)
                   & (PointsEntry.cohort_id == Enrolment.cohort_id))
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", Enrolment.ranking_visibility != "off")
        .group_by(Enrolment.id, Enrolment.person_id, Enrolment.ranking_visibility, Person.display_name)
        .order_by(Enrolment.id)
    ).all()
    numbers = pseudonym_numbers(f"cohort:{cohort.id}", [r.person_id for r in rows])
    named = {r.person_id: r.display_name for r in rows if r.ranking_visibility == "named"}
    ranked = rank(Standing(r.person_id, int(r[3]), opted_in=r.person_id in named) for r in rows)
    return [RankRow(row.position, row.standing.points, numbers[row.standing.person_id],
                    named.get(row.standing.person_id), row.standing.person_id == me.person_id)
            for row in near_me(ranked, me.person_id)]
