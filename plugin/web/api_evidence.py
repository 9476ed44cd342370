"""Evidence review for coaches (any cohort), admins and leads (their own team's members).

Registers on :data:`plugin.web.api.bp` (and relies on the refusal answers :mod:`plugin.web.api_me` adds to it),
so import it before that blueprint is registered on an app.
"""

from __future__ import annotations

from flask import current_app, jsonify, request

from ..db import get_session
from ..services import evidence
from .api import bp, get_locale_name
from .api_me import ERROR_CONTENT, ITEM_SCHEMA, recompute_later
from .auth import current_caller, requires

_LIST = {
    "200": {"description": "Evidence the caller may review, with the given status", "content": {"application/json": {
        "schema": {"type": "object", "required": ["items"],
                   "properties": {"items": {"type": "array", "items": ITEM_SCHEMA}}}}}},
    "400": {"description": "Unknown status", "content": ERROR_CONTENT},
    "404": {"description": "No such cohort", "content": ERROR_CONTENT},
}
_REVIEW = {
    "200": {"description": "The reviewed evidence", "content": {"application/json": {"schema": ITEM_SCHEMA}}},
    "400": {"description": "Decision missing or unknown, or a rejection without a note; nothing changed",
            "content": ERROR_CONTENT},
    "404": {"description": "No such evidence", "content": ERROR_CONTENT},
    "409": {"description": "Reviewed already, the person withdrew, or the programme has ended",
            "content": ERROR_CONTENT},
}


@bp.get("/cohorts/<int:cohort_id>/evidence")
@requires("lead", summary="Evidence of a cohort by status (?status=pending|approved|rejected; coaches, admins, "
                          "leads for their team)", responses=_LIST)
def cohort_evidence(cohort_id: int):
    """The review queue (or the reviewed evidence) of a cohort."""
    items = evidence.list_for_cohort(get_session(), current_caller(), cohort_id, request.args.get("status"),
                                     locale=get_locale_name(), instance_path=current_app.instance_path)
    return jsonify(items=items)


@bp.post("/evidence/<int:evidence_id>/review")
@requires("lead", summary="Approve or reject evidence: {\"decision\": \"approve\"|\"reject\", \"note\": …}",
          responses=_REVIEW)
def review_evidence(evidence_id: int):
    """Store the review (audited); an approval completes the mission once the cohort is recomputed."""
    reviewed = evidence.review(get_session(), current_caller(), evidence_id, request.get_json(silent=True),
                               locale=get_locale_name(), instance_path=current_app.instance_path)
    if reviewed.approved:
        recompute_later(reviewed.cohort_id, [reviewed.person_id])
    return jsonify(reviewed.item)
