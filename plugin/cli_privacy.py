"""`flask --app wsgi privacy export|erase|retention|inventory`: a person's rights, retention and the inventory.

WHO is an e-mail address, UPN or Entra object id, as for `flask roles`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .db import get_session
from .services import data_inventory, privacy
from .services.retention import apply_retention

privacy_cli = AppGroup("privacy", help="Export or erase a person's data, apply retention, print the data inventory.")


def _person(who: str):
    try:
        return privacy.resolve_person(get_session(), who)
    except privacy.UnknownPerson as exc:
        raise click.ClickException(str(exc)) from None


@privacy_cli.command("export")
@click.argument("who")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSON to this file (readable by you only) instead of printing it.")
def export_command(who: str, out: Path | None) -> None:
    """Everything Ambassador holds about WHO, as JSON (no tokens)."""
    person = _person(who)
    document = privacy.export_for(get_session(), person.id, requested_by="admin")
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        # Personal data: the file is created for the admin alone (0600), never world-readable, not even briefly.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"exported person {person.id} to {out}")


@privacy_cli.command("erase")
@click.argument("who")
@click.option("--yes", is_flag=True, help="Confirm: erasing cannot be undone.")
def erase_command(who: str, yes: bool) -> None:
    """Erase WHO's personal data; anonymous team and cohort figures stay."""
    if not yes:
        raise click.ClickException(f"erasing {who} cannot be undone; add --yes to go ahead")
    person = _person(who)
    result = privacy.erase_person(get_session(), person.id, requested_by="admin")
    if not result.erased:
        click.echo(f"person {result.person_id} was erased before; nothing changed")
        return
    kept = result.counts.get("activity", 0)
    click.echo(f"erased person {result.person_id}: name, e-mail and account id are gone; "
               f"{kept} activity row(s) stay without them")


@privacy_cli.command("retention")
def retention_command() -> None:
    """Apply the retention now (the worker does it nightly): old activity and message text go."""
    config = current_app.config
    result = apply_retention(get_session(), activity_days=config["ACTIVITY_RETENTION_DAYS"],
                             text_days=config["MESSAGE_TEXT_RETENTION_DAYS"])
    click.echo(f"deleted {result.activity_deleted} activity row(s) from before "
               f"{result.activity_cutoff.date().isoformat()}; removed message text from "
               f"{result.processed_stripped + result.unprocessed_stripped} notification(s)")


@privacy_cli.command("inventory")
@click.option("--lang", type=click.Choice(["en", "nl"]), default="en", show_default=True)
def inventory_command(lang: str) -> None:
    """Print the data inventory as Markdown (the tables in docs/PRIVACY*.md)."""
    click.echo(data_inventory.render_inventory(lang), nl=False)
