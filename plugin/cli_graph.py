"""`flask --app wsgi graph subscribe|renew|sync [--cohort ID]`: Graph subscriptions and delta sync for admins.

The Graph client is built from the app's settings (``GraphClient.from_app``): app-only tokens by MSAL client
credentials (``adapters.msal_client``; in the demo and tests the dev authority and the Graph emulator are reached
in-process). Without ``--cohort`` every running (not frozen) cohort is handled. Failures end in one line
(``click.ClickException``), never a traceback. Register with ``app.cli.add_command(graph_cli)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from .adapters.graph import GraphClient, GraphError
from .db import get_session
from .models import Cohort
from .services.subscriptions import DEFAULT_LIFETIME, renew_due, subscribe_cohort
from .services.sync import SyncResult, cohort_channels, refresh_channels, sync_cohort

graph_cli = AppGroup("graph", help="Microsoft Graph: change-notification subscriptions and channel delta sync.")

_LIFETIME_MINUTES = int(DEFAULT_LIFETIME.total_seconds() // 60)
cohort_option = click.option("--cohort", "cohort_id", type=int, default=None,
                             help="Only this cohort (default: every running cohort).")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@contextmanager
def _graph_client() -> Iterator[GraphClient]:
    """The app's Graph client, closed afterwards; configuration problems become one line."""
    try:
        graph = GraphClient.from_app(current_app._get_current_object())  # type: ignore[attr-defined]
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(f"cannot build the Graph client: {_one_line(str(exc))}") from None
    try:
        yield graph
    except GraphError as exc:
        raise click.ClickException(_one_line(str(exc))) from None
    finally:
        graph.close()


def _cohorts(session: Session, cohort_id: int | None) -> list[int]:
    if cohort_id is not None:
        if session.get(Cohort, cohort_id) is None:
            raise click.ClickException(f"cohort {cohort_id} does not exist")
        return [cohort_id]
    return list(session.scalars(select(Cohort.id).where(Cohort.frozen_at.is_(None)).order_by(Cohort.id)))


@graph_cli.command("subscribe")
@cohort_option
@click.option("--notification-url", default=None, help="Webhook URL (default: APP_BASE_URL/webhooks/graph).")
@click.option("--lifecycle-url", default=None,
              help="Lifecycle webhook URL (default: APP_BASE_URL/webhooks/graph/lifecycle).")
@click.option("--minutes", type=click.IntRange(1, 4320), default=_LIFETIME_MINUTES, show_default=True,
              help="Lifetime of new subscriptions.")
@with_appcontext
def subscribe_command(cohort_id: int | None, notification_url: str | None, lifecycle_url: str | None,
                      minutes: int) -> None:
    """Subscribe to change notifications on every channel of the cohorts' teams."""
    config = current_app.config
    base = config["APP_BASE_URL"].rstrip("/")
    session = get_session()
    failures: dict[str, str] = {}
    with _graph_client() as graph:
        for cid in _cohorts(session, cohort_id):
            result = subscribe_cohort(
                session, graph, cid, notification_url=notification_url or f"{base}/webhooks/graph",
                lifecycle_url=lifecycle_url or f"{base}/webhooks/graph/lifecycle",
                client_state=config["GRAPH_CLIENT_STATE"],
                expiration=datetime.now(UTC) + timedelta(minutes=minutes),
            )
            failures |= result.errors
            click.echo(f"cohort {cid}: {len(result.created)} subscribed, {len(result.existing)} already subscribed, "
                       f"{len(result.errors)} failed")
    if failures:
        resource, error = next(iter(failures.items()))
        raise click.ClickException(f"{len(failures)} subscription(s) failed; {resource}: {_one_line(error)}")


@graph_cli.command("renew")
@click.option("--within", type=click.IntRange(1), default=24 * 60, show_default=True,
              help="Renew subscriptions expiring within this many minutes.")
@click.option("--minutes", type=click.IntRange(1, 4320), default=_LIFETIME_MINUTES, show_default=True,
              help="New lifetime from now.")
@with_appcontext
def renew_command(within: int, minutes: int) -> None:
    """Renew the subscriptions that expire soon; mark those Graph no longer has as removed."""
    session = get_session()
    with _graph_client() as graph:
        result = renew_due(session, graph, datetime.now(UTC), timedelta(minutes=within),
                           lifetime=timedelta(minutes=minutes))
    click.echo(f"{len(result.renewed)} renewed, {len(result.removed)} removed (run `graph subscribe`), "
               f"{len(result.errors)} failed")
    if result.errors:
        subscription, error = next(iter(result.errors.items()))
        raise click.ClickException(f"{len(result.errors)} renewal(s) failed; {subscription}: {_one_line(error)}")


@graph_cli.command("sync")
@cohort_option
@with_appcontext
def sync_command(cohort_id: int | None) -> None:
    """Read new channel messages (Graph delta) of the cohorts' teams and update progress."""
    session = get_session()
    failures: dict[str, str] = {}
    with _graph_client() as graph:
        cohorts = _cohorts(session, cohort_id)
        for cid in cohorts:
            refresh_channels(session, graph, cid)
        total = sum(len(cohort_channels(session, cid)) for cid in cohorts)
        summaries = []
        with click.progressbar(length=total, label="Syncing channels", show_pos=True) as bar:

            def advance(_result: SyncResult, _name: str) -> None:
                bar.update(1)

            for cid in cohorts:
                outcome = sync_cohort(session, graph, cid, refresh=False, on_place=advance,
                                      instance_path=current_app.instance_path)
                failures |= outcome.errors
                summaries.append(f"cohort {cid}: {outcome.ingested} messages from {len(outcome.places)} channels, "
                                 f"{outcome.requests} Graph requests, {len(outcome.recomputed)} cohorts recomputed")
    for line in summaries:
        click.echo(line)
    if failures:
        key, error = next(iter(failures.items()))
        raise click.ClickException(f"{len(failures)} channel(s) failed; {key}: {_one_line(error)}")
