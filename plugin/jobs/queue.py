"""The job queue: Huey on Redis when REDIS_URL is set, otherwise on a SQLite file beside the database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool

if TYPE_CHECKING:
    from flask import Flask


def queue_path(database_url: str, instance_path: str) -> Path:
    """Where the SQLite queue lives: beside a SQLite database, else in the instance folder."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        return Path(database_url.removeprefix("sqlite:///")).with_name("queue.db")
    return Path(instance_path) / "queue.db"


#: Longest pause of an idle worker between looks at a queue that cannot block (SQLite). Huey's default backs off
#: to 10 s, which alone would break the 5-second time-to-badge budget; a look is one small exclusive transaction
#: on the queue file.
IDLE_POLL_SECONDS = 0.25


def consumer_options(huey: Huey) -> dict[str, float]:
    """Settings for huey's `Consumer` on this queue: Redis wakes a worker by itself, SQLite is polled often."""
    if huey.storage.blocking:
        return {}
    return {"initial_delay": 0.05, "backoff": 1.5, "max_delay": IDLE_POLL_SECONDS}


def make_huey(app: Flask) -> Huey:
    """Build the Huey instance for the app's settings (tests run tasks immediately, in-process)."""
    immediate = bool(app.config.get("TESTING")) and not app.config.get("HUEY_REAL_QUEUE")
    if app.config.get("REDIS_URL") and not immediate:
        # Timeouts so a Redis that is down makes /healthz answer 503 promptly instead of hanging.
        pool = ConnectionPool.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)
        return RedisHuey("ambassador", connection_pool=pool)
    path = queue_path(app.config["DATABASE_URL"], app.instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("ambassador", filename=str(path), immediate=immediate)
