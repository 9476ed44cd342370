"""Health checks for `/healthz` and `flask doctor`: database and job queue."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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


def check_queue(redis_url: str | None) -> Check:
    """Ping Redis when the queue uses it; the SQLite queue lives beside the database."""

    def probe() -> str:
        if not redis_url:
            return "sqlite"
        import redis

        client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "redis"

    return _timed("queue", probe)


def check(engine: Engine, redis_url: str | None) -> HealthReport:
    """Check every component the app depends on."""
    return HealthReport([check_database(engine), check_queue(redis_url)])
