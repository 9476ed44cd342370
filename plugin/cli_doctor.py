"""`flask --app wsgi doctor`: check the configuration and connectivity, and say what is wrong.

One line per check, ✔ or ✖, with what to do under each problem; exits 1 when any check failed. Register with
``app.cli.add_command(doctor_command)``.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import get_session
from .services.doctor import diagnose


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check settings, database, queue, Entra, Graph, subscriptions and the public URL; say what to fix."""
    diagnosis = diagnose(current_app._get_current_object(), get_session())  # type: ignore[attr-defined]
    width = max(len(finding.name) for finding in diagnosis.findings)
    for finding in diagnosis.findings:
        mark = "✔" if finding.ok else "✖"
        click.echo(f"{mark} {finding.name.ljust(width)}  {finding.detail}")
        if finding.fix:
            click.echo(f"  {' ' * width}  → {finding.fix}")
    problems = len(diagnosis.problems)
    if problems:
        raise click.ClickException(f"{problems} of {len(diagnosis.findings)} checks found a problem")
    click.echo(f"all {len(diagnosis.findings)} checks passed")
