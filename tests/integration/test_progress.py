"""Services persist what the engine concludes: progress, points, badges and risk, idempotently."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.models import (
    Activity,
    AuditEntry,
    Award,
    Badge,
    Cohort,
    Enrolment,
    Mission,
    MissionProgress,
    Person,
    PointsEntry,
    RiskAssessment,
)
from plugin.services.programmes import copy_missions, programme_for
from plugin.services.progress import recompute_cohort, recompute_people
from tests.factories import make_activity, make_cohort, make_enrolment, make_person

START = date(2026, 9, 7)  # a Monday
IN_WEEK_1 = datetime(2026, 9, 8, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)


def setup_cohort(session: Session, people: int = 2) -> tuple[Cohort, list[Person]]:
    cohort = make_cohort(session, start_date=START)
    copy_missions(session, cohort, programme_for(cohort))
    persons = [make_person(session) for _ in range(people)]
    for person in persons:
        make_enrolment(session, cohort=cohort, person=person, enrolled_at=datetime(2026, 9, 1, tzinfo=UTC))
    return cohort, persons


def knowledge_post(session: Session, author: Person, external_id: str, **overrides) -> Activity:
    fields = {"external_id": external_id, "occurred_at": IN_WEEK_1, "knowledge_sharing": True, "own_words": 40,
              "links": 1, "topics": ["lean"], "content_hash": f"hash-{external_id}"}
    return make_activity(session, author=author, **(fields | overrides))


def points_of(session: Session, cohort: Cohort, person: Person) -> int:
    return session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                          .where(PointsEntry.cohort_id == cohort.id, PointsEntry.person_id == person.id))


def badges_of(session: Session, person: Person, *, active: bool = True) -> set[str]:
    query = select(Badge.slug).join(Award).where(Award.person_id == person.id)
    if active:
        query = query.where(Award.revoked_at.is_(None))
    return set(session.scalars(query))


def test_a_knowledge_post_earns_points_and_badges(session):
    cohort, (ann, bob) = setup_cohort(session)
    knowledge_post(session, ann, "1000")
    make_activity(session, author=bob, kind="reaction", external_id="1000:bob:like", target_author_id=ann.id,
                  occurred_at=LATER, reaction_type="like")

    result = recompute_cohort(session, cohort.id, at=LATER)

    assert result.participants == 2 and result.events == 3  # post, reaction given, reaction received
    assert {"first-share", "personal-touch"} <= badges_of(session, ann)
    assert points_of(session, cohort, ann) >= 10
    assert points_of(session, cohort, bob) >= 1
    progress = dict(session.execute(
        select(Mission.slug, MissionProgress.current).join(MissionProgress, MissionProgress.mission_id == Mission.id)
        .join(Enrolment, MissionProgress.enrolment_id == Enrolment.id).where(Enrolment.person_id == bob.id)
    ).all())
    assert progress["first-likes"] == 1  # bob reacted to one post in week 1
    assert len(progress) == session.scalar(select(func.count()).select_from(Mission)
                                           .where(Mission.cohort_id == cohort.id))
    assert session.scalar(select(func.count()).select_from(RiskAssessment)) >= 2


def test_recomputing_changes_nothing(session):
    cohort, (ann, _bob) = setup_cohort(session)
    knowledge_post(session, ann, "2000")
    recompute_cohort(session, cohort.id, at=LATER)
    entries = session.scalar(select(func.count()).select_from(PointsEntry))
    awards = session.scalar(select(func.count()).select_from(Award))

    again = recompute_cohort(session, cohort.id, at=LATER)

    assert again.points_entries == 0 and again.awards == 0
    assert session.scalar(select(func.count()).select_from(PointsEntry)) == entries
    assert session.scalar(select(func.count()).select_from(Award)) == awards


def test_a_deleted_post_withdraws_its_credit_and_badge(session):
    cohort, (ann, _bob) = setup_cohort(session)
    post = knowledge_post(session, ann, "3000")
    recompute_cohort(session, cohort.id, at=LATER)
    assert "first-share" in badges_of(session, ann)
    earned = points_of(session, cohort, ann)

    post.deleted_at = LATER
    session.flush()
    result = recompute_cohort(session, cohort.id, at=LATER)

    assert result.revoked >= 1
    assert "first-share" not in badges_of(session, ann)
    assert "first-share" in badges_of(session, ann, active=False)  # kept, marked revoked
    assert points_of(session, cohort, ann) < earned
    entries = session.scalars(select(PointsEntry.amount).where(PointsEntry.person_id == ann.id)).all()
    assert any(amount < 0 for amount in entries)  # a correction, the ledger stays append-only
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "award.revoke")).all()
    assert audit and audit[0].details["reason"] == "criteria no longer met"


def test_a_broadcast_earns_no_knowledge_credit(session):
    cohort, (ann, bob) = setup_cohort(session)
    knowledge_post(session, ann, "4000")
    knowledge_post(session, bob, "4001", knowledge_sharing=False, broadcast=True, own_words=2)
    recompute_cohort(session, cohort.id, at=LATER)
    assert points_of(session, cohort, bob) < points_of(session, cohort, ann)
    assert "personal-touch" not in badges_of(session, bob)


def test_an_ended_cohort_freezes(session):
    cohort, (ann, _bob) = setup_cohort(session)
    knowledge_post(session, ann, "5000")
    result = recompute_cohort(session, cohort.id, at=datetime(2026, 12, 1, tzinfo=UTC))
    assert result.frozen and cohort.frozen_at is not None
    knowledge_post(session, ann, "5001", occurred_at=datetime(2026, 9, 9, 10, tzinfo=UTC))
    before = points_of(session, cohort, ann)
    assert recompute_cohort(session, cohort.id, at=datetime(2026, 12, 2, tzinfo=UTC)).frozen
    assert points_of(session, cohort, ann) == before


def test_unknown_cohort_is_a_clear_error(session):
    with pytest.raises(LookupError, match="cohort 999999 does not exist"):
        recompute_cohort(session, 999999, at=LATER)


def test_two_concurrent_workers_never_duplicate_points_or_awards(engine):
    """Real commits from two threads at once (on PostgreSQL in CI): unique keys make the second a no-op."""
    with Session(engine) as setup:
        cohort, people = setup_cohort(setup, people=6)
        for n, person in enumerate(people):
            knowledge_post(setup, person, f"9{n:03d}")
        setup.commit()
        cohort_id, person_ids = cohort.id, [p.id for p in people]
    try:
        with Session(engine) as reference:
            recompute_cohort(reference, cohort_id, at=LATER)
            expected = dict(reference.execute(
                select(PointsEntry.person_id, func.sum(PointsEntry.amount))
                .where(PointsEntry.cohort_id == cohort_id).group_by(PointsEntry.person_id)).all())
            awards = reference.scalar(select(func.count()).select_from(Award).where(Award.cohort_id == cohort_id))
            reference.execute(delete(PointsEntry).where(PointsEntry.cohort_id == cohort_id))
            reference.execute(delete(Award).where(Award.cohort_id == cohort_id))
            reference.commit()

        barrier, errors = threading.Barrier(2), []

        def worker() -> None:
            try:
                with Session(engine) as session:
                    barrier.wait()
                    recompute_cohort(session, cohort_id, at=LATER)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with Session(engine) as check:
            totals = dict(check.execute(
                select(PointsEntry.person_id, func.sum(PointsEntry.amount))
                .where(PointsEntry.cohort_id == cohort_id).group_by(PointsEntry.person_id)).all())
            assert totals == expected
            assert check.scalar(select(func.count()).select_from(Award)
                                .where(Award.cohort_id == cohort_id)) == awards
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(delete(Cohort).where(Cohort.id == cohort_id))
            cleanup.execute(delete(Activity).where(Activity.author_id.in_(person_ids)))
            cleanup.execute(delete(Person).where(Person.id.in_(person_ids)))
            cleanup.commit()


def progress_rows_of(session: Session, person: Person) -> int:
    return session.scalar(select(func.count()).select_from(MissionProgress).join(
        Enrolment, MissionProgress.enrolment_id == Enrolment.id).where(Enrolment.person_id == person.id))


def test_recomputing_some_people_leaves_the_others_alone(session):
    cohort, (ann, bob) = setup_cohort(session)
    knowledge_post(session, ann, "6000")
    knowledge_post(session, bob, "6001")
    outsider = make_person(session)  # not in the cohort: asking for them changes nothing

    result = recompute_people(session, cohort.id, [ann.id, outsider.id, None], at=LATER)

    assert result.participants == 1 and "first-share" in badges_of(session, ann)
    assert progress_rows_of(session, ann) > 0 and points_of(session, cohort, ann) > 0
    assert progress_rows_of(session, bob) == 0 and points_of(session, cohort, bob) == 0
    assert badges_of(session, bob) == set()
    assert recompute_people(session, cohort.id, [outsider.id], at=LATER).participants == 0

    recompute_cohort(session, cohort.id, at=LATER)  # the hourly safety net reaches bob, and ann stays as she was
    assert "first-share" in badges_of(session, bob) and points_of(session, cohort, bob) > 0
    again = recompute_people(session, cohort.id, [ann.id], at=LATER)
    assert (again.points_entries, again.awards) == (0, 0)


def test_recomputing_some_people_after_the_end_freezes_everyone(session):
    cohort, (ann, bob) = setup_cohort(session)
    knowledge_post(session, bob, "7000")

    result = recompute_people(session, cohort.id, [ann.id], at=datetime(2026, 12, 1, tzinfo=UTC))

    assert result.frozen and result.participants == 2 and cohort.frozen_at is not None
    assert "first-share" in badges_of(session, bob)  # his final state was stored too
