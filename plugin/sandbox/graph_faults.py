"""Injected faults of the Graph emulator: throttling, 503/504, slow answers and notification mishaps.

Request faults apply to the next ``count`` authenticated ``/v1.0`` requests whose path (with or without the
``/v1.0`` prefix) starts with ``path_prefix`` (every request when None); requests inside a ``$batch`` count
too, so one batch item can be throttled on its own, as in Graph. Notification faults apply to the next
``count`` change notifications: ``drop`` (never sent), ``duplicate`` (sent twice), ``reorder`` (held until
``count`` are collected, then sent newest first). Configure in-process (``app.extensions["graph_emulator"]
.faults``) or over HTTP: ``POST /_faults`` with ``{"kind": "throttle"|"unavailable"|"slow"|"drop"|
"duplicate"|"reorder", "count", "retryAfter", "status", "seconds", "pathPrefix"}``, ``GET`` lists,
``DELETE`` clears.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from plugin.sandbox.dev_routes import QueuedFault, take_faults

_MESSAGES = {
    429: ("TooManyRequests", "Too many requests. Please retry after the time given in the Retry-After header."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response from the upstream service."),
}
NOTIFICATION_KINDS = ("drop", "duplicate", "reorder")


@dataclass
class RequestFault(QueuedFault):
    """A fault of the Graph emulator (paths under /v1.0)."""

    api_prefix: ClassVar[str] = "/v1.0"

    def error(self) -> tuple[int, str, str, dict[str, str]]:
        """(status, code, message, headers) of the answer."""
        code, message = _MESSAGES.get(self.status, ("UnknownError", "An error occurred."))
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        return self.status, code, message, headers


class Faults:
    """The fault plan of one emulator; thread-safe, every fault consumed as it fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[RequestFault] = []
        self._notifications: list[list[Any]] = []  # [kind, remaining]

    def throttle(self, count: int = 1, retry_after: int = 1, path_prefix: str | None = None) -> None:
        """Answer the next ``count`` matching requests with 429 and ``Retry-After: retry_after``."""
        self._add(RequestFault("status", count, 429, retry_after, path_prefix=path_prefix))

    def unavailable(
        self, count: int = 1, status: int = 503, retry_after: int | None = None, path_prefix: str | None = None
    ) -> None:
        """Answer the next ``count`` matching requests with 503 (or 504), optionally with ``Retry-After``."""
        if status not in (503, 504):
            raise ValueError("status must be 503 or 504")
        self._add(RequestFault("status", count, status, retry_after, path_prefix=path_prefix))

    def slow(self, seconds: float, count: int = 1, path_prefix: str | None = None) -> None:
        """Delay the next ``count`` matching requests by ``seconds``."""
        self._add(RequestFault("slow", count, seconds=seconds, path_prefix=path_prefix))

    def drop_notifications(self, count: int = 1) -> None:
        """Never deliver the next ``count`` change notifications."""
        self._add_notification("drop", count)

    def duplicate_notifications(self, count: int = 1) -> None:
        """Deliver each of the next ``count`` change notifications twice."""
        self._add_notification("duplicate", count)

    def reorder_notifications(self, count: int = 2) -> None:
        """Hold the next ``count`` change notifications and deliver them in reverse order."""
        self._add_notification("reorder", max(2, count))

    def clear(self) -> None:
        """Remove every pending fault."""
        with self._lock:
            self._requests.clear()
            self._notifications.clear()

    def take_request_faults(self, path: str) -> tuple[float, RequestFault | None]:
        """(seconds to delay, status fault or None) for a request to ``path``; consumes what fires."""
        with self._lock:
            return take_faults(self._requests, path)

    def take_notification_fault(self) -> tuple[str, int] | None:
        """(kind, group size) for the next change notification, or None; consumes one count."""
        with self._lock:
            if not self._notifications:
                return None
            entry = self._notifications[0]
            kind, size = entry[0], entry[2]
            entry[1] -= 1
            if entry[1] <= 0:
                self._notifications.pop(0)
            return kind, size

    def snapshot(self) -> dict[str, Any]:
        """The pending faults as JSON."""
        with self._lock:
            return {
                "requests": [asdict(f) for f in self._requests],
                "notifications": [{"kind": k, "remaining": r} for k, r, _ in self._notifications],
            }

    def configure(self, spec: Mapping[str, Any]) -> None:
        """Add a fault from its JSON form (the ``POST /_faults`` body); ValueError when malformed."""
        kind = spec.get("kind")
        count = int(spec.get("count", 1))
        prefix = spec.get("pathPrefix")
        if kind == "throttle":
            self.throttle(count, int(spec.get("retryAfter", 1)), prefix)
        elif kind == "unavailable":
            retry = spec.get("retryAfter")
            self.unavailable(count, int(spec.get("status", 503)), int(retry) if retry is not None else None, prefix)
        elif kind == "slow":
            self.slow(float(spec.get("seconds", 1.0)), count, prefix)
        elif kind in NOTIFICATION_KINDS:
            {
                "drop": self.drop_notifications,
                "duplicate": self.duplicate_notifications,
                "reorder": self.reorder_notifications,
            }[kind](count)
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    def _add(self, fault: RequestFault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._requests.append(fault)

    def _add_notification(self, kind: str, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._notifications.append([kind, count, count])
