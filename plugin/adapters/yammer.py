"""Viva Engage (Yammer REST v1) for Ambassador: a community's messages, paced and retried.

* Reading: ``GET messages/in_group/{group_id}.json`` pages newest first (20 per page); ``newer_than`` bounds the
  walk from below and ``older_than`` pages down to it, so a poll reads exactly the messages since the last one.
* Pacing: Yammer allows **10 requests per 30 s per user per app** on the messages endpoints and answers 429 to
  every endpoint once a user breaks it. :class:`RateLimiter` keeps each user under that before asking (a
  sliding window with an injectable clock and sleep); the user is the token's ``oid`` (read without verifying:
  it only picks the bucket). A 429 or 503/504 that still comes is retried after its ``Retry-After``.
* Only delegated tokens work (documented), so the token provider is a user's: see ``services.tokens``.
* HTTP is a plain synchronous ``httpx.Client`` (msgraph-core is for Graph only); for the sandbox mounted in this
  app it is the in-process WSGI client of :func:`plugin.adapters.msal_client.http_client_for`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import jwt

if TYPE_CHECKING:
    from flask import Flask

TokenProvider = Callable[[], str]
YammerMessage = dict[str, Any]

RETRYABLE = frozenset({429, 503, 504})
LIMIT = 10
WINDOW = 30.0
PAGE_SIZE = 20


class YammerError(Exception):
    """A Yammer answer that is not a success (after retries)."""

    def __init__(self, status: int, message: str, *, code: int | None = None, retry_after: float | None = None):
        super().__init__(f"Yammer answered {status}: {message}")
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class YammerPage:
    """One page of a community feed, newest first, with the envelope's references (users, groups, threads)."""

    messages: list[YammerMessage]
    references: list[dict[str, Any]]
    older_available: bool


class RateLimiter:
    """At most ``limit`` requests per key in any ``window`` seconds: waits (``sleep``) until one is allowed."""

    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable) -> float:
        """Wait until ``key`` may send one more request and count it; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                hits = self._hits.setdefault(key, deque())
                while hits and hits[0] <= now - self.window:
                    hits.popleft()
                if len(hits) < self.limit:
                    hits.append(now)
                    return waited
                delay = hits[0] + self.window - now
            # Sleep outside the lock so other users are not held up.
            self.sleep(delay)
            waited += delay

    def wait_time(self, key: Hashable) -> float:
        """Seconds ``key`` would wait now for one more request (0 when it may send at once); counts nothing."""
        with self._lock:
            now = self.clock()
            hits = [at for at in self._hits.get(key, ()) if at > now - self.window]
            return 0.0 if len(hits) < self.limit else max(0.0, hits[0] + self.window - now)

    def penalise(self, key: Hashable, seconds: float) -> None:
        """After a 429: treat the window as full for ``seconds`` more (Yammer counts differently than we do)."""
        with self._lock:
            now = self.clock()
            hits = self._hits.setdefault(key, deque())
            hits.clear()
            hits.extend([now + seconds - self.window] * self.limit)


#: One limiter per process, so every client acting for the same user shares that user's budget.
SHARED_LIMITER = RateLimiter()


class YammerClient:
    """Reads Viva Engage communities with a user's delegated token."""

    def __init__(
        self,
        base_url: str,
        token_provider: TokenProvider,
        *,
        http: httpx.Client | None = None,
        limiter: RateLimiter | None = None,
        max_retries: int = 5,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        self.http = http or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
        self._own_http = http is None
        self.limiter = limiter or SHARED_LIMITER
        self.max_retries = max_retries
        self.sleep = sleep or self.limiter.sleep
        self.request_count = 0

    @classmethod
    def from_app(cls, app: Flask, token_provider: TokenProvider, **options: Any) -> YammerClient:
        """The client for this app's YAMMER_BASE_URL (in-process for the mounted sandbox)."""
        from .msal_client import http_client_for

        base = app.config["YAMMER_BASE_URL"]
        own = "http" not in options
        options.setdefault("http", http_client_for(app, base))
        client = cls(base, token_provider, **options)
        client._own_http = own
        return client

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own_http:
            self.http.close()

    def __enter__(self) -> YammerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def group_messages(
        self,
        group_id: str | int,
        newer_than: str | int | None = None,
        *,
        older_than: str | int | None = None,
        token_provider: TokenProvider | None = None,
    ) -> Iterator[YammerPage]:
        """A community's messages (replies too), newest first, down to ``newer_than`` (exclusive) or all."""
        # older_than resumes an interrupted walk below the last id already read.
        params: dict[str, str] = {"limit": str(PAGE_SIZE)}
        if newer_than is not None:
            params["newer_than"] = str(newer_than)
        cursor = str(older_than) if older_than is not None else None
        while True:
            page_params = {**params, **({"older_than": cursor} if cursor else {})}
            document = self._get(f"/messages/in_group/{group_id}.json", page_params, token_provider)
            messages = list(document.get("messages") or [])
            older = bool((document.get("meta") or {}).get("older_available")) and bool(messages)
            yield YammerPage(messages, list(document.get("references") or []), older)
            if not older:
                return
            cursor = str(messages[-1]["id"])

    def _get(self, path: str, params: Mapping[str, str], token_provider: TokenProvider | None) -> dict[str, Any]:
        """GET with pacing; 429/503/504 retried after Retry-After (or a short backoff)."""
        provider = token_provider or self.token_provider
        for attempt in range(self.max_retries + 1):
            token = provider()
            user = user_key(token)
            self.limiter.acquire(user)
            self.request_count += 1
            response = self.http.get(f"{self.base_url}{path}", params=dict(params),
                                     headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            if response.status_code == 200:
                document = response.json()
                if not isinstance(document, dict):
                    raise YammerError(502, "the feed is not a JSON object")
                return document
            wait = _retry_after(response)
            if response.status_code not in RETRYABLE or attempt == self.max_retries:
                raise _error(response, wait)
            if response.status_code == 429 and wait:
                self.limiter.penalise(user, wait)  # the next acquire waits it out
            else:
                self.sleep(wait if wait is not None else min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")


def user_key(token: str) -> str:
    """The user a token acts for (its ``oid``), to pace per user; unverified: it only picks a bucket."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "unknown"
    return str(claims.get("oid") or claims.get("sub") or "unknown")


def parse_yammer_datetime(value: str) -> datetime:
    """Yammer's ``created_at`` (``2022/11/11 21:00:20 +0000``) as an aware UTC datetime."""
    return datetime.strptime(value, "%Y/%m/%d %H:%M:%S %z").astimezone(UTC)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error(response: httpx.Response, retry_after: float | None) -> YammerError:
    try:
        body = response.json().get("response") or {}
    except (ValueError, AttributeError):
        body = {}
    message = str(body.get("message") or response.reason_phrase or "error")
    code = body.get("code") if isinstance(body.get("code"), int) else None
    return YammerError(response.status_code, message, code=code, retry_after=retry_after)


__all__ = [
    "SHARED_LIMITER", "RateLimiter", "TokenProvider", "YammerClient", "YammerError", "YammerPage",
    "parse_yammer_datetime", "user_key",
]
