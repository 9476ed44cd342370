"""Delta sync of Teams channels and Viva Engage communities against the emulators mounted in the test app.

Uses the real ``services.ingest`` (Activity rows) and ``services.progress.recompute_people``. Requests are
counted twice: by the client (every attempt that left it) and by the emulator's request log.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.adapters.graph import GraphError
from plugin.adapters.yammer import RateLimiter, YammerClient, YammerPage
from plugin.models import Activity, Channel, CohortTeam, Community, GraphSubscription, SyncState, Team
from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.aad_registry import YAMMER_RESOURCE
from plugin.sandbox.graph_faults import Faults, RequestFault
from plugin.sandbox.scenario import ScenarioChannel, ScenarioCommunity
from plugin.sandbox.yammer_app import YammerEmulator
from plugin.services import ingest
from plugin.services import sync as sync_service
from plugin.services.subscriptions import channel_resource, renew_due, subscribe_cohort
from plugin.services.sync import baseline_start, sync_channel, sync_cohort, sync_community
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.graph_fixtures import Receiver, serve_http
from tests.integration.test_graph_adapter import GraphWorld, graph_world

BUDGET = 25  # DESIGN §5: Graph requests per 1,000 new channel messages


@dataclass
class Rows:
    team: Team
    channel: Channel
    other: Channel


@pytest.fixture
def world(app: Flask, authority: DevAuthority) -> Iterator[GraphWorld]:
    yield from graph_world(app, authority)


@pytest.fixture
def rows(session: Session, world: GraphWorld) -> Rows:
    """The world's team and its two channels as stored rows."""
    team = Team(graph_id=world.team, display_name="Advisory")
    team.channels = [Channel(graph_id=world.channel, display_name="General"),
                     Channel(graph_id=world.other_channel, display_name="Cases")]
    session.add(team)
    session.commit()
    return Rows(team, team.channels[0], team.channels[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_http(receiver.app):
        yield receiver


def stored(session: Session, source: str = "teams") -> list[str]:
    """External ids of the stored posts and replies."""
    return list(session.scalars(select(Activity.external_id).where(
        Activity.source == source, Activity.kind.in_(("post", "reply")))))


def expected_ids(world: GraphWorld, channel: str | None = None, *, after: datetime | None = None) -> set[str]:
    """External ids ingest gives the channel's messages in the scenario (``root`` or ``root/reply``)."""
    return {
        f"{m.reply_to_id}/{m.id}" if m.reply_to_id else m.id
        for m in world.scenario.channel_messages(world.team, channel or world.channel)
        if after is None or m.created >= after
    }


def state_of(session: Session, kind: str, key: str) -> SyncState:
    state = session.scalar(select(SyncState).where(SyncState.kind == kind, SyncState.key == key))
    assert state is not None
    return state


# -- channel delta ---------------------------------------------------------------------------------------------
def test_syncing_1000_new_messages_takes_at_most_25_requests(world: GraphWorld, rows: Rows, session: Session,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    world.post_roots(1000, replies_every=10)  # 1,000 posts and 100 replies
    # The request budget is the point here, so ingestion is only recorded (the real one costs ~25 ms a message
    # on SQLite; the other tests use it).
    handed: Counter[str] = Counter()

    def record(_session: Session, message: Any, **options: Any) -> ingest.IngestResult:
        assert options["team_graph_id"] == world.team and options["channel_graph_id"] == world.channel
        external_id = f"{message['replyToId']}/{message['id']}" if message["replyToId"] else message["id"]
        handed[external_id] += 1
        return ingest.IngestResult(external_id, inserted=1)

    monkeypatch.setattr(ingest, "ingest_channel_message", record)
    result = sync_channel(session, world.graph, rows.team, rows.channel)

    assert result.complete and result.pages == 20 and result.ingested == 1100
    assert result.requests == len(world.log()) == 20 <= BUDGET
    assert set(handed) == expected_ids(world) and set(handed.values()) == {1}  # every message once
    state = state_of(session, "channel_delta", f"{world.team}/{world.channel}")
    assert "$deltatoken=" in (state.delta_link or "") and state.synced_at is not None

    again = sync_channel(session, world.graph, rows.team, rows.channel)
    assert (again.requests, again.ingested, again.complete) == (1, 0, True)


def test_a_crash_mid_walk_resumes_where_it_stopped(world: GraphWorld, rows: Rows, session: Session,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    roots = world.post_roots(150)
    real = ingest.ingest_channel_message
    calls: Counter[str] = Counter()
    crash = {"at": 60}  # the 10th message of page 2

    def flaky(session_: Session, message: Any, **options: Any) -> Any:
        calls[message["id"]] += 1
        if sum(calls.values()) == crash["at"]:
            crash["at"] = -1
            raise RuntimeError("worker died")
        return real(session_, message, **options)

    monkeypatch.setattr(ingest, "ingest_channel_message", flaky)
    with pytest.raises(RuntimeError, match="worker died"):
        sync_channel(session, world.graph, rows.team, rows.channel)
    state = state_of(session, "channel_delta", f"{world.team}/{world.channel}")
    assert "$skiptoken=" in (state.delta_link or "")  # page 1's nextLink, committed with page 1
    assert sorted(stored(session)) == sorted(roots[:50])  # page 2's first messages were rolled back

    resumed = sync_channel(session, world.graph, rows.team, rows.channel)
    assert resumed.complete and resumed.pages == 2 and resumed.ingested == 100 and resumed.requests == 2
    ids = stored(session)
    assert len(ids) == len(set(ids)) == 150 and set(ids) == set(roots)
    assert all(calls[i] == 1 for i in roots[:50])  # page 1 was not read again
    assert [calls[i] for i in roots[50:61]] == [2] * 10 + [1]  # page 2 again from its start (60th call raised)
    assert [r["status"] for r in world.log()] == [200] * 4


def test_the_baseline_backfill_ignores_older_messages(world: GraphWorld, rows: Rows, session: Session) -> None:
    now = world.now
    world.post_roots(3, start=now - timedelta(days=120))
    old_root = world.scenario.post(world.team, world.channel, world.authors[0], "<p>Old</p>",
                                   at=now - timedelta(days=100))
    late = world.scenario.post(world.team, world.channel, world.authors[1], "<p>Late reply</p>",
                               at=now - timedelta(days=5), reply_to=old_root.id)
    recent = world.post_roots(4, start=now - timedelta(days=20))
    floor = now - timedelta(days=60)

    result = sync_channel(session, world.graph, rows.team, rows.channel, backfill_from=floor)

    assert set(stored(session)) == {*recent, f"{old_root.id}/{late.id}"}
    assert result.skipped == 1  # the old root, back in delta because of its new reply
    assert "lastModifiedDateTime" in world.log()[0]["path"]  # the floor went to Graph as $filter
    state = state_of(session, "channel_delta", f"{world.team}/{world.channel}")
    assert state.backfilled_from is not None and abs(state.backfilled_from - floor) < timedelta(seconds=1)

    later = sync_channel(session, world.graph, rows.team, rows.channel, backfill_from=now - timedelta(days=30))
    assert not later.restarted and later.ingested == 0
    earlier = sync_channel(session, world.graph, rows.team, rows.channel, backfill_from=now - timedelta(days=150))
    assert earlier.restarted and earlier.ingested == 4 + 5  # the old posts now count; the rest is idempotent
    assert set(stored(session)) == expected_ids(world)


def test_a_stale_stored_link_restarts_the_walk(world: GraphWorld, rows: Rows, session: Session) -> None:
    roots = world.post_roots(10)
    key = f"{world.team}/{world.channel}"
    bad = f"{world.graph.api_url}/teams/{world.team}/channels/{world.channel}/messages/delta?$deltatoken=expired"
    session.add(SyncState(kind="channel_delta", key=key, delta_link=bad))
    session.commit()
    result = sync_channel(session, world.graph, rows.team, rows.channel)
    assert result.restarted and result.complete and set(stored(session)) == set(roots)
    assert [r["status"] for r in world.log()] == [400, 200]


class RandomFaults(Faults):
    """The emulator's fault plan, but every request fails with 429 (Retry-After 1) or 503 at ``rate``."""

    def __init__(self, rate: float, seed: int) -> None:
        super().__init__()
        self.rate, self.rng, self.fired = rate, random.Random(seed), Counter[int]()

    def take_request_faults(self, path: str) -> tuple[float, RequestFault | None]:
        if self.rng.random() >= self.rate:
            return 0.0, None
        status = self.rng.choice((429, 503))
        self.fired[status] += 1
        return 0.0, RequestFault("status", 1, status, 1 if status == 429 else None)


def test_30_percent_throttling_and_outages_lose_nothing(world: GraphWorld, rows: Rows, session: Session) -> None:
    world.post_roots(300, replies_every=5)
    faults = RandomFaults(0.3, seed=2)  # this seed fails 4 of the 10 requests, both ways
    world.emulator.faults = faults
    runs = 0
    while True:  # a run the retries cannot carry through leaves a resumable state; at most a few runs
        runs += 1
        try:
            result = sync_channel(session, world.graph, rows.team, rows.channel)
        except GraphError as exc:
            assert exc.retryable and runs < 3
            continue
        break
    assert result.complete and set(faults.fired) == {429, 503} and sum(faults.fired.values()) >= 3
    ids = stored(session)
    assert len(ids) == len(set(ids)) == 360 and set(ids) == expected_ids(world)
    statuses = Counter(r["status"] for r in world.log())
    assert statuses[200] == 6 and statuses[429] + statuses[503] == sum(faults.fired.values())


def _cohort_with_team(session: Session, world: GraphWorld, rows: Rows) -> Any:
    people = [make_person(session, entra_oid=oid) for oid in world.authors]
    cohort = make_cohort(session, start_date=date.today() - timedelta(days=14), baseline_weeks=8)
    for person in people:
        make_enrolment(session, cohort=cohort, person=person)
    session.add(CohortTeam(cohort_id=cohort.id, team_id=rows.team.id))
    session.commit()
    return cohort


def test_sync_cohort_covers_every_channel_and_recomputes_once(world: GraphWorld, rows: Rows, session: Session,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cohort = _cohort_with_team(session, world, rows)
    new_channel = f"19:{uuid.uuid4().hex}@thread.tacv2"  # created in Teams after the team was registered
    world.scenario.teams[world.team].channels[new_channel] = ScenarioChannel(new_channel, "New")
    for channel in (world.channel, world.other_channel, new_channel):
        world.post_roots(30, channel=channel, replies_every=3)
    floor = baseline_start(cohort)
    too_old = world.scenario.post(world.team, world.channel, world.authors[0], "<p>Before the baseline</p>",
                                  at=floor - timedelta(days=7))
    recomputed: list[int] = []
    real = sync_service.recompute_people

    def spy(session_: Session, cohort_id: int, people: Any, **options: Any) -> Any:
        recomputed.append(cohort_id)
        return real(session_, cohort_id, people, **options)

    monkeypatch.setattr(sync_service, "recompute_people", spy)
    outcome = sync_cohort(session, world.graph, cohort.id)

    assert outcome.errors == {} and len(outcome.places) == 3 and outcome.ingested == 3 * 40
    assert recomputed == [cohort.id] and outcome.recomputed == {cohort.id}
    assert too_old.id not in stored(session)
    assert session.scalar(select(func.count()).select_from(Channel).where(Channel.graph_id == new_channel)) == 1
    assert outcome.requests == 1 + 3  # the channel list, then one delta page per channel


def test_sync_cohort_reports_a_failing_channel_and_goes_on(world: GraphWorld, rows: Rows, session: Session) -> None:
    cohort = _cohort_with_team(session, world, rows)
    gone = Channel(team_id=rows.team.id, graph_id="19:deleted@thread.tacv2", display_name="Deleted")
    session.add(gone)
    session.commit()
    world.post_roots(5)
    outcome = sync_cohort(session, world.graph, cohort.id, refresh=False)
    assert list(outcome.errors) == [f"{world.team}/19:deleted@thread.tacv2"]
    assert "404" in outcome.errors[f"{world.team}/19:deleted@thread.tacv2"]
    assert len(stored(session)) == 5


# -- subscriptions -----------------------------------------------------------------------------------------------
def test_subscribe_cohort_and_renew_due(world: GraphWorld, rows: Rows, session: Session, receiver: Receiver) -> None:
    cohort = _cohort_with_team(session, world, rows)
    now = datetime.now(UTC)
    options = {"notification_url": f"{receiver.base}/notify", "lifecycle_url": f"{receiver.base}/lifecycle",
               "client_state": "s3cret", "expiration": now + timedelta(hours=2)}

    first = subscribe_cohort(session, world.graph, cohort.id, **options)
    assert [s.resource for s in first.created] == [channel_resource(world.team, c) for c in
                                                   (world.channel, world.other_channel)]
    assert first.errors == {} and len(world.emulator.subscriptions.active(now)) == 2
    again = subscribe_cohort(session, world.graph, cohort.id, **options)
    assert again.created == [] and len(again.existing) == 2

    assert renew_due(session, world.graph, now, timedelta(minutes=30)).renewed == []  # none due yet
    renewed = renew_due(session, world.graph, now, timedelta(hours=3), lifetime=timedelta(days=2))
    assert len(renewed.renewed) == 2
    assert all(abs(s.expires_at - (now + timedelta(days=2))) < timedelta(seconds=1) for s in renewed.renewed)

    world.graph.delete_subscription(first.created[0].subscription_id)  # e.g. removed by Graph
    lapsed = renew_due(session, world.graph, now, timedelta(days=3))
    assert [s.subscription_id for s in lapsed.removed] == [first.created[0].subscription_id]
    assert session.scalar(select(func.count()).select_from(GraphSubscription)
                          .where(GraphSubscription.status == "active")) == 1
    replaced = subscribe_cohort(session, world.graph, cohort.id, **options)
    assert [s.resource for s in replaced.created] == [first.created[0].resource]


def test_subscribe_cohort_reports_refused_subscriptions(world: GraphWorld, rows: Rows, session: Session,
                                                        receiver: Receiver) -> None:
    cohort = _cohort_with_team(session, world, rows)
    receiver.mode = "status500"
    result = subscribe_cohort(session, world.graph, cohort.id, notification_url=f"{receiver.base}/notify",
                              lifecycle_url=None, client_state="s",
                              expiration=datetime.now(UTC) + timedelta(minutes=30))
    assert result.created == [] and len(result.errors) == 2 and "ValidationError" in next(iter(result.errors.values()))
    assert session.scalar(select(func.count()).select_from(GraphSubscription)) == 0


# -- Viva Engage -------------------------------------------------------------------------------------------------
class FakeClock:
    """Seconds that only move when someone sleeps (shared by the client's limiter and the emulator)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class YammerWorld:
    emulator: YammerEmulator
    client: YammerClient
    clock: FakeClock
    group_id: int
    community: Community
    authors: list[str]
    token: Any

    def post(self, count: int, *, start: datetime | None = None, replies_every: int = 0) -> list[int]:
        """``count`` posts a minute apart (with a reply to every ``replies_every``-th); all ids, oldest first."""
        start = start or datetime.now(UTC) - timedelta(days=2)
        scenario, ids = self.emulator.scenario, []
        for index in range(count):
            at = start + timedelta(minutes=index)
            message = scenario.post_in_community(self.group_id, self.authors[index % len(self.authors)],
                                                 f"Post {index} about our work", at=at)
            ids.append(message.id)
            if replies_every and index % replies_every == 0:
                reply = scenario.post_in_community(self.group_id, self.authors[(index + 1) % len(self.authors)],
                                                   "A reply", at=at + timedelta(seconds=10), replied_to=message.id)
                ids.append(reply.id)
        return ids

    def statuses(self) -> list[int]:
        return [r.status for r in self.emulator.requests]


@pytest.fixture
def yammer(app: Flask, authority: DevAuthority, session: Session) -> Iterator[YammerWorld]:
    emulator: YammerEmulator = app.extensions["sandbox"].apps["/dev/yammer"].extensions["yammer_emulator"]
    clock = FakeClock()
    emulator.clock = emulator.limiter.clock = clock  # the emulator's own rate limit runs on the same fake time
    emulator.sleep = clock.sleep
    authors = list(emulator.scenario.people)[:3]
    group_id = 4_242_001
    emulator.scenario.communities[group_id] = ScenarioCommunity(group_id, "Kennisdeling", members=authors)
    community = Community(yammer_group_id=str(group_id), display_name="Kennisdeling")
    session.add(community)
    session.commit()

    def token() -> str:
        return authority.mint_sso_token(authors[0], audience=YAMMER_RESOURCE, extra_claims={"scp": "access_as_user"})

    client = YammerClient.from_app(app, token, limiter=RateLimiter(clock=clock, sleep=clock.sleep))
    try:
        yield YammerWorld(emulator, client, clock, group_id, community, authors, token)
    finally:
        client.close()


def test_yammer_pages_with_older_than_down_to_newer_than(yammer: YammerWorld) -> None:
    ids = yammer.post(40, replies_every=8)  # 45 messages
    pages = list(yammer.client.group_messages(yammer.group_id))
    assert [len(p.messages) for p in pages] == [20, 20, 5] and [p.older_available for p in pages] == [1, 1, 0]
    seen = [m["id"] for p in pages for m in p.messages]
    assert seen == sorted(ids, reverse=True)
    assert all(isinstance(p, YammerPage) and any(r["type"] == "user" for r in p.references) for p in pages)

    newest_first = sorted(ids, reverse=True)
    since = list(yammer.client.group_messages(yammer.group_id, newer_than=newest_first[25]))
    assert [m["id"] for p in since for m in p.messages] == newest_first[:25]
    assert [len(p.messages) for p in since] == [20, 5]


def test_yammer_requests_are_paced_to_10_per_30_seconds_per_user(yammer: YammerWorld) -> None:
    yammer.post(230)  # 12 pages
    started = yammer.clock.now
    for _ in range(2):
        assert sum(len(p.messages) for p in yammer.client.group_messages(yammer.group_id)) == 230
    assert yammer.client.request_count == 24
    assert set(yammer.statuses()) == {200}  # never throttled: the client waited instead
    times = [r.at for r in yammer.emulator.requests]
    assert all(sum(1 for t in times if start <= t < start + 30) <= 10 for start in times)
    assert yammer.clock.now - started >= 60 and len(yammer.clock.sleeps) >= 2


def test_yammer_429_and_503_are_retried_after_retry_after(yammer: YammerWorld) -> None:
    yammer.post(5)
    yammer.emulator.faults.throttle(count=1, retry_after=7)
    yammer.emulator.faults.unavailable(count=1, status=503, retry_after=2)
    pages = list(yammer.client.group_messages(yammer.group_id))
    assert len(pages[0].messages) == 5
    assert yammer.statuses() == [429, 503, 200]
    at = [r.at for r in yammer.emulator.requests]
    assert at[1] - at[0] >= 7 and at[2] - at[1] >= 2


def test_sync_community_reads_only_new_posts_and_resumes_after_a_crash(
    yammer: YammerWorld, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = yammer.post(30)
    result = sync_community(session, yammer.client, yammer.community, yammer.token)
    assert (result.ingested, result.pages, result.complete) == (30, 2, True)
    state = state_of(session, "yammer_group", str(yammer.group_id))
    assert state.newest_id == str(max(first)) and state.delta_link is None

    more = yammer.post(5, start=datetime.now(UTC) - timedelta(hours=1))
    again = sync_community(session, yammer.client, yammer.community, yammer.token)
    assert (again.ingested, again.requests) == (5, 1)

    batch = yammer.post(45, start=datetime.now(UTC) - timedelta(minutes=50))
    real = ingest.ingest_community_message
    calls: Counter[int] = Counter()

    def flaky(session_: Session, message: Any, references: Any, **options: Any) -> Any:
        calls[message["id"]] += 1
        if sum(calls.values()) == 30:
            raise RuntimeError("worker died")
        return real(session_, message, references, **options)

    monkeypatch.setattr(ingest, "ingest_community_message", flaky)
    with pytest.raises(RuntimeError):
        sync_community(session, yammer.client, yammer.community, yammer.token)
    state = state_of(session, "yammer_group", str(yammer.group_id))
    assert state.newest_id == str(max(more)) and (state.delta_link or "").startswith("older_than=")
    resumed = sync_community(session, yammer.client, yammer.community, yammer.token)
    assert resumed.complete and resumed.ingested == 25
    assert all(count == 1 for i, count in calls.items() if i in sorted(batch, reverse=True)[:20])
    ids = stored(session, "yammer")
    assert len(ids) == len(set(ids)) == 80
    assert state_of(session, "yammer_group", str(yammer.group_id)).newest_id == str(max(batch))


def test_sync_community_backfill_stops_at_the_floor(yammer: YammerWorld, session: Session) -> None:
    now = datetime.now(UTC)
    yammer.post(40, start=now - timedelta(days=90))
    recent = yammer.post(10, start=now - timedelta(days=3))
    result = sync_community(session, yammer.client, yammer.community, yammer.token,
                            backfill_from=now - timedelta(days=30))
    assert result.ingested == 10 and result.pages == 1 and result.requests == 1  # no paging into old history
    assert set(stored(session, "yammer")) == {str(i) for i in recent}
