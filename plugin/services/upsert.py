"""Portable INSERT … ON CONFLICT for SQLite and PostgreSQL, so concurrent workers never duplicate a row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(session: Session, model: type) -> Any:
    return _DIALECTS[session.get_bind().dialect.name](model)


def insert_ignore(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any that a unique constraint says exist already; returns rows inserted."""
    if not rows:
        return 0
    result = session.execute(_insert(session, model).values(list(rows)).on_conflict_do_nothing())
    return max(result.rowcount, 0)


def upsert(session: Session, model: type, rows: Sequence[Mapping[str, Any]], *, keys: Iterable[str],
           update: Iterable[str]) -> None:
    """Insert rows or, when `keys` match an existing row, update the `update` columns."""
    if not rows:
        return
    statement = _insert(session, model).values(list(rows))
    columns = list(update)
    session.execute(statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    ))
