"""Privacy rights and the audit log: `GET /api/me/export`, `POST /api/me/erase` (the caller only, about
themselves) and `GET /api/admin/audit` (admins).

Registers on :data:`plugin.web.api.bp` (refusals are answered by the handler :mod:`plugin.web.api_me` adds), so
import it before that blueprint is registered on an app (``plugin.create_app`` does).
"""

from __future__ import annotations

import json
from dataclasses import asdict

from flask import Response, jsonify, request
from flask import session as cookie_session
from flask_babel import gettext as _

from ..db import get_session
from ..services import audit, privacy
from .api import bp
from .api_me import ERROR_CONTENT
from .auth import current_caller, requires

_OBJECT = {"type": "object"}
_EXPORT = {"200": {"description": "Everything Ambassador holds about the caller, as a JSON download",
                   "content": {"application/json": {"schema": {
                       "type": "object", "required": ["format", "generated_at", "person", "enrolments", "activity"],
                       "properties": {"format": {"type": "string"}, "generated_at": {"type": "string"},
                                      "person": _OBJECT, "enrolments": {"type": "array"}, "activity": _OBJECT}}}}}}
_ERASE = {
    "200": {"description": "Erased; the same account signing in again starts as someone new",
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["erased", "message"],
                "properties": {"erased": {"type": "boolean"}, "message": {"type": "string"}}}}}},
    "400": {"description": "`confirmation_mismatch`: `confirm` is not the caller's name or e-mail; nothing changed",
            "content": ERROR_CONTENT},
}
_AUDIT = {
    "200": {"description": "A page of the audit log, newest first", "content": {"application/json": {"schema": {
        "type": "object", "required": ["entries", "page", "per_page", "total", "pages"],
        "properties": {"entries": {"type": "array", "items": {
            "type": "object", "required": ["id", "at", "actor", "action", "target", "details"],
            "properties": {"id": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": ["object", "null"]},
                           "action": {"type": "string"}, "target": _OBJECT, "details": _OBJECT}}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
            "pages": {"type": "integer"}}}}}},
    "400": {"description": "`since`, `page` or `per_page` is not valid", "content": ERROR_CONTENT},
}


@bp.get("/me/export")
@requires("employee", summary="Download everything Ambassador holds about the caller (JSON)", responses=_EXPORT)
def export_me():
    """The caller's data as a JSON file (no tokens: only whether a token cache exists)."""
    document = privacy.export_for(get_session(), current_caller().person_id, requested_by="self")
    day = document["generated_at"][:10]
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="ambassador-export-{day}.json"',
        "Cache-Control": "no-store",
    })


@bp.post("/me/erase")
@requires("employee", summary="Erase the caller's personal data: {\"confirm\": <their name or e-mail>}",
          responses=_ERASE)
def erase_me():
    """Erase the caller; anonymous team and cohort figures stay as they were."""
    body = request.get_json(silent=True)
    confirm = body.get("confirm") if isinstance(body, dict) else None
    privacy.erase_confirmed(get_session(), current_caller().person_id, confirm)
    cookie_session.clear()  # a standalone sign-in must not outlive the person it belonged to
    return jsonify(erased=True, message=_("Your personal data has been erased. If you open Ambassador again, you "
                                          "start from scratch."))


@bp.get("/admin/audit")
@requires("admin", summary="The audit log (admins): ?since=YYYY-MM-DD&action=role&page=1&per_page=50",
          responses=_AUDIT)
def audit_log():
    """Who did what and when, newest first; `action` matches exactly or as a prefix before a dot."""
    args = request.args
    since = audit.parse_since(args.get("since"))
    page = audit.parse_positive(args.get("page"), "page", 1)
    per_page = audit.parse_positive(args.get("per_page"), "per_page", audit.PER_PAGE, audit.MAX_PER_PAGE)
    result = audit.list_audit(get_session(), since=since, action=(args.get("action") or "").strip() or None,
                              page=page, per_page=per_page)
    return jsonify(**asdict(result), pages=result.pages)
