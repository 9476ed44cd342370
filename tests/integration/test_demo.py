"""The demo organisation is believable: four teams, forty people, a cohort in week three, varied progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from plugin.models import (
    Activity,
    Award,
    Cohort,
    Enrolment,
    Evidence,
    PointsEntry,
    RiskAssessment,
    RoleAssignment,
    Team,
)
from plugin.services.demo import seed_demo
from plugin.services.overview import programme_week


def test_seed_builds_the_organisation_once(session):
    first = seed_demo(session)
    assert first.created and first.people == 40
    again = seed_demo(session)
    assert not again.created and again.cohort_id == first.cohort_id
    assert session.scalar(select(func.count()).select_from(Team)) == 4
    assert session.scalar(select(func.count()).select_from(Activity)) == first.activities


def test_the_cohort_is_in_week_three_with_varied_progress(session):
    result = seed_demo(session)
    cohort = session.get(Cohort, result.cohort_id)
    assert programme_week(cohort.start_date, datetime.now(UTC).date(), cohort.weeks) == 3
    points = session.execute(select(PointsEntry.person_id, func.sum(PointsEntry.amount))
                             .group_by(PointsEntry.person_id)).all()
    totals = sorted(total for _person, total in points)
    assert totals[-1] >= 5 * max(totals[0], 1)  # champions and people who faded
    risks = session.scalars(select(RiskAssessment.score)).all()
    assert min(risks) < 0.3 < max(risks)  # some people are at risk of the 48-hour effect, others are fine
    assert session.scalar(select(func.count()).select_from(Award)) > 10


def test_posts_in_dutch_and_english_before_and_during_the_programme(session):
    result = seed_demo(session)
    cohort = session.get(Cohort, result.cohort_id)
    start = datetime.combine(cohort.start_date, datetime.min.time(), UTC)
    languages = set(session.scalars(select(Activity.language).where(Activity.kind == "post")))
    assert {"nl", "en"} <= languages
    before = session.scalar(select(func.count()).select_from(Activity).where(
        Activity.kind == "post", Activity.occurred_at < start, Activity.occurred_at >= start - timedelta(weeks=8)))
    during = session.scalar(select(func.count()).select_from(Activity).where(
        Activity.kind == "post", Activity.occurred_at >= start))
    assert before > 0 and during / 3 > before / 8  # more posts per week once the programme runs


def test_leads_a_coach_an_admin_and_work_to_review(session):
    result = seed_demo(session)
    roles = [role for (role,) in session.execute(select(RoleAssignment.role))]
    assert roles.count("lead") == 4 and roles.count("coach") == 1 and roles.count("admin") == 1
    assert session.scalar(select(func.count()).select_from(Evidence).where(Evidence.status == "pending")) == 3
    enrolled = session.scalar(select(func.count()).select_from(Enrolment)
                              .where(Enrolment.cohort_id == result.cohort_id))
    assert enrolled == 39  # everyone but the IT admin
