"""`flask --app wsgi badges list [--public]`: every issued badge with its Open Badges assertion and verify page."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .db import get_session
from .services import openbadges

badges_cli = AppGroup("badges", help="Issued badges and their Open Badges 2.0 URLs, for auditing.")


@badges_cli.command("list")
@click.option("--public", "public_only", is_flag=True, help="Only badges their holders made public (and not revoked).")
def list_command(public_only: bool) -> None:
    """Print each award: id, badge, holder, cohort, date, state, assertion URL and verification page."""
    base = current_app.config["APP_BASE_URL"].rstrip("/")
    lines = openbadges.list_awards(get_session(), base, public_only=public_only)
    for line in lines:
        click.echo("\t".join((line.public_id, line.slug, line.holder, line.cohort, line.awarded_at.date().isoformat(),
                              line.state, line.assertion_url, line.verify_url)))
    if not lines:
        click.echo("no public badges" if public_only else "no badges awarded yet")
