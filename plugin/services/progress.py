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
    # What is stored already, read once for the whole cohort (not once per participant).
    saved = _Saved.load(session, cohort.id)
    progress_rows, points_rows, award_rows, risk_rows = [], [], [], []
    revoked = 0
    for enrolment in enrolments:
        state = engine.snapshot(enrolment.person_id, at=at)
        progress_rows += _progress_rows(enrolment, state, missions, saved.completed, at)
        points_rows += _points_rows(cohort.id, enrolment.person_id, state, saved.ledger[enrolment.person_id])
        award_rows += _award_rows(cohort.id, enrolment.person_id, state, badges, saved.awards[enrolment.person_id], at)
        revoked += _revoke_awards(session, state, saved.awards[enrolment.person_id], at)
        risk_rows.append(_risk_row(enrolment, state, at))
    upsert(session, MissionProgress, progress_rows, keys=("enrolment_id", "mission_id"),
           update=("current", "target", "completed_at", "updated_at"))
    points = insert_ignore(session, PointsEntry, points_rows)
    awards = insert_ignore(session, Award, award_rows)
    upsert(session, RiskAssessment, risk_rows, keys=("enrolment_id",), update=("score", "reasons", "computed_at"))
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


@dataclass
class _Saved:
    """A cohort's stored progress, points ledger and awards, keyed for the recomputation."""

    completed: dict[tuple[int, int], datetime | None]  # (enrolment, mission) -> completed_at
    ledger: defaultdict[int, dict[str, tuple[int, int]]]  # person -> base key -> (sum, entries)
    awards: defaultdict[int, dict[str, Award]]  # person -> badge slug -> award

    @classmethod
    def load(cls, session: Session, cohort_id: int) -> _Saved:
        """Three queries for the whole cohort."""
        completed = {
            (enrolment_id, mission_id): done for enrolment_id, mission_id, done in session.execute(
                select(MissionProgress.enrolment_id, MissionProgress.mission_id, MissionProgress.completed_at)
                .join(Enrolment, MissionProgress.enrolment_id == Enrolment.id).where(Enrolment.cohort_id == cohort_id))
        }
        ledger: defaultdict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
        for person_id, key, amount in session.execute(
            select(PointsEntry.person_id, PointsEntry.source_key, PointsEntry.amount)
            .where(PointsEntry.cohort_id == cohort_id)
        ):
            base = key.rsplit("#", 1)[0]
            total, entries = ledger[person_id].get(base, (0, 0))
            ledger[person_id][base] = (total + amount, entries + 1)
        awards: defaultdict[int, dict[str, Award]] = defaultdict(dict)
        for award, slug in session.execute(select(Award, Badge.slug).join(Badge).where(Award.cohort_id == cohort_id)):
            awards[award.person_id][slug] = award
        return cls(completed, ledger, awards)


def _progress_rows(enrolment: Enrolment, state: PersonState, missions: dict[str, Mission],
                   completed: dict[tuple[int, int], datetime | None], at: datetime) -> list[dict]:
    rows = []
    for mission_state in state.missions:
        mission = missions.get(mission_state.slug)
        if mission is None:
            continue
        progress = mission_state.progress
        done_at = completed.get((enrolment.id, mission.id)) or at
        rows.append({"enrolment_id": enrolment.id, "mission_id": mission.id, "current": progress.current,
                     "target": max(progress.target, 1), "completed_at": done_at if progress.done else None,
                     "updated_at": at})
    return rows


def _points_rows(cohort_id: int, person_id: int, state: PersonState, have: dict[str, tuple[int, int]]) -> list[dict]:
    """Corrections so the ledger sums to what the engine says, per (day, action) and per mission."""
    wanted: dict[str, tuple[int, str]] = {
        f"day:{day}:{action}": (points, str(action)) for day, action, points in state.day_points if points
    }
    for mission in state.missions:
        if mission.status == "done" and mission.points:
            wanted[f"mission:{mission.slug}"] = (mission.points, "mission")
    rows = []
    for base in sorted(wanted.keys() | have.keys()):
        amount, reason = wanted.get(base, (0, "correction"))
        total, entries = have.get(base, (0, 0))
        if amount != total:
            rows.append({"cohort_id": cohort_id, "person_id": person_id, "amount": amount - total,
                         "source_key": f"{base}#{entries}", "reason": reason})
    return rows


def _award_rows(cohort_id: int, person_id: int, state: PersonState, badges: dict[str, Badge],
                current: dict[str, Award], at: datetime) -> list[dict]:
    return [
        {"public_id": str(uuid.uuid4()), "person_id": person_id, "badge_id": badges[slug].id,
         "cohort_id": cohort_id, "awarded_at": at}
        for slug in sorted(state.badges) if slug in badges and slug not in current
    ]


def _revoke_awards(session: Session, state: PersonState, current: dict[str, Award], at: datetime) -> int:
    """Restore badges earned again after a system revocation; revoke (audited) those no longer earned."""
    for slug in state.badges:
        award = current.get(slug)
        if award is not None and award.revoked_at is not None and award.revoked_by_id is None:
            award.revoked_at = award.revoke_reason = None
    active = {slug for slug, award in current.items() if award.revoked_at is None}
    revoked = 0
    for slug in sorted(badges_to_revoke(active, state.badges)):
        award = current[slug]
        award.revoked_at, award.revoke_reason = at, SYSTEM_REVOKE_REASON
        session.add(AuditEntry(action="award.revoke", target_type="award", target_id=award.public_id,
                               details={"badge": slug, "reason": SYSTEM_REVOKE_REASON}))
        revoked += 1
    return revoked


def _risk_row(enrolment: Enrolment, state: PersonState, at: datetime) -> dict:
    reasons = [{"message": r.msgid, "params": dict(r.params), "weight": round(r.weight, 3)} for r in state.risk.reasons]
    return {"enrolment_id": enrolment.id, "score": state.risk.score, "reasons": reasons, "computed_at": at}
