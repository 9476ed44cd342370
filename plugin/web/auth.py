"""Every API route declares who may call it; this module enforces it from the Teams SSO bearer token."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request

from ..adapters.entra import TokenError
from ..db import get_session
from ..services.people import Caller, sign_in
from .errors import json_error
from .session_auth import api_session_caller

#: Who may call a route: `anyone` (no token), or a role the caller must hold.
ACCESS_LEVELS = ("anyone", "employee", "lead", "coach", "admin")


@dataclass(frozen=True)
class RouteDoc:
    """What the OpenAPI document says about a route."""

    access: str
    summary: str
    responses: dict[str, Any]


def unauthorized(code: str, message: str):
    """401 with the JSON error and a `WWW-Authenticate` challenge (RFC 6750)."""
    response, status = json_error(401, code, message)
    error = "invalid_request" if code == "missing_token" else "invalid_token"
    response.headers["WWW-Authenticate"] = f'Bearer realm="Ambassador", error="{error}", error_description="{code}"'
    return response, status


def current_caller() -> Caller:
    """The caller of this request (set by `requires`)."""
    return g.caller


def requires(access: str, *, summary: str, responses: dict[str, Any] | None = None) -> Callable:
    """Declare and enforce who may call the decorated view; also documents it for /api/openapi.json."""
    if access not in ACCESS_LEVELS:
        raise ValueError(f"unknown access level {access!r}")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if access != "anyone":
                denied = _authenticate(access)
                if denied is not None:
                    return denied
            return view(*args, **kwargs)

        wrapper.route_doc = RouteDoc(access, summary, responses or {})  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _authenticate(access: str):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        # Standalone browser mode (outside Teams): the signed-in session stands in for the SSO token.
        caller = api_session_caller()
        if caller is None:
            return unauthorized("missing_token", "Send the Teams SSO token as 'Authorization: Bearer <token>'.")
    elif scheme.lower() != "bearer" or not token.strip():
        return unauthorized("missing_token", "Send the Teams SSO token as 'Authorization: Bearer <token>'.")
    else:
        try:
            identity = current_app.extensions["token_validator"].validate(token.strip())
        except TokenError as exc:
            return unauthorized(exc.code, exc.message)
        caller = sign_in(get_session(), identity, locale=request.args.get("locale"))
    g.caller = caller
    g.person_locale = caller.locale
    if access != "employee" and not caller.has(access) and not (access == "lead" and caller.has("coach")):
        return json_error(403, "forbidden", f"This needs the {access} role.")
    return None
