"""`flask yammer sync` and the periodic Yammer job, against the emulators mounted in the test app.

The command and the job build their own Yammer client and delegated tokens from the app's settings, so these
runs also cover the real MSAL refreshing a participant's cached sign-in against the in-process dev authority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.adapters.msal_client import GRAPH_USER_READ
from plugin.models import Activity, Cohort, CohortCommunity, Community, Person
from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.scenario import Scenario, ScenarioCommunity
from plugin.services import tokens
from plugin.services.people import Caller
from tests.factories import make_cohort, make_enrolment, make_person

GROUP_ID = 4_242_888


@dataclass
class Setup:
    cohort: Cohort
    scenario: Scenario
    people: list[Person]

    def post(self, count: int) -> None:
        start = datetime.now(UTC) - timedelta(hours=2)
        for n in range(count):
            author = self.people[n % len(self.people)]
            self.scenario.post_in_community(GROUP_ID, author.entra_oid, f"Les {n} uit een klantcase",
                                            at=start + timedelta(minutes=n))


@pytest.fixture
def setup(app: Flask, session: Session) -> Setup:
    """A running cohort whose Viva Engage community is a fresh one in the emulator, with three participants."""
    scenario: Scenario = app.extensions["sandbox"].scenario
    chosen = list(scenario.people.values())[1:4]
    scenario.communities[GROUP_ID] = ScenarioCommunity(GROUP_ID, "Kennisdeling", members=[p.oid for p in chosen])
    cohort = make_cohort(session, start_date=date.today() - timedelta(days=7))
    community = Community(yammer_group_id=str(GROUP_ID), display_name="Kennisdeling")
    session.add(community)
    session.flush()
    session.add(CohortCommunity(cohort_id=cohort.id, community_id=community.id))
    people = []
    for person in chosen:
        row = make_person(session, entra_oid=person.oid, display_name=person.name, upn=person.upn)
        make_enrolment(session, cohort=cohort, person=row)
        people.append(row)
    session.commit()
    return Setup(cohort, scenario, people)


def sign_in(session: Session, authority: DevAuthority, person: Person) -> None:
    """The participant opened the tab (on-behalf-of for Graph left a refresh token in their cache)."""
    caller = Caller(person.id, person.entra_oid, person.display_name, "nl", frozenset(), frozenset())
    tokens.delegated_token(session, caller, authority.mint_sso_token(person.entra_oid), [GRAPH_USER_READ])


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Activity).where(Activity.source == "yammer")) or 0


def test_sync_shows_progress_and_a_summary(runner: FlaskCliRunner, session: Session, authority: DevAuthority,
                                           setup: Setup) -> None:
    sign_in(session, authority, setup.people[0])
    setup.post(7)
    result = runner.invoke(args=["yammer", "sync", "--cohort", str(setup.cohort.id)])
    assert result.exit_code == 0, result.output
    assert "Polling communities" in result.output
    assert "Kennisdeling: 7 new messages, 0 re-read, 0 withdrawn, 1 Yammer request(s) as 1 participant(s), ok" \
        in result.output
    assert "2 participant(s) need to sign in to Viva Engage" in result.output
    assert count(session) == 7

    again = runner.invoke(args=["yammer", "sync", "--recheck"])  # every running cohort; re-read now
    assert again.exit_code == 0, again.output
    assert "Kennisdeling: 0 new messages, 7 re-read, 0 withdrawn" in again.output
    assert count(session) == 7


def test_errors_are_one_line(runner: FlaskCliRunner, setup: Setup) -> None:
    unknown = runner.invoke(args=["yammer", "sync", "--cohort", "999999"])
    assert unknown.exit_code == 1 and unknown.output == "Error: cohort 999999 does not exist\n"

    setup.post(2)
    nobody = runner.invoke(args=["yammer", "sync", "--cohort", str(setup.cohort.id)])
    assert nobody.exit_code == 1 and "Traceback" not in nobody.output
    assert "3 participant(s) need to sign in to Viva Engage" in nobody.output
    assert nobody.output.splitlines()[-1] == (
        f"Error: 1 community(ies) could not be read; {GROUP_ID}: "
        "no participant of this community has a usable Viva Engage sign-in")


def test_the_periodic_job_polls_running_cohorts(app: Flask, session: Session, authority: DevAuthority,
                                                setup: Setup) -> None:
    sign_in(session, authority, setup.people[1])
    setup.post(4)
    assert app.extensions["tasks"]["poll_yammer"].call_local() == 4
    assert app.extensions["tasks"]["poll_yammer"].call_local() == 0  # nothing new, nothing counted twice
    assert count(session) == 4
