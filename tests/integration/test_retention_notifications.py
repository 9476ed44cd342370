"""Retention also purges the notification log: rows go ACTIVITY_RETENTION_DAYS after they were logged, but never
while a planner could log the same notification again (so a purge never makes anyone get it twice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain import notify_rules as rules
from plugin.models import AuditEntry, NotificationLog, Person
from plugin.services.notifications import detect_events
from plugin.services.programmes import ensure_badges
from plugin.services.retention import NOTIFICATION_LOG_MIN_KEEP, apply_retention
from tests.factories import make_award, make_cohort, make_enrolment, make_person

NOW = datetime(2027, 6, 1, 4, 17, tzinfo=UTC)


def log_row(session: Session, person: Person, key: str, created: datetime) -> NotificationLog:
    row = NotificationLog(idempotency_key=key, person_id=person.id, activity_type="badgeEarned", locale="nl",
                          parameters={"cohort_id": 1}, status="sent", created_at=created, sent_at=created)
    session.add(row)
    session.flush()
    return row


def logged_keys(session: Session) -> set[str]:
    return set(session.scalars(select(NotificationLog.idempotency_key)))


def test_old_notification_log_rows_go_with_the_activity_retention(session):
    person = make_person(session)
    log_row(session, person, "old", NOW - timedelta(days=731))
    log_row(session, person, "recent", NOW - timedelta(days=729))
    session.commit()

    result = apply_retention(session, activity_days=730, text_days=0, now=NOW)

    assert result.notifications_deleted == 1
    assert logged_keys(session) == {"recent"}
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.retention")).all()
    assert entry.details["notifications_deleted"] == 1
    assert apply_retention(session, activity_days=730, text_days=0, now=NOW).notifications_deleted == 0


def test_a_short_retention_keeps_the_log_as_long_as_a_notification_could_be_planned_again(session):
    person = make_person(session)
    cohort = make_cohort(session, start_date=date(2027, 3, 1), frozen_at=datetime(2027, 5, 1, tzinfo=UTC))
    make_enrolment(session, cohort=cohort, person=person)
    # A badge earned three days ago: its notification may still be planned for another four days.
    make_award(session, person=person, badge=ensure_badges(session)["first-share"], cohort=cohort,
               awarded_at=NOW - timedelta(days=3))
    assert detect_events(session, now=NOW) == 1
    log_row(session, person, "older-than-the-floor", NOW - NOTIFICATION_LOG_MIN_KEEP - timedelta(days=1))
    session.commit()

    result = apply_retention(session, activity_days=1, text_days=0, now=NOW)

    assert result.notifications_deleted == 1 and "older-than-the-floor" not in logged_keys(session)
    assert detect_events(session, now=NOW) == 0  # still logged: not planned, nor sent, a second time
    assert len(logged_keys(session)) == 1
    # The floor outlasts every look-back of the planners, so this holds for every kind of notification.
    assert NOTIFICATION_LOG_MIN_KEEP > max(rules.EVENT_WINDOW, rules.FINISHED_WINDOW, rules.UNLOCK_WINDOW,
                                           rules.CAP_WINDOW)


def test_a_running_cohorts_notifications_stay_while_it_runs(session):
    person = make_person(session)
    make_cohort(session, start_date=date(2027, 1, 4), baseline_weeks=4)  # not frozen: still reads its weeks
    log_row(session, person, "week_unlocked:cohort=1:week=1:person=1", datetime(2027, 1, 4, 8, tzinfo=UTC))
    session.commit()

    result = apply_retention(session, activity_days=30, text_days=0, now=NOW)

    assert result.notifications_deleted == 0 and len(logged_keys(session)) == 1
