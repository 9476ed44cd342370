"""Health checks for `/healthz` and `flask doctor`: database and job queue."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from huey import Huey
from sqlalchemy import text
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class Check:
    """One component's status."""

    name: str
    ok: bool
    detail: str
    latency_ms: float


@dataclass(frozen=True)
class HealthReport:
    """All checks; healthy only when every check passed."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every component is reachable."""
        return all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape of `/healthz`."""
        return {
            "status": "ok" if self.ok else "unavailable",
            **{c.name: {"ok": c.ok, "detail": c.detail, "latency_ms": round(c.latency_ms, 1)} for c in self.checks},
        }


def _timed(name: str, probe) -> Check:
    started = time.perf_counter()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the class name says which
        detail = f"{type(exc).__name__}: unreachable"
        ok = False
    return Check(name, ok, detail, (time.perf_counter() - started) * 1000)


def check_database(engine: Engine) -> Check:
    """Run `SELECT 1` on the app's engine (pre-ping replaces connections that died)."""

    def probe() -> str:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return engine.dialect.name

    return _timed("database", probe)


_STORAGE_NAMES = {"RedisStorage": "redis", "SqliteStorage": "sqlite", "MemoryStorage": "memory"}


def check_queue(huey: Huey) -> Check:
    """Ask the queue's storage how many jobs wait (Redis or the SQLite file): it answers only when it is up."""

    def probe() -> str:
        waiting = huey.pending_count()
        kind = _STORAGE_NAMES.get(type(huey.storage).__name__, type(huey.storage).__name__)
        return f"{kind}, {waiting} waiting"

    return _timed("queue", probe)


def check(engine: Engine, huey: Huey) -> HealthReport:
    """Check every component the app depends on."""
    return HealthReport([check_database(engine), check_queue(huey)])
