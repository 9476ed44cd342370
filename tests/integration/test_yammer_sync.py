"""Viva Engage polling (`services.yammer_sync`) against the sandbox Yammer emulator over real HTTPS.

The emulator mounted in the test app is served on a loopback TLS port and read with participants' delegated
tokens, which the real MSAL gets silently from their encrypted token caches (the caches come from the tab's
on-behalf-of exchange against the in-process dev authority). The client's rate limiter and the emulator's own
10-per-30-seconds limit run on one fake clock, so waits are instant and visible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.adapters.msal_client import GRAPH_USER_READ, YAMMER_USER
from plugin.adapters.yammer import RateLimiter, YammerClient
from plugin.models import Activity, AuditEntry, Award, Badge, Cohort, CohortCommunity, Community, Person, SyncState
from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.scenario import ScenarioCommunity
from plugin.sandbox.yammer_app import YammerEmulator
from plugin.services import ingest, tokens
from plugin.services.delegated import NEEDS_SIGN_IN, NO_ACCESS, OK, needing_sign_in
from plugin.services.people import Caller
from plugin.services.programmes import copy_missions, programme_for
from plugin.services.progress import recompute_cohort
from plugin.services.yammer_sync import YammerSyncResult, sync_yammer
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.sandbox_server import TlsFiles, serve, tls_files

GROUP_ID = 4_242_777
KNOWLEDGE = ("Vandaag geleerd bij een klant: door de weekplanning op één A4 te zetten halveerde hun doorlooptijd. "
             "Zo pak je het aan: https://example.com/a4-planning #lean")
RESHARE = "https://example.com/persbericht"


class FakeClock:
    """Seconds that only move when someone sleeps (the client's limiter and the emulator share it)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Current:
    """The emulator of the running test, behind one TLS server per module."""

    app: Flask | None = None

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass(frozen=True)
class Server:
    base: str
    current: _Current
    tls: TlsFiles


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tls = tls_files(tmp_path_factory.mktemp("tls"))
    current = _Current()
    with serve(lambda _base: DispatcherMiddleware(Flask("host"), {"/dev/yammer": current}), tls) as (base, _):
        yield Server(base, current, tls)


def _no_default_token() -> str:
    raise AssertionError("every request must name its reader")


@dataclass
class World:
    app: Flask
    session: Session
    authority: DevAuthority
    emulator: YammerEmulator
    client: YammerClient
    clock: FakeClock
    cohort: Cohort
    community: Community
    people: list[Person]

    def sign_in(self, person: Person, scope: str = GRAPH_USER_READ) -> None:
        """The participant opened the tab: on-behalf-of left a token cache with a refresh token."""
        caller = Caller(person.id, person.entra_oid, person.display_name, "nl", frozenset(), frozenset())
        tokens.delegated_token(self.session, caller, self.authority.mint_sso_token(person.entra_oid), [scope])

    def post(self, count: int, *, author: Person | None = None, start: datetime | None = None,
             body: str = "Post {n} over ons werk", replies_every: int = 0) -> list[int]:
        """``count`` posts a minute apart (a reply under every ``replies_every``-th); ids, oldest first."""
        start = start or datetime.now(UTC) - timedelta(hours=6)
        scenario, ids = self.emulator.scenario, []
        for n in range(count):
            sender = author or self.people[n % len(self.people)]
            message = scenario.post_in_community(GROUP_ID, sender.entra_oid, body.format(n=n),
                                                 at=start + timedelta(minutes=n))
            ids.append(message.id)
            if replies_every and n % replies_every == 0:
                replier = self.people[(n + 1) % len(self.people)]
                reply = scenario.post_in_community(GROUP_ID, replier.entra_oid, "Goed punt, dank je!",
                                                   at=start + timedelta(minutes=n, seconds=20), replied_to=message.id)
                ids.append(reply.id)
        return ids

    def sync(self, **options: Any) -> YammerSyncResult:
        return sync_yammer(self.session, self.client, cohort_id=self.cohort.id, **options)

    def stored(self) -> list[str]:
        """Message ids of the stored posts and replies (reply ids without their thread prefix), with repeats."""
        rows = self.session.scalars(select(Activity.external_id).where(
            Activity.source == "yammer", Activity.kind.in_(("post", "reply"))))
        return [external_id.rsplit("/", 1)[-1] for external_id in rows]

    def activity(self, message_id: int) -> Activity:
        row = self.session.scalar(select(Activity).where(Activity.source == "yammer", Activity.kind.in_(
            ("post", "reply")), Activity.external_id.endswith(str(message_id))))
        assert row is not None
        return row

    def feed_requests(self) -> list[Any]:
        return [r for r in self.emulator.requests if r.path.startswith("/api/v1/messages/in_group/")]

    def user_state(self, person: Person) -> str | None:
        return self.session.scalar(select(SyncState.status).where(
            SyncState.kind == "yammer_user", SyncState.key == str(person.id)))


@pytest.fixture
def world(app: Flask, session: Session, authority: DevAuthority, server: Server) -> Iterator[World]:
    emulator: YammerEmulator = app.extensions["sandbox"].apps["/dev/yammer"].extensions["yammer_emulator"]
    server.current.app = app.extensions["sandbox"].apps["/dev/yammer"]
    clock = FakeClock()
    emulator.clock = emulator.limiter.clock = clock
    emulator.sleep = clock.sleep
    scenario_people = list(emulator.scenario.people.values())[1:6]
    emulator.scenario.communities[GROUP_ID] = ScenarioCommunity(
        GROUP_ID, "Kennisdeling", members=[p.oid for p in scenario_people])

    cohort = make_cohort(session, start_date=date.today() - timedelta(days=3), baseline_weeks=2)
    copy_missions(session, cohort, programme_for(cohort))
    community = Community(yammer_group_id=str(GROUP_ID), display_name="Kennisdeling")
    session.add(community)
    session.flush()
    session.add(CohortCommunity(cohort_id=cohort.id, community_id=community.id))
    people = []
    for scenario_person in scenario_people:
        person = make_person(session, entra_oid=scenario_person.oid, display_name=scenario_person.name,
                             upn=scenario_person.upn)
        make_enrolment(session, cohort=cohort, person=person)
        people.append(person)
    session.commit()
    http = httpx.Client(verify=server.tls.client_context(), trust_env=False)
    client = YammerClient(f"{server.base}/dev/yammer/api/v1", _no_default_token, http=http,
                          limiter=RateLimiter(clock=clock, sleep=clock.sleep))
    try:
        yield World(app, session, authority, emulator, client, clock, cohort, community, people)
    finally:
        http.close()


# -- new posts ---------------------------------------------------------------------------------------------------
def test_posts_become_activity_exactly_once_across_runs(world: World) -> None:
    world.sign_in(world.people[0])
    now = datetime.now(UTC)
    world.post(6, start=now - timedelta(weeks=8))  # before the baseline: never read
    baseline = world.post(4, start=now - timedelta(days=12))  # in the baseline period (2 weeks before start)
    during = world.post(40, replies_every=5)  # 48 messages since the cohort started

    first = world.sync()
    [community] = first.communities
    assert (community.status, community.ingested) == ("ok", 52)
    assert community.requests == 3 and community.readers == 1  # three pages, then the floor stops the paging
    assert sorted(world.stored()) == sorted(str(i) for i in baseline + during)
    assert first.recomputed == {world.cohort.id}
    authors = set(world.session.scalars(select(Activity.author_id).where(Activity.source == "yammer")))
    assert authors == {p.id for p in world.people}

    again = world.sync()
    assert (again.ingested, again.communities[0].requests) == (0, 1)  # one newer_than poll, nothing new
    assert again.recomputed == set()

    more = world.post(3, start=now - timedelta(minutes=5))
    third = world.sync()
    assert third.ingested == 3 and third.recomputed == {world.cohort.id}
    stored = world.stored()
    assert len(stored) == len(set(stored)) == len(baseline + during + more)


def test_only_running_cohorts_are_polled_without_a_cohort(world: World) -> None:
    world.sign_in(world.people[0])
    world.post(5)
    later = make_cohort(world.session, start_date=date.today() + timedelta(days=30))
    world.session.add(CohortCommunity(cohort_id=later.id, community_id=world.community.id))
    world.session.commit()
    outcome = sync_yammer(world.session, world.client)
    assert world.cohort.id in outcome.cohort_ids and later.id not in outcome.cohort_ids
    assert outcome.ingested == 5


# -- rate limits -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("signed_in", [1, 2])
def test_requests_stay_within_10_per_30_seconds_per_user(world: World, signed_in: int) -> None:
    for person in world.people[:signed_in]:
        world.sign_in(person)
    ids = world.post(230)  # twelve pages of backfill
    started = world.clock.now
    outcome = world.sync()
    assert outcome.ingested == 230 and sorted(world.stored()) == sorted(str(i) for i in ids)
    requests = world.feed_requests()
    assert {r.status for r in requests} == {200}  # never throttled: the client paced itself
    for user in {r.user_oid for r in requests}:
        times = [r.at for r in requests if r.user_oid == user]
        assert all(sum(1 for t in times if at <= t < at + 30) <= 10 for at in times)
    if signed_in == 1:
        assert world.clock.sleeps and world.clock.now - started >= 30  # one user must wait for the window
    else:
        assert world.clock.sleeps == [] and outcome.communities[0].readers == 2  # the second reader took over
        assert Counter(r.user_oid for r in requests) == {world.people[0].entra_oid: 10, world.people[1].entra_oid: 2}


@pytest.mark.parametrize("signed_in", [1, 2])
def test_a_429_is_honoured_and_nothing_is_lost(world: World, signed_in: int) -> None:
    for person in world.people[:signed_in]:
        world.sign_in(person)
    ids = world.post(45)
    # Another worker of ours used the first reader's whole budget a moment ago: Yammer answers 429.
    first_reader = (world.people[0].entra_oid, world.app.config["AZURE_CLIENT_ID"])
    for _ in range(10):
        world.emulator.limiter.acquire(first_reader)
    outcome = world.sync()
    assert outcome.ingested == 45 and sorted(world.stored()) == sorted(str(i) for i in ids)
    statuses = [r.status for r in world.feed_requests()]
    assert statuses == [429, 200, 200, 200]
    if signed_in == 1:
        assert world.clock.sleeps == [30.0]  # Retry-After, then the same reader again
    else:
        assert world.clock.sleeps == []  # the retry went out as the second reader at once
        assert world.feed_requests()[1].user_oid == world.people[1].entra_oid


def test_injected_throttling_and_outages_lose_nothing(world: World) -> None:
    world.sign_in(world.people[0])
    ids = world.post(60, replies_every=7)
    world.emulator.faults.throttle(count=2, retry_after=7)
    world.emulator.faults.unavailable(count=1, status=503, retry_after=2)
    outcome = world.sync()
    assert outcome.communities[0].status == "ok"
    assert sorted(world.stored()) == sorted(str(i) for i in ids)
    assert [r.status for r in world.feed_requests()][:3] == [429, 429, 503]
    assert world.clock.sleeps[:3] == [7.0, 7.0, 2.0]


def test_a_long_outage_fails_the_community_not_the_job_and_the_next_run_resumes(world: World) -> None:
    world.sign_in(world.people[0])
    ids = world.post(50)
    world.emulator.faults.unavailable(count=6, status=503, path_prefix="/messages/in_group")
    failed = world.sync()
    assert failed.communities[0].status == "failed" and "503" in failed.errors[str(GROUP_ID)]
    assert world.stored() == []
    world.emulator.faults.clear()
    resumed = world.sync()
    assert resumed.errors == {} and sorted(world.stored()) == sorted(str(i) for i in ids)


# -- delegated tokens --------------------------------------------------------------------------------------------
def test_participants_without_a_usable_token_are_skipped_and_reported(world: World) -> None:
    never, needs_mfa, ready, with_yammer_consent = world.people[:4]
    world.sign_in(needs_mfa)  # a Graph token only: reading Yammer means redeeming the refresh token...
    world.authority.require_mfa(needs_mfa.entra_oid)  # ...which Conditional Access now refuses
    world.sign_in(ready)
    world.sign_in(with_yammer_consent, YAMMER_USER)
    ids = world.post(12)

    outcome = world.sync()
    assert outcome.errors == {} and sorted(world.stored()) == sorted(str(i) for i in ids)
    community = outcome.communities[0]
    assert community.skipped == [needs_mfa.id] and community.readers == 1
    assert {r.user_oid for r in world.feed_requests()} == {ready.entra_oid}
    assert world.user_state(never) == world.user_state(needs_mfa) == NEEDS_SIGN_IN
    assert world.user_state(ready) == OK and world.user_state(with_yammer_consent) is None  # not needed this run
    assert outcome.needs_sign_in == sorted(p.id for p in world.people if p not in (ready, with_yammer_consent))

    # The next run starts with the participant least recently used (and never retries the one that failed).
    more = world.post(2, start=datetime.now(UTC) - timedelta(minutes=3))
    world.sync()
    assert world.feed_requests()[-1].user_oid == with_yammer_consent.entra_oid
    assert sorted(world.stored()) == sorted(str(i) for i in ids + more)
    assert world.user_state(with_yammer_consent) == OK


def test_a_community_nobody_can_read_is_reported_and_read_once_someone_signs_in(world: World) -> None:
    ids = world.post(8)
    outcome = world.sync()  # nobody has signed in
    assert outcome.communities[0].status == "no_reader" and str(GROUP_ID) in outcome.errors
    assert world.feed_requests() == [] and world.stored() == []
    assert needing_sign_in(world.session, [p.id for p in world.people]) == sorted(p.id for p in world.people)
    state = world.session.scalar(select(SyncState).where(SyncState.kind == "yammer_group"))
    assert state is not None and state.status == "no_reader"

    world.sign_in(world.people[2])
    later = world.sync()
    assert later.errors == {} and sorted(world.stored()) == sorted(str(i) for i in ids)
    assert world.user_state(world.people[2]) == OK and state.status == "ok"


def test_a_reader_yammer_refuses_is_dropped_and_the_walk_resumes_as_another(world: World) -> None:
    outsider, member = world.people[:2]
    world.sign_in(outsider)
    world.sign_in(member)
    del world.emulator.scenario.people[outsider.entra_oid]  # no Viva Engage account: 403 for every request
    ids = world.post(25)
    outcome = world.sync()
    assert outcome.errors == {} and sorted(world.stored()) == sorted(str(i) for i in ids)
    assert [r.status for r in world.feed_requests()][0] == 403
    assert world.user_state(outsider) == NO_ACCESS and outcome.communities[0].skipped == [outsider.id]


def test_a_token_yammer_keeps_refusing_is_given_up_after_one_fresh_try(world: World) -> None:
    stale, fresh = world.people[:2]
    world.sign_in(stale, YAMMER_USER)  # a Yammer token now sits in the cache...
    world.authority.rotate_keys()
    world.authority.rotate_keys()  # ...signed with a key Yammer no longer trusts: 401 "Token not found."
    world.sign_in(fresh)
    ids = world.post(5)
    outcome = world.sync()
    assert outcome.errors == {} and sorted(world.stored()) == sorted(str(i) for i in ids)
    assert [(r.status, r.user_oid) for r in world.feed_requests()] == [
        (401, None), (401, None), (200, fresh.entra_oid)]
    assert world.user_state(stale) == NEEDS_SIGN_IN and outcome.communities[0].skipped == [stale.id]
    assert world.user_state(fresh) == OK


def test_tokens_never_reach_the_log(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.sign_in(world.people[0])
    world.sign_in(world.people[1])
    world.authority.require_mfa(world.people[0].entra_oid)
    world.post(3)
    caplog.set_level("DEBUG")
    world.sync()
    cached = [tokens.load_cache(world.session, p.id, tokens.cipher_for(world.app)) or "" for p in world.people[:2]]
    secrets = [value for blob in cached for value in _secrets(blob)]
    assert secrets and not any(secret in caplog.text for secret in secrets)


def _secrets(blob: str) -> list[str]:
    import json

    document = json.loads(blob) if blob else {}
    return [entry["secret"] for kind in ("AccessToken", "RefreshToken")
            for entry in document.get(kind, {}).values()]


# -- crashes -----------------------------------------------------------------------------------------------------
def test_a_crash_right_after_a_page_commit_double_counts_nothing(world: World, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    world.sign_in(world.people[0])
    ids = world.post(50, body=KNOWLEDGE + " ({n})")
    real_ingest, real_commit = ingest.ingest_community_message, world.session.commit
    calls: Counter[int] = Counter()

    def counting(session: Session, message: Any, references: Any, **options: Any) -> Any:
        calls[message["id"]] += 1
        return real_ingest(session, message, references, **options)

    def dying_commit() -> None:
        real_commit()
        if sum(calls.values()) == 20:  # the first page and its cursor are committed: the worker dies now
            raise RuntimeError("worker killed")

    monkeypatch.setattr(ingest, "ingest_community_message", counting)
    monkeypatch.setattr(world.session, "commit", dying_commit)
    with pytest.raises(RuntimeError, match="worker killed"):
        world.sync()
    monkeypatch.setattr(world.session, "commit", real_commit)
    assert len(world.stored()) == 20

    resumed = world.sync()
    assert resumed.ingested == 30  # the walk went on below the committed page
    assert set(calls.values()) == {1}  # no message was read twice
    stored = world.stored()
    assert len(stored) == len(set(stored)) == 50 and sorted(stored) == sorted(str(i) for i in ids)
    assert recompute_cohort(world.session, world.cohort.id).points_entries == 0  # the ledger already adds up


def test_a_crash_mid_page_rereads_that_page_and_counts_it_once(world: World, monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    world.sign_in(world.people[0])
    ids = world.post(50, body=KNOWLEDGE + " ({n})")
    real_ingest = ingest.ingest_community_message
    calls: Counter[int] = Counter()

    def flaky(session: Session, message: Any, references: Any, **options: Any) -> Any:
        calls[message["id"]] += 1
        if sum(calls.values()) == 30:
            raise RuntimeError("worker died")
        return real_ingest(session, message, references, **options)

    monkeypatch.setattr(ingest, "ingest_community_message", flaky)
    with pytest.raises(RuntimeError, match="worker died"):
        world.sync()
    assert len(world.stored()) == 20  # the unfinished page was rolled back, cursor and all
    world.sync()
    stored = world.stored()
    assert len(stored) == len(set(stored)) == 50 and sorted(stored) == sorted(str(i) for i in ids)
    newest_first = sorted(ids, reverse=True)
    assert all(calls[i] == 1 for i in newest_first[:20]) and all(calls[i] == 2 for i in newest_first[20:30])
    assert recompute_cohort(world.session, world.cohort.id).points_entries == 0


# -- edits and deletions -----------------------------------------------------------------------------------------
def _badges(session: Session, person: Person, *, active: bool = True) -> set[str]:
    query = select(Badge.slug).join(Award, Award.badge_id == Badge.id).where(Award.person_id == person.id)
    if active:
        query = query.where(Award.revoked_at.is_(None))
    return set(session.scalars(query))


def test_edits_are_reclassified_and_new_likes_counted_on_the_hourly_recheck(world: World) -> None:
    author, fan = world.people[:2]
    world.sign_in(fan)
    [shared] = world.post(1, author=author, body=KNOWLEDGE)
    [short] = world.post(1, author=fan, body="Leuk!", start=datetime.now(UTC) - timedelta(hours=2))
    world.sync()
    assert world.activity(shared).knowledge_sharing and not world.activity(short).knowledge_sharing

    world.emulator.edit_message(shared, RESHARE)
    world.emulator.edit_message(short, KNOWLEDGE.replace("klant", "collega"))
    world.emulator.scenario.community_messages[shared].liked_by.append(fan.entra_oid)
    soon = world.sync()  # newer_than shows nothing new, and the re-read is not due yet
    assert (soon.ingested, soon.communities[0].rechecked) == (0, 0)
    assert world.activity(shared).knowledge_sharing

    later = world.sync(now=datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert later.communities[0].rechecked == 2 and later.recomputed == {world.cohort.id}
    assert not world.activity(shared).knowledge_sharing and world.activity(short).knowledge_sharing
    likes = world.session.scalars(select(Activity).where(Activity.kind == "reaction")).all()
    assert [(like.author_id, like.target_author_id) for like in likes] == [(fan.id, author.id)]
    assert len(world.stored()) == 2


def test_a_deleted_post_withdraws_its_credit_and_badge_with_an_audit_entry(world: World) -> None:
    author, reader = world.people[:2]
    world.sign_in(reader)
    [shared] = world.post(1, author=author, body=KNOWLEDGE)
    others = world.post(3, author=reader, start=datetime.now(UTC) - timedelta(hours=3))
    world.sync()
    assert "first-share" in _badges(world.session, author)

    earned = _badges(world.session, author)

    world.emulator.delete_message(shared)
    outcome = world.sync(recheck=True)
    assert outcome.communities[0].withdrawn == 1 and outcome.recomputed == {world.cohort.id}
    assert world.activity(shared).deleted_at is not None
    assert all(world.activity(i).deleted_at is None for i in others)
    revoked = earned - _badges(world.session, author)
    assert "first-share" in revoked and revoked <= _badges(world.session, author, active=False)
    audit = world.session.scalars(select(AuditEntry).where(AuditEntry.action == "award.revoke")).all()
    assert sorted(entry.details["badge"] for entry in audit) == sorted(revoked)

    again = world.sync(recheck=True)  # the deletion is concluded once
    assert again.communities[0].withdrawn == 0
    assert world.session.scalar(select(func.count()).select_from(AuditEntry)) == len(revoked)


def test_a_recheck_that_does_not_finish_withdraws_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.sign_in(world.people[0])
    ids = world.post(30)
    world.sync()
    world.emulator.delete_message(ids[0])
    real_ingest, calls = ingest.ingest_community_message, Counter[int]()

    def broken(session: Session, message: Any, references: Any, **options: Any) -> Any:
        calls[message["id"]] += 1
        if sum(calls.values()) == 25:  # on the re-read's second page
            raise ValueError("a Yammer message needs an id")
        return real_ingest(session, message, references, **options)

    monkeypatch.setattr(ingest, "ingest_community_message", broken)
    outcome = world.sync(recheck=True)
    assert outcome.communities[0].status == "failed" and outcome.communities[0].withdrawn == 0
    assert world.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.deleted_at.is_not(None))) == 0
