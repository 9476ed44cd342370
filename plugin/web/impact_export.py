"""The impact report as people read it: texts in the request's language, as JSON and as CSV.

The API, its exports and `flask report cohort` all go through :func:`present`, so the page, the CSV, the JSON
download and the command line show the same numbers. Call it inside a request or with `force_locale`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _

from ..domain.impact import Figure, GroupFigures, Statement, statement
from ..services.impact import ImpactReport

#: Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9.,]*%?$")
CSV_COLUMNS = ("section", "team", "key", "label", "unit", "people", "suppressed", "baseline", "programme", "last",
               "change", "change_text", "statement", "definition", "week", "period", "active", "active_share",
               "posts_per_person", "knowledge_per_person", "replies_per_person")


def period_label(period: str) -> str:
    """The name of a period in the request's language."""
    return {"baseline": _("Baseline"), "programme": _("Programme"), "last": _("Last weeks")}[period]


def statement_text(said: Statement, label: str) -> str:
    """The sentence, e.g. "Activity ×5.8 compared with the baseline", with numbers in the request's locale."""
    if said.kind == "times":
        return _(said.msgid, figure=label, ratio=format_decimal(said.ratio, format="0.0"))
    sign = "+" if said.percent >= 0 else "−"
    return _(said.msgid, figure=label, change=f"{sign}{format_decimal(abs(said.percent))}%")


def change_text(change: float | None) -> str | None:
    """A change as the statements write it: "×4.0" from a factor of two on, else "+50%" or "−20%"."""
    if change is None:
        return None
    shown = statement(change, network=False)
    if shown.kind == "times":
        return "×" + format_decimal(shown.ratio, format="0.0")
    return ("+" if shown.percent >= 0 else "−") + format_decimal(abs(shown.percent)) + "%"


def _figure(figure: Figure) -> dict[str, Any]:
    label = _(figure.label)
    return {"key": figure.key, "label": label, "definition": _(figure.definition), "unit": figure.unit,
            "people": figure.people, "suppressed": figure.suppressed, "baseline": figure.baseline,
            "programme": figure.programme, "last": figure.last, "change": figure.change,
            "change_text": change_text(figure.change),
            "statement": statement_text(figure.statement, label) if figure.statement else None}


def _group(group: GroupFigures) -> dict[str, Any]:
    figures = [_figure(f) for f in group.figures]
    return {
        "people": group.people, "suppressed": group.suppressed, "figures": figures,
        "statements": [f["statement"] for f in figures if f["statement"]],
        "weekly": [{"week": w.week, "period": w.period, "active": w.active, "active_share": w.active_share,
                    "posts_per_person": w.posts_per_person, "knowledge_per_person": w.knowledge_per_person,
                    "replies_per_person": w.replies_per_person} for w in group.weekly],
    }


def present(report: ImpactReport) -> dict[str, Any]:
    """The report as the API answers it (and the JSON export saves it)."""
    data: dict[str, Any] = {
        "cohort": report.cohort,
        "team": report.team,
        "generated_at": report.generated_at.isoformat(),
        "min_group": report.min_group,
        "periods": {name: {"label": period_label(name), "weeks": list(p.weeks),
                           "from": p.first_day.isoformat() if p.first_day else None,
                           "to": p.last_day.isoformat() if p.last_day else None}
                    for name, p in report.periods.items()},
        **_group(report.group),
    }
    data["teams"] = []
    for team in report.teams:
        figures = {f.key: f for f in team.figures.figures}
        activity = figures["activity"]
        data["teams"].append({
            "id": team.id, "name": team.name or _("No team"), "people": team.people, "suppressed": team.suppressed,
            "ambassadors": figures["ambassadors"].programme, "badge_holders": figures["badge_holders"].programme,
            "active_share": figures["active_share"].programme, "activity_baseline": activity.baseline,
            "activity_programme": activity.programme, "activity_change": activity.change,
            "activity_change_text": change_text(activity.change),
            "figures": [_figure(f) for f in team.figures.figures],
        })
    return data


def to_csv(data: dict[str, Any]) -> str:
    """The presented report as one CSV table: figure rows, then each team's figures, then the weekly curve."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    scope = data["team"]["name"] if data.get("team") else ""
    for figure in data["figures"]:
        writer.writerow(_csv_values({"section": "figure", "team": scope, **figure}))
    for team in data["teams"]:
        for figure in team["figures"]:
            writer.writerow(_csv_values({"section": "team", "team": team["name"], **figure}))
    for week in data["weekly"]:
        writer.writerow(_csv_values({"section": "week", "team": scope, **week,
                                     "period": period_label(week["period"])}))
    return out.getvalue()


def _csv_values(row: dict[str, Any]) -> dict[str, Any]:
    """Numbers as Python writes them (a dot for decimals), booleans as true/false, nothing for "no value"."""
    return {key: _csv_value(value) for key, value in row.items()}


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str) and value[:1] in FORMULA_STARTS and not PLAIN_NUMBER.match(value):
        # A team name like "=HYPERLINK(…)" must stay text when a spreadsheet opens the file.
        return "'" + value
    return value
