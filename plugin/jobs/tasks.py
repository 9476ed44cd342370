"""Background work: recompute progress, and (as ingestion lands) process the inbox and sync feeds.

Tasks are registered on the app's Huey instance and run inside an app context, so they use the same
services (and the same one-session-per-job rule) as the web requests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from huey import crontab
from sqlalchemy import select

from ..db import job_session
from ..models import Cohort
from ..services.progress import recompute_cohort

if TYPE_CHECKING:
    from flask import Flask
    from huey import Huey


def running_cohorts(session, now: datetime) -> list[int]:
    """Cohorts that started and are not frozen yet."""
    return list(session.scalars(select(Cohort.id).where(
        Cohort.frozen_at.is_(None), Cohort.start_date <= (now + timedelta(days=1)).date())))


def register_tasks(huey: Huey, app: Flask) -> dict:
    """Define the tasks on `huey`; returns them by name (for enqueueing and tests)."""

    @huey.task(retries=3, retry_delay=30)
    def recompute(cohort_id: int) -> int:
        """Recompute one cohort's progress, points, badges and risk."""
        with app.app_context(), job_session(app) as session:
            return recompute_cohort(session, cohort_id, instance_path=app.instance_path).participants

    @huey.periodic_task(crontab(minute="7"))
    def recompute_running() -> int:
        """Hourly: time moves missions from open to due to missed and changes risk, even without new posts."""
        with app.app_context(), job_session(app) as session:
            cohorts = running_cohorts(session, datetime.now(UTC))
            for cohort_id in cohorts:
                recompute_cohort(session, cohort_id, instance_path=app.instance_path)
            return len(cohorts)

    return {"recompute": recompute, "recompute_running": recompute_running}
