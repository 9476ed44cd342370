"""Replay a cohort's activity through the programme engine and persist what it concludes.

The engine is a pure function of the set of events, so recomputing is always safe: progress and risk
are upserted, badges are inserted once (a unique constraint per person, badge and cohort), and the
points ledger only ever gets correction entries for the difference between what the engine says and
what the ledger already sums to. Two workers recomputing at once write the same keys, and the unique
constraints turn the second write into a no-op, so nothing is counted twice.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..domain.badges import badges_to_revoke
from ..domain.calendar import CohortCalendar
from ..domain.engine import PersonState, ProgrammeEngine
from ..domain.events import ActivityEvent, Kind
from ..models import (
    Activity,
    AuditEntry,
    Award,
    Badge,
    Channel,
    CheckIn,
    Cohort,
    Community,
    Enrolment,
    Evidence,
    Mission,
    MissionProgress,
    PointsEntry,
    RiskAssessment,
)
from .programmes import ensure_badges, programme_for
from .retry import with_retry
from .upsert import insert_ignore, upsert

PROGRAMME_PLACE = "programme-community"
SYSTEM_REVOKE_REASON = "criteria no longer met"


@dataclass(frozen=True)
class RecomputeResult:
    """What one recomputation did."""

    cohort_id: int
    participants: int
    events: int
    points_entries: int
    awards: int
    revoked: int
    frozen: bool


def cohort_calendar(cohort: Cohort) -> CohortCalendar:
    """The calendar of a cohort (start date, time zone, grace period, length)."""
    return CohortCalendar(start=cohort.start_date, timezone=cohort.timezone, grace_days=cohort.grace_days,
                          weeks=cohort.weeks)


def recompute_cohort(session: Session, cohort_id: int, *, at: datetime | None = None,
                     instance_path: str | Path | None = None) -> RecomputeResult:
    """Recompute and store every participant's missions, points, badges and risk; commits (retried on conflict)."""
    return with_retry(session, lambda: _recompute(session, cohort_id, at, instance_path))


def _recompute(session: Session, cohort_id: int, at: datetime | None,
               instance_path: str | Path | None) -> RecomputeResult:
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise LookupError(f"cohort {cohort_id} does not exist")
    if cohort.frozen_at is not None:
        return RecomputeResult(cohort_id, 0, 0, 0, 0, 0, frozen=True)
    at = at or datetime.now(UTC)
    calendar = cohort_calendar(cohort)
    places = {PROGRAMME_PLACE: cohort.programme_place} if cohort.programme_place else {}
    engine = ProgrammeEngine(programme_for(cohort, instance_path), calendar, places=places)
    enrolments = list(session.scalars(
        select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active")
        .order_by(Enrolment.id)
    ))
    for enrolment in enrolments:
        engine.enrol(enrolment.person_id, enrolled_at=enrolment.enrolled_at, intake=enrolment.intake or {})
    people = {e.person_id for e in enrolments}
    applied = engine.apply_many(cohort_events(session, cohort, people, calendar))

    missions = {m.slug: m for m in session.scalars(select(Mission).where(Mission.cohort_id == cohort.id))}
    badges = ensure_badges(session)
    points = awards = revoked = 0
    for enrolment in enrolments:
        state = engine.snapshot(enrolment.person_id, at=at)
        _save_progress(session, enrolment, state, missions, at)
        points += _save_points(session, cohort, enrolment.person_id, state)
        new, gone = _save_awards(session, cohort, enrolment.person_id, state, badges, at)
        awards, revoked = awards + new, revoked + gone
        _save_risk(session, enrolment, state, at)
    frozen = calendar.is_frozen(at)
    if frozen:
        cohort.frozen_at = calendar.frozen_at
    session.commit()
    return RecomputeResult(cohort.id, len(enrolments), applied, points, awards, revoked, frozen)


def cohort_events(session: Session, cohort: Cohort, people: set[int],
                  calendar: CohortCalendar) -> Iterator[ActivityEvent]:
    """Stream the engine's events for the cohort's participants from activity, evidence and check-ins."""
    if not people:
        return
    start, end = calendar.day_start(0) - timedelta(days=1), calendar.frozen_at
    channel, community = aliased(Channel), aliased(Community)
    rows = session.execute(
        select(Activity, channel.graph_id, community.yammer_group_id)
        .outerjoin(channel, Activity.channel_id == channel.id)
        .outerjoin(community, Activity.community_id == community.id)
        .where(Activity.deleted_at.is_(None), Activity.occurred_at >= start, Activity.occurred_at < end,
               (Activity.author_id.in_(people)) | (Activity.target_author_id.in_(people)))
        .execution_options(yield_per=2000)
    )
    for activity, channel_id, community_id in rows:
        yield from activity_events(activity, channel_id or community_id, people)
    yield from _evidence_events(session, cohort)
    yield from _checkin_events(session, cohort)


def activity_events(activity: Activity, place_id: str | None, people: set[int]) -> Iterator[ActivityEvent]:
    """The events one activity row means for the participants involved (author and, for responses, target)."""
    event_id = f"{activity.source}:{activity.external_id}"
    author, target = activity.author_id, activity.target_author_id
    common = {"occurred_at": activity.occurred_at, "place_id": place_id, "thread_id": activity.thread_external_id}
    if activity.kind == "post":
        if author in people:
            yield ActivityEvent(
                event_id, author, Kind.POST, knowledge_sharing=activity.knowledge_sharing,
                broadcast=activity.broadcast, own_words=activity.own_words, topics=tuple(activity.topics or ()),
                content_hash=activity.content_hash, **common,
            )
        return
    given, received = (Kind.REPLY, Kind.REPLY_RECEIVED) if activity.kind == "reply" else (
        Kind.REACTION_GIVEN, Kind.REACTION_RECEIVED)
    if author in people:
        yield ActivityEvent(event_id, author, given, target_author_id=target, own_words=activity.own_words,
                            **common)
    if target in people and target != author:
        yield ActivityEvent(f"{event_id}:received", target, received, from_person_id=author, **common)


def _evidence_events(session: Session, cohort: Cohort) -> Iterator[ActivityEvent]:
    rows = session.execute(
        select(Evidence, Enrolment.person_id, Mission.slug)
        .join(Enrolment, Evidence.enrolment_id == Enrolment.id).join(Mission, Evidence.mission_id == Mission.id)
        .where(Enrolment.cohort_id == cohort.id, Evidence.status == "approved")
    )
    for evidence, person_id, slug in rows:
        metrics = tuple(sorted((k, int(v)) for k, v in (evidence.figures or {}).items()))
        yield ActivityEvent(f"evidence:{evidence.id}", person_id, Kind.EVIDENCE_APPROVED,
                            occurred_at=evidence.submitted_at, mission_slug=slug, url=evidence.url, metrics=metrics)


def _checkin_events(session: Session, cohort: Cohort) -> Iterator[ActivityEvent]:
    rows = session.execute(
        select(CheckIn, Enrolment.person_id, Mission.slug)
        .join(Enrolment, CheckIn.enrolment_id == Enrolment.id).outerjoin(Mission, CheckIn.mission_id == Mission.id)
        .where(Enrolment.cohort_id == cohort.id)
    )
    for checkin, person_id, slug in rows:
        yield ActivityEvent(f"checkin:{checkin.id}", person_id, Kind.CHECKIN, occurred_at=checkin.created_at,
                            mission_slug=slug)


def _save_progress(session: Session, enrolment: Enrolment, state: PersonState, missions: dict[str, Mission],
                   at: datetime) -> None:
    done_before = dict(session.execute(
        select(MissionProgress.mission_id, MissionProgress.completed_at)
        .where(MissionProgress.enrolment_id == enrolment.id)
    ).all())
    rows = []
    for mission_state in state.missions:
        mission = missions.get(mission_state.slug)
        if mission is None:
            continue
        progress = mission_state.progress
        completed = done_before.get(mission.id) or (at if progress.done else None)
        rows.append({"enrolment_id": enrolment.id, "mission_id": mission.id, "current": progress.current,
                     "target": max(progress.target, 1), "completed_at": completed if progress.done else None,
                     "updated_at": at})
    upsert(session, MissionProgress, rows, keys=("enrolment_id", "mission_id"),
           update=("current", "target", "completed_at", "updated_at"))


def _save_points(session: Session, cohort: Cohort, person_id: int, state: PersonState) -> int:
    """Append corrections so the ledger sums to what the engine says, per (day, action) and per mission."""
    wanted: dict[str, tuple[int, str]] = {
        f"day:{day}:{action}": (points, str(action)) for day, action, points in state.day_points if points
    }
    for mission in state.missions:
        if mission.status == "done" and mission.points:
            wanted[f"mission:{mission.slug}"] = (mission.points, "mission")
    have: dict[str, int] = defaultdict(int)
    entries: dict[str, int] = defaultdict(int)
    for key, amount in session.execute(
        select(PointsEntry.source_key, PointsEntry.amount)
        .where(PointsEntry.cohort_id == cohort.id, PointsEntry.person_id == person_id)
    ):
        base = key.rsplit("#", 1)[0]
        have[base] += amount
        entries[base] += 1
    rows = []
    for base in sorted(wanted.keys() | have.keys()):
        amount, reason = wanted.get(base, (0, "correction"))
        delta = amount - have.get(base, 0)
        if delta:
            rows.append({"cohort_id": cohort.id, "person_id": person_id, "amount": delta,
                         "source_key": f"{base}#{entries.get(base, 0)}", "reason": reason})
    return insert_ignore(session, PointsEntry, rows)


def _save_awards(session: Session, cohort: Cohort, person_id: int, state: PersonState, badges: dict[str, Badge],
                 at: datetime) -> tuple[int, int]:
    current = {slug: award for award, slug in session.execute(
        select(Award, Badge.slug).join(Badge)
        .where(Award.cohort_id == cohort.id, Award.person_id == person_id)
    )}
    new_rows = [
        {"public_id": str(uuid.uuid4()), "person_id": person_id, "badge_id": badges[slug].id,
         "cohort_id": cohort.id, "awarded_at": at}
        for slug in sorted(state.badges) if slug in badges and slug not in current
    ]
    created = insert_ignore(session, Award, new_rows)
    for slug in state.badges:
        award = current.get(slug)
        if award is not None and award.revoked_at is not None and award.revoked_by_id is None:
            award.revoked_at = award.revoke_reason = None  # earned again after a system revocation
    active = {slug for slug, award in current.items() if award.revoked_at is None}
    revoked = 0
    for slug in sorted(badges_to_revoke(active, state.badges)):
        award = current[slug]
        award.revoked_at, award.revoke_reason = at, SYSTEM_REVOKE_REASON
        session.add(AuditEntry(action="award.revoke", target_type="award", target_id=award.public_id,
                               details={"badge": slug, "reason": SYSTEM_REVOKE_REASON}))
        revoked += 1
    return created, revoked


def _save_risk(session: Session, enrolment: Enrolment, state: PersonState, at: datetime) -> None:
    reasons = [{"message": r.msgid, "params": dict(r.params), "weight": round(r.weight, 3)} for r in state.risk.reasons]
    upsert(session, RiskAssessment, [{"enrolment_id": enrolment.id, "score": state.risk.score,
                                      "reasons": reasons, "computed_at": at}],
           keys=("enrolment_id",), update=("score", "reasons", "computed_at"))
