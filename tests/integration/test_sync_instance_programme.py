"""A cohort on a programme an admin loaded into the instance folder is recomputed after a Teams delta sync.

The programme file lives only in ``<instance>/programmes`` (not among the shipped ones), so the recompute after
the sync finds it only when the sync passes the app's instance path on, as the jobs and the command line do.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.domain.programme import DEFAULT_PATH
from plugin.models import Cohort, CohortTeam, Enrolment, MissionProgress, Person, RiskAssessment
from plugin.services.programmes import UnknownProgramme, copy_missions, programme_for
from plugin.services.sync import sync_cohort
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.test_graph_adapter import GraphWorld
from tests.integration.test_sync import Rows, rows, world  # noqa: F401 - fixtures

LOCAL_ID = "local-embassy"


def instance_programme(instance: Path) -> Path:
    """An admin-loaded programme (the shipped one under another id), only in the instance folder."""
    folder = instance / "programmes"
    folder.mkdir(parents=True, exist_ok=True)
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace('id = "social-embassy"', f'id = "{LOCAL_ID}"', 1)
    (folder / f"{LOCAL_ID}-v1.toml").write_text(text, encoding="utf-8")
    return instance


def local_cohort(session: Session, people: list[Person], instance: Path, **fields) -> Cohort:
    """A running cohort of the instance folder's programme, with its missions and these participants."""
    cohort = make_cohort(session, **({"start_date": date.today() - timedelta(days=14), "baseline_weeks": 8,
                                      "programme_id": LOCAL_ID, "programme_version": "1"} | fields))
    with pytest.raises(UnknownProgramme):
        programme_for(cohort)  # not a shipped programme
    copy_missions(session, cohort, programme_for(cohort, instance))
    for person in people:
        make_enrolment(session, cohort=cohort, person=person)
    return cohort


def recomputed_rows(session: Session, cohort: Cohort) -> tuple[int, int]:
    """(progress rows, risk rows) stored for the cohort's participants."""
    enrolments = select(Enrolment.id).where(Enrolment.cohort_id == cohort.id).scalar_subquery()
    progress = session.scalar(select(func.count()).select_from(MissionProgress)
                              .where(MissionProgress.enrolment_id.in_(enrolments)))
    risk = session.scalar(select(func.count()).select_from(RiskAssessment)
                          .where(RiskAssessment.enrolment_id.in_(enrolments)))
    return progress, risk


def test_sync_recomputes_a_cohort_whose_programme_is_only_in_the_instance_folder(
        world: GraphWorld, rows: Rows, session: Session, tmp_path: Path,  # noqa: F811 - fixtures
        caplog: pytest.LogCaptureFixture) -> None:
    instance = instance_programme(tmp_path)
    cohort = local_cohort(session, [make_person(session, entra_oid=oid) for oid in world.authors], instance)
    session.add(CohortTeam(cohort_id=cohort.id, team_id=rows.team.id))
    session.commit()
    world.post_roots(12, replies_every=3)
    caplog.set_level("ERROR", logger="plugin.services.sync")

    outcome = sync_cohort(session, world.graph, cohort.id, instance_path=instance)

    assert outcome.errors == {} and outcome.ingested == 16
    assert outcome.recomputed == {cohort.id}
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    progress, risk = recomputed_rows(session, cohort)
    assert progress > 0 and risk > 0
