"""The lean path for Graph's deliveries: a WSGI layer in front of Flask that serves the two webhook routes itself.

Graph may send thousands of notifications a second, and each must be committed before the 202. Through Flask a
delivery also paid for the request and app contexts, the session cookie machinery, locale selection, the CSRF
check and the template context: more than the storing itself. ``POST /webhooks/graph`` and
``POST /webhooks/graph/lifecycle`` are answered here by ``webhooks.receive`` (the same validation, storage
and answers as the blueprint's views); every other request, including other methods on these paths, goes to
Flask untouched. ``create_app`` installs it, so ``gunicorn wsgi:app`` serves it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from .webhooks import Answer, error_answer, inbox_writer, json_answer, receive

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
ROUTES = {"/webhooks/graph": False, "/webhooks/graph/lifecycle": True}  # path → lifecycle


class WebhookIntake:
    """WSGI middleware: POSTs to the webhook routes are answered here, everything else by the wrapped app."""

    def __init__(self, app: Flask, wrapped: WSGIApp) -> None:
        self.app, self.wrapped = app, wrapped

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request."""
        lifecycle = ROUTES.get(environ.get("PATH_INFO", ""))
        if lifecycle is None or environ.get("REQUEST_METHOD") != "POST":
            return self.wrapped(environ, start_response)
        try:
            answer = receive(self.app, environ, lifecycle=lifecycle)
        except HTTPException as exc:  # reading the body failed (e.g. the client hung up)
            answer = error_answer(self.app, exc)
        except Exception:
            log.exception("unhandled error on POST %s", environ.get("PATH_INFO"))
            answer = _internal_error(self.app)
        start_response(answer.status_line, answer.headers)
        return [answer.body]


def _internal_error(app: Flask) -> Answer:
    return json_answer(app, 500, "internal_error", "Something went wrong on our side. Please try again.")


def install(app: Flask) -> None:
    """Put the lean webhook path in front of Flask and the sandbox (none of their machinery runs for it)."""
    inbox_writer(app)
    app.wsgi_app = WebhookIntake(app, app.wsgi_app)  # type: ignore[method-assign]
