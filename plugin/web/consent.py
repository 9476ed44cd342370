"""Turn "no delegated token" into the answers the tab knows how to handle (reference §2.4).

* consent missing → **403** ``{"error": "consent_required", "message": …, "consent_url": "/auth/consent"}``:
  the tab opens ``consent_url`` with ``authentication.authenticate()`` (Entra's consent page cannot be framed),
  then retries.
* Conditional Access → **401** with ``WWW-Authenticate: Bearer realm="Ambassador", error="insufficient_claims",
  claims="<base64 of the claims JSON>"`` and ``{"error": "interaction_required", "claims": <claims JSON>}``: the
  tab asks Teams for a new token with ``getAuthToken({claims: [claims]})`` and must not retry with its old one.
* no Teams token and nothing cached (standalone session) → 401 ``sign_in_required`` with ``login_url``.
* the authority or Graph refused otherwise → 502 ``token_unavailable`` / ``upstream_error``.

How it is wired: :func:`register` adds one error handler per exception to a blueprint, so views just call the
service and let these exceptions propagate. :mod:`plugin.web.api_profile` calls ``register(api.bp)`` when it is
imported (before the blueprint is registered on an app), so nothing else needs wiring; views elsewhere can call
:func:`error_response` themselves.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, jsonify, url_for
from flask_babel import gettext as _

from ..services.tokens import (
    ConsentRequired,
    DelegatedTokenError,
    InteractionRequired,
    SignInRequired,
    TokenUnavailable,
    UpstreamError,
)

REALM = "Ambassador"


def claims_challenge_header(claims: str | None) -> str:
    """The RFC 6750 challenge carrying Entra's claims challenge (base64, as Microsoft's clients expect)."""
    header = f'Bearer realm="{REALM}", error="insufficient_claims"'
    if claims:
        header += f', claims="{base64.b64encode(claims.encode()).decode()}"'
    return header


def error_response(exc: DelegatedTokenError | UpstreamError) -> tuple[Response, int]:
    """The API answer for a delegated-token (or upstream) failure."""
    if isinstance(exc, ConsentRequired):
        message = _("Ambassador needs your permission to read your profile. Please give consent and try again.")
        return _error(403, exc.code, message, consent_url=_url("auth_pages.consent", "/auth/consent"))
    if isinstance(exc, InteractionRequired):
        message = _("Your organisation asks you to sign in again (for example with multi-factor authentication).")
        response, status = _error(401, exc.code, message, claims=exc.claims)
        response.headers["WWW-Authenticate"] = claims_challenge_header(exc.claims)
        return response, status
    if isinstance(exc, SignInRequired):
        response, status = _error(401, exc.code, _("Please sign in again."),
                                  login_url=_url("auth_pages.login", "/auth/login"))
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
        return response, status
    if isinstance(exc, TokenUnavailable):
        return _error(502, exc.code, _("Microsoft 365 did not give us access right now. Please try again later."))
    return _error(502, "upstream_error", _("Microsoft 365 did not answer as expected. Please try again later."))


def register(bp: Blueprint) -> None:
    """Answer DelegatedTokenError and UpstreamError raised by the blueprint's views with `error_response`."""
    if DelegatedTokenError in bp.error_handler_spec.get(None, {}).get(None, {}):
        return  # already registered (the module may be imported by several callers)
    bp.register_error_handler(DelegatedTokenError, error_response)
    bp.register_error_handler(UpstreamError, error_response)


def _error(status: int, code: str, message: str, **extra: object) -> tuple[Response, int]:
    # The API's error shape (web/errors.py json_error) plus what the tab needs to recover.
    return jsonify(error=code, message=message, **extra), status


def _url(endpoint: str, fallback: str) -> str:
    return url_for(endpoint) if endpoint in current_app.view_functions else fallback
