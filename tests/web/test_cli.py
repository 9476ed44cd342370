"""The admin commands through their real entry point, `flask --app wsgi …`, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from plugin.services.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


def flask(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AMBASSADOR_", "DATABASE_URL",
                                                                      "SECRET_KEY", "GRAPH_", "APP_BASE_URL"))}
    return subprocess.run([FLASK, "--app", "wsgi", *args], cwd=ROOT, env=base | env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_missing_production_settings_give_one_line_and_exit_2(sqlite_url):
    result = flask("db", "current", env={"DATABASE_URL": sqlite_url})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("ambassador: configuration error: missing required setting(s) for production: "
                                    "SECRET_KEY")
    assert "Traceback" not in result.stderr


def test_bad_database_url_gives_one_line(sqlite_url):
    result = flask("db", "current", env={"AMBASSADOR_DEMO": "1", "DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2
    assert result.stderr.strip() == ("ambassador: configuration error: DATABASE_URL uses an unsupported database "
                                     "'mysql'; use sqlite or postgresql")


def test_db_upgrade_downgrade_and_upgrade_again(sqlite_url):
    env = {"AMBASSADOR_DEMO": "1", "DATABASE_URL": sqlite_url}
    up = flask("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    head = ScriptDirectory.from_config(alembic_config(sqlite_url)).get_current_head()
    assert up.stdout.strip() == f"database at {head}"
    down = flask("db", "downgrade", "base", env=env)
    assert down.returncode == 0, down.stderr
    assert down.stdout.strip() == "database at base"
    assert flask("db", "upgrade", env=env).returncode == 0


def test_db_upgrade_to_an_unknown_revision_fails_cleanly(sqlite_url):
    result = flask("db", "upgrade", "nope", env={"AMBASSADOR_DEMO": "1", "DATABASE_URL": sqlite_url})
    assert result.returncode == 1
    assert "migration failed" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_against_an_unreachable_database_fails_cleanly():
    result = flask("db", "upgrade", env={"AMBASSADOR_DEMO": "1",
                                         "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test"})
    assert result.returncode == 1
    assert "Error: database unreachable:" in result.stderr and "Traceback" not in result.stderr


def test_demo_seeds_once_and_is_idempotent(sqlite_url):
    # No AMBASSADOR_DEMO here: asking for the demo turns on the sandbox by itself.
    first = flask("demo", "--no-serve", env={"DATABASE_URL": sqlite_url})
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("demo data seeded: 40 people")
    second = flask("demo", "--no-serve", env={"DATABASE_URL": sqlite_url})
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("demo data already seeded: 40 people")
    assert first.stdout.split(": ", 1)[1] == second.stdout.split(": ", 1)[1]


def test_demo_refuses_real_azure_settings(sqlite_url):
    result = flask("demo", "--no-serve", env={"DATABASE_URL": sqlite_url, "AZURE_TENANT_ID": "real-tenant"})
    assert result.returncode == 2
    assert "refuses real Azure settings" in result.stderr
