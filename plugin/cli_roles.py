"""`flask --app wsgi roles grant|revoke|list`: roles an admin gives in the app."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .db import get_session
from .services import roles

roles_cli = AppGroup("roles", help="Coach, admin and lead roles given in Ambassador (Entra app roles also count).")


def _run(action, who: str, role: str, team: str | None) -> bool:
    try:
        return action(get_session(), who, role, team_graph_id=team)
    except roles.RoleError as exc:
        raise click.ClickException(str(exc)) from None


@roles_cli.command("grant")
@click.argument("who")
@click.argument("role", type=click.Choice(roles.ASSIGNABLE))
@click.option("--team", help="The team's Microsoft 365 group id (for the lead role).")
def grant_command(who: str, role: str, team: str | None) -> None:
    """Give ROLE to WHO (UPN, e-mail or Entra object id)."""
    changed = _run(roles.grant, who, role, team)
    click.echo(f"{who} is now {role}" if changed else f"{who} already was {role}")


@roles_cli.command("revoke")
@click.argument("who")
@click.argument("role", type=click.Choice(roles.ASSIGNABLE))
@click.option("--team", help="Only this team (for the lead role).")
def revoke_command(who: str, role: str, team: str | None) -> None:
    """Take ROLE away from WHO."""
    changed = _run(roles.revoke, who, role, team)
    click.echo(f"{who} is no longer {role}" if changed else f"{who} was not {role}")


@roles_cli.command("list")
def list_command() -> None:
    """Every role given in the app."""
    rows = roles.list_roles(get_session())
    for row in rows:
        click.echo(f"{row.person}\t{row.role}\t{row.team or ''}".rstrip())
    if not rows:
        click.echo("no roles given in the app (Entra app roles and team owners still count)")
