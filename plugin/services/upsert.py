"""Portable INSERT … ON CONFLICT for SQLite and PostgreSQL, so concurrent workers never duplicate a row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert(session: Session, model: type) -> Any:
    return _DIALECTS[session.get_bind().dialect.name](model)


#: Rows per statement: keeps every multi-row INSERT under SQLite's limit on bound parameters.
CHUNK = 500


def _chunks(rows: Sequence[Mapping[str, Any]]) -> Iterable[list[Mapping[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield list(rows[start:start + CHUNK])


def insert_ignore(session: Session, model: type, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any that a unique constraint says exist already; returns rows inserted."""
    inserted = 0
    for chunk in _chunks(rows):
        # Without preserve_rowcount an INSERT's rowcount is -1 on psycopg (SQLAlchemy closes the cursor first).
        result = session.execute(_insert(session, model).values(chunk).on_conflict_do_nothing(),
                                 execution_options={"preserve_rowcount": True})
        inserted += max(result.rowcount, 0)
    return inserted


def upsert(session: Session, model: type, rows: Sequence[Mapping[str, Any]], *, keys: Iterable[str],
           update: Iterable[str]) -> None:
    """Insert rows or, when `keys` match an existing row, update the `update` columns."""
    keys, columns = list(keys), list(update)
    for chunk in _chunks(rows):
        statement = _insert(session, model).values(chunk)
        session.execute(statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in columns}
        ))
