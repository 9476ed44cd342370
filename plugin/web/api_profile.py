"""`GET /api/me/graph-profile`: the first delegated Microsoft Graph call (on-behalf-of the Teams SSO token).

Importing this module adds the route to the API blueprint and registers the consent/interaction error
answers of :mod:`plugin.web.consent` on it, so it must be imported before the blueprint is registered on an
app (``plugin.web.register_blueprints`` imports it next to ``.api``).

The Graph emulator implements ``/me`` (delegated tokens only), so the call is ``GET <GRAPH_BASE_URL>/v1.0/me``
everywhere; in the demo and tests it reaches the emulator in-process (see
:func:`plugin.adapters.msal_client.http_client_for`).
"""

from __future__ import annotations

from flask import jsonify

from ..db import get_session
from ..services import tokens
from . import consent
from .api import bp
from .auth import current_caller, requires
from .session_auth import request_bearer_token

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_PROFILE = {
    "200": {"description": "The caller's Microsoft 365 profile", "content": {"application/json": {"schema": {
        "type": "object", "required": ["id", "displayName"],
        "properties": {name: {"type": ["string", "null"]} for name in tokens.PROFILE_FIELDS}}}}},
    "401": {"description": "No valid token, or `interaction_required` with a claims challenge in WWW-Authenticate",
            "content": _ERROR},
    "403": {"description": "`consent_required`: open `consent_url` in the Teams authentication pop-up, then retry",
            "content": _ERROR},
    "502": {"description": "Microsoft 365 refused or did not answer", "content": _ERROR},
}

consent.register(bp)


@bp.get("/me/graph-profile")
@requires("employee", summary="The caller's own Microsoft 365 profile, read on their behalf", responses=_PROFILE)
def graph_profile():
    """Read the caller's Graph profile with a delegated User.Read token (on-behalf-of, cached per person)."""
    return jsonify(tokens.graph_profile(get_session(), current_caller(), request_bearer_token()))
