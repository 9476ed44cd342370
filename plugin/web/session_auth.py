"""Standalone browser mode: the signed session cookie names the person who signed in at /auth/login.

Inside Teams every API call carries the Teams SSO token (``Authorization: Bearer …``, see
:mod:`plugin.web.auth`). Opened in a plain browser, the same pages have no Teams token: the person signs in
with Entra (authorization code + PKCE, :mod:`plugin.web.auth_pages`) and the session cookie then holds their
person id, object id and the app roles of their ID token (Flask signs the cookie; it holds no token).

* Page views call :func:`session_caller` (or use :func:`login_required`) to know who is looking.
* API routes: the bearer token stays the way in. To let standalone pages call the API with their cookie, the
  lead can make ``plugin.web.auth._authenticate`` fall back to :func:`api_session_caller` when there is no
  ``Authorization`` header; that helper only accepts the cookie on safe methods, or on unsafe ones together
  with a matching ``X-CSRF-Token`` header (because /api/* is exempt from the form CSRF check on the grounds
  that bearer tokens are not sent automatically by browsers — cookies are).
* Sessions expire :data:`SESSION_MAX_AGE` after sign-in, whatever the cookie lifetime.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, session

from ..adapters.entra import Identity
from ..db import get_session
from ..models import Person
from ..services.people import Caller, caller_for
from .security import CSRF_HEADER, csrf_matches

SESSION_MAX_AGE = 12 * 3600
_KEYS = ("person_id", "oid", "roles", "signed_in_at")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def log_in(caller: Caller, roles: frozenset[str]) -> None:
    """Start a standalone session for `caller` (the ID token's app `roles` are kept for role checks)."""
    session.clear()  # nothing from before sign-in survives it (including the CSRF token)
    session.update(person_id=caller.person_id, oid=caller.oid, roles=sorted(roles), signed_in_at=int(time.time()))
    session.permanent = True


def log_out() -> int | None:
    """End the standalone session; returns the person id it named, if any."""
    person_id = session.get("person_id")
    session.clear()
    return person_id if isinstance(person_id, int) else None


def session_caller() -> Caller | None:
    """The person signed in through the standalone session, with their current roles; None when nobody is."""
    caller = _load()  # not cached in `g`: an app context can outlive one request (tests, nested WSGI calls)
    if caller is not None:
        g.person_locale = caller.locale
    return caller


def api_session_caller() -> Caller | None:
    """`session_caller` for /api routes: unsafe methods also need the X-CSRF-Token header (see module doc)."""
    if request.method not in _SAFE_METHODS:
        if not csrf_matches(request.headers.get(CSRF_HEADER)):
            return None
    return session_caller()


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """For page views: send people without a standalone session to /auth/login, then back here."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if session_caller() is None:
            return redirect(f"/auth/login?{urlencode({'next': request.full_path.rstrip('?')})}")
        return view(*args, **kwargs)

    return wrapper


def request_bearer_token() -> str | None:
    """The raw bearer token of this request (the Teams SSO token), for on-behalf-of."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _load() -> Caller | None:
    if not all(key in session for key in _KEYS):
        return None
    if int(session["signed_in_at"]) + SESSION_MAX_AGE < time.time():
        session.clear()
        return None
    db = get_session()
    person = db.get(Person, session["person_id"])
    if person is None or person.entra_oid != session["oid"] or person.erased_at is not None:
        session.clear()
        return None
    identity = Identity(oid=person.entra_oid, tenant_id=current_app.config["AZURE_TENANT_ID"],
                        name=person.display_name, username=person.upn,
                        roles=frozenset(str(r) for r in session["roles"]), version="session")
    return caller_for(db, person, identity, now=datetime.now(UTC))
