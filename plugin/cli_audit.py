"""`flask --app wsgi audit list [--since DATE] [--action NAME] [--limit N]`: the audit log, newest first."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from .db import get_session
from .services import audit
from .services.refusal import Refused

audit_cli = AppGroup("audit", help="The audit log of admin, coach and lead actions.")


@audit_cli.command("list")
@click.option("--since", help="Only entries from this date (YYYY-MM-DD, UTC) or ISO date-time on.")
@click.option("--action", help="Only this action, or actions starting with it and a dot (e.g. role).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000), help="At most this many.")
def list_command(since: str | None, action: str | None, limit: int) -> None:
    """One line per entry: time, actor, action, target and details (tab-separated)."""
    try:
        since_at = audit.parse_since(since)
    except Refused as exc:
        raise click.ClickException(f"--since: {exc}") from None
    page = audit.list_audit(get_session(), since=since_at, action=action, per_page=limit)
    for entry in page.entries:
        actor = entry["actor"]
        who = "system/cli" if actor is None else (actor["name"] or f"person {actor['id']}")
        target = entry["target"]["type"] + (f":{entry['target']['id']}" if entry["target"]["id"] else "")
        details = json.dumps(entry["details"], ensure_ascii=False, sort_keys=True)
        click.echo("\t".join((entry["at"], who, entry["action"], target, details)))
    if not page.entries:
        click.echo("no audit entries" + (" match" if since or action else " yet"))
    elif page.total > len(page.entries):
        click.echo(f"({page.total - len(page.entries)} older entries not shown; use --limit or --since)", err=True)
