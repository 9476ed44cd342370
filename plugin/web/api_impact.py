"""`GET /api/cohorts/<id>/impact[?team=<team id>]` and its exports `impact.csv` and `impact.json`.

The cohort's coach and admins see the whole cohort and every team; a lead sees the report of a team they lead
(with `?team=`). Groups smaller than the organisation's minimum (5 people by default) come without numbers.

Registers on :data:`plugin.web.api.bp`, so import this module before that blueprint is registered on an app.
"""

from __future__ import annotations

import re

from flask import Response, jsonify, request
from flask_babel import gettext as _

from ..db import get_session
from ..services import impact
from ..services.refusal import Refused
from .api import bp
from .auth import current_caller, requires
from .errors import json_error
from .impact_export import present, to_csv

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_FIGURE = {"type": "object", "required": ["key", "label", "definition", "people", "suppressed"], "properties": {
    "key": {"type": "string"}, "label": {"type": "string"}, "definition": {"type": "string"},
    "unit": {"enum": ["per_person_week", "per_post", "share", "average", "count"]},
    "people": {"type": "integer"}, "suppressed": {"type": "boolean"},
    **{name: {"type": ["number", "null"]} for name in ("baseline", "programme", "last", "change")},
    "statement": {"type": ["string", "null"]}}}
_REPORT = {"type": "object", "required": ["cohort", "people", "suppressed", "figures", "weekly", "teams"],
           "properties": {"cohort": {"type": "object"}, "team": {"type": ["object", "null"]},
                          "people": {"type": "integer"}, "suppressed": {"type": "boolean"},
                          "min_group": {"type": "integer"}, "periods": {"type": "object"},
                          "statements": {"type": "array", "items": {"type": "string"}},
                          "figures": {"type": "array", "items": _FIGURE},
                          "weekly": {"type": "array", "items": {"type": "object"}},
                          "teams": {"type": "array", "items": {"type": "object"}}}}
_REFUSALS = {
    "400": {"description": "`team` is not a number", "content": _ERROR},
    "403": {"description": "Not the cohort's coach, nor the lead of the team asked for", "content": _ERROR},
    "404": {"description": "No such cohort, or the team is not part of it", "content": _ERROR},
}
_JSON = {"200": {"description": "The impact report", "content": {"application/json": {"schema": _REPORT}}},
         **_REFUSALS}
_CSV = {"200": {"description": "The report as one CSV table (figures, teams, weeks)",
                "content": {"text/csv": {"schema": {"type": "string"}}}}, **_REFUSALS}
_STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}


def _report(cohort_id: int):
    """The presented report for this request, or an error response."""
    raw_team = request.args.get("team", "").strip()
    if raw_team and not raw_team.isdigit():
        return None, json_error(400, "invalid_team", _("The team must be given by its number."))
    try:
        report = impact.report_for(get_session(), current_caller(), cohort_id,
                                   team_id=int(raw_team) if raw_team else None)
    except Refused as exc:
        return None, json_error(_STATUS[exc.kind], exc.code, _(exc.msgid, **exc.params))
    return present(report), None


def _filename(data: dict, extension: str) -> str:
    scope = f"-team-{data['team']['id']}" if data.get("team") else ""
    stamp = re.sub(r"[^0-9]", "", data["generated_at"][:10])
    return f"impact-cohort-{data['cohort']['id']}{scope}-{stamp}.{extension}"


@bp.get("/cohorts/<int:cohort_id>/impact")
@requires("lead", summary="The impact report of a cohort, or of one team (?team=): baseline vs programme",
          responses=_JSON)
def cohort_impact(cohort_id: int):
    """Baseline, programme and last weeks side by side, per figure, with the people behind each number."""
    data, error = _report(cohort_id)
    return error or jsonify(data)


@bp.get("/cohorts/<int:cohort_id>/impact.json")
@requires("lead", summary="The impact report as a JSON download", responses=_JSON)
def cohort_impact_json(cohort_id: int):
    """The same report as the API answers, as a file to save."""
    data, error = _report(cohort_id)
    if error:
        return error
    response = jsonify(data)
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(data, "json")}"'
    return response


@bp.get("/cohorts/<int:cohort_id>/impact.csv")
@requires("lead", summary="The impact report as a CSV download", responses=_CSV)
def cohort_impact_csv(cohort_id: int):
    """The same report as one CSV table, for a spreadsheet."""
    data, error = _report(cohort_id)
    if error:
        return error
    # A byte-order mark so spreadsheet programs read the Dutch text as UTF-8.
    return Response("\ufeff" + to_csv(data), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(data, "csv")}"'})
