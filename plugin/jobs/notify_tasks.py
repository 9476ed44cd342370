"""Activity-feed notification jobs: plan from the programme calendar, detect new badges and reviews, send.

Registered from :func:`plugin.jobs.tasks.register_tasks`. Planning every 15 minutes puts a week's unlock out
within a quarter of an hour of the cohort's local 08:00; the minute job picks up badges, reviewed evidence and
recognitions and sends whatever is queued. When Graph throttles, the send job schedules itself again after
Graph's Retry-After (the rows stay queued, so nothing is lost or sent twice).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from huey import crontab

from ..adapters.graph import GraphClient
from ..db import job_session
from ..services.manifest import default_app_id
from ..services.notifications import deliver, detect_events, plan_scheduled, queued_count

if TYPE_CHECKING:
    from flask import Flask
    from huey import Huey


def register_notify_tasks(huey: Huey, app: Flask) -> dict:
    """Define the notification tasks on `huey`; returns them by name."""

    @huey.task(retries=2, retry_delay=30)
    def deliver_notifications() -> int:
        """Send queued notifications (batched); reschedules itself after Graph's Retry-After when throttled."""
        with app.app_context(), job_session(app) as session:
            if not queued_count(session):
                return 0
            with GraphClient.from_app(app) as graph:
                result = deliver(session, graph, app_id=default_app_id(app.config["AZURE_CLIENT_ID"]),
                                 now=datetime.now(UTC))
        if result.retry_after is not None:
            deliver_notifications.schedule(delay=max(1, math.ceil(result.retry_after)))
        return result.sent

    @huey.periodic_task(crontab(minute="*"))
    def notify_events() -> int:
        """Every minute: notifications for new badges and reviewed evidence, then send what is queued."""
        with app.app_context(), job_session(app) as session:
            detect_events(session, now=datetime.now(UTC), instance_path=app.instance_path)
        return deliver_notifications.call_local()

    @huey.periodic_task(crontab(minute="*/15"))
    def plan_notifications() -> int:
        """Every 15 minutes: week unlocks, due-soon reminders, nudges, cohort finished, coach digests; then send."""
        with app.app_context(), job_session(app) as session:
            plan_scheduled(session, now=datetime.now(UTC), instance_path=app.instance_path)
        return deliver_notifications.call_local()

    return {"deliver_notifications": deliver_notifications, "notify_events": notify_events,
            "plan_notifications": plan_notifications}
