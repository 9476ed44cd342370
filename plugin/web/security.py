"""Browser security for every response: session cookie flags, CSRF for HTML forms, CSP and friends.

* **Cookies.** Outside demo/test the session cookie is ``Secure; SameSite=None; HttpOnly``: the tab runs in a
  Teams iframe (a third-party context), where only ``SameSite=None`` cookies are sent, and the sign-in answer
  comes back as a cross-site form post (``response_mode=form_post``). In demo/test (plain http) the browser
  default applies.
* **CSRF.** Every unsafe request (POST, PUT, PATCH, DELETE) must carry the session's token, as the hidden form
  field ``csrf_token`` (templates: ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``) or the
  ``X-CSRF-Token`` header; otherwise 400 (JSON for programs, the error page for people). Exempt: ``/api/*``
  (authenticated by bearer tokens, which browsers never send on their own), ``/webhooks/*`` (Graph; checked by
  ``clientState``), ``/dev/*`` (the sandbox) and ``/auth/callback`` (the authority's form post; the OAuth
  ``state`` MSAL checks is its CSRF protection).
* **Headers.** ``Content-Security-Policy`` (below), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: strict-origin-when-cross-origin``, and ``Strict-Transport-Security`` outside demo/test.
  Headers a view or blueprint already set win (``setdefault``), e.g. the sandbox host page's stricter policy.

The policy: ``default-src 'self'; script-src 'self' 'nonce-…'; style-src 'self' 'nonce-…'; img-src 'self'
data:; connect-src 'self' https://res.cdn.office.net; object-src 'none'; base-uri 'self'; frame-ancestors
<reference §2.6>`` (the CDN is where teams-js reads the valid Teams host origins). Scripts are
files under /static; the per-request nonce (Jinja ``csp_nonce()``) is for the rare inline ``<script>`` or
``<style>``. ``style-src`` has no ``'unsafe-inline'``: our CSS is in files, and Fluent UI web components style
themselves through constructable stylesheets (``adoptedStyleSheets``), which ``style-src`` does not govern; so
``style="…"`` attributes are not allowed in templates. ``frame-ancestors`` lists exactly the Teams / Microsoft
365 / Outlook hosts of reference §2.6 plus ``'self'`` (the sandbox's Teams host page frames our own tabs).
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, current_app, render_template, request, session
from flask_babel import gettext as _

from .errors import json_error, wants_json

FRAME_ANCESTORS = (
    "'self'", "https://*.cloud.microsoft", "https://teams.microsoft.com", "https://*.teams.microsoft.com",
    "https://*.microsoft365.com", "https://*.office.com", "https://outlook.office.com",
    "https://outlook.office365.com",
)
#: teams-js fetches the list of valid Teams host origins from Microsoft's CDN when it loads; without it, it
#: falls back to a built-in list and logs a CSP error. Nothing else of ours talks to another origin.
TEAMS_JS_CDN = "https://res.cdn.office.net"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSRF_SESSION_KEY = "csrf_token"
CSRF_EXEMPT_PREFIXES = ("/api/", "/webhooks/", "/dev/")
CSRF_EXEMPT_PATHS = frozenset({"/auth/callback"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HSTS = "max-age=31536000; includeSubDomains"
NONCE_ENVIRON_KEY = "ambassador.csp_nonce"


def content_security_policy(nonce: str) -> str:
    """The Content-Security-Policy header value for a response whose inline code carries `nonce`."""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        f"img-src 'self' data:; connect-src 'self' {TEAMS_JS_CDN}; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors {' '.join(FRAME_ANCESTORS)}"
    )


def csp_nonce() -> str:
    """This request's CSP nonce (Jinja: `<script nonce="{{ csp_nonce() }}">`)."""
    # Kept in the WSGI environ, which is per request (`g` lives as long as the app context, which may be longer).
    return request.environ.setdefault(NONCE_ENVIRON_KEY, secrets.token_urlsafe(16))


def csrf_token() -> str:
    """The session's CSRF token, created on first use (Jinja: `{{ csrf_token() }}`)."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_matches(sent: str | None) -> bool:
    """True when `sent` is the session's CSRF token (constant-time comparison)."""
    expected = session.get(CSRF_SESSION_KEY)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def csrf_exempt(path: str) -> bool:
    """Paths that are not HTML form targets (see the module docstring for why each is safe)."""
    return path.startswith(CSRF_EXEMPT_PREFIXES) or path in CSRF_EXEMPT_PATHS


def _check_csrf():
    if request.method not in UNSAFE_METHODS or csrf_exempt(request.path):
        return None
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if csrf_matches(sent):
        return None
    message = _("This form has expired or did not come from Ambassador. Please reload the page and try again.")
    if wants_json():
        return json_error(400, "csrf_failed", message)
    return render_template("error.html", status=400, title=_("Please reload the page")), 400


def _secure_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if not _relaxed(current_app):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def header_list(app: Flask) -> list[tuple[str, str]]:
    """The security headers for an answer written outside Flask (plain WSGI), with a fresh nonce."""
    headers = [("Content-Security-Policy", content_security_policy(secrets.token_urlsafe(16))),
               ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
    if not _relaxed(app):
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def _relaxed(app: Flask) -> bool:
    return bool(app.config.get("TESTING") or app.config.get("AMBASSADOR_DEMO"))


def init_app(app: Flask) -> None:
    """Install cookie flags, the CSRF check, the security headers and the Jinja helpers (once per app)."""
    if app.extensions.get("security"):
        return
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not _relaxed(app):
        app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="None")
    app.before_request(_check_csrf)
    app.after_request(_secure_headers)
    app.jinja_env.globals.update(csp_nonce=csp_nonce, csrf_token=csrf_token)
    app.extensions["security"] = True
