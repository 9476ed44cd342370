"""Retention: old activity goes (unless a running cohort still reads it), and message text never outlives
processing (MESSAGE_TEXT_RETENTION_DAYS, default 0) — checked by scanning the whole database for the text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from plugin.config import ConfigError, load_settings
from plugin.models import Activity, AuditEntry, Cohort, InboxItem
from plugin.services.inbox import process_pending, store_notifications
from plugin.services.retention import apply_retention
from tests.factories import make_activity, make_cohort, make_person
from tests.integration.ingest_fixtures import chat_message, setup_cohort
from tests.web.privacy_world import database_text

NOW = datetime(2027, 6, 1, 4, 17, tzinfo=UTC)
SECRET_TEXT = "Onze offerte voor klant Vermeulen ligt op 48.500 euro"
HTML = f"<p>{SECRET_TEXT}. I think our team learned a lot from preparing it together this week.</p>"


def text_left(connection) -> list[str]:
    """Rows anywhere in the database that still hold the message text."""
    return [f"{table}: {row}" for table, rows in database_text(connection).items() for row in rows
            if "Vermeulen" in row]


def stored(session) -> list[int]:
    """Ids of the activity rows in the database."""
    return list(session.scalars(select(Activity.id).order_by(Activity.id)))


def notification(message_id: str, *, created: datetime) -> dict:
    """A change notification carrying the (decrypted) message, as the webhook stores it."""
    message = chat_message(message_id, "a11ce000-0000-4000-8000-000000000001", HTML, created=created)
    return {"subscriptionId": "sub-1", "changeType": "created", "clientState": None, "id": f"n-{message_id}",
            "resource": f"teams('team-1')/channels('19:general@thread.tacv2')/messages('{message_id}')",
            "resourceData": {"id": message_id, "@odata.etag": message["etag"]}, "content": message}


def test_old_activity_goes_and_recent_stays(session):
    person = make_person(session)
    old = make_activity(session, author=person, occurred_at=NOW - timedelta(days=731))
    recent = make_activity(session, author=person, occurred_at=NOW - timedelta(days=700))
    old_id, recent_id = old.id, recent.id
    session.commit()

    result = apply_retention(session, activity_days=730, text_days=0, now=NOW)

    assert result.activity_deleted == 1
    assert result.activity_cutoff == NOW - timedelta(days=730)
    assert stored(session) == [recent_id] and old_id != recent_id
    assert apply_retention(session, activity_days=730, text_days=0, now=NOW).activity_deleted == 0
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.retention")).all()
    assert entry.details == {"activity_deleted": 1, "before": result.activity_cutoff.isoformat(), "texts_removed": 0}


def test_activity_a_running_cohort_still_needs_is_kept(session):
    person = make_person(session)
    # Starts in a month with 8 baseline weeks: its baseline reaches back about a month before today.
    make_cohort(session, start_date=date(2027, 7, 1), baseline_weeks=8)
    frozen = make_cohort(session, start_date=date(2020, 1, 6), frozen_at=datetime(2020, 3, 30, tzinfo=UTC))
    baseline = make_activity(session, author=person, occurred_at=datetime(2027, 5, 20, tzinfo=UTC))
    before_it = make_activity(session, author=person, occurred_at=datetime(2027, 4, 1, tzinfo=UTC))
    of_the_frozen = make_activity(session, author=person, occurred_at=datetime(2020, 2, 1, tzinfo=UTC))
    ids = baseline.id, before_it.id, of_the_frozen.id
    session.commit()

    result = apply_retention(session, activity_days=7, text_days=0, now=NOW)

    assert result.activity_cutoff == datetime(2027, 5, 5, tzinfo=UTC)  # 1 July - 8 weeks - 1 day
    assert stored(session) == [ids[0]]
    assert session.get(Cohort, frozen.id).frozen_at is not None


def test_message_text_is_gone_once_processed(session, connection):
    cohort, (author, *_rest) = setup_cohort(session, oids=["a11ce000-0000-4000-8000-000000000001"])
    session.commit()
    store_notifications(session, [notification("1700000000001", created=datetime(2026, 9, 8, 10, tzinfo=UTC))])
    assert text_left(connection)  # the stored notification carries it until it is processed

    def fetch(resource: str) -> None:
        raise AssertionError("the notification carried the message")

    assert process_pending(session, fetch).done == 1

    assert text_left(connection) == []
    row = session.scalars(select(Activity).where(Activity.external_id == "1700000000001")).one()
    assert row.author_id == author.id and row.own_words > 0


def test_a_notification_waiting_a_day_loses_its_text_and_is_still_counted(session, connection):
    setup_cohort(session, oids=["a11ce000-0000-4000-8000-000000000001"])
    session.commit()
    store_notifications(session, [notification("1700000000002", created=datetime(2026, 9, 8, 10, tzinfo=UTC))])
    item = session.scalars(select(InboxItem)).one()
    item.received_at = NOW - timedelta(days=1, minutes=1)
    session.commit()
    fresh = notification("1700000000003", created=datetime(2026, 9, 8, 11, tzinfo=UTC))
    store_notifications(session, [fresh])
    session.execute(InboxItem.__table__.update().where(InboxItem.id != item.id).values(received_at=NOW))
    session.commit()

    result = apply_retention(session, activity_days=730, text_days=0, now=NOW)

    assert (result.unprocessed_stripped, result.processed_stripped) == (1, 0)
    session.expire_all()
    assert "content" not in session.get(InboxItem, item.id).payload
    assert len(text_left(connection)) == 1  # the one that arrived just now waits for the worker with its text
    fetched = []

    def fetch(resource: str) -> dict:
        fetched.append(resource)
        return chat_message("1700000000002", "a11ce000-0000-4000-8000-000000000001", HTML,
                            created=datetime(2026, 9, 8, 10, tzinfo=UTC))

    assert process_pending(session, fetch).done == 2
    assert fetched == [item.resource]
    assert session.scalars(select(Activity.external_id).order_by(Activity.external_id)).all() == [
        "1700000000002", "1700000000003"]
    assert text_left(connection) == []


@pytest.mark.parametrize(("text_days", "stripped"), [(0, 2), (3, 1)])
def test_text_left_in_processed_items_is_removed_after_the_text_retention(session, connection, text_days, stripped):
    for n, age in enumerate((timedelta(hours=1), timedelta(days=5))):
        item = notification(f"17000000001{n}", created=NOW - age)
        session.add(InboxItem(identity=f"{n}" * 64, change_type="created", resource=item["resource"], payload=item,
                              status="done", received_at=NOW - age, processed_at=NOW - age))
    session.commit()

    result = apply_retention(session, activity_days=730, text_days=text_days, now=NOW)

    assert result.processed_stripped == stripped
    assert len(text_left(connection)) == 2 - stripped


def test_the_nightly_job_uses_the_settings(app, session):
    person = make_person(session)
    make_activity(session, author=person, occurred_at=datetime.now(UTC) - timedelta(days=40))
    session.commit()
    app.config["ACTIVITY_RETENTION_DAYS"] = 30

    assert app.extensions["tasks"]["retention"].call_local() == 1
    assert session.scalars(select(Activity).where(Activity.author_id == person.id)).all() == []


def test_retention_settings_are_checked_at_start_up(tmp_path: Path):
    defaults = load_settings({}, instance_path=tmp_path, testing=True)
    assert (defaults.activity_retention_days, defaults.message_text_retention_days) == (730, 0)
    chosen = load_settings({"ACTIVITY_RETENTION_DAYS": "365", "MESSAGE_TEXT_RETENTION_DAYS": "2"},
                           instance_path=tmp_path, testing=True)
    assert chosen.to_flask()["ACTIVITY_RETENTION_DAYS"] == 365 and chosen.to_flask()["MESSAGE_TEXT_RETENTION_DAYS"] == 2
    for env, message in (({"ACTIVITY_RETENTION_DAYS": "0"}, "ACTIVITY_RETENTION_DAYS must be a whole number of days, "
                           "at least 1 (got '0')"),
                         ({"MESSAGE_TEXT_RETENTION_DAYS": "-1"}, "MESSAGE_TEXT_RETENTION_DAYS must be a whole number "
                           "of days, at least 0 (got '-1')")):
        with pytest.raises(ConfigError) as raised:
            load_settings(env, instance_path=tmp_path, testing=True)
        assert str(raised.value) == message
