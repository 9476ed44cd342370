"""`flask --app wsgi report cohort ID [--team ID] [--format text|csv|json] [--locale nl|en]`: the impact report.

The same figures as the report page and its exports (one presenter for all of them), for a coach or admin at the
command line. Small groups are suppressed here too.
"""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _

from .db import get_session
from .i18n import SUPPORTED_LOCALES
from .models import Cohort
from .services import impact
from .web.impact_export import present, to_csv

report_cli = AppGroup("report", help="Reports: the impact of a cohort, as on the report page.")


@report_cli.command("cohort")
@click.argument("cohort_id", type=int)
@click.option("--team", "team_id", type=int, help="Only this team (its number in Ambassador).")
@click.option("--format", "output", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True,
              help="A readable table, or the same CSV/JSON as the downloads.")
@click.option("--locale", type=click.Choice(SUPPORTED_LOCALES), default="en", show_default=True,
              help="Language of the labels and statements.")
def cohort_command(cohort_id: int, team_id: int | None, output: str, locale: str) -> None:
    """Print the impact report of cohort COHORT_ID."""
    session = get_session()
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise click.ClickException(f"there is no cohort {cohort_id}")
    if team_id is not None and team_id not in impact.cohort_team_ids(session, cohort_id):
        raise click.ClickException(f"team {team_id} does not take part in cohort {cohort_id}")
    report = impact.impact_report(session, cohort, team_id=team_id)
    # Translations need a request context; a bare one is enough (nothing is read from it).
    with current_app.test_request_context(), force_locale(locale):
        data = present(report)
        if output == "json":
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        elif output == "csv":
            click.echo(to_csv(data), nl=False)
        else:
            click.echo(_text(data))


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:.2f}"


def _text(data: dict) -> str:
    """A plain table: figure, baseline, programme, last weeks, change, people; then statements and teams."""
    title = data["cohort"]["name"] + (f" — {data['team']['name']}" if data.get("team") else "")
    lines = [title, ""]
    periods = data["periods"]
    header = (_("Figure"), periods["baseline"]["label"], periods["programme"]["label"], periods["last"]["label"],
              _("Change"), _("People"))
    rows = [header]
    for figure in data["figures"]:
        if figure["suppressed"]:
            hidden = (_("no numbers yet") if figure["people"] == 0
                      else _("hidden (fewer than %(min)s people)", min=data["min_group"]))
            values = (hidden, "", "", "")
        else:
            values = (*(_number(figure[p], figure["unit"]) for p in ("baseline", "programme", "last")),
                      figure["change_text"] or "–")
        rows.append((figure["label"], *values, str(figure["people"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)).rstrip())
    if data["statements"]:
        lines += ["", *(f"* {s}" for s in data["statements"])]
    if data["teams"]:
        lines += ["", _("Ambassadors across the teams")]
        for team in data["teams"]:
            shown = (_("hidden (fewer than %(min)s people)", min=data["min_group"]) if team["suppressed"]
                     else f"{_('Ambassadors')}: {_number(team['ambassadors'], 'count')}")
            lines.append(f"  {team['name']} ({team['people']}): {shown}")
    return "\n".join(lines)
