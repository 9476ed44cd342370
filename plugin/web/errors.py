"""One place that turns errors into responses: JSON `{"error", "message"}` for machines, a page for people."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

JSON_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/ob/")
#: Page titles people read, in their language (Werkzeug's names are English only).
PAGE_TITLES = {
    400: _l("That request was not understood"),
    401: _l("Please sign in"),
    403: _l("No access"),
    404: _l("Page not found"),
    405: _l("That is not possible here"),
    413: _l("That is too large"),
    429: _l("Too many requests, please wait a moment"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}


def wants_json() -> bool:
    """True when the caller is a program (API, webhook) rather than a person in a tab."""
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


def json_error(status: int, code: str, message: str) -> tuple[Response, int]:
    """The API's error shape."""
    return jsonify(error=code, message=message), status


def _error_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def register_errorhandlers(app: Flask) -> None:
    """Render HTTP errors as JSON or HTML, and never leak a traceback."""

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        if wants_json():
            return json_error(status, _error_code(exc), exc.description or exc.name)
        title = PAGE_TITLES.get(status, exc.name)
        return render_template("error.html", status=status, title=str(title)), status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return json_error(500, "internal_error", _("Something went wrong on our side. Please try again."))
        return render_template("error.html", status=500, title=_("Something went wrong")), 500
