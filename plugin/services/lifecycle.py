"""Act on Graph lifecycle notifications: reauthorize, recreate removed subscriptions, resync after misses."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.graph import GraphClient, GraphError
from ..models import CohortTeam, GraphSubscription, InboxItem, Team
from .inbox import claim_batch
from .subscriptions import subscribe_cohort
from .sync import sync_cohort

log = logging.getLogger(__name__)


@dataclass
class LifecycleResult:
    """What the lifecycle job did."""

    reauthorized: int = 0
    recreated: int = 0
    resynced: set[int] = field(default_factory=set)
    failed: int = 0


def _cohorts_of(session: Session, resource: str) -> set[int]:
    """Cohorts whose teams include the team a subscription resource names."""
    team_ids = [team.id for team in session.scalars(select(Team)) if f"teams/{team.graph_id}/" in resource]
    if not team_ids:
        return set()
    return set(session.scalars(select(CohortTeam.cohort_id).where(CohortTeam.team_id.in_(team_ids))))


def handle_lifecycle(session: Session, graph: GraphClient, *, notification_url: str, lifecycle_url: str,
                     client_state: str, lifetime: timedelta = timedelta(days=2), limit: int = 50,
                     instance_path: str | Path | None = None) -> LifecycleResult:
    """Claim lifecycle items and act on each; a failing one is left for the next run (never dropped).

    ``instance_path``: the app's instance folder, for the resync's recompute (admin-loaded programme files).
    """
    result = LifecycleResult()
    for item in claim_batch(session, limit, worker_id="lifecycle", lifecycle=True):
        event = item.change_type.split(":", 1)[1]
        subscription = session.scalar(
            select(GraphSubscription).where(GraphSubscription.subscription_id == item.subscription_id))
        resource = subscription.resource if subscription else str((item.payload or {}).get("resource") or "")
        try:
            if event == "reauthorizationRequired" and subscription is not None:
                graph.reauthorize_subscription(subscription.subscription_id)
                result.reauthorized += 1
            elif event == "subscriptionRemoved":
                if subscription is not None:
                    subscription.status = "removed"
                    session.commit()
                for cohort_id in _cohorts_of(session, resource):
                    created = subscribe_cohort(
                        session, graph, cohort_id, notification_url=notification_url, lifecycle_url=lifecycle_url,
                        client_state=client_state, expiration=datetime.now(UTC) + lifetime)
                    result.recreated += len(created.created)
                    result.resynced |= _resync(session, graph, cohort_id, instance_path)
            elif event == "missed":
                for cohort_id in _cohorts_of(session, resource):
                    result.resynced |= _resync(session, graph, cohort_id, instance_path)
        except GraphError as exc:
            log.warning("lifecycle %s for %s failed: %s", event, item.subscription_id, exc)
            session.rollback()
            _release(session, item)
            result.failed += 1
            continue
        item.status, item.locked_until, item.processed_at = "done", None, datetime.now(UTC)
        session.commit()
    return result


def _resync(session: Session, graph: GraphClient, cohort_id: int, instance_path: str | Path | None) -> set[int]:
    sync_cohort(session, graph, cohort_id, instance_path=instance_path)
    return {cohort_id}


def _release(session: Session, item: InboxItem) -> None:
    """Put an item back for a later attempt (the lease is released; attempts were counted by the claim)."""
    item.status, item.locked_until = "pending", datetime.now(UTC) + timedelta(minutes=5)
    session.commit()
