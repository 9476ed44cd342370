"""`flask doctor`: every check green against the sandbox, and each problem named with what to do about it.

The app under test is served over real HTTP (the doctor probes the public URL from the network, as Graph would)
with its own migrated SQLite database; the authority and Graph are the sandbox, reached in-process.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from plugin import create_app
from plugin.cli_doctor import doctor_command
from plugin.cli_graph import graph_cli
from plugin.config import PROJECT_ROOT
from plugin.db import get_session
from plugin.models import Channel, CohortTeam, GraphSubscription, Team
from plugin.services import migrations
from plugin.services.doctor import check_subscriptions
from tests.factories import make_cohort
from tests.integration.graph_fixtures import serve_http

CHECKS = ["settings", "database", "queue", "authority", "signing keys", "app token", "graph", "graph permissions",
          "subscriptions", "public URL", "health", "webhook"]


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_app(database_url: str, base_url: str) -> Flask:
    return create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url, "APP_BASE_URL": base_url})


def add_cohort_team(app: Flask) -> Team:
    """A running cohort with one of the sandbox's teams (and its channels) in the app's database."""
    scenario = app.extensions["sandbox"].scenario
    graph_team = next(iter(scenario.teams.values()))
    with app.app_context():
        session = get_session()
        team = Team(graph_id=graph_team.id, display_name=graph_team.name)
        team.channels = [Channel(graph_id=c.id, display_name=c.name) for c in graph_team.channels.values()]
        session.add(team)
        cohort = make_cohort(session, start_date=date.today() - timedelta(days=7))
        session.flush()
        session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
        session.commit()
        return team


def lines(output: str) -> dict[str, str]:
    """The doctor's check lines by name: '✔ detail' or '✖ detail'."""
    found = {}
    for line in output.splitlines():
        if line[:1] in "✔✖":
            name = next(n for n in sorted(CHECKS, key=len, reverse=True) if line[2:].startswith(n + " "))
            found[name] = f"{line[0]} {line[2 + len(name):].strip()}"
    return found


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Flask]:
    """The app with a migrated database of its own, served on a loopback port, with a cohort team."""
    database_url = f"sqlite:///{tmp_path / 'doctor.db'}"
    migrations.upgrade(database_url)
    holder: dict[str, Flask] = {}

    def build(base: str) -> Flask:
        holder["app"] = make_app(database_url, base)
        return holder["app"]

    with serve_http(build):
        app = holder["app"]
        add_cohort_team(app)
        yield app
        app.extensions["db.engine"].dispose()


def test_all_green_against_the_sandbox_once_subscribed(served: Flask) -> None:
    runner = served.test_cli_runner()
    before = runner.invoke(doctor_command)
    assert before.exit_code == 1, before.output
    found = lines(before.output)
    assert list(found) == CHECKS
    assert [name for name, line in found.items() if line.startswith("✖")] == ["subscriptions"]
    assert found["subscriptions"].endswith("channel(s) of running cohorts have no subscription")
    assert "→ run `flask --app wsgi graph subscribe`" in before.output
    assert before.output.splitlines()[-1] == "Error: 1 of 12 checks found a problem"

    subscribed = runner.invoke(graph_cli, ["subscribe"])
    assert subscribed.exit_code == 0, subscribed.output

    after = runner.invoke(doctor_command)
    assert after.exit_code == 0, after.output
    found = lines(after.output)
    assert all(line.startswith("✔") for line in found.values()), after.output
    assert found["database"].startswith("✔ sqlite, schema at ") and found["database"].endswith("(the newest)")
    assert found["graph permissions"].startswith("✔ read the channels, members and messages of ")
    assert "channel(s) subscribed; the first expires" in found["subscriptions"]
    assert found["webhook"] == f"✔ {served.config['APP_BASE_URL']}/webhooks/graph answers Graph's validation handshake"
    assert after.output.splitlines()[-1] == "all 12 checks passed"


def test_expired_subscriptions_are_a_problem(served: Flask) -> None:
    runner = served.test_cli_runner()
    assert runner.invoke(graph_cli, ["subscribe"]).exit_code == 0
    with served.app_context():
        session = get_session()
        for subscription in session.scalars(select(GraphSubscription)):
            subscription.expires_at = datetime.now(UTC) - timedelta(hours=1)
        session.commit()
    result = runner.invoke(doctor_command)
    assert result.exit_code == 1
    found = lines(result.output)
    assert found["subscriptions"].startswith("✖ ")
    assert "subscription(s) expired without renewal" in found["subscriptions"]
    assert "graph renew` and keep `flask --app wsgi worker` running" in result.output


def test_an_unmigrated_database_and_an_unreachable_url(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", base)
    try:
        result = app.test_cli_runner().invoke(doctor_command)
    finally:
        app.extensions["db.engine"].dispose()
    assert result.exit_code == 1
    found = lines(result.output)
    assert list(found) == CHECKS
    assert found["database"] == "✖ sqlite, but no schema (not migrated)"
    assert "→ run `flask --app wsgi db upgrade`" in result.output
    assert found["subscriptions"] == "✖ not checked: the database is not ready"
    assert found["app token"].startswith("✔ issued for Microsoft Graph")  # the sandbox is in-process
    assert found["health"] == f"✖ cannot reach {base}/healthz (ConnectError)"
    assert found["webhook"] == f"✖ cannot reach {base}/webhooks/graph (ConnectError)"
    failed = [name for name, line in found.items() if line.startswith("✖")]
    assert failed == ["database", "graph permissions", "subscriptions", "health", "webhook"]
    assert result.output.splitlines()[-1] == f"Error: {len(failed)} of 12 checks found a problem"


def _flask(*args: str, env: dict[str, str], **options) -> subprocess.CompletedProcess | subprocess.Popen:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AMBASSADOR_", "DATABASE_URL",
                                                                      "SECRET_KEY", "GRAPH_", "APP_BASE_URL"))}
    command = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", *args]
    if options.pop("background", False):
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=base | env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    return subprocess.run(command, cwd=PROJECT_ROOT, env=base | env, capture_output=True, text=True, check=False,
                          timeout=180)


def test_production_settings_that_reach_nothing(tmp_path: Path) -> None:
    """Through `flask --app wsgi doctor`: each unreachable service is one line with what to check; no secret shown."""
    nowhere = f"https://127.0.0.1:{closed_port()}"
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}", "SECRET_KEY": "too-short",
           "AZURE_TENANT_ID": "11111111-2222-4333-8444-555555555555",
           "AZURE_CLIENT_ID": "66666666-7777-4888-8999-000000000000", "AZURE_CLIENT_SECRET": "s3cr3t-never-shown",
           "GRAPH_CLIENT_STATE": "state-never-shown", "APP_BASE_URL": nowhere, "AZURE_AUTHORITY_HOST": nowhere,
           "GRAPH_BASE_URL": nowhere}
    migrations.upgrade(env["DATABASE_URL"])
    result = _flask("doctor", env=env)
    assert result.returncode == 1, result.stderr
    found = lines(result.stdout)
    assert list(found) == [name for name in CHECKS if name != "graph permissions"]  # Graph needs a token first
    assert found["settings"] == "✖ SECRET_KEY is shorter than 32 characters"
    assert found["database"].startswith("✔ sqlite, schema at ")
    assert found["authority"] == f"✖ cannot reach {nowhere} (ConnectError)"
    keys = f"{nowhere}/{env['AZURE_TENANT_ID']}/discovery/v2.0/keys"
    assert found["signing keys"] == f"✖ cannot reach {keys} (ConnectError)"
    assert found["app token"] == "✖ cannot reach the token endpoint (ConnectError)"
    assert f"→ check AZURE_AUTHORITY_HOST ({nowhere}), AZURE_TENANT_ID" in result.stdout
    assert found["graph"] == "✖ not checked: there is no app-only token"
    assert found["subscriptions"] == "✔ none needed yet: no running cohort has a team with channels"
    assert found["public URL"] == f"✔ {nowhere} is https"
    assert found["health"] == f"✖ cannot reach {nowhere}/healthz (ConnectError)"
    assert "secrets.token_urlsafe(48)" in result.stdout
    assert result.stderr.strip() == "Error: 7 of 11 checks found a problem"
    assert "s3cr3t-never-shown" not in result.stdout + result.stderr
    assert "state-never-shown" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_all_green_in_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ADMIN.md's sandbox walk-through: serve the demo, then subscribe and run the doctor from another app."""
    port = closed_port()
    env = {"AMBASSADOR_DEMO": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
           "APP_BASE_URL": f"http://127.0.0.1:{port}"}
    server = _flask("demo", "--port", str(port), env=env, background=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the demo did not start"
            time.sleep(0.5)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        admin = create_app()  # what `flask --app wsgi …` builds in the admin's terminal (not the serving process)
        runner = admin.test_cli_runner()
        subscribed = runner.invoke(graph_cli, ["subscribe"])
        assert subscribed.exit_code == 0, subscribed.output
        result = runner.invoke(doctor_command)
        admin.extensions["db.engine"].dispose()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result.exit_code == 0, result.output
    found = lines(result.output)
    assert list(found) == CHECKS and all(line.startswith("✔") for line in found.values()), result.output
    assert found["settings"].startswith("✔ demo (sandbox)")


def test_a_wrong_client_secret(served: Flask) -> None:
    served.config["AZURE_CLIENT_SECRET"] = "not-the-registered-secret"
    result = served.test_cli_runner().invoke(doctor_command)
    assert result.exit_code == 1
    found = lines(result.output)
    assert found["app token"].startswith("✖ refused: error invalid_client"), result.output
    assert "→ check AZURE_CLIENT_ID and the client secret or certificate in the app registration" in result.output
    assert found["graph"] == "✖ not checked: there is no app-only token"
    assert "not-the-registered-secret" not in result.output


def test_subscriptions_graph_forgot_are_a_problem(served: Flask) -> None:
    """With a real Graph the doctor compares its list with ours (the sandbox in-process is not the server's)."""
    assert served.test_cli_runner().invoke(graph_cli, ["subscribe"]).exit_code == 0
    with served.app_context():
        session = get_session()
        ours = set(session.scalars(select(GraphSubscription.subscription_id)))
        kept = set(list(ours)[1:])
        finding = check_subscriptions(session, kept)
        assert finding == check_subscriptions(session, kept)  # reading changes nothing
        assert not finding.ok
        assert finding.detail == "Graph no longer has 1 subscription(s) stored here"
        assert finding.fix == "run `flask --app wsgi graph renew`, then `flask --app wsgi graph subscribe`"
        assert check_subscriptions(session, ours).ok
