"""Replay a cohort's activity through the programme engine and persist what it concludes.

The engine is a pure function of the set of events, so recomputing is always safe: progress and risk
are upserted, badges are inserted once (a unique constraint per person, badge and cohort), and the
points ledger only ever gets correction entries for the difference between what the engine says and
what the ledger already sums to. Two workers recomputing at once write the same keys, and the unique
constraints turn the second write into a no-op, so nothing is counted twice. Nor can the slower of them write
an older state over a newer one: on PostgreSQL a recompute holds its cohort's advisory lock until it commits
(:func:`lock_cohort`); SQLite lets only one transaction write, and one whose reads went stale meanwhile is retried.

Erased participants are left out: what the erasure kept of them (anonymous progress, points and badges) stays as
it was, and no risk score comes back.

A participant's state depends only on the events that name them: their own posts, replies, reactions,
evidence and check-ins, and the replies and reactions others gave to their posts (``target_author_id``;
Conversation Starter counts the distinct repliers on one of *their* threads). Nothing stored is cohort-wide
(team averages and rankings are read from the stored rows). So `recompute_people` replays only the people an
event touches — its author and whose post it answered — and stores exactly what `recompute_cohort` would store
for them at the same moment. What time alone changes (missions falling due or missed, risk) reaches everyone
else at the next full recompute: the hourly job.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Select, Table, TextClause, bindparam, select, text
from sqlalchemy.orm import Session, aliased

from ..db import begin_write
from ..domain.badges import badges_to_revoke
from ..domain.calendar import CohortCalendar
from ..domain.engine import PersonState, ProgrammeEngine
from ..domain.events import ActivityEvent, Kind
from ..domain.programme import Programme
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
    Person,
    PointsEntry,
    RiskAssessment,
)
from ..models.types import UTCDateTime
from .ingest import insert_new
from .programmes import ensure_badges, programme_for
from .retry import with_retry

PROGRAMME_PLACE = "programme-community"
SYSTEM_REVOKE_REASON = "criteria no longer met"
_PROGRESS: Table = MissionProgress.__table__  # type: ignore[assignment]
_POINTS: Table = PointsEntry.__table__  # type: ignore[assignment]
_AWARDS: Table = Award.__table__  # type: ignore[assignment]
_RISK: Table = RiskAssessment.__table__  # type: ignore[assignment]
#: The first key of the recompute's advisory locks (the second is the cohort id), so other locks cannot collide.
_LOCK_SPACE = 0x616D62  # "amb"
_LOCK_SQL = text("SELECT pg_advisory_xact_lock(:space, :cohort)")
#: Rows per statement: progress has 6 columns, so 500 rows stay far below SQLite's 32,766 bound parameters.
_CHUNK = 500


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
    return _calendar(cohort.start_date, cohort.timezone, cohort.grace_days, cohort.weeks)


@lru_cache(maxsize=64)
def _calendar(start: date, timezone: str, grace_days: int, weeks: int) -> CohortCalendar:
    # A calendar is immutable and computes its ~60 day bounds up front (time zone arithmetic): build it once.
    return CohortCalendar(start=start, timezone=timezone, grace_days=grace_days, weeks=weeks)


def recompute_cohort(session: Session, cohort_id: int, *, at: datetime | None = None,
                     instance_path: str | Path | None = None) -> RecomputeResult:
    """Recompute and store every participant's missions, points, badges and risk; commits (retried on conflict)."""
    return with_retry(session, lambda: _recompute(session, cohort_id, at, instance_path, None))


def recompute_people(session: Session, cohort_id: int, person_ids: Iterable[int | None], *,
                     at: datetime | None = None, instance_path: str | Path | None = None) -> RecomputeResult:
    """Recompute and store only these participants' state (the others' rows stay untouched); commits."""
    # People not (actively) enrolled in the cohort are skipped; a cohort that has ended is recomputed whole,
    # so that freezing it stores everyone's final state.
    people = frozenset(p for p in person_ids if p is not None)
    return with_retry(session, lambda: _recompute(session, cohort_id, at, instance_path, people))


def _recompute(session: Session, cohort_id: int, at: datetime | None, instance_path: str | Path | None,
               only: frozenset[int] | None) -> RecomputeResult:
    lock_cohort(session, cohort_id)
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise LookupError(f"cohort {cohort_id} does not exist")
    if cohort.frozen_at is not None:
        session.commit()  # ends the transaction (and releases the lock), as a recompute that wrote would
        return RecomputeResult(cohort_id, 0, 0, 0, 0, 0, frozen=True)
    at = at or datetime.now(UTC)
    calendar = cohort_calendar(cohort)
    if calendar.is_frozen(at):
        only = None
    # An erased participant's rows stay as the erasure left them (anonymous aggregates, no risk score): replies
    # to their old posts and the passing of time must not bring progress, points, badges or risk back.
    query = (select(Enrolment).join(Person, Person.id == Enrolment.person_id)
             .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", Person.erased_at.is_(None)))
    if only is not None:
        query = query.where(Enrolment.person_id.in_(sorted(only)))
    enrolments = list(session.scalars(query.order_by(Enrolment.id)))
    if only is not None and not enrolments:
        session.commit()  # ends the read transaction, as a recompute that wrote would
        return RecomputeResult(cohort.id, 0, 0, 0, 0, 0, frozen=False)
    places = {PROGRAMME_PLACE: cohort.programme_place} if cohort.programme_place else {}
    engine = ProgrammeEngine(programme_for(cohort, instance_path), calendar, places=places)
    for enrolment in enrolments:
        engine.enrol(enrolment.person_id, enrolled_at=enrolment.enrolled_at, intake=enrolment.intake or {})
    people = {e.person_id for e in enrolments}
    applied = engine.apply_many(cohort_events(session, cohort, people, calendar, partial=only is not None))

    missions = {m.slug: m for m in session.scalars(select(Mission).where(Mission.cohort_id == cohort.id))}
    badges = ensure_badges(session)
    # What is stored already, read once for all of them (not once per participant).
    saved = _Saved.load(session, cohort.id, people if only is not None else None)
    progress_rows, points_rows, award_rows, risk_rows = [], [], [], []
    now = datetime.now(UTC)  # when ledger entries are written (`at` is the moment the state is judged at)
    revoked = 0
    for enrolment in enrolments:
        state = engine.snapshot(enrolment.person_id, at=at)
        progress_rows += _progress_rows(enrolment, state, missions, saved.completed, at)
        points_rows += _points_rows(cohort.id, enrolment.person_id, state, saved.ledger[enrolment.person_id], now)
        award_rows += _award_rows(cohort.id, enrolment.person_id, state, badges, saved.awards[enrolment.person_id], at)
        revoked += _revoke_awards(session, state, saved.awards[enrolment.person_id], at)
        risk_rows.append(_risk_row(enrolment, state, at))
    _upsert(session, _PROGRESS, progress_rows, keys=("enrolment_id", "mission_id"),
            update=("current", "target", "completed_at", "updated_at"))
    points = insert_new(session, _POINTS, points_rows, conflict=("cohort_id", "person_id", "source_key"))
    awards = insert_new(session, _AWARDS, award_rows, conflict=("person_id", "badge_id", "cohort_id"))
    _upsert(session, _RISK, risk_rows, keys=("enrolment_id",), update=("score", "reasons", "computed_at"))
    frozen = calendar.is_frozen(at)
    if frozen:
        cohort.frozen_at = calendar.frozen_at
    session.commit()
    return RecomputeResult(cohort.id, len(enrolments), applied, points, awards, revoked, frozen)


def lock_cohort(session: Session, cohort_id: int) -> None:
    """On PostgreSQL, wait for any other recompute of this cohort to commit (the lock ends with the transaction).

    Without it, a worker that read the cohort's activity before a new post arrived could commit after a worker
    that read it after, and overwrite the newer progress and risk with its older ones. Taken before anything is
    read, so every recompute reads what the one before it committed. On SQLite the recompute takes the database's
    write lock up front instead (``begin_write``): its reads would otherwise go stale under a concurrent writer and
    its writes be refused ("database is locked"), however often it is retried.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK_SQL, {"space": _LOCK_SPACE, "cohort": cohort_id})
    else:
        begin_write(session)


def person_state(session: Session, cohort: Cohort, enrolment: Enrolment, programme: Programme, *,
                 at: datetime) -> PersonState:
    """One participant's state at `at`, replayed from their own events only (reads, never writes)."""
    calendar = cohort_calendar(cohort)
    places = {PROGRAMME_PLACE: cohort.programme_place} if cohort.programme_place else {}
    engine = ProgrammeEngine(programme, calendar, places=places)
    person_id = enrolment.person_id
    engine.enrol(person_id, enrolled_at=enrolment.enrolled_at, intake=enrolment.intake or {})
    engine.apply_many(e for e in cohort_events(session, cohort, {person_id}, calendar, partial=True)
                      if e.person_id == person_id)
    return engine.snapshot(person_id, at=at)


def cohort_events(session: Session, cohort: Cohort, people: set[int], calendar: CohortCalendar, *,
                  partial: bool = False) -> Iterator[ActivityEvent]:
    """Stream the engine's events for these participants from activity, evidence and check-ins.

    ``partial``: `people` is a few of the cohort's participants (evidence and check-ins are then read for them
    only); otherwise it is all of them.
    """
    if not people:
        return
    start, end = calendar.day_start(0) - timedelta(days=1), calendar.frozen_at
    # A whole cohort's rows are streamed; a few people's come in one round trip (on PostgreSQL, streaming costs a
    # server-side cursor: three more round trips, a good part of the personal tab's time).
    query = _ACTIVITY_EVENTS if partial else _ACTIVITY_EVENTS_STREAMED
    rows = session.execute(query, {"start": start, "end": end, "people": sorted(people)})
    for row in rows:
        yield from activity_events(row, people)
    only = people if partial else None
    yield from _evidence_events(session, cohort, only)
    yield from _checkin_events(session, cohort, only)


_EVENT_COLUMNS = (Activity.source, Activity.external_id, Activity.kind, Activity.author_id, Activity.target_author_id,
                  Activity.occurred_at, Activity.thread_external_id, Activity.knowledge_sharing, Activity.broadcast,
                  Activity.own_words, Activity.topics, Activity.content_hash)


def _activity_events_query() -> Select:
    channel, community = aliased(Channel), aliased(Community)
    people = bindparam("people", expanding=True)
    # Plain columns, not Activity objects: building ORM instances cost more than the engine's replay.
    return (
        select(*_EVENT_COLUMNS, channel.graph_id.label("channel_graph_id"),
               community.yammer_group_id.label("community_group_id"))
        .outerjoin(channel, Activity.channel_id == channel.id)
        .outerjoin(community, Activity.community_id == community.id)
        .where(Activity.deleted_at.is_(None), Activity.occurred_at >= bindparam("start", type_=UTCDateTime()),
               Activity.occurred_at < bindparam("end", type_=UTCDateTime()),
               Activity.author_id.in_(people) | Activity.target_author_id.in_(people))
    )


# Built once: constructing these statements per call cost more than running them (the personal tab reads one
# person's few dozen rows). Values go in as bound parameters.
_ACTIVITY_EVENTS = _activity_events_query()
_ACTIVITY_EVENTS_STREAMED = _ACTIVITY_EVENTS.execution_options(yield_per=2000)


def activity_events(row: Row[Any], people: set[int]) -> Iterator[ActivityEvent]:
    """The events one activity row (of the events query) means for the participants involved (author and, for
    responses, target)."""
    (source, external_id, kind, author, target, occurred_at, thread_id, knowledge_sharing, broadcast, own_words,
     topics, content_hash, channel_place, community_place) = row  # unpacked at once: the personal tab's hot loop
    event_id = f"{source}:{external_id}"
    place_id = channel_place or community_place
    if kind == "post":
        if author in people:
            yield ActivityEvent(
                event_id, author, Kind.POST, occurred_at, place_id, thread_id=thread_id,
                knowledge_sharing=knowledge_sharing, broadcast=broadcast, own_words=own_words,
                topics=tuple(topics or ()), content_hash=content_hash,
            )
        return
    given, received = (Kind.REPLY, Kind.REPLY_RECEIVED) if kind == "reply" else (
        Kind.REACTION_GIVEN, Kind.REACTION_RECEIVED)
    if author in people:
        yield ActivityEvent(event_id, author, given, occurred_at, place_id, target_author_id=target,
                            thread_id=thread_id, own_words=own_words)
    if target in people and target != author:
        yield ActivityEvent(f"{event_id}:received", target, received, occurred_at, place_id, from_person_id=author,
                            thread_id=thread_id)


def _of_people(query: Select, people: set[int] | None) -> Select:
    """`query` (joined to Enrolment) limited to these people; None means everyone."""
    return query if people is None else query.where(Enrolment.person_id.in_(sorted(people)))


def _cohort_and_people(query: Select) -> tuple[Select, Select]:
    """`query` (joined to Enrolment) for a whole cohort, and for the people in the `people` parameter."""
    whole = query.where(Enrolment.cohort_id == bindparam("cohort_id"))
    return whole, whole.where(Enrolment.person_id.in_(bindparam("people", expanding=True)))


_EVIDENCE_EVENTS = _cohort_and_people(
    select(Evidence.id, Evidence.submitted_at, Evidence.url, Evidence.figures, Enrolment.person_id, Mission.slug)
    .join(Enrolment, Evidence.enrolment_id == Enrolment.id).join(Mission, Evidence.mission_id == Mission.id)
    .where(Evidence.status == "approved"))
_CHECKIN_EVENTS = _cohort_and_people(
    select(CheckIn.id, CheckIn.created_at, Enrolment.person_id, Mission.slug)
    .join(Enrolment, CheckIn.enrolment_id == Enrolment.id).outerjoin(Mission, CheckIn.mission_id == Mission.id))


def _for(queries: tuple[Select, Select], cohort: Cohort, people: set[int] | None) -> tuple[Select, dict[str, Any]]:
    if people is None:
        return queries[0], {"cohort_id": cohort.id}
    return queries[1], {"cohort_id": cohort.id, "people": sorted(people)}


def _evidence_events(session: Session, cohort: Cohort, people: set[int] | None) -> Iterator[ActivityEvent]:
    for evidence_id, submitted_at, url, figures, person_id, slug in session.execute(
            *_for(_EVIDENCE_EVENTS, cohort, people)):
        metrics = tuple(sorted((k, int(v)) for k, v in (figures or {}).items()))
        yield ActivityEvent(f"evidence:{evidence_id}", person_id, Kind.EVIDENCE_APPROVED,
                            occurred_at=submitted_at, mission_slug=slug, url=url, metrics=metrics)


def _checkin_events(session: Session, cohort: Cohort, people: set[int] | None) -> Iterator[ActivityEvent]:
    for checkin_id, created_at, person_id, slug in session.execute(*_for(_CHECKIN_EVENTS, cohort, people)):
        yield ActivityEvent(f"checkin:{checkin_id}", person_id, Kind.CHECKIN, occurred_at=created_at,
                            mission_slug=slug)


@dataclass
class _Saved:
    """A cohort's stored progress, points ledger and awards, keyed for the recomputation."""

    completed: dict[tuple[int, int], datetime | None]  # (enrolment, mission) -> completed_at
    ledger: defaultdict[int, dict[str, tuple[int, int]]]  # person -> base key -> (sum, entries)
    awards: defaultdict[int, dict[str, Award]]  # person -> badge slug -> award

    @classmethod
    def load(cls, session: Session, cohort_id: int, people: set[int] | None = None) -> _Saved:
        """Three queries for the whole cohort, or for these of its participants."""
        ids = sorted(people) if people is not None else None
        completed = {
            (enrolment_id, mission_id): done for enrolment_id, mission_id, done in session.execute(_of_people(
                select(MissionProgress.enrolment_id, MissionProgress.mission_id, MissionProgress.completed_at)
                .join(Enrolment, MissionProgress.enrolment_id == Enrolment.id).where(Enrolment.cohort_id == cohort_id),
                people))
        }
        ledger: defaultdict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
        entries = select(PointsEntry.person_id, PointsEntry.source_key, PointsEntry.amount).where(
            PointsEntry.cohort_id == cohort_id)
        for person_id, key, amount in session.execute(
            entries if ids is None else entries.where(PointsEntry.person_id.in_(ids))
        ):
            base = key.rsplit("#", 1)[0]
            total, count = ledger[person_id].get(base, (0, 0))
            ledger[person_id][base] = (total + amount, count + 1)
        awards: defaultdict[int, dict[str, Award]] = defaultdict(dict)
        held = select(Award, Badge.slug).join(Badge).where(Award.cohort_id == cohort_id)
        for award, slug in session.execute(held if ids is None else held.where(Award.person_id.in_(ids))):
            awards[award.person_id][slug] = award
        return cls(completed, ledger, awards)


def _upsert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: tuple[str, ...],
            update: tuple[str, ...]) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET the `update` columns, in multi-row statements."""
    if not rows:
        return
    columns = tuple(rows[0])
    for start in range(0, len(rows), _CHUNK):
        part = rows[start:start + _CHUNK]
        params = {f"{name}_{n}": row[name] for n, row in enumerate(part) for name in columns}
        session.execute(_upsert_sql(table, columns, keys, update, len(part)), params)


@lru_cache(maxsize=64)
def _upsert_sql(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...],
                rows: int) -> TextClause:
    # SQLAlchemy does not cache the dialects' ON CONFLICT constructs: compiling 500 rows of progress took longer
    # than the engine's whole replay. This text reads the same on SQLite and PostgreSQL and is compiled once per
    # shape (see ingest.insert_new); typed bind parameters keep the columns' conversions (JSON, UTC timestamps).
    groups = ", ".join("(" + ", ".join(f":{name}_{n}" for name in columns) + ")" for n in range(rows))
    assignments = ", ".join(f"{name} = excluded.{name}" for name in update)
    statement = text(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {groups} "  # noqa: S608 - names only
                     f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {assignments}")
    return statement.bindparams(*(bindparam(f"{name}_{n}", type_=table.c[name].type)
                                  for n in range(rows) for name in columns))


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


def _points_rows(cohort_id: int, person_id: int, state: PersonState, have: dict[str, tuple[int, int]],
                 now: datetime) -> list[dict]:
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
                         "source_key": f"{base}#{entries}", "reason": reason, "created_at": now})
    return rows


def _award_rows(cohort_id: int, person_id: int, state: PersonState, badges: dict[str, Badge],
                current: dict[str, Award], at: datetime) -> list[dict]:
    return [
        {"public_id": str(uuid.uuid4()), "person_id": person_id, "badge_id": badges[slug].id,
         "cohort_id": cohort_id, "awarded_at": at, "public": False}
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
