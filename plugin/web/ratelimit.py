"""Rate limits: the API per caller, Graph's webhooks per sending address, both answered 429 with Retry-After.

* **API** (``/api/*``): ``API_RATE_LIMIT`` per caller, shared by all routes. The caller is the ``oid`` of a
  *valid* Teams SSO token (so forged tokens cannot spread one client over many buckets), else the signed-in
  session's ``oid`` (standalone browser mode), else the client address.
* **Webhooks** (``POST /webhooks/*``): ``WEBHOOK_RATE_LIMIT`` per client address. Graph's deliveries are served
  by the lean WSGI path (webhook_intake.py) in front of Flask, so this limit is a WSGI layer around that path;
  its ceiling is far above the intake budget (DESIGN.md §5: ≥ 1,000 notifications/s) so bursts are never refused.

The API limit uses Flask-Limiter's storage: Redis when ``REDIS_URL`` is set (shared by every worker and machine),
memory otherwise. The webhook limit counts in each process's memory (so the ceiling applies per worker). A
refusal is ``429 {"error": "rate_limited", "message"}`` with ``Retry-After`` in seconds; Graph retries a refused
delivery later, so nothing is lost.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app, jsonify, request, session
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ..adapters.entra import TokenError
from .security import header_list

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
API_PREFIX = "/api/"
WEBHOOK_PREFIX = "/webhooks/"
_CALLER_KEY = "ambassador.rate_limit_caller"


def client_address() -> str:
    """The address the request came from (the reverse proxy's, unless it rewrites REMOTE_ADDR)."""
    return request.remote_addr or "unknown"


def api_caller_key() -> str:
    """Who an API request counts against: the verified token's oid, else the session's oid, else the address."""
    cached = request.environ.get(_CALLER_KEY)
    if cached is None:
        cached = request.environ[_CALLER_KEY] = _caller_key()
    return cached


def _caller_key() -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return "oid:" + current_app.extensions["token_validator"].validate(token.strip()).oid
        except TokenError:
            return "ip:" + client_address()
    if session.get("oid"):
        return "oid:" + str(session["oid"])
    return "ip:" + client_address()


def retry_after_seconds(reset_at: float) -> int:
    """Whole seconds until a window resets (at least 1, as Retry-After wants a positive integer)."""
    return max(1, math.ceil(reset_at - time.time()))


def rate_limited_message() -> str:
    """The 429 message in the caller's language."""
    return _("Too many requests. Please wait a moment and try again.")


def _api_refusal(exc: RateLimitExceeded) -> Response:
    response = jsonify(error="rate_limited", message=rate_limited_message())
    response.status_code = 429
    breached = current_app.extensions["rate_limiter"].current_limit
    response.headers["Retry-After"] = str(retry_after_seconds(breached.reset_at) if breached else 60)
    return response


def check_limit_setting(name: str, value: str) -> str:
    """Validate a rate-limit setting such as '300 per minute'; raise ValueError with a clear line otherwise."""
    try:
        parse(value)
    except ValueError:
        raise ValueError(f"{name} must be a rate such as '300 per minute' or '5000/second' (got {value!r})") from None
    return value


class WebhookLimit:
    """WSGI middleware: counts POSTs to /webhooks/* per client address and refuses them above the ceiling."""

    def __init__(self, app: Flask, inner: WSGIApp, item: RateLimitItem) -> None:
        self.flask_app, self.inner, self.item = app, inner, item
        # Counted in this process's memory, not Redis: a Redis round trip per delivery cost about as much as
        # storing the notification, and a flood guard needs no global count (the ceiling applies per worker).
        self.strategy = FixedWindowRateLimiter(MemoryStorage())

    def __getattr__(self, name: str) -> Any:
        # Transparent to code that inspects the layer below (e.g. `app.wsgi_app.wrapped` of the webhook intake).
        return getattr(self.inner, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request."""
        if environ.get("REQUEST_METHOD") != "POST" or not environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
            return self.inner(environ, start_response)
        address = environ.get("REMOTE_ADDR") or "unknown"
        strategy = self.strategy
        if strategy.hit(self.item, "webhooks", address):
            return self.inner(environ, start_response)
        reset_at = strategy.get_window_stats(self.item, "webhooks", address).reset_time
        with self.flask_app.test_request_context(environ.get("PATH_INFO", "/"), headers=_accept_language(environ)):
            message = rate_limited_message()
        body = json.dumps({"error": "rate_limited", "message": message}).encode()
        start_response("429 Too Many Requests", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("Retry-After", str(retry_after_seconds(reset_at))), *header_list(self.flask_app),
        ])
        return [body]


def _accept_language(environ: dict[str, Any]) -> dict[str, str]:
    language = environ.get("HTTP_ACCEPT_LANGUAGE")
    return {"Accept-Language": language} if language else {}


def init_app(app: Flask) -> Limiter:
    """Install the API limit (Flask-Limiter) and answer its refusals as JSON; return the limiter."""
    if "rate_limiter" in app.extensions:
        return app.extensions["rate_limiter"]
    check_limit_setting("API_RATE_LIMIT", app.config["API_RATE_LIMIT"])
    check_limit_setting("WEBHOOK_RATE_LIMIT", app.config["WEBHOOK_RATE_LIMIT"])
    # Each test app gets its own keys, so tests sharing one Redis never count against each other.
    prefix = "ambassador-rl" + (f"-{secrets.token_hex(4)}" if app.config.get("TESTING") else "")
    limiter = Limiter(
        key_func=api_caller_key,
        app=app,
        application_limits=[lambda: current_app.config["API_RATE_LIMIT"]],
        application_limits_exempt_when=lambda: not request.path.startswith(API_PREFIX),
        storage_uri=app.config.get("REDIS_URL") or "memory://",
        strategy="fixed-window",
        key_prefix=prefix,
        headers_enabled=False,
        # A storage outage must not take the API down: count in memory until Redis is back.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    app.extensions["rate_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _api_refusal)
    return limiter


def install_webhook_limit(app: Flask) -> None:
    """Wrap the WSGI app (outermost, around the lean webhook path) with the per-address webhook limit."""
    init_app(app)
    app.wsgi_app = WebhookLimit(app, app.wsgi_app, parse(app.config["WEBHOOK_RATE_LIMIT"]))  # type: ignore[method-assign]
