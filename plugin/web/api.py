"""The JSON API under /api (every route declares its access level; see /api/openapi.json)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify

from ..db import get_session
from ..services import teams
from .auth import current_caller, requires
from .errors import json_error
from .openapi import build_openapi

bp = Blueprint("api", __name__, url_prefix="/api")

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


@bp.get("/teams/<int:team_id>/summary")
@requires("lead", summary="A team's progress in its current cohort (leads of that team, coaches, admins)")
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
