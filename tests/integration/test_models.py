"""The schema refuses what would be wrong twice: duplicate awards, activity, inbox items and points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugin.models import Activity, Enrolment, InboxItem, PointsEntry
from tests.factories import (
    make_activity,
    make_award,
    make_badge,
    make_cohort,
    make_enrolment,
    make_person,
)


def test_an_award_is_unique_per_person_badge_and_cohort(session):
    person, badge, cohort = make_person(session), make_badge(session), make_cohort(session)
    make_award(session, person=person, badge=badge, cohort=cohort)
    with pytest.raises(IntegrityError), session.begin_nested():
        make_award(session, person=person, badge=badge, cohort=cohort)
    # The same badge in another cohort is a different award.
    make_award(session, person=person, badge=badge, cohort=make_cohort(session))


def test_activity_is_unique_per_source_and_external_id(session):
    author = make_person(session)
    make_activity(session, author=author, external_id="1606515483514")
    with pytest.raises(IntegrityError), session.begin_nested():
        make_activity(session, author=author, external_id="1606515483514")
    make_activity(session, author=author, external_id="1606515483514", source="yammer")


def test_inbox_items_are_unique_per_notification_identity(session):
    item = {"identity": "a" * 64, "change_type": "created", "resource": "teams('x')/channels('y')/messages('1')",
            "payload": {"value": 1}}
    session.add(InboxItem(**item))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(InboxItem(**item))
        session.flush()


def test_points_are_idempotent_per_source_key(session):
    person, cohort = make_person(session), make_cohort(session)
    entry = {"cohort_id": cohort.id, "person_id": person.id, "amount": 10, "source_key": "activity:teams:1",
             "reason": "knowledge_post"}
    session.add(PointsEntry(**entry))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(PointsEntry(**entry))
        session.flush()


def test_a_person_enrols_once_per_cohort(session):
    person, cohort = make_person(session), make_cohort(session)
    make_enrolment(session, cohort=cohort, person=person)
    with pytest.raises(IntegrityError), session.begin_nested():
        make_enrolment(session, cohort=cohort, person=person)


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [(Enrolment, "status", "maybe"), (Enrolment, "ranking_visibility", "public"), (Activity, "kind", "tweet")],
)
def test_check_constraints_refuse_unknown_states(session, model, field, value):
    person, cohort = make_person(session), make_cohort(session)
    with pytest.raises(IntegrityError), session.begin_nested():
        if model is Enrolment:
            make_enrolment(session, cohort=cohort, person=person, **{field: value})
        else:
            make_activity(session, author=person, **{field: value})


def test_timestamps_come_back_aware_in_utc(session):
    amsterdam = timezone(timedelta(hours=2))
    author = make_person(session)
    row = make_activity(session, author=author, occurred_at=datetime(2026, 9, 8, 12, 30, tzinfo=amsterdam))
    session.expire_all()
    stored = session.scalar(select(Activity).where(Activity.id == row.id))
    assert stored.occurred_at == datetime(2026, 9, 8, 10, 30, tzinfo=UTC)
    assert stored.occurred_at.tzinfo is not None


def test_naive_timestamps_are_refused(session):
    with pytest.raises(Exception, match="naive datetime"), session.begin_nested():
        make_activity(session, author=make_person(session), occurred_at=datetime(2026, 9, 8, 12, 30))
