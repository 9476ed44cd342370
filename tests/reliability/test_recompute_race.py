"""Two workers recomputing the same cohort at once end where one recompute would: the stale one never wins.

Worker "stale" reads the cohort's activity, then a new post arrives and worker "fresh" recomputes with it while
"stale" is still working. On PostgreSQL the cohort's advisory lock makes "fresh" wait for "stale" (and then read
what it committed); on SQLite a recompute holds the database's write lock from its first read, so the new post
itself waits until "stale" has committed. Either way the stored progress, points, badges and risk must be exactly
those of a single recompute of the final activity.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from plugin.models import Award, Badge, Enrolment, MissionProgress, PointsEntry, RiskAssessment
from plugin.services import progress
from plugin.services.progress import recompute_cohort
from tests.integration.test_progress import LATER, knowledge_post, setup_cohort

DEADLINE = 60  # seconds: how long the test waits for a thread to get somewhere, never a measurement


def derived_state(session: Session, cohort_id: int) -> dict[str, Any]:
    """What recomputes store for a cohort, comparable between runs (the ledger as sums per key)."""
    enrolments = select(Enrolment.id).where(Enrolment.cohort_id == cohort_id).scalar_subquery()
    ledger: dict[tuple[int, str], int] = defaultdict(int)
    for person_id, key, amount in session.execute(select(PointsEntry.person_id, PointsEntry.source_key,
                                                         PointsEntry.amount).where(PointsEntry.cohort_id == cohort_id)):
        ledger[(person_id, key.rsplit("#", 1)[0])] += amount
    return {
        "progress": sorted(session.execute(select(
            MissionProgress.enrolment_id, MissionProgress.mission_id, MissionProgress.current,
            MissionProgress.target, MissionProgress.completed_at).where(
            MissionProgress.enrolment_id.in_(enrolments))).tuples()),
        "points": {key: total for key, total in ledger.items() if total},
        "badges": sorted(session.execute(select(Award.person_id, Badge.slug).join(Badge).where(
            Award.cohort_id == cohort_id, Award.revoked_at.is_(None))).tuples()),
        "risk": sorted((enrolment_id, score, repr(reasons)) for enrolment_id, score, reasons in session.execute(
            select(RiskAssessment.enrolment_id, RiskAssessment.score, RiskAssessment.reasons)
            .where(RiskAssessment.enrolment_id.in_(enrolments)))),
    }


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Block until `condition` holds (a deadline, so a broken run fails instead of hanging)."""
    done = threading.Event()
    for _ in range(DEADLINE * 20):
        if condition():
            return
        done.wait(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def waiting_for_cohort_lock(engine: Engine, cohort_id: int) -> bool:
    """PostgreSQL: a session of this database waits for the cohort's recompute lock."""
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = :space "
            "AND objid = :cohort AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"space": progress._LOCK_SPACE, "cohort": cohort_id}).scalar())


def test_a_stale_recompute_never_overwrites_a_fresher_one(own_database, monkeypatch):
    _url, engine = own_database
    with Session(engine, expire_on_commit=False) as setup:
        cohort, (ann, bob, carol) = setup_cohort(setup, people=3)
        knowledge_post(setup, bob, "r100")
        knowledge_post(setup, carol, "r101")
        setup.commit()
        recompute_cohort(setup, cohort.id, at=LATER)
        cohort_id = cohort.id

    read, resume = threading.Event(), threading.Event()
    original = progress.cohort_events

    def events_then_pause(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield from original(*args, **kwargs)
        if threading.current_thread().name == "stale" and not read.is_set():
            read.set()  # the stale worker has read everything, without ann's post
            resume.wait(DEADLINE)

    monkeypatch.setattr(progress, "cohort_events", events_then_pause)
    errors: list[BaseException] = []

    stale_done = threading.Event()
    posted_after_stale: list[bool] = []

    def worker() -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                recompute_cohort(session, cohort_id, at=LATER)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            if threading.current_thread().name == "stale":
                stale_done.set()

    def post() -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                knowledge_post(session, ann, "r102")  # ann's first post arrives
                session.commit()
                posted_after_stale.append(stale_done.is_set())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    stale = threading.Thread(target=worker, name="stale")
    fresh = threading.Thread(target=worker, name="fresh")
    poster = threading.Thread(target=post, name="poster")
    stale.start()
    try:
        wait_for(read.is_set, "the stale worker to read the activity")
        poster.start()
        if engine.dialect.name == "postgresql":
            poster.join(DEADLINE)
            fresh.start()
            wait_for(lambda: not fresh.is_alive() or waiting_for_cohort_lock(engine, cohort_id),
                     "the fresh worker to finish or to wait for the cohort's lock")
        else:
            # SQLite: the stale worker holds the write lock, so the post cannot be stored before it commits.
            poster.join(1.0)
            assert poster.is_alive(), "the post was stored while a recompute held the write lock"
    finally:
        resume.set()
    stale.join(DEADLINE)
    poster.join(DEADLINE)
    if engine.dialect.name != "postgresql":
        assert posted_after_stale == [True]
        fresh.start()  # reads the post the stale worker could not have seen
    fresh.join(DEADLINE)
    assert not stale.is_alive() and not fresh.is_alive() and not poster.is_alive()
    assert errors == []

    with Session(engine, expire_on_commit=False) as session:
        after_race = derived_state(session, cohort_id)
        # The reference: the same activity recomputed once, from nothing.
        enrolments = select(Enrolment.id).where(Enrolment.cohort_id == cohort_id).scalar_subquery()
        for statement in (delete(MissionProgress).where(MissionProgress.enrolment_id.in_(enrolments)),
                          delete(RiskAssessment).where(RiskAssessment.enrolment_id.in_(enrolments)),
                          delete(PointsEntry).where(PointsEntry.cohort_id == cohort_id),
                          delete(Award).where(Award.cohort_id == cohort_id)):
            session.execute(statement)
        session.commit()
        recompute_cohort(session, cohort_id, at=LATER)
        single = derived_state(session, cohort_id)

    assert (ann.id, "first-share") in single["badges"]  # the reference does count ann's post
    assert after_race == single
