"""Background work: process the inbox, sync feeds, keep subscriptions alive and recompute progress.

Tasks are registered on the app's Huey instance and run inside an app context, so they use the same
services (and the same one-session-per-job rule) as the web requests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from huey import crontab
from sqlalchemy import select

from ..adapters.graph import GraphClient
from ..adapters.graph_notifications import parse_message_resource
from ..adapters.yammer import YammerClient
from ..db import job_session
from ..models import Cohort, CohortTeam, Team
from ..services.feeds import refresh_all as refresh_feeds
from ..services.inbox import process_pending, purge_processed, requeue_stuck
from ..services.lifecycle import handle_lifecycle
from ..services.progress import recompute_cohort, recompute_people
from ..services.retention import apply_retention
from ..services.roles import refresh_ownership
from ..services.subscriptions import renew_due
from ..services.sync import sync_cohort
from ..services.yammer_sync import sync_yammer
from .notify_tasks import register_notify_tasks

if TYPE_CHECKING:
    from flask import Flask
    from huey import Huey

#: Processed inbox items are kept this long, beyond Graph's own four hours of redelivery.
INBOX_KEEP = timedelta(days=2)


def running_cohorts(session, now: datetime) -> list[int]:
    """Cohorts that started and are not frozen yet."""
    return list(session.scalars(select(Cohort.id).where(
        Cohort.frozen_at.is_(None), Cohort.start_date <= (now + timedelta(days=1)).date())))


def cohort_teams(session, cohort_ids: list[int]) -> list[Team]:
    """The teams taking part in these cohorts."""
    if not cohort_ids:
        return []
    return list(session.scalars(select(Team).join(CohortTeam).where(CohortTeam.cohort_id.in_(cohort_ids)).distinct()))


def message_fetcher(graph: GraphClient) -> Callable[[str], Any]:
    """The inbox's `fetch_message`: the chatMessage a notification's resource names, or None when it is gone."""

    def fetch(resource: str) -> Any:
        ref = parse_message_resource(resource)
        if ref is None:
            return None
        return graph.find_message(ref.team_id, ref.channel_id, ref.message_id, ref.reply_id)

    return fetch


def _named_reader() -> str:
    raise RuntimeError("every Yammer request names the participant it is sent as")


def register_tasks(huey: Huey, app: Flask) -> dict:
    """Define the tasks on `huey`; returns them by name (for enqueueing and tests)."""

    def webhook_url(path: str = "") -> str:
        return f"{app.config['APP_BASE_URL']}/webhooks/graph{path}"

    @huey.task(retries=3, retry_delay=30)
    def recompute(cohort_id: int, people: list[int] | None = None) -> int:
        """Recompute one cohort's progress, points, badges and risk (only these people's, when given)."""
        with app.app_context(), job_session(app) as session:
            if people is not None:
                return recompute_people(session, cohort_id, people, instance_path=app.instance_path).participants
            return recompute_cohort(session, cohort_id, instance_path=app.instance_path).participants

    @huey.periodic_task(crontab(minute="7"))
    def recompute_running() -> int:
        """Hourly: time moves missions from open to due to missed and changes risk, even without new posts."""
        with app.app_context(), job_session(app) as session:
            cohorts = running_cohorts(session, datetime.now(UTC))
            for cohort_id in cohorts:
                recompute_cohort(session, cohort_id, instance_path=app.instance_path)
            return len(cohorts)

    # Ahead of the periodic jobs in the SQLite queue; Huey's Redis storage refuses priorities (NotImplementedError
    # on enqueue) and wakes a free worker at once anyway.
    @huey.task(retries=2, retry_delay=10, **({} if huey.storage.blocking else {"priority": 10}))
    def process_inbox() -> int:
        """Turn stored change notifications into activity, progress and badges (queued by the webhook)."""
        with app.app_context(), job_session(app) as session, GraphClient.from_app(app) as graph:
            done = 0
            while True:
                result = process_pending(session, message_fetcher(graph), limit=100, instance_path=app.instance_path)
                done += result.done
                if result.claimed < 100:
                    return done

    @huey.periodic_task(crontab(minute="*"))
    def sweep_inbox() -> int:
        """Every minute: items whose worker died go back to the queue, and anything waiting is processed."""
        with app.app_context(), job_session(app) as session:
            requeue_stuck(session)
        return process_inbox.call_local()

    @huey.task(retries=2, retry_delay=60)
    def lifecycle() -> int:
        """React to lifecycle notifications: reauthorize, recreate and resync."""
        with app.app_context(), job_session(app) as session, GraphClient.from_app(app) as graph:
            result = handle_lifecycle(session, graph, notification_url=webhook_url(),
                                      lifecycle_url=webhook_url("/lifecycle"),
                                      client_state=app.config["GRAPH_CLIENT_STATE"], instance_path=app.instance_path)
            return result.reauthorized + result.recreated + len(result.resynced)

    @huey.periodic_task(crontab(minute="*/30"))
    def sync_running() -> int:
        """Every half hour: walk each running cohort's channel deltas, the safety net under the webhooks."""
        with app.app_context(), job_session(app) as session, GraphClient.from_app(app) as graph:
            cohorts = running_cohorts(session, datetime.now(UTC))
            for cohort_id in cohorts:
                sync_cohort(session, graph, cohort_id, instance_path=app.instance_path)
            return len(cohorts)

    @huey.periodic_task(crontab(minute="*/5"))
    def poll_yammer() -> int:
        """Every five minutes: read new Viva Engage posts of running cohorts' communities as their participants."""
        with app.app_context(), job_session(app) as session, YammerClient.from_app(app, _named_reader) as yammer:
            return sync_yammer(session, yammer, instance_path=app.instance_path).ingested

    @huey.periodic_task(crontab(minute="53"))
    def refresh_leads() -> int:
        """Hourly: read each running cohort's team owners from Graph, so leads follow Teams ownership."""
        with app.app_context(), job_session(app) as session, GraphClient.from_app(app) as graph:
            owners = 0
            for team in cohort_teams(session, running_cohorts(session, datetime.now(UTC))):
                owners += refresh_ownership(session, team, graph.team_members(team.graph_id))
            return owners

    @huey.periodic_task(crontab(minute="23"))
    def renew_subscriptions() -> int:
        """Hourly: renew subscriptions that expire within the next six hours."""
        with app.app_context(), job_session(app) as session, GraphClient.from_app(app) as graph:
            result = renew_due(session, graph, datetime.now(UTC), timedelta(hours=6))
            return len(result.renewed)

    @huey.periodic_task(crontab(minute="37"))
    def import_feeds() -> int:
        """Hourly: fetch the library's RSS/Atom feeds (conditional requests) and add their new items."""
        with app.app_context(), job_session(app) as session:
            results = refresh_feeds(session, timeout=float(app.config.get("FEED_TIMEOUT_SECONDS", 10.0)))
            return sum(result.added for result in results)

    @huey.periodic_task(crontab(minute="41", hour="3"))
    def purge_inbox() -> int:
        """Nightly: forget processed notifications (their message text was already removed)."""
        with app.app_context(), job_session(app) as session:
            return purge_processed(session, datetime.now(UTC) - INBOX_KEEP)

    @huey.periodic_task(crontab(minute="17", hour="4"))
    def retention() -> int:
        """Nightly: delete activity older than ACTIVITY_RETENTION_DAYS and message text past its retention."""
        with app.app_context(), job_session(app) as session:
            result = apply_retention(session, activity_days=app.config["ACTIVITY_RETENTION_DAYS"],
                                     text_days=app.config["MESSAGE_TEXT_RETENTION_DAYS"])
            return result.activity_deleted

    return {
        "recompute": recompute, "recompute_running": recompute_running, "process_inbox": process_inbox,
        "sweep_inbox": sweep_inbox, "handle_lifecycle": lifecycle, "sync_running": sync_running,
        "renew_subscriptions": renew_subscriptions, "purge_inbox": purge_inbox, "refresh_leads": refresh_leads,
        "poll_yammer": poll_yammer, "retention": retention, "import_feeds": import_feeds,
        **register_notify_tasks(huey, app),
    }
