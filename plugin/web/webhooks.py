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
* The remaining items go to the inbox in one INSERT (duplicates are no-ops) and are committed, *then* 202.
  Database unavailable → 503 with ``Retry-After``: Graph retries for up to 4 hours, nothing is lost.

Lifecycle items (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) are stored with change type
``lifecycle:<event>`` for the subscription job; unknown events are ignored.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from ..adapters.graph_notifications import (
    NotificationCryptoError,
    NotificationKey,
    ValidationTokenError,
    decrypt_resource,
    load_notification_key,
    validate_validation_token,
)
from ..db import get_session
from ..services.inbox import LIFECYCLE_EVENTS, store_notifications
from .errors import json_error

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

DEFAULT_MAX_BYTES = 1 << 20
RETRY_AFTER_SECONDS = 30
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


@bp.post("/graph")
def graph_notifications() -> Response | tuple[Response, int]:
    """Graph change notifications (and the subscription validation handshake)."""
    return _receive(lifecycle=False)


@bp.post("/graph/lifecycle")
def graph_lifecycle() -> Response | tuple[Response, int]:
    """Graph lifecycle notifications (and the validation handshake of the lifecycleNotificationUrl)."""
    return _receive(lifecycle=True)


def _receive(*, lifecycle: bool) -> Response | tuple[Response, int]:
    token = request.args.get("validationToken")
    if token is not None:
        # request.args is already URL-decoded: echo it as plain text (nosniff: never rendered as HTML).
        response = Response(token, status=200, mimetype="text/plain")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    try:
        document = _read_document()
        items = _items(document, lifecycle=lifecycle)
        prepared = _prepare(document, items)
    except Rejected as exc:
        return json_error(exc.status, exc.code, exc.message)
    session = get_session()
    try:
        stored = store_notifications(session, prepared)
    except SQLAlchemyError:
        log.exception("inbox unavailable; asking Graph to retry")
        try:
            session.rollback()
        except SQLAlchemyError:
            pass  # the connection is gone; the session is discarded at teardown anyway
        response, status = json_error(503, "unavailable", "The inbox is unavailable; retry later.")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, status
    _wake_worker(stored, lifecycle=lifecycle)
    return Response(status=202)


def _wake_worker(stored: object, *, lifecycle: bool) -> None:
    """Queue the processing job for new items, so a post turns into a badge within seconds, not minutes."""
    if not getattr(stored, "stored", 0) or not current_app.config.get("INBOX_AUTO_PROCESS", True):
        return
    try:
        current_app.extensions["tasks"]["handle_lifecycle" if lifecycle else "process_inbox"]()
    except Exception:  # noqa: BLE001 - the items are stored; the periodic sweep picks them up anyway
        log.warning("could not queue the inbox job; the periodic sweep will process the items", exc_info=True)


def _read_document() -> Any:
    limit = int(current_app.config.get("WEBHOOK_MAX_BYTES") or DEFAULT_MAX_BYTES)
    if request.content_length is not None and request.content_length > limit:
        raise Rejected(413, "payload_too_large", f"The body exceeds {limit} bytes.")
    raw = request.stream.read(limit + 1)  # also bounds a chunked body without Content-Length
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
    return isinstance(value, str) and 0 < len(value) <= limit


def _prepare(document: Mapping[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours (clientState), verified and decrypted items, as inbox payloads (without clientState or ciphertext)."""
    secret = str(current_app.config.get("GRAPH_CLIENT_STATE") or "").encode()
    ours = [item for item in items if hmac.compare_digest(str(item.get("clientState") or "").encode(), secret)]
    if len(ours) < len(items):
        log.warning("ignored %d of %d Graph notifications with a wrong clientState", len(items) - len(ours),
                    len(items))
        if not ours:
            raise Rejected(403, "client_state_mismatch", "No notification carries our clientState.")
    ours = [item for item in ours if "lifecycleEvent" not in item or item["lifecycleEvent"] in LIFECYCLE_EVENTS]
    encrypted = any(isinstance(item.get("encryptedContent"), Mapping) for item in ours)
    if encrypted:
        _check_validation_tokens(document.get("validationTokens"))
    key = _notification_key() if encrypted else None
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


def _check_validation_tokens(tokens: Any) -> None:
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise Rejected(400, "invalid_validation_tokens", "Resource data needs validationTokens.")
    cache: dict[str, float] = current_app.extensions.setdefault(_TOKENS_EXTENSION, {})
    now = time.time()
    validator = current_app.extensions["token_validator"]
    for token in tokens:
        if cache.get(token, 0) > now:
            continue  # Graph repeats one token across many deliveries; verified already
        try:
            claims = validate_validation_token(
                token, signing_key=validator.jwks.key, client_id=current_app.config["AZURE_CLIENT_ID"],
                tenant_id=current_app.config["AZURE_TENANT_ID"],
            )
        except ValidationTokenError as exc:
            raise Rejected(400, "invalid_validation_tokens", str(exc)) from None
        if len(cache) >= _TOKEN_CACHE_SIZE:
            cache.clear()
        cache[token] = float(claims["exp"])


def _notification_key() -> NotificationKey | None:
    """Our decryption key (loaded once per path); None when not configured or unreadable (then we fetch)."""
    path = current_app.config.get("GRAPH_NOTIFICATION_KEY")
    if not path:
        return None
    cached = current_app.extensions.get(_KEY_EXTENSION)
    now = time.monotonic()
    # A key that failed to load is retried a minute later, not on every request (which would flood the log).
    if cached is not None and cached[0] == path and (cached[1] is not None or now - cached[2] < _KEY_RETRY_SECONDS):
        return cached[1]
    try:
        key: NotificationKey | None = load_notification_key(path)
    except (OSError, ValueError):
        log.exception("GRAPH_NOTIFICATION_KEY %s cannot be read; resource data will be fetched instead", path)
        key = None
    current_app.extensions[_KEY_EXTENSION] = (path, key, now)
    return key
