"""Open Badges 2.0 documents under /ob/…, the public verification page /verify/<id>, and the holder's choice.

Public routes (no sign-in, ``anyone``): the issuer profile, badge classes and their PNGs, hosted assertions (and
the badge PNG with the assertion baked in), the verification page. The texts follow ``?lang=`` (nl or en), then
the browser's Accept-Language.

An award its holder did not make public answers **404, not 403**: "forbidden" would confirm that an award with
this id exists and so tell a stranger something about a person who chose not to share it; to the outside world
a private badge simply does not exist. A public award that was revoked answers 410 Gone with
``{"revoked": true, "revocationReason": …}``, as Open Badges hosted verification expects.

Importing this module also adds ``GET /api/me/awards`` and ``PUT /api/me/awards/<id>/visibility`` to
:data:`plugin.web.api.bp`, so import it before that blueprint is registered on an app.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from ..db import get_session
from ..i18n import DEFAULT_LOCALE, SUPPORTED_LOCALES, normalise_locale
from ..services import openbadges
from ..services.refusal import Refused
from .api import bp as api_bp
from .api import get_locale_name
from .auth import current_caller, requires
from .errors import json_error

bp = Blueprint("openbadges", __name__)

JSON_LD = "application/ld+json"
_STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "conflict": 409}


def language() -> str:
    """`?lang=` (or `?locale=`), else the browser's languages, else Dutch."""
    for candidate in (request.args.get("lang"), request.args.get("locale")):
        chosen = normalise_locale(candidate)
        if chosen:
            return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def _base() -> str:
    # The configured public origin, never the request's Host header: ids must be stable and not spoofable.
    return current_app.config["APP_BASE_URL"].rstrip("/")


def _json_ld(document: dict[str, Any], status: int = 200, *, download: str | None = None) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), status=status, mimetype=JSON_LD)
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return response


def _not_found() -> tuple[Response, int]:
    return json_error(404, "not_found", _("There is no public badge with this id."))


@bp.after_request
def open_to_verifiers(response: Response) -> Response:
    """Backpacks and verifiers fetch these documents from their own pages; nothing here is personal or secret."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "no-cache")  # a revocation must show at once
    response.vary.add("Accept-Language")
    return response


@bp.get("/ob/issuer")
@requires("anyone", summary="Open Badges 2.0 issuer profile")
def issuer():
    """The organisation that issues the badges (JSON-LD Issuer Profile)."""
    with force_locale(language()):
        description = _("Badges earned in Ambassador, the employee-advocacy programme in Microsoft Teams.")
    return _json_ld(openbadges.issuer_profile(get_session(), _base(), description=description))


@bp.get("/ob/badges/<slug>")
@requires("anyone", summary="Open Badges 2.0 badge class")
def badge_class(slug: str):
    """A badge's definition: name, description, criteria, image and issuer (JSON-LD BadgeClass)."""
    try:
        return _json_ld(openbadges.badge_class(slug, _base(), locale=language()))
    except openbadges.NotPublic:
        return json_error(404, "not_found", _("There is no badge with this name."))


@bp.get("/ob/badges/<slug>/image.png")
@requires("anyone", summary="The image of a badge class (PNG)")
def badge_image(slug: str):
    """The badge's square PNG."""
    try:
        image = openbadges.badge_image(slug)
    except openbadges.NotPublic:
        return json_error(404, "not_found", _("There is no badge with this name."))
    return Response(image, mimetype="image/png", headers={"Cache-Control": "public, max-age=86400"})


def _assertion(public_id: str) -> dict[str, Any]:
    return openbadges.assertion(get_session(), public_id, _base(), secret=current_app.config["SECRET_KEY"])


@bp.get("/ob/assertions/<public_id>")
@requires("anyone", summary="Open Badges 2.0 hosted assertion of a public award (410 once revoked)")
def assertion(public_id: str):
    """The hosted assertion; `?download=1` saves it as a file."""
    try:
        document = _assertion(public_id)
    except openbadges.NotPublic:
        return _not_found()
    except openbadges.Revoked as exc:
        return _json_ld(exc.body, 410)
    download = f"badge-{public_id}.json" if request.args.get("download") else None
    return _json_ld(document, download=download)


@bp.get("/ob/assertions/<public_id>/image.png")
@requires("anyone", summary="The badge image with its assertion baked in (PNG)")
def baked_image(public_id: str):
    """The badge PNG carrying the assertion (an `openbadges` iTXt chunk), to upload to a backpack."""
    try:
        document = _assertion(public_id)
    except openbadges.NotPublic:
        return _not_found()
    except openbadges.Revoked as exc:
        return _json_ld(exc.body, 410)
    slug = document["badge"].rsplit("/", 1)[-1]
    response = Response(openbadges.baked_image(document, slug), mimetype="image/png")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="badge-{public_id}.png"'
    return response


@bp.get("/verify/<public_id>")
@requires("anyone", summary="Public verification page of a badge (nl/en)")
def verify(public_id: str):
    """A page anyone can open to check a badge: who earned it, when, from whom, and whether it still stands."""
    lang = language()
    try:
        view = openbadges.verification(get_session(), public_id, _base(), locale=lang)
    except openbadges.NotPublic:
        abort(404)
    with force_locale(lang):
        page = render_template(
            "verify.html", view=view, lang=lang, issued_on=format_date(view["issued_on"], format="long"),
            revoked_on=format_date(view["revoked_at"], format="long") if view["revoked_at"] else None,
            other_lang="en" if lang == "nl" else "nl",
        )
    return Response(page, status=410 if view["revoked_at"] else 200, mimetype="text/html")


# -- the holder's choice (JSON API) -----------------------------------------------------------------------------

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_AWARD = {"type": "object", "required": ["id", "slug", "name", "public", "revoked"], "properties": {
    "id": {"type": "string"}, "slug": {"type": "string"}, "name": {"type": "string"},
    "cohort": {"type": "string"}, "awarded_at": {"type": "string"}, "public": {"type": "boolean"},
    "revoked": {"type": "boolean"}, "assertion_url": {"type": ["string", "null"]},
    "verify_url": {"type": ["string", "null"]}}}
_AWARDS = {"200": {"description": "The caller's badges", "content": {"application/json": {"schema": {
    "type": "array", "items": _AWARD}}}}}
_VISIBILITY = {
    "200": {"description": "The award after the change", "content": {"application/json": {"schema": _AWARD}}},
    "400": {"description": "`public` is not true or false; nothing changed", "content": _ERROR},
    "404": {"description": "The caller has no award with this id", "content": _ERROR},
    "409": {"description": "`revoked`: a revoked badge cannot be made public", "content": _ERROR},
}


@api_bp.get("/me/awards")
@requires("employee", summary="The caller's badges, with whether each one is public and where to verify it",
          responses=_AWARDS)
def my_awards():
    """Every badge the caller was awarded, for the personal tab's public/private switch."""
    return jsonify(openbadges.my_awards(get_session(), current_caller().person_id, _base(),
                                        locale=get_locale_name()))


@api_bp.put("/me/awards/<public_id>/visibility")
@requires("employee", summary="Make one of the caller's badges public (verifiable by anyone) or private",
          responses=_VISIBILITY)
def award_visibility(public_id: str):
    """Body `{"public": true|false}`; a badge is private until its holder makes it public."""
    body = request.get_json(silent=True)
    session, caller = get_session(), current_caller()
    try:
        openbadges.set_visibility(session, caller.person_id, public_id,
                                  body.get("public") if isinstance(body, dict) else None)
    except Refused as exc:
        return json_error(_STATUS[exc.kind], exc.code, _(exc.msgid, **exc.params))
    awards = openbadges.my_awards(session, caller.person_id, _base(), locale=get_locale_name())
    return jsonify(next(a for a in awards if a["id"] == public_id))
