"""The JSON API under /api (every route declares its access level; see /api/openapi.json)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify
from flask_babel import get_locale
from flask_babel import gettext as _

from ..db import get_session
from ..services import participant, teams
from ..services.refusal import Refused
from .auth import current_caller, requires
from .errors import json_error
from .openapi import build_openapi

bp = Blueprint("api", __name__, url_prefix="/api")


def get_locale_name() -> str:
    """The language of this request ("nl" or "en")."""
    return str(get_locale() or "nl")

_ME = {"200": {"description": "The caller", "content": {"application/json": {"schema": {
    "type": "object", "required": ["id", "name", "roles", "locale"],
    "properties": {"id": {"type": "integer"}, "oid": {"type": "string"}, "name": {"type": ["string", "null"]},
                   "roles": {"type": "array", "items": {"type": "string"}}, "locale": {"type": "string"},
                   "lead_team_ids": {"type": "array", "items": {"type": "integer"}}}}}}}}


@bp.get("/me")
@requires("employee", summary="The signed-in person: id, name, roles and language", responses=_ME)
def me():
    """Who the Teams SSO token says the caller is, with their roles."""
    caller = current_caller()
    return jsonify(id=caller.person_id, oid=caller.oid, name=caller.name, roles=sorted(caller.roles),
                   locale=caller.locale or "nl", lead_team_ids=sorted(caller.lead_team_ids))


_NOT_FOUND = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@bp.get("/me/programme")
@requires("employee", summary="Everything the personal tab shows: week, missions, tip, badges, points, ranking",
          responses={"404": {"description": "The caller takes part in no programme (`not_enrolled`, with their "
                                            "roles)", "content": _NOT_FOUND}})
def my_programme():
    """The personal tab's data in one request, in the caller's language."""
    caller = current_caller()
    try:
        view = participant.my_programme(get_session(), caller.person_id, locale=get_locale_name(),
                                        instance_path=current_app.instance_path)
    except participant.NotEnrolled:
        return _not_enrolled(caller.roles)
    except Refused as exc:
        if exc.code != "not_enrolled":
            raise
        return _not_enrolled(caller.roles)
    data = view.to_dict()
    data["risk_reasons"] = [_(r["message"], **r["params"]) for r in data["risk_reasons"]]
    # Who is looking: the name to confirm an erasure with, the roles for the links to other pages.
    data["name"], data["roles"] = caller.name, sorted(caller.roles)
    return jsonify(data)


def _not_enrolled(roles: frozenset[str]):
    # The roles still let the tab offer a coach or an admin who takes no part the way to their own pages.
    response, status = json_error(404, "not_enrolled", _("You are not taking part in a programme yet."))
    return jsonify(**response.get_json(), roles=sorted(roles)), status


@bp.get("/teams/<int:team_id>/summary")
@requires("lead", summary="A team's progress in its current cohort (leads of that team, coaches, admins)",
          responses={"404": {"description": "No such team, or it takes part in no cohort", "content": _NOT_FOUND}})
def team_summary(team_id: int):
    """Aggregates of the team, plus the members who opted in to be shown."""
    caller = current_caller()
    if not caller.leads(team_id):
        return json_error(403, "forbidden", "You can only see the teams you lead.")
    try:
        summary = teams.team_summary(get_session(), team_id)
    except teams.NotFound as exc:
        return json_error(404, "not_found", str(exc))
    return jsonify(asdict(summary))


@bp.get("/openapi.json")
@requires("anyone", summary="This API described as OpenAPI 3.1")
def openapi():
    """The OpenAPI document of every /api route, built from the routes themselves."""
    return jsonify(build_openapi(current_app))
