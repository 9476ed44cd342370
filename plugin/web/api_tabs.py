"""API routes the tabs need beyond api.py: find our team from the Microsoft 365 group id in the Teams context.

Registers on :data:`plugin.web.api.bp`, so import this module before that blueprint is registered on an app.
"""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..db import get_session
from ..models import Team
from .api import bp
from .auth import current_caller, requires
from .errors import json_error

_TEAM = {"200": {"description": "The team", "content": {"application/json": {"schema": {
    "type": "object", "required": ["id", "graph_id", "name"],
    "properties": {"id": {"type": "integer"}, "graph_id": {"type": "string"}, "name": {"type": "string"}}}}}},
    "404": {"$ref": "#/components/responses/Error"}}


@bp.get("/teams/by-graph-id/<graph_id>")
@requires("lead", summary="The team with this Microsoft 365 group id (leads of that team, coaches, admins)",
          responses=_TEAM)
def team_by_graph_id(graph_id: str):
    """Map the Teams context's `team.groupId` to our team, for the channel tab."""
    team = get_session().scalar(select(Team).where(func.lower(Team.graph_id) == graph_id.strip().lower()))
    if team is None:
        return json_error(404, "not_found", _("This team does not take part in Ambassador yet."))
    if not current_caller().leads(team.id):
        return json_error(403, "forbidden", _("You can only see the teams you lead."))
    return jsonify(id=team.id, graph_id=team.graph_id, name=team.display_name)
