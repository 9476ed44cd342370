"""Check-in notes: a coach writes down a conversation with a participant, and may confirm a coach mission with it.

A check-in that names a mission (a `checkin` type mission, such as the kickoff talk) completes that mission:
the programme engine reads check-ins as events (see `progress._checkin_events`), so the participant's
progress changes at the next recomputation, which the caller queues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..domain.messages import N_
from ..domain.missions import MISSION_TYPES, Source
from ..models import AuditEntry, CheckIn, Cohort, Enrolment, Mission, Person
from .cohorts_admin import CohortError
from .people import Caller
from .programmes import UnknownProgramme, programme_for

NOTE_MAX = 4000
RECENT = 50


@dataclass(frozen=True)
class CheckInRow:
    """A check-in note as the coach page lists it."""

    id: int
    enrolment_id: int
    person: str | None
    coach: str | None
    mission: str | None
    note: str
    created_at: str


def coach_missions(session: Session, cohort: Cohort, *, locale: str,
                   instance_path: str | Path | None = None) -> list[dict[str, Any]]:
    """The cohort's missions a coach confirms (their source is the coach), with titles in `locale`."""
    try:
        programme = programme_for(cohort, instance_path)
        titles = {m.slug: m.title.get(locale) for _week, m in programme.missions()}
    except UnknownProgramme:
        titles = {}
    rows = session.scalars(select(Mission).where(Mission.cohort_id == cohort.id).order_by(Mission.week, Mission.id))
    return [{"id": m.id, "slug": m.slug, "week": m.week, "title": titles.get(m.slug, m.slug)} for m in rows
            if m.type in MISSION_TYPES and MISSION_TYPES[m.type].source == Source.COACH]


def add_checkin(session: Session, caller: Caller, cohort: Cohort, fields: dict[str, Any], *,
                at: datetime | None = None) -> CheckIn:
    """Store a check-in note for a participant of `cohort`, optionally confirming a coach mission. Commits."""
    enrolment_id, note, mission_id = fields.get("enrolment_id"), fields.get("note"), fields.get("mission_id")
    if isinstance(enrolment_id, bool) or not isinstance(enrolment_id, int):
        raise CohortError("invalid_field", N_("Choose the participant you spoke with."), "enrolment_id")
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or enrolment.cohort_id != cohort.id or enrolment.status != "active":
        raise CohortError("invalid_field", N_("Choose the participant you spoke with."), "enrolment_id")
    if not isinstance(note, str) or not note.strip():
        raise CohortError("invalid_field", N_("Write a short note about the conversation."), "note")
    if len(note.strip()) > NOTE_MAX:
        raise CohortError("invalid_field", N_("The note can be at most %(limit)s characters."), "note",
                          limit=NOTE_MAX)
    mission = None
    if mission_id is not None:
        mission = session.get(Mission, mission_id) if isinstance(mission_id, int) else None
        confirmable = mission is not None and mission.type in MISSION_TYPES and \
            MISSION_TYPES[mission.type].source == Source.COACH
        if not confirmable or mission.cohort_id != cohort.id:
            raise CohortError("invalid_field", N_("That mission is not one a coach confirms."), "mission_id")
    checkin = CheckIn(enrolment_id=enrolment.id, coach_id=caller.person_id, mission_id=mission.id if mission else None,
                      note=note.strip(), created_at=at or datetime.now(UTC))
    session.add(checkin)
    session.flush()
    session.add(AuditEntry(actor_id=caller.person_id, action="checkin.create", target_type="enrolment",
                           target_id=str(enrolment.id),
                           details={"checkin": checkin.id, "mission": mission.slug if mission else None}))
    session.commit()
    return checkin


def recent_checkins(session: Session, cohort: Cohort, *, limit: int = RECENT, locale: str = "nl",
                    instance_path: str | Path | None = None) -> list[CheckInRow]:
    """The cohort's latest check-in notes, newest first."""
    participant, coach = aliased(Person), aliased(Person)
    titles = {m["id"]: m["title"] for m in coach_missions(session, cohort, locale=locale,
                                                            instance_path=instance_path)}
    rows = session.execute(
        select(CheckIn, participant.display_name, coach.display_name)
        .join(Enrolment, CheckIn.enrolment_id == Enrolment.id)
        .join(participant, participant.id == Enrolment.person_id)
        .outerjoin(coach, coach.id == CheckIn.coach_id)
        .where(Enrolment.cohort_id == cohort.id)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(limit)
    ).all()
    return [CheckInRow(c.id, c.enrolment_id, name, coach_name,
                       titles.get(c.mission_id) if c.mission_id else None, c.note, c.created_at.isoformat())
            for c, name, coach_name in rows]
