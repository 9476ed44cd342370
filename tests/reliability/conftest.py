"""A database of its own for tests whose workers must see each other's commits (no rolled-back transaction)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from plugin.db import Base, make_engine


@pytest.fixture
def own_database(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """(url, engine) of an empty schema: a fresh SQLite file, or on PostgreSQL a schema of its own, dropped after."""
    if not database_url.startswith("postgresql"):
        url = f"sqlite:///{tmp_path / 'own.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        yield url, engine
        engine.dispose()
        return
    schema = f"reliability_{secrets.token_hex(4)}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    url = f"{database_url}{separator}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
