"""`flask --app wsgi yammer sync [--cohort ID] [--recheck]`: read the cohorts' Viva Engage communities now.

The same work as the periodic job (:mod:`plugin.services.yammer_sync`): new posts since the last poll, the
baseline backfill on a community's first poll, and (hourly, or now with ``--recheck``) a re-read of the last
week's messages for edits, likes and deletions. Yammer is read with participants' delegated tokens; people whose
sign-in is missing are listed by count and the command still reads what it can. Without ``--cohort`` every
running cohort is polled. Failures end in one line (``click.ClickException``), never a traceback.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .adapters.yammer import YammerClient
from .db import get_session
from .models import Cohort
from .services.delegated import DelegatedTokens
from .services.yammer_sync import CommunityResult, communities_of, running_cohorts, sync_yammer

yammer_cli = AppGroup("yammer", help="Viva Engage (Yammer): poll the cohorts' communities.")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _no_default_token() -> str:
    raise RuntimeError("every Yammer request names the participant it is sent as")


@yammer_cli.command("sync")
@click.option("--cohort", "cohort_id", type=int, default=None,
              help="Only this cohort (default: every running cohort).")
@click.option("--recheck", is_flag=True, help="Also re-read the last week's messages now (edits, likes, deletions).")
@with_appcontext
def sync_command(cohort_id: int | None, recheck: bool) -> None:
    """Read new Viva Engage posts of the cohorts' communities and update progress."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    session = get_session()
    try:
        tokens = DelegatedTokens(session)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot get delegated tokens: {_one_line(str(exc))}") from None
    if cohort_id is not None and session.get(Cohort, cohort_id) is None:
        raise click.ClickException(f"cohort {cohort_id} does not exist")
    cohorts = [cohort_id] if cohort_id is not None else running_cohorts(session, datetime.now(UTC))
    total = len(communities_of(session, cohorts))
    with YammerClient.from_app(app, _no_default_token) as yammer:
        with click.progressbar(length=total, label="Polling communities", show_pos=True) as bar:

            def advance(_result: CommunityResult) -> None:
                bar.update(1)

            outcome = sync_yammer(session, yammer, cohort_id=cohort_id, tokens=tokens,
                                  recheck=True if recheck else None, on_community=advance,
                                  instance_path=app.instance_path)
    for result in outcome.communities:
        click.echo(f"{result.name}: {result.ingested} new messages, {result.rechecked} re-read, "
                   f"{result.withdrawn} withdrawn, {result.requests} Yammer request(s) as {result.readers} "
                   f"participant(s), {result.status}")
    click.echo(f"{outcome.ingested} new messages from {len(outcome.communities)} communities, "
               f"{len(outcome.recomputed)} cohorts recomputed")
    if outcome.needs_sign_in:
        click.echo(f"{len(outcome.needs_sign_in)} participant(s) need to sign in to Viva Engage in the app "
                   "before their sign-in can be used to read communities")
    if outcome.errors:
        group, error = next(iter(outcome.errors.items()))
        raise click.ClickException(f"{len(outcome.errors)} community(ies) could not be read; {group}: "
                                   f"{_one_line(error)}")
