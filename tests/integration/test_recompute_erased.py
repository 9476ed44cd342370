"""An erased participant is left alone by every recompute: no progress, points, badges or risk come back.

Erasure keeps the anonymous aggregates (progress, points and badges under the nameless placeholder) and deletes
the risk score; replies to their old posts and the passing of time must not make the hourly full recompute or a
targeted one write anything for them again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.models import Award, Enrolment, MissionProgress, Person, PointsEntry, RiskAssessment
from plugin.services.privacy import erase_person
from plugin.services.progress import recompute_cohort, recompute_people
from tests.factories import make_activity
from tests.integration.test_progress import IN_WEEK_1, LATER, knowledge_post, points_of, setup_cohort

WEEK_3 = LATER + timedelta(days=14)


def stored_for(session: Session, person: Person) -> dict[str, object]:
    """Every derived row a recompute writes for the person, as comparable values."""
    enrolments = select(Enrolment.id).where(Enrolment.person_id == person.id).scalar_subquery()
    return {
        "progress": sorted(session.execute(
            select(MissionProgress.mission_id, MissionProgress.current, MissionProgress.completed_at,
                   MissionProgress.updated_at).where(MissionProgress.enrolment_id.in_(enrolments))).tuples()),
        "points": sorted(session.execute(select(PointsEntry.source_key, PointsEntry.amount)
                                         .where(PointsEntry.person_id == person.id)).tuples()),
        "awards": sorted(session.execute(select(Award.badge_id, Award.revoked_at)
                                         .where(Award.person_id == person.id)).tuples()),
        "risk": session.scalar(select(func.count()).select_from(RiskAssessment)
                               .where(RiskAssessment.enrolment_id.in_(enrolments))),
    }


def test_no_recompute_writes_anything_for_an_erased_participant(session):
    cohort, (ann, bob) = setup_cohort(session)
    post = knowledge_post(session, ann, "e100")
    recompute_cohort(session, cohort.id, at=LATER)
    assert stored_for(session, ann)["awards"]  # she had earned something before she left
    erase_person(session, ann.id, requested_by="self", at=LATER)
    kept = stored_for(session, ann)
    assert kept["risk"] == 0 and kept["progress"] and kept["points"]  # erasure deleted the risk score only
    bob_before = points_of(session, cohort, bob)

    # Later, bob answers her old post (it still counts for him) and two weeks pass (missions fall due).
    make_activity(session, author=bob, kind="reply", external_id=f"{post.external_id}/e101",
                  target_author_id=ann.id, occurred_at=LATER + timedelta(hours=1),
                  thread_external_id=post.external_id, own_words=30)
    full = recompute_cohort(session, cohort.id, at=WEEK_3)
    targeted = recompute_people(session, cohort.id, [ann.id, bob.id], at=WEEK_3)

    assert stored_for(session, ann) == kept
    assert full.participants == 1 and targeted.participants == 1  # only bob
    assert points_of(session, cohort, bob) > bob_before  # the others are recomputed as before


def test_an_erased_participant_without_rows_gets_none(session):
    cohort, (ann, _bob) = setup_cohort(session)
    erase_person(session, ann.id, requested_by="admin", at=IN_WEEK_1)
    knowledge_post(session, ann, "e200", occurred_at=IN_WEEK_1 + timedelta(hours=1))  # e.g. a late sync of an old post

    recompute_cohort(session, cohort.id, at=datetime(2026, 9, 20, tzinfo=UTC))
    recompute_people(session, cohort.id, [ann.id], at=datetime(2026, 9, 21, tzinfo=UTC))

    assert stored_for(session, ann) == {"progress": [], "points": [], "awards": [], "risk": 0}
