"""Retry a unit of work when the database reports a conflict between concurrent writers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

T = TypeVar("T")

# SQLite: a deferred transaction cannot upgrade to a write lock while another writer holds it.
# PostgreSQL: deadlock_detected (40P01) and serialization_failure (40001).
_SQLITE_BUSY = ("database is locked", "database table is locked")
_PG_RETRYABLE = {"40P01", "40001"}


def is_write_conflict(exc: DBAPIError) -> bool:
    """True for errors that mean "another writer got there first; try again"."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in _PG_RETRYABLE or any(text in str(exc.orig) for text in _SQLITE_BUSY)


def with_retry(session: Session, work: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.05) -> T:
    """Run `work` (which commits); on a write conflict roll back and run it again, a few times."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not is_write_conflict(exc):
                raise
            time.sleep(base_delay * attempt * (1 + random.random()))  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")
