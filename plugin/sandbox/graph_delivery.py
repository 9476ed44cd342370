"""Outgoing HTTP of the Graph emulator: the validation handshake and notification delivery with retries.

* Handshake: ``POST {url}?validationToken=<token>`` (``Content-Type: text/plain; charset=utf-8``, empty body);
  the endpoint must answer **200** with ``Content-Type: text/plain`` and exactly the URL-decoded token within
  ``timeout`` (10 s). The token contains spaces and colons like Graph's, so echoing it still encoded fails.
* Delivery: one background thread POSTs queued notification bodies as JSON; a non-2xx answer, a connection
  error or no answer within 3 s (Graph's limit) is retried with exponential backoff (``backoff`` × 2^n)
  up to ``max_attempts`` in total — bounded, where Graph keeps retrying for up to 4 hours.
* Receivers must be ``https``, or ``http`` on a loopback host (127.0.0.1, localhost, ::1) so the sandbox
  can deliver to the app itself; environment proxy settings are ignored.
"""

from __future__ import annotations

import heapq
import itertools
import json
import ssl
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from plugin.sandbox.graph_http import GraphError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
Verify = bool | str | ssl.SSLContext


def check_receiver_url(url: Any, name: str = "notificationUrl") -> str:
    """``url`` if it is https (or http on a loopback host); 400 ``ValidationError`` otherwise."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.netloc:
        raise GraphError(400, "ValidationError", f"Invalid {name}: an absolute URL is required.")
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return url
    raise GraphError(400, "ValidationError", f"The {name} must be an https URL.")


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with one more percent-encoded query parameter (existing query strings are kept)."""
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{name}={quote(value, safe='')}"


def validate_endpoint(url: str, *, timeout: float, verify: Verify) -> None:
    """Run Graph's validation handshake against ``url``; 400 ``ValidationError`` when it fails."""
    token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
    try:
        with httpx.Client(timeout=timeout, verify=verify, trust_env=False) as client:
            response = client.post(
                with_query(url, "validationToken", token),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                content=b"",
            )
    except httpx.TimeoutException as exc:
        raise GraphError(400, "ValidationError", "Subscription validation request timed out.") from exc
    except httpx.HTTPError as exc:
        raise GraphError(
            400, "ValidationError", f"Subscription validation request failed. Notification endpoint unreachable: {exc}"
        ) from exc
    if response.status_code != 200:
        raise GraphError(
            400,
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation "
            f"request. (answered {response.status_code})",
        )
    if not response.headers.get("content-type", "").lower().startswith("text/plain"):
        raise GraphError(
            400, "ValidationError", "Subscription validation request failed. Must respond with Content-Type text/plain."
        )
    if response.text != token:
        raise GraphError(
            400,
            "ValidationError",
            "Subscription validation request failed. Response must exactly match validationToken query parameter.",
        )


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    body: dict[str, Any] = field(compare=False)
    kind: str = field(compare=False)
    subscription_id: str = field(compare=False)
    attempt: int = field(default=0, compare=False)


class Notifier:
    """Delivers notification bodies on a background thread, with bounded exponential-backoff retries."""

    def __init__(
        self,
        *,
        verify: Verify = True,
        timeout: float = 3.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        self.verify = verify
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.attempts: deque[dict[str, Any]] = deque(maxlen=1000)
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, url: str, body: dict[str, Any], *, kind: str, subscription_id: str) -> None:
        """Queue one POST of ``body`` (JSON) to ``url``."""
        with self._cond:
            if self._closed:
                return
            heapq.heappush(self._queue, _Delivery(time.monotonic(), next(self._seq), url, body, kind, subscription_id))
            self._busy += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="graph-emulator-delivery", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is done (delivered or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout: float = 10.0) -> None:
        """Stop the delivery thread; queued deliveries are discarded."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._busy = 0
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, verify=self.verify, trust_env=False) as client:
            while True:
                delivery = self._next()
                if delivery is None:
                    return
                ok = self._post(client, delivery)
                with self._cond:
                    if not ok and delivery.attempt + 1 < self.max_attempts and not self._closed:
                        delivery.attempt += 1
                        delivery.due = time.monotonic() + self.backoff * 2 ** (delivery.attempt - 1)
                        heapq.heappush(self._queue, delivery)
                    else:
                        self._busy = max(0, self._busy - 1)
                    self._cond.notify_all()

    def _next(self) -> _Delivery | None:
        with self._cond:
            while True:
                if self._closed:
                    self._busy = 0
                    self._cond.notify_all()
                    return None
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        return heapq.heappop(self._queue)
                    self._cond.wait(wait)
                else:
                    self._cond.wait()

    def _post(self, client: httpx.Client, delivery: _Delivery) -> bool:
        record: dict[str, Any] = {
            "at": datetime.now(UTC).isoformat(),
            "kind": delivery.kind,
            "url": delivery.url,
            "subscriptionId": delivery.subscription_id,
            "attempt": delivery.attempt + 1,
        }
        try:
            response = client.post(
                delivery.url,
                content=json.dumps(delivery.body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            record["status"] = response.status_code
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
            ok = False
        retrying = delivery.attempt + 1 < self.max_attempts
        record["outcome"] = "delivered" if ok else ("retrying" if retrying else "failed")
        self.attempts.append(record)
        return ok
