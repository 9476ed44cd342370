"""Run Alembic migrations from code (used by `flask db …`, the demo and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError

from ..config import PROJECT_ROOT
from ..db import make_engine

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class MigrationError(Exception):
    """A migration could not run; the message says why in one line."""


def alembic_config(database_url: str) -> Config:
    """An Alembic config for our migrations folder and this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def _run(action, database_url: str, revision: str) -> None:
    try:
        action(alembic_config(database_url), revision)
    except CommandError as exc:
        raise MigrationError(f"migration failed: {exc}") from exc
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "cannot connect"
        raise MigrationError(f"database unreachable: {reason}") from exc


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema to `revision`."""
    _run(command.upgrade, database_url, revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the schema to `revision` (`base` drops everything)."""
    _run(command.downgrade, database_url, revision)


def current(database_url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
