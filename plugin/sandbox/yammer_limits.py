"""Rate limiting and fault injection for the Yammer emulator: a sliding-window limiter and a fault queue."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from plugin.sandbox.dev_routes import QueuedFault, take_faults

#: Yammer's documented limit for the messages endpoints: 10 requests per user per app in 30 seconds.
MESSAGES_LIMIT = 10
MESSAGES_WINDOW = 30.0


class SlidingWindowLimiter:
    """At most ``limit`` admitted requests per key in any ``window`` seconds of ``clock`` time."""

    def __init__(self, clock: Callable[[], float], *, limit: int = MESSAGES_LIMIT, window: float = MESSAGES_WINDOW):
        self.clock = clock
        self.limit = limit
        self.window = window
        self._hits: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: Hashable) -> int | None:
        """Admit a request (None) or refuse it, returning whole seconds until the next one would be admitted."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) < self.limit:
                hits.append(now)
                return None
            # Refused requests are not recorded, so a client that honours Retry-After gets through then.
            return max(1, math.ceil(hits[0] + self.window - now))

    def remaining(self, key: Hashable) -> int:
        """Requests ``key`` may still make in the current window."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key, ())
            return self.limit - sum(1 for at in hits if at > now - self.window)

    def reset(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._hits.clear()


@dataclass
class Fault(QueuedFault):
    """A fault of the Yammer emulator (paths under /api/v1)."""

    api_prefix: ClassVar[str] = "/api/v1"


class YammerFaults:
    """The fault plan of one emulator, shaped like the Graph emulator's; thread-safe, consumed as faults fire.

    Each authenticated API request takes at most one delay and one status fault among those matching its path,
    in the order they were added.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def throttle(self, count: int = 1, retry_after: int = 1, path_prefix: str | None = None) -> None:
        """Answer the next ``count`` matching requests with 429 and ``Retry-After: retry_after``."""
        self._add(Fault("status", count, 429, retry_after, path_prefix=path_prefix))

    def unavailable(
        self, count: int = 1, status: int = 503, retry_after: int | None = None, path_prefix: str | None = None
    ) -> None:
        """Answer the next ``count`` matching requests with 503 (or 504), optionally with ``Retry-After``."""
        if status not in (503, 504):
            raise ValueError("status must be 503 or 504")
        self._add(Fault("status", count, status, retry_after, path_prefix=path_prefix))

    def slow(self, seconds: float, count: int = 1, path_prefix: str | None = None) -> None:
        """Delay the next ``count`` matching requests by ``seconds``."""
        self._add(Fault("slow", count, seconds=seconds, path_prefix=path_prefix))

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> int:
        """How many more times faults will fire."""
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def snapshot(self) -> list[dict[str, Any]]:
        """The pending faults as JSON."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def configure(self, spec: Mapping[str, Any]) -> None:
        """Add a fault from its JSON form (the ``POST /_faults`` body); ValueError when malformed."""
        kind = spec.get("kind")
        count = int(spec.get("count", 1))
        prefix = spec.get("pathPrefix")
        retry = spec.get("retryAfter")
        if kind == "throttle":
            self.throttle(count, int(retry if retry is not None else 1), prefix)
        elif kind == "unavailable":
            self.unavailable(count, int(spec.get("status", 503)), int(retry) if retry is not None else None, prefix)
        elif kind == "slow":
            self.slow(float(spec.get("seconds", 1.0)), count, prefix)
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    def take(self, path: str) -> tuple[float, Fault | None]:
        """(seconds to delay, status fault or None) for a request to ``path``; consumes what fires."""
        with self._lock:
            return take_faults(self._faults, path)

    def _add(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(fault)
