"""SQLAlchemy 2.0 engine and one session per request, CLI command or job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now in UTC (a callable default, evaluated per row)."""
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """Create the engine for a database URL, with SQLite made safe for a web server and a worker."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app: Flask) -> None:
    """Attach an engine and session factory to the app and close sessions at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db.engine"] = engine
    app.extensions["db.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def get_engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["db.engine"]


def get_session() -> Session:
    """The session of this request or CLI command, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db.sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the session at the end of the app context; uncommitted work is rolled back."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


#: Execution option naming how a SQLite transaction begins: "IMMEDIATE" takes the write lock at BEGIN (waiting up
#: to the busy timeout), for a transaction that will write anyway (``session.connection(execution_options=…)``).
SQLITE_BEGIN = "sqlite_begin"


def begin_write(session: Session) -> None:
    """On SQLite: end any open transaction, begin one that holds the write lock from the start (elsewhere: nothing)."""
    # A SQLite read transaction cannot become a write one once another connection (the webhook, a worker) has
    # written since its first read: "database is locked" at once, whatever the busy timeout. Taking the lock at
    # BEGIN makes the writer wait its turn instead (busy timeout). PostgreSQL writers wait for row locks by themselves.
    if session.get_bind().dialect.name == "sqlite":
        session.commit()
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


def _sqlite_begin(connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


@contextmanager
def job_session(app: Flask) -> Iterator[Session]:
    """A session for background work outside a request, closed when the block ends."""
    session = app.extensions["db.sessionmaker"]()
    try:
        yield session
    finally:
        session.close()
