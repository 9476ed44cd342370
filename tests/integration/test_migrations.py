"""Alembic: `upgrade head` builds exactly the models' schema, and the migrations go down and up again."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

import plugin.models  # noqa: F401
from plugin.db import Base, make_engine
from plugin.services import migrations


@pytest.fixture
def empty_database(database_url: str, tmp_path) -> Iterator[str]:
    """A database of its own: a temporary SQLite file, or a throw-away PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"ambassador_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata) + include_diff(conn)
    finally:
        engine.dispose()


def include_diff(conn) -> list:
    """Indexes whose INCLUDE columns (PostgreSQL) differ from the models': Alembic's comparison ignores them."""
    if conn.dialect.name != "postgresql":
        return []
    inspector = inspect(conn)
    diffs = []
    for table in Base.metadata.sorted_tables:
        reflected = {i["name"]: list(i.get("dialect_options", {}).get("postgresql_include") or [])
                     for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            wanted = [getattr(c, "name", c) for c in index.dialect_options["postgresql"]["include"] or ()]
            if str(index.name) in reflected and reflected[str(index.name)] != wanted:
                diffs.append(("include", table.name, str(index.name), reflected[str(index.name)], wanted))
    return diffs


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_matches_models_then_down_and_up_again(empty_database):
    migrations.upgrade(empty_database, "head")
    assert migrations.current(empty_database) is not None
    assert schema_diff(empty_database) == []
    assert set(Base.metadata.tables) <= table_names(empty_database)

    migrations.downgrade(empty_database, "base")
    assert migrations.current(empty_database) is None
    assert table_names(empty_database) <= {"alembic_version"}

    migrations.upgrade(empty_database, "head")
    assert schema_diff(empty_database) == []


def test_the_suite_runs_on_the_database_ci_asked_for(engine):
    """CI sets EXPECT_DIALECT=postgresql for its second pass: prove that pass really used PostgreSQL."""
    expected = os.environ.get("EXPECT_DIALECT", "sqlite" if "DATABASE_URL" not in os.environ else None)
    if expected is None:
        expected = make_url(os.environ["DATABASE_URL"]).get_backend_name()
    assert engine.dialect.name == expected
