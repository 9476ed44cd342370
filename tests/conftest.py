"""One fixture set for the whole suite: `app`, `client`, `runner`, `session` (and `database_url`, `engine`).

The database is SQLite in a temporary folder unless DATABASE_URL is set (CI sets it to PostgreSQL). The
schema is created once per run; each test runs inside a transaction that is rolled back afterwards, so a
service's `commit()` only releases a savepoint and tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

import plugin.models  # noqa: F401 - registers every table
from plugin import create_app
from plugin.db import Base, get_session, make_engine

# Settings that would make the app refuse to start or talk to real Microsoft endpoints in tests.
for _name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AMBASSADOR_DEMO"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database of this run: DATABASE_URL if set, else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine with the models' schema, created once per run."""
    engine = make_engine(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def app(database_url: str, connection: Connection) -> Iterator[Flask]:
    """The app in test mode with the sandbox mounted, its sessions bound to the test's transaction."""
    app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url})
    app.extensions["db.engine"].dispose()
    app.extensions["db.engine"] = connection.engine
    app.extensions["db.sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield app


@pytest.fixture
def authority(app: Flask):
    """The sandbox's dev Entra authority (mints Teams SSO tokens for the demo users)."""
    return app.extensions["sandbox"].authority


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for HTTP requests."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for `flask` commands."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's session, as services get it."""
    with app.app_context():
        yield get_session()
