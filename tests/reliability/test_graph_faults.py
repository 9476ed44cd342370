"""Graph answers 30 % of requests with 429 or 503: the cohort's delta sync (the worker's job) completes, nothing lost.

tests/integration/test_sync.py proves it for one channel walk; this runs the job's whole unit of work — the
channel list and every channel of the cohort's team — and the next scheduled runs, as the worker would.
"""

from __future__ import annotations

import uuid
from collections import Counter

from plugin.sandbox.scenario import ScenarioChannel
from plugin.services.sync import sync_cohort
from tests.integration.test_sync import (  # noqa: F401 - world and rows are fixtures
    RandomFaults,
    _cohort_with_team,
    expected_ids,
    rows,
    stored,
    world,
)

RUNS = 4  # scheduled runs the job gets; a run the retries cannot carry through resumes in the next


def test_cohort_sync_under_30_percent_throttling_and_outages_loses_and_doubles_nothing(world, rows, session):  # noqa: F811
    cohort = _cohort_with_team(session, world, rows)
    new_channel = f"19:{uuid.uuid4().hex}@thread.tacv2"
    world.scenario.teams[world.team].channels[new_channel] = ScenarioChannel(new_channel, "New")
    channels = (world.channel, world.other_channel, new_channel)
    for channel in channels:
        world.post_roots(60, channel=channel, replies_every=4)
    faults = RandomFaults(0.3, seed=30)
    world.emulator.faults = faults

    outcomes = []
    for _ in range(RUNS):
        outcomes.append(sync_cohort(session, world.graph, cohort.id))
        if not outcomes[-1].errors:
            break

    assert outcomes[-1].errors == {}, outcomes[-1].errors
    assert set(faults.fired) == {429, 503}
    ids = stored(session)
    expected = set().union(*(expected_ids(world, channel) for channel in channels))
    assert Counter(ids).most_common(1)[0][1] == 1  # nothing twice
    assert set(ids) == expected and len(ids) == 3 * 75  # nothing lost
