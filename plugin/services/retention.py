"""Retention: activity older than ``ACTIVITY_RETENTION_DAYS`` is deleted, and message text in the inbox does not
outlive ``MESSAGE_TEXT_RETENTION_DAYS`` (default 0: a notification loses its text when it is processed).

Activity that a cohort still reads is kept whatever the setting: a cohort that is not frozen yet recomputes
progress from its baseline weeks onwards, and deleting those rows would take badges and points away. So the cut
is the earlier of "now minus the retention" and the first baseline day of any cohort that is not frozen.

Message text: processing a notification already strips it (``services.inbox.strip_content``); this job is the
guarantee behind that. Processed and failed items older than the text retention are stripped again (a no-op
unless something left text behind), and a notification still waiting after ``UNPROCESSED_GRACE`` (or the text
retention, if longer) loses its content entirely: the worker then reads the message from Graph when it comes
to it, so nothing is lost.

The notification log goes with the activity: a row is deleted once it is older than the activity cut, and never
before :data:`NOTIFICATION_LOG_MIN_KEEP`. Its key is what keeps a notification from being planned and sent twice,
and the planners look back at most a week (badges earned and evidence reviewed lately, the weekly cap, a cohort
that just finished: plugin/domain/notify_rules.py), so a row that young must stay whatever the setting. The share
composer's idempotency keys (``share_request``) go after :data:`SHARE_REQUEST_KEEP`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Activity, Cohort, InboxItem, NotificationLog, ShareRequest
from .audit import record_audit
from .inbox import strip_content

#: How long an unprocessed notification may keep the message it carries (the worker normally takes seconds).
UNPROCESSED_GRACE = timedelta(days=1)
#: Notification log rows stay at least this long: well past the longest look-back of the planners (a week).
NOTIFICATION_LOG_MIN_KEEP = timedelta(days=30)
#: The composer's idempotency keys are kept this long (a retry comes within minutes; a day is ample).
SHARE_REQUEST_KEEP = timedelta(days=1)
_CONTENT_KEYS = ("content", "encryptedContent")
_CHUNK = 5000


@dataclass(frozen=True)
class RetentionResult:
    """What one run deleted or stripped, and the moment before which activity was deleted."""

    activity_cutoff: datetime
    activity_deleted: int
    processed_stripped: int
    unprocessed_stripped: int
    notifications_deleted: int = 0
    shares_deleted: int = 0


def activity_cutoff(session: Session, now: datetime, days: int) -> datetime:
    """Activity before this moment may go: `days` ago, or earlier when a cohort still needs older rows."""
    cutoff = now - timedelta(days=days)
    for start, baseline_weeks in session.execute(select(Cohort.start_date, Cohort.baseline_weeks).where(
            Cohort.frozen_at.is_(None))):
        # A day of margin for time zones east of UTC (the cohort's local midnight is before UTC midnight).
        needed = datetime.combine(start - timedelta(weeks=baseline_weeks, days=1), time(0), UTC)
        cutoff = min(cutoff, needed)
    return cutoff


def delete_old_activity(session: Session, before: datetime) -> int:
    """Delete activity that happened before `before`, in chunks (a commit each, so locks stay short)."""
    deleted = 0
    while True:
        ids = list(session.scalars(select(Activity.id).where(Activity.occurred_at < before).limit(_CHUNK)))
        if not ids:
            return deleted
        session.execute(delete(Activity).where(Activity.id.in_(ids)).execution_options(synchronize_session=False))
        session.commit()
        deleted += len(ids)


def delete_old_notifications(session: Session, before: datetime) -> int:
    """Delete notification log rows logged before `before`, in chunks (a commit each)."""
    deleted = 0
    while True:
        ids = list(session.scalars(select(NotificationLog.id).where(NotificationLog.created_at < before)
                                   .limit(_CHUNK)))
        if not ids:
            return deleted
        session.execute(delete(NotificationLog).where(NotificationLog.id.in_(ids))
                        .execution_options(synchronize_session=False))
        session.commit()
        deleted += len(ids)


def strip_inbox_text(session: Session, now: datetime, days: int) -> tuple[int, int]:
    """Remove message text from inbox items older than the text retention; (processed, unprocessed) stripped."""
    cutoff = now - timedelta(days=days)
    processed = 0
    for item in session.scalars(select(InboxItem).where(InboxItem.status.in_(("done", "failed")),
                                                        InboxItem.received_at < cutoff)
                                .execution_options(yield_per=500)):
        stripped = strip_content(item.payload or {})
        if stripped != (item.payload or {}):
            item.payload = stripped
            processed += 1
    waiting = 0
    unprocessed_cutoff = min(cutoff, now - UNPROCESSED_GRACE)
    for item in session.scalars(select(InboxItem).where(InboxItem.status == "pending",
                                                        InboxItem.received_at < unprocessed_cutoff)):
        payload = item.payload or {}
        if any(key in payload for key in _CONTENT_KEYS):
            item.payload = {key: value for key, value in payload.items() if key not in _CONTENT_KEYS}
            waiting += 1
    session.commit()
    return processed, waiting


def apply_retention(session: Session, *, activity_days: int, text_days: int,
                    now: datetime | None = None) -> RetentionResult:
    """The nightly retention run: old activity and notification log rows deleted, old message text removed
    (audited when it did any); commits."""
    now = now or datetime.now(UTC)
    cutoff = activity_cutoff(session, now, activity_days)
    deleted = delete_old_activity(session, cutoff)
    notifications = delete_old_notifications(session, min(cutoff, now - NOTIFICATION_LOG_MIN_KEEP))
    processed, unprocessed = strip_inbox_text(session, now, text_days)
    shares = session.execute(delete(ShareRequest).where(ShareRequest.created_at < now - SHARE_REQUEST_KEEP)
                             .execution_options(synchronize_session=False)).rowcount or 0
    session.commit()
    if deleted or processed or unprocessed or notifications:
        details = {"activity_deleted": deleted, "before": cutoff.isoformat(), "texts_removed": processed + unprocessed}
        if notifications:
            details["notifications_deleted"] = notifications
        record_audit(session, None, "privacy.retention", "activity", details, at=now)
        session.commit()
    return RetentionResult(cutoff, deleted, processed, unprocessed, notifications, shares)
