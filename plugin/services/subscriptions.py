"""Graph change-notification subscriptions on the channels of a cohort's teams: create, store, renew.

One subscription per channel on ``/teams/{id}/channels/{id}/messages`` (replies included), without resource
data (the webhook fetches or delta-syncs what changed). Each subscription is stored (``GraphSubscription``) and
committed as soon as Graph created it, so a failure halfway never leaves one at Graph that we do not know of.
A lifetime over one hour needs a ``lifecycleNotificationUrl`` (Graph's rule), which can only be set at creation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.graph import GraphClient, GraphError
from ..models import Channel, CohortTeam, GraphSubscription, Team

log = logging.getLogger(__name__)

CHANGE_TYPES = "created,updated,deleted"
#: Just under the 3-day maximum believed current for chatMessage subscriptions (reference §3.3).
DEFAULT_LIFETIME = timedelta(minutes=4230)


@dataclass
class SubscribeResult:
    """Subscriptions created, channels that already had a live one, and per-resource errors."""

    created: list[GraphSubscription] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class RenewResult:
    """Subscriptions renewed, found gone at Graph (marked removed: subscribe again), and errors."""

    renewed: list[GraphSubscription] = field(default_factory=list)
    removed: list[GraphSubscription] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def channel_resource(team_graph_id: str, channel_graph_id: str) -> str:
    """The subscription resource of a channel's messages."""
    return f"/teams/{team_graph_id}/channels/{channel_graph_id}/messages"


def subscribe_cohort(
    session: Session,
    graph: GraphClient,
    cohort_id: int,
    *,
    notification_url: str,
    lifecycle_url: str | None,
    client_state: str,
    expiration: datetime,
    change_type: str = CHANGE_TYPES,
    now: datetime | None = None,
) -> SubscribeResult:
    """Subscribe to every channel of the cohort's teams that has no live subscription yet; commits each one."""
    now = now or datetime.now(UTC)
    rows = session.execute(
        select(Team.graph_id, Channel.graph_id)
        .join(CohortTeam, CohortTeam.team_id == Team.id)
        .join(Channel, Channel.team_id == Team.id)
        .where(CohortTeam.cohort_id == cohort_id)
        .order_by(Team.id, Channel.id)
    ).all()
    live = set(session.scalars(
        select(GraphSubscription.resource).where(GraphSubscription.status == "active",
                                                 GraphSubscription.expires_at > now)
    ))
    result = SubscribeResult()
    for team_graph_id, channel_graph_id in rows:
        resource = channel_resource(team_graph_id, channel_graph_id)
        if resource in live:
            result.existing.append(resource)
            continue
        try:
            created = graph.create_subscription(
                resource, notification_url=notification_url, expiration=expiration, change_type=change_type,
                lifecycle_url=lifecycle_url, client_state=client_state,
            )
        except GraphError as exc:
            log.warning("subscribing to %s failed: %s", resource, exc)
            result.errors[resource] = str(exc)
            continue
        row = GraphSubscription(subscription_id=created.id, resource=resource, change_type=created.change_type,
                                include_resource_data=created.include_resource_data, expires_at=created.expiration,
                                status="active")
        session.add(row)
        session.commit()
        live.add(resource)
        result.created.append(row)
    return result


def renew_due(
    session: Session,
    graph: GraphClient,
    now: datetime,
    within: timedelta,
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> RenewResult:
    """Renew active subscriptions expiring before ``now + within`` to ``now + lifetime``; commits each."""
    # One Graph no longer knows (404: expired or removed) is marked removed: the next subscribe_cohort creates a
    # new one, and a delta sync catches up on what was missed meanwhile.
    due = list(session.scalars(
        select(GraphSubscription)
        .where(GraphSubscription.status == "active", GraphSubscription.expires_at <= now + within)
        .order_by(GraphSubscription.expires_at)
    ))
    result = RenewResult()
    for row in due:
        try:
            renewed = graph.renew_subscription(row.subscription_id, now + lifetime)
        except GraphError as exc:
            if exc.status == 404:
                row.status = "removed"
                session.commit()
                result.removed.append(row)
            else:
                log.warning("renewing subscription %s failed: %s", row.subscription_id, exc)
                result.errors[row.subscription_id] = str(exc)
            continue
        row.expires_at, row.renewed_at = renewed.expiration, now
        session.commit()
        result.renewed.append(row)
    return result


__all__ = ["DEFAULT_LIFETIME", "RenewResult", "SubscribeResult", "channel_resource", "renew_due", "subscribe_cohort"]
