"""Microsoft Graph webhooks: change and lifecycle notifications, stored in the inbox before the 202.

``POST /webhooks/graph`` and ``POST /webhooks/graph/lifecycle``:

* ``?validationToken=…`` (subscription handshake): 200 ``text/plain`` with the decoded token; nothing stored.
* A body over ``WEBHOOK_MAX_BYTES`` (default 1 MiB) → 413; not JSON or not ``{"value": [notification, …]}`` →
  400; nothing stored.
* Items whose ``clientState`` differs from ``GRAPH_CLIENT_STATE`` (constant-time compare) are ignored and
  logged. When *every* item mismatches → 403: nothing in the request is ours to act on (a forgery, or a
  subscription made with an old secret, which must be recreated); Graph's retries of it are harmless.
* With resource data (``encryptedContent``) the body's ``validationTokens`` must all be valid (signed by the
  tenant's authority, ``aud`` = ``AZURE_CLIENT_ID``, Graph's publisher, not expired) → else 400. Each item's
  ``dataSignature`` is checked before it is decrypted with ``GRAPH_NOTIFICATION_KEY``; a bad one drops that
  item (400 when no item is left). Without a configured key, the encrypted content is dropped and the job
  fetches the message instead.
* The remaining items go to the inbox (duplicates are no-ops) and are committed, *then* 202. Concurrent
  deliveries share one commit (``services.inbox_writer``: group commit), and each is answered only after the
  commit holding its rows. Database unavailable → 503 with ``Retry-After``: Graph retries for up to 4 hours,
  nothing is lost.

Lifecycle items (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) are stored with change type
``lifecycle:<event>`` for the subscription job; unknown events are ignored.

The handling is plain WSGI (``receive``): ``webhook_intake`` serves these two routes in front of Flask, without
its per-request machinery (sessions, locale, CSRF, template context), and the blueprint's views below answer the
same way when a request reaches Flask anyway.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length, get_input_stream

from ..adapters.graph_notifications import (
    NotificationCryptoError,
    NotificationKey,
    ValidationTokenError,
    decrypt_resource,
    load_notification_key,
    validate_validation_token,
)
from ..services.inbox import LIFECYCLE_EVENTS
from ..services.inbox_writer import InboxUnavailable, InboxWriter
from .auth import requires
from .security import HSTS, content_security_policy
from .webhook_jobs import JobWaker

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DEFAULT_MAX_BYTES = 1 << 20
RETRY_AFTER_SECONDS = 30
WRITER_EXTENSION = "webhooks.inbox_writer"
WAKER_EXTENSION = "webhooks.job_waker"
_KEY_EXTENSION = "webhooks.notification_key"
_TOKENS_EXTENSION = "webhooks.validation_tokens"
_TOKEN_CACHE_SIZE = 256
_KEY_RETRY_SECONDS = 60
# Column sizes of the inbox (a longer value is not a Graph notification).
_MAX_SUBSCRIPTION_ID, _MAX_CHANGE_TYPE, _MAX_RESOURCE = 64, 16, 1024


class Rejected(Exception):
    """A delivery that is refused as a whole (nothing stored)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to a delivery, for WSGI or Flask."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def status_line(self) -> str:
        """The WSGI status line ("202 Accepted")."""
        return _STATUS_LINES[self.status]


_STATUS_LINES = {200: "200 OK", 202: "202 Accepted", 400: "400 Bad Request", 403: "403 Forbidden",
                 413: "413 Content Too Large", 500: "500 Internal Server Error", 503: "503 Service Unavailable"}


@bp.post("/graph")
@requires("anyone", summary="Graph change notifications (authenticated by clientState)")
def graph_notifications() -> Response:
    """Graph change notifications (and the subscription validation handshake)."""
    return _response(receive(current_app, request.environ, lifecycle=False))


@bp.post("/graph/lifecycle")
@requires("anyone", summary="Graph lifecycle notifications (authenticated by clientState)")
def graph_lifecycle() -> Response:
    """Graph lifecycle notifications (and the validation handshake of the lifecycleNotificationUrl)."""
    return _response(receive(current_app, request.environ, lifecycle=True))


def _response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, headers=answer.headers)
    if not any(name == "Content-Type" for name, _value in answer.headers):
        del response.headers["Content-Type"]  # a 202 has no body to type
    return response


def receive(app: Flask, environ: dict[str, Any], *, lifecycle: bool) -> Answer:
    """Answer one delivery (a WSGI environ): the handshake, a refusal, or 202 once its items are committed."""
    if environ.get("QUERY_STRING"):
        token = Request(environ).args.get("validationToken")
        if token is not None:
            # Already URL-decoded: echo it as plain text (nosniff: never rendered as HTML).
            return _answer(app, 200, token.encode(), "text/plain; charset=utf-8")
    try:
        document = _read_document(app, environ)
        items = _items(document, lifecycle=lifecycle)
        prepared = _prepare(app, document, items)
    except Rejected as exc:
        return json_answer(app, exc.status, exc.code, exc.message)
    try:
        inbox_writer(app).store(prepared)
    except (InboxUnavailable, SQLAlchemyError):
        log.warning("inbox unavailable; asking Graph to retry", exc_info=True)
        answer = json_answer(app, 503, "unavailable", "The inbox is unavailable; retry later.")
        answer.headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
        return answer
    return _answer(app, 202)


def inbox_writer(app: Flask) -> InboxWriter:
    """The app's inbox writer (group commit), created on first use; on SQLite with a cross-process lock file."""
    writer = app.extensions.get(WRITER_EXTENSION)
    if writer is None:
        url = str(app.config["DATABASE_URL"])
        path = url.split("///", 1)[1] if url.startswith("sqlite") and "///" in url else ""
        lock_path = f"{path}.intake-lock" if path and path != ":memory:" else None
        writer = app.extensions[WRITER_EXTENSION] = InboxWriter(
            lambda: app.extensions["db.sessionmaker"], lock_path=lock_path,
            on_commit=lambda changes, lifecycle: _wake_jobs(app, changes=changes, lifecycle=lifecycle))
    return writer


def _wake_jobs(app: Flask, *, changes: int, lifecycle: int) -> None:
    """Have the jobs for new items queued (soon after the commit), so a post turns into a badge within seconds."""
    if not app.config.get("INBOX_AUTO_PROCESS", True):
        return
    waker = app.extensions.get(WAKER_EXTENSION)
    if waker is None:
        waker = app.extensions[WAKER_EXTENSION] = JobWaker(
            lambda job: app.extensions["tasks"][job](),
            immediate=lambda: bool(getattr(app.extensions.get("huey"), "immediate", False)))
    for job, added in (("process_inbox", changes), ("handle_lifecycle", lifecycle)):
        if added:
            waker.wake(job)


def _answer(app: Flask, status: int, body: bytes = b"", content_type: str | None = None) -> Answer:
    """An answer with the headers every response of the app carries (see web.security)."""
    headers = [("Content-Length", str(len(body)))]
    if content_type:
        headers.append(("Content-Type", content_type))
    headers += [("Content-Security-Policy", content_security_policy(secrets.token_urlsafe(16))),
                ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin")]
    if not (app.config.get("TESTING") or app.config.get("AMBASSADOR_DEMO")):
        headers.append(("Strict-Transport-Security", HSTS))
    return Answer(status, headers, body)


def json_answer(app: Flask, status: int, code: str, message: str) -> Answer:
    """The API's error shape, byte for byte as ``jsonify`` writes it."""
    body = json.dumps({"error": code, "message": message}, separators=(",", ":"), sort_keys=True) + "\n"
    return _answer(app, status, body.encode(), "application/json")


def error_answer(app: Flask, exc: HTTPException) -> Answer:
    """An HTTP error raised while reading the request (e.g. the client hung up), in the API's error shape."""
    status = exc.code if exc.code in _STATUS_LINES else 400
    code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    return json_answer(app, status, code, exc.description or "")


def _read_document(app: Flask, environ: dict[str, Any]) -> Any:
    limit = int(app.config.get("WEBHOOK_MAX_BYTES") or DEFAULT_MAX_BYTES)
    length = get_content_length(environ)
    if length is not None and length > limit:
        raise Rejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")
    raw = get_input_stream(environ).read(limit + 1)  # also bounds a chunked body without Content-Length
    if len(raw) > limit:
        raise Rejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Rejected(400, "invalid_json", "The body is not JSON.") from None


def _items(document: Any, *, lifecycle: bool) -> list[dict[str, Any]]:
    """The notification items, each checked for shape; one bad item refuses the delivery (nothing stored)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("value"), list):
        raise Rejected(400, "invalid_notification", 'Expected {"value": [notification, …]}.')
    items = document["value"]
    for index, item in enumerate(items):
        problem = _shape_problem(item, lifecycle=lifecycle)
        if problem:
            raise Rejected(400, "invalid_notification", f"value[{index}]: {problem}")
    return items


def _shape_problem(item: Any, *, lifecycle: bool) -> str | None:
    if not isinstance(item, Mapping):
        return "not an object"
    if not _text(item.get("subscriptionId"), _MAX_SUBSCRIPTION_ID):
        return "subscriptionId is missing or too long"
    if "lifecycleEvent" in item or lifecycle:
        return None if _text(item.get("lifecycleEvent"), 64) else "lifecycleEvent is missing"
    if not _text(item.get("changeType"), _MAX_CHANGE_TYPE):
        return "changeType is missing or too long"
    if not _text(item.get("resource"), _MAX_RESOURCE):
        return "resource is missing or too long"
    for name in ("resourceData", "encryptedContent"):
        if item.get(name) is not None and not isinstance(item.get(name), Mapping):
            return f"{name} is not an object"
    return None


def _text(value: Any, limit: int) -> bool:
    # A NUL character is never in a Graph id, and PostgreSQL cannot store it in a text column.
    return isinstance(value, str) and 0 < len(value) <= limit and "\x00" not in value


def _prepare(app: Flask, document: Mapping[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours (clientState), verified and decrypted items, as inbox payloads (without clientState or ciphertext)."""
    secret = str(app.config.get("GRAPH_CLIENT_STATE") or "").encode()
    ours = [item for item in items if hmac.compare_digest(str(item.get("clientState") or "").encode(), secret)]
    if len(ours) < len(items):
        log.warning("ignored %d of %d Graph notifications with a wrong clientState", len(items) - len(ours),
                    len(items))
        if not ours:
            raise Rejected(403, "client_state_mismatch", "No notification carries our clientState.")
    ours = [item for item in ours if "lifecycleEvent" not in item or item["lifecycleEvent"] in LIFECYCLE_EVENTS]
    encrypted = any(isinstance(item.get("encryptedContent"), Mapping) for item in ours)
    if encrypted:
        _check_validation_tokens(app, document.get("validationTokens"))
    key = _notification_key(app) if encrypted else None
    prepared, rejected = [], 0
    for item in ours:
        payload = {k: v for k, v in item.items() if k not in ("clientState", "encryptedContent")}
        encrypted_content = item.get("encryptedContent")
        if isinstance(encrypted_content, Mapping) and key is not None:
            try:
                content = decrypt_resource(encrypted_content, key)
            except NotificationCryptoError as exc:
                log.warning("rejected a Graph notification: %s", exc)
                rejected += 1
                continue
            data = item.get("resourceData") or {}
            if data.get("id") and str(content.get("id")) != str(data["id"]):
                log.warning("rejected a Graph notification whose content is another resource than it names")
                rejected += 1
                continue
            payload["content"] = content
        prepared.append(payload)
    if rejected and not prepared:
        raise Rejected(400, "invalid_encrypted_content", "The encrypted resource data does not verify.")
    return prepared


def _check_validation_tokens(app: Flask, tokens: Any) -> None:
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise Rejected(400, "invalid_validation_tokens", "Resource data needs validationTokens.")
    cache: dict[str, float] = app.extensions.setdefault(_TOKENS_EXTENSION, {})
    now = time.time()
    validator = app.extensions["token_validator"]
    for token in tokens:
        if cache.get(token, 0) > now:
            continue  # Graph repeats one token across many deliveries; verified already
        try:
            claims = validate_validation_token(
                token, signing_key=validator.jwks.key, client_id=app.config["AZURE_CLIENT_ID"],
                tenant_id=app.config["AZURE_TENANT_ID"],
            )
        except ValidationTokenError as exc:
            raise Rejected(400, "invalid_validation_tokens", str(exc)) from None
        if len(cache) >= _TOKEN_CACHE_SIZE:
            cache.clear()
        cache[token] = float(claims["exp"])


def _notification_key(app: Flask) -> NotificationKey | None:
    """Our decryption key (loaded once per path); None when not configured or unreadable (then we fetch)."""
    path = app.config.get("GRAPH_NOTIFICATION_KEY")
    if not path:
        return None
    cached = app.extensions.get(_KEY_EXTENSION)
    now = time.monotonic()
    # A key that failed to load is retried a minute later, not on every request (which would flood the log).
    if cached is not None and cached[0] == path and (cached[1] is not None or now - cached[2] < _KEY_RETRY_SECONDS):
        return cached[1]
    try:
        key: NotificationKey | None = load_notification_key(path)
    except (OSError, ValueError):
        log.exception("GRAPH_NOTIFICATION_KEY %s cannot be read; resource data will be fetched instead", path)
        key = None
    app.extensions[_KEY_EXTENSION] = (path, key, now)
    return key
