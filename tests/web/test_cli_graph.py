"""`flask graph subscribe|renew|sync` against the emulators mounted in the test app.

The commands build their own Graph client from the app's settings, so these runs also cover the app-only token
by MSAL client credentials against the in-process dev authority.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.cli_graph import graph_cli
from plugin.models import Activity, Channel, Cohort, CohortTeam, GraphSubscription, Team
from plugin.sandbox.aad_authority import DevAuthority
from tests.factories import make_cohort
from tests.integration.graph_fixtures import Receiver, serve_http
from tests.integration.test_graph_adapter import GraphWorld, graph_world


@pytest.fixture
def world(app: Flask, authority: DevAuthority) -> Iterator[GraphWorld]:
    yield from graph_world(app, authority)


@pytest.fixture
def cohort(session: Session, world: GraphWorld) -> Cohort:
    """A running cohort whose team (two channels) is the world's."""
    team = Team(graph_id=world.team, display_name="Advisory")
    team.channels = [Channel(graph_id=world.channel, display_name="General"),
                     Channel(graph_id=world.other_channel, display_name="Cases")]
    session.add(team)
    cohort = make_cohort(session, start_date=date.today() - timedelta(days=7))
    session.flush()
    session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
    session.commit()
    return cohort


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_http(receiver.app):
        yield receiver


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_sync_shows_progress_and_a_summary(runner: FlaskCliRunner, session: Session, world: GraphWorld,
                                           cohort: Cohort) -> None:
    world.post_roots(12, replies_every=4)
    world.post_roots(5, channel=world.other_channel)
    result = runner.invoke(graph_cli, ["sync", "--cohort", str(cohort.id)])
    assert result.exit_code == 0, result.output
    assert "Syncing channels" in result.output
    assert f"cohort {cohort.id}: 20 messages from 2 channels, 2 Graph requests" in result.output
    assert count(session, Activity) == 20

    everything = runner.invoke(graph_cli, ["sync"])  # every running cohort; nothing new
    assert everything.exit_code == 0, everything.output
    assert f"cohort {cohort.id}: 0 messages from 2 channels" in everything.output


def test_subscribe_then_renew(runner: FlaskCliRunner, session: Session, world: GraphWorld, cohort: Cohort,
                              receiver: Receiver) -> None:
    urls = ["--notification-url", f"{receiver.base}/notify", "--lifecycle-url", f"{receiver.base}/lifecycle"]
    first = runner.invoke(graph_cli, ["subscribe", "--cohort", str(cohort.id), *urls])
    assert first.exit_code == 0, first.output
    assert f"cohort {cohort.id}: 2 subscribed, 0 already subscribed, 0 failed" in first.output
    assert count(session, GraphSubscription) == 2
    assert {h["path"] for h in receiver.handshakes} == {"notify", "lifecycle"}
    second = runner.invoke(graph_cli, ["subscribe", "--cohort", str(cohort.id), *urls])
    assert "0 subscribed, 2 already subscribed" in second.output

    renewed = runner.invoke(graph_cli, ["renew", "--within", str(4 * 24 * 60), "--minutes", "2880"])
    assert renewed.exit_code == 0, renewed.output
    assert renewed.output.strip() == "2 renewed, 0 removed (run `graph subscribe`), 0 failed"


def test_errors_are_one_line(runner: FlaskCliRunner, world: GraphWorld, cohort: Cohort) -> None:
    unknown = runner.invoke(graph_cli, ["sync", "--cohort", "999999"])
    assert unknown.exit_code == 1 and unknown.output == "Error: cohort 999999 does not exist\n"

    refused = runner.invoke(graph_cli, ["subscribe", "--cohort", str(cohort.id), "--notification-url",
                                        "http://example.com/notify", "--minutes", "30"])
    assert refused.exit_code == 1
    error = refused.output.splitlines()[-1]
    assert error.startswith("Error: 2 subscription(s) failed; /teams/") and "ValidationError" in error
    assert "Traceback" not in refused.output


def test_no_app_token_is_one_line(app: Flask, runner: FlaskCliRunner, world: GraphWorld, cohort: Cohort) -> None:
    app.config["AZURE_CLIENT_ID"] = "00000000-0000-4000-8000-00000000dead"  # not registered at the authority
    result = runner.invoke(graph_cli, ["sync", "--cohort", str(cohort.id)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("Error: Graph answered 401 NoAppToken")
