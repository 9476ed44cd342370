"""The participant's own API beyond the programme view: consent, intake, settings and handing in evidence.

Importing this module adds its routes to :data:`plugin.web.api.bp` and the answers for refusals
(:class:`~plugin.services.refusal.Refused`) and missing consent (:class:`~plugin.services.participation.ConsentNeeded`)
to that blueprint, so `GET /api/me/programme` answers an invited person with the consent to ask for. Import it
before the blueprint is registered on an app (``plugin.web.register_blueprints`` does).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from ..db import get_session
from ..i18n import select_locale
from ..services import evidence, intake, participation, settings
from ..services.participation import ConsentNeeded
from ..services.refusal import Refused
from .api import bp, get_locale_name
from .auth import current_caller, requires
from .errors import json_error

log = logging.getLogger(__name__)

#: HTTP status of each kind of refusal.
STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_SETTINGS_SCHEMA = {
    "type": "object", "required": ["locale", "ranking_visibility", "muted_notifications", "notification_types"],
    "properties": {
        "locale": {"enum": list(settings.LANGUAGES)},
        "effective_locale": {"enum": ["nl", "en"]},
        "ranking_visibility": {"enum": [*settings.RANKING_VISIBILITY, None]},
        "muted_notifications": {"type": ["array", "null"], "items": {"enum": list(settings.NOTIFICATION_TYPES)}},
        "notification_types": {"type": "array", "items": {"type": "string"}},
        "enrolled": {"type": "boolean"},
    },
}
_SETTINGS = {"200": {"description": "The caller's settings", "content": {"application/json": {
    "schema": _SETTINGS_SCHEMA}}}}
_SETTINGS_PUT = {**_SETTINGS,
                 "400": {"description": "Unknown setting or value; nothing changed", "content": ERROR_CONTENT},
                 "404": {"description": "Ranking or notification settings without an active enrolment",
                         "content": ERROR_CONTENT}}
_INTAKE = {
    "200": {"description": "The stored answers", "content": {"application/json": {"schema": {
        "type": "object", "required": ["needed", "platforms", "expertise", "goals"],
        "properties": {"needed": {"type": "boolean"}, "skipped": {"type": "boolean"},
                       "platforms": {"type": "array", "items": {"enum": list(intake.PLATFORMS)}},
                       "expertise": {"type": "array", "items": {"type": "string"}},
                       "goals": {"type": "array", "items": {"enum": list(intake.GOALS)}},
                       "connections": {"type": ["integer", "null"]}, "followers": {"type": ["integer", "null"]},
                       "baseline_locked": {"type": "boolean"}}}}}},
    "400": {"description": "Invalid answers; nothing changed", "content": ERROR_CONTENT},
    "403": {"description": "`consent_needed`: the person has not agreed to take part yet", "content": ERROR_CONTENT},
    "404": {"description": "Not taking part in a programme", "content": ERROR_CONTENT},
    "409": {"description": "`baseline_locked`: the starting figures can no longer change", "content": ERROR_CONTENT},
}
_CONSENT = {
    "200": {"description": "The enrolment's status after the change", "content": {"application/json": {"schema": {
        "type": "object", "required": ["status", "cohort_id"],
        "properties": {"status": {"enum": ["active", "withdrawn"]}, "cohort_id": {"type": "integer"},
                       "consented_at": {"type": ["string", "null"]},
                       "consent_version": {"type": ["string", "null"]}}}}}},
    "400": {"description": "No consent version given", "content": ERROR_CONTENT},
    "404": {"description": "No invitation (or no running enrolment to withdraw from)", "content": ERROR_CONTENT},
    "409": {"description": "`consent_outdated`: the consent text changed; show it again", "content": ERROR_CONTENT},
}
ITEM_SCHEMA = {
    "type": "object", "required": ["id", "mission", "status", "submitted_at"],
    "properties": {
        "id": {"type": "integer"},
        "person": {"type": ["object", "null"], "properties": {"id": {"type": "integer"},
                                                              "name": {"type": ["string", "null"]}}},
        "team": {"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "mission": {"type": "object", "properties": {"slug": {"type": "string"}, "title": {"type": "string"}}},
        "url": {"type": ["string", "null"]}, "note": {"type": ["string", "null"]},
        "figures": {"type": ["object", "null"], "additionalProperties": {"type": "integer"}},
        "status": {"enum": ["pending", "approved", "rejected"]},
        "submitted_at": {"type": "string"}, "review_note": {"type": ["string", "null"]},
        "reviewed_at": {"type": ["string", "null"]},
    },
}
_EVIDENCE = {
    "201": {"description": "Handed in; waiting for review", "content": {"application/json": {"schema": ITEM_SCHEMA}}},
    "400": {"description": "Invalid input (the offending `field` is named); nothing stored", "content": ERROR_CONTENT},
    "403": {"description": "`consent_needed`", "content": ERROR_CONTENT},
    "404": {"description": "Not taking part in a programme", "content": ERROR_CONTENT},
    "409": {"description": "Mission not open, done or closed, evidence waiting for review, or link used already",
            "content": ERROR_CONTENT},
}


# -- answers for refusals -----------------------------------------------------------------------------------------


def refusal_response(exc: Refused) -> tuple[Response, int]:
    """The JSON error for a refusal, in the caller's language, naming the offending field when there is one."""
    params = {k: format_decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v
              for k, v in exc.params.items()}
    response, status = json_error(STATUS[exc.kind], exc.code, _(exc.msgid, **params))
    if exc.field:
        body = response.get_json()
        response = jsonify(**body, field=exc.field)
    return response, status


def consent_needed_response(exc: ConsentNeeded) -> tuple[Response, int]:
    """403 `consent_needed` with what the consent screen needs (the texts themselves are in the tab)."""
    waiting = exc.invitation
    message = (_("You stopped taking part. You can join again whenever you like.") if waiting.status == "withdrawn"
               else _("You have been invited to take part. Read what it means, then decide."))
    return jsonify(error="consent_needed", message=message,
                   consent={"cohort": waiting.cohort, "status": waiting.status, "version": waiting.version}), 403


bp.register_error_handler(Refused, refusal_response)
bp.register_error_handler(ConsentNeeded, consent_needed_response)


def recompute_later(cohort_id: int, people: list[int] | None = None) -> None:
    """Queue a recomputation of the cohort (only of `people`, when given); if the queue is down, the hourly
    recomputation catches up."""
    try:
        current_app.extensions["tasks"]["recompute"](cohort_id, people)
    except Exception:  # noqa: BLE001 - what the person did is stored; only the stored progress lags behind
        log.warning("could not queue the recomputation of cohort %s", cohort_id, exc_info=True)


def _body() -> Any:
    return request.get_json(silent=True)


# -- settings -------------------------------------------------------------------------------------------------------


def _settings_answer(view: settings.MySettings) -> Response:
    return jsonify(**asdict(view), effective_locale=select_locale())


@bp.get("/me/settings")
@requires("employee", summary="The caller's language, ranking visibility and muted notifications",
          responses=_SETTINGS)
def get_settings():
    """The settings form's values."""
    return _settings_answer(settings.my_settings(get_session(), current_caller().person_id))


@bp.put("/me/settings")
@requires("employee", summary="Change some of the caller's settings (the others stay)", responses=_SETTINGS_PUT)
def put_settings():
    """Store the settings sent; answers all settings and the language the tab should now use."""
    view = settings.update_settings(get_session(), current_caller().person_id, _body())
    g.person_locale = None if view.locale == "auto" else view.locale  # the new choice counts from now on
    return _settings_answer(view)


# -- intake ---------------------------------------------------------------------------------------------------------


@bp.post("/me/intake")
@requires("employee", summary="Answer (or skip) the intake survey; the answers choose mission variants",
          responses=_INTAKE)
def post_intake():
    """Store the intake answers of the caller's active enrolment."""
    view = intake.save_intake(get_session(), current_caller().person_id, _body())
    recompute_later(view.cohort_id, [current_caller().person_id])
    return jsonify(asdict(view))


# -- consent --------------------------------------------------------------------------------------------------------


def _enrolment_answer(enrolment) -> Response:
    return jsonify(status=enrolment.status, cohort_id=enrolment.cohort_id,
                   consented_at=enrolment.consented_at.isoformat() if enrolment.consented_at else None,
                   consent_version=enrolment.consent_version)


@bp.post("/me/consent")
@requires("employee", summary="Agree to take part (opt-in): {\"version\": <the consent text's version>}",
          responses=_CONSENT)
def post_consent():
    """The caller takes part in the cohort they were invited to; from now on their activity counts."""
    body = _body()
    version = body.get("version") if isinstance(body, dict) else None
    enrolment = participation.give_consent(get_session(), current_caller().person_id, version)
    recompute_later(enrolment.cohort_id, [enrolment.person_id])
    return _enrolment_answer(enrolment)


@bp.delete("/me/consent")
@requires("employee", summary="Stop taking part: nothing of the caller counts any more", responses=_CONSENT)
def delete_consent():
    """Withdraw: the enrolment is kept as withdrawn, out of every ranking and count."""
    enrolment = participation.withdraw(get_session(), current_caller().person_id)
    return _enrolment_answer(enrolment)


# -- evidence -------------------------------------------------------------------------------------------------------


@bp.post("/me/evidence")
@requires("employee", summary="Hand in evidence for a self-reported mission (link, note, figures)",
          responses=_EVIDENCE)
def post_evidence():
    """Store the evidence; it waits for a coach (or the team lead) to review it."""
    item = evidence.submit(get_session(), current_caller().person_id, _body(), locale=get_locale_name(),
                           instance_path=current_app.instance_path)
    return jsonify(item), 201
