"""Interactive Entra sign-in: the consent pop-up of the tab and the standalone browser sign-in.

* ``GET /auth/consent[?resource=graph|yammer&login_hint=…]``: opened by the tab through
  ``authentication.authenticate()`` when the API answered ``consent_required``. Starts authorization code +
  PKCE with ``prompt=consent`` and redirects to the authority's authorize endpoint (Entra's consent prompt; in
  the demo the dev authority's consent page).
* ``GET /auth/login[?next=/path]``: the same flow without the consent prompt, for the pages opened outside
  Teams; afterwards the session cookie names the person (:mod:`plugin.web.session_auth`).
* ``GET|POST /auth/callback``: where the authority answers (``response_mode=form_post``, so normally a POST).
  MSAL checks state, nonce and PKCE and redeems the code; the person is signed in (created if new) and their
  encrypted token cache replaced. The pop-up page then tells Teams ``authentication.notifySuccess()`` (or
  goes home when not in a pop-up); standalone sign-in redirects to ``next``.
* ``GET /auth/logout``: ends the standalone session and forgets the person's cached tokens. A GET, so that a
  plain link works; the worst a forged request can do is sign someone out.

The flow (state, nonce, PKCE verifier) waits in the session cookie, sealed with the token-cache cipher so the
browser cannot read the verifier, for at most :data:`FLOW_MAX_AGE` seconds.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..adapters.msal_client import GRAPH_USER_READ, YAMMER_USER
from ..db import get_session
from ..services import tokens
from . import session_auth

bp = Blueprint("auth_pages", __name__, url_prefix="/auth")

#: What the consent pop-up may ask for (nothing else can be requested through the URL).
CONSENT_SCOPES = {"graph": [GRAPH_USER_READ], "yammer": [YAMMER_USER]}
LOGIN_SCOPES = [GRAPH_USER_READ]
FLOW_KEY = "auth_flow"
FLOW_CONTEXT = "auth flow"
FLOW_MAX_AGE = 15 * 60


@bp.after_request
def no_store(response: Response) -> Response:
    """Sign-in answers are personal and one-off: never cached by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect_uri() -> str:
    # Exactly the redirect URI of the app registration (APP_BASE_URL, not the Host header a proxy may change).
    return f"{current_app.config['APP_BASE_URL']}/auth/callback"


def _start(scopes: list[str], *, mode: str, prompt: str | None, next_path: str = "/") -> Response:
    flow = tokens.start_sign_in(scopes, _redirect_uri(), prompt=prompt,
                                login_hint=request.args.get("login_hint", "")[:320] or None)
    sealed = {"flow": flow, "mode": mode, "next": next_path, "started": int(time.time())}
    session[FLOW_KEY] = tokens.cipher_for(current_app).seal_text(sealed, FLOW_CONTEXT)
    return redirect(flow["auth_uri"], code=302)


@bp.get("/consent")
def consent() -> Response:
    """Start the consent prompt for the tab's pop-up (authorization code + PKCE, prompt=consent)."""
    scopes = CONSENT_SCOPES.get(request.args.get("resource", "graph"))
    if scopes is None:
        abort(400)
    return _start(scopes, mode="consent", prompt="consent")


@bp.get("/login")
def login() -> Response:
    """Start the standalone browser sign-in (authorization code + PKCE)."""
    return _start(LOGIN_SCOPES, mode="login", prompt=None, next_path=_safe_next(request.args.get("next")))


@bp.route("/callback", methods=["GET", "POST"])
def callback() -> Response | tuple[str, int] | str:
    """Finish the sign-in the authority answered, then close the pop-up or continue where the person was."""
    state = tokens.cipher_for(current_app).open_text(session.pop(FLOW_KEY, None), FLOW_CONTEXT)
    if state is None or state.get("started", 0) + FLOW_MAX_AGE < time.time():
        return _finished("failure", "expired_flow", status=400)
    answer: dict[str, Any] = (request.form if request.method == "POST" else request.args).to_dict()
    try:
        caller, roles = tokens.complete_sign_in(get_session(), state["flow"], answer)
    except tokens.SignInFailed as exc:
        current_app.logger.info("sign-in at /auth/callback failed: %s", exc.code)
        return _finished("failure", exc.code, status=400 if exc.code != "access_denied" else 200)
    if state.get("mode") == "login":
        session_auth.log_in(caller, roles)
        return redirect(_safe_next(state.get("next")), code=303)
    return _finished("success", "")


@bp.get("/logout")
def logout() -> Response:
    """End the standalone session and forget the cached tokens."""
    person_id = session_auth.log_out()
    if person_id is not None:
        tokens.forget(get_session(), person_id)
    return redirect(url_for("auth_pages.signed_out"), code=303)


@bp.get("/signed-out")
def signed_out() -> str:
    """A plain page saying the person is signed out, with a link to sign in again."""
    return render_template("auth/signed_out.html")


def _finished(outcome: str, reason: str, *, status: int = 200) -> tuple[str, int]:
    title = _("You can close this window") if outcome == "success" else _("Sign-in did not complete")
    return render_template("auth/callback.html", outcome=outcome, reason=reason, title=title), status


def _safe_next(value: str | None) -> str:
    """Only paths on this site (no scheme, no host, no `//` or `/\\` tricks) are allowed after sign-in."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    return value
