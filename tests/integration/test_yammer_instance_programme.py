"""A cohort on a programme from the instance folder is recomputed after a Viva Engage poll."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from plugin.models import Cohort
from plugin.services.yammer_sync import sync_yammer
from tests.integration.test_sync_instance_programme import LOCAL_ID, instance_programme, recomputed_rows
from tests.integration.test_yammer_sync import World, server, world  # noqa: F401 - fixtures


def test_a_poll_recomputes_a_cohort_whose_programme_is_only_in_the_instance_folder(
        world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811 - fixture
    instance = instance_programme(tmp_path)
    # The world's cohort, moved to the admin-loaded programme (the same missions under another id).
    world.session.execute(update(Cohort).where(Cohort.id == world.cohort.id)
                          .values(programme_id=LOCAL_ID, programme_version="1"))
    world.session.commit()
    world.session.refresh(world.cohort)
    world.sign_in(world.people[0])
    world.post(8, replies_every=4)
    caplog.set_level("ERROR", logger="plugin.services.yammer_sync")

    outcome = sync_yammer(world.session, world.client, cohort_id=world.cohort.id, instance_path=instance)

    assert outcome.ingested == 10 and outcome.errors == {}
    assert outcome.recomputed == {world.cohort.id}
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    progress, risk = recomputed_rows(world.session, world.cohort)
    assert progress > 0 and risk > 0
