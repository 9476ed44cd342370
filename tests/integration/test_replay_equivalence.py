"""Replaying only the people an event touches stores exactly what replaying the whole cohort stores.

Two cohorts with the same start, participants, intake, evidence and check-ins see the same activity. Notifications
go through the real inbox (``store_notifications`` → ``process_pending``), which recomputes cohort "incremental"
for the people each message bears on; cohort "full" is recomputed whole at the same moments (after each
notification the inbox recomputes for, and after every batch, which also catches a notification that named nobody).
After every batch both must store the same missions (with their completion times), points ledger entries, badges
(awarded, revoked, with the audit of each revocation) and, for the people just recomputed, the same risk. Time
moves statuses and risk for everyone else, which the hourly full recompute catches up: after it the two cohorts
are identical in every stored column.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.models import (
    AuditEntry,
    Award,
    Badge,
    Channel,
    CheckIn,
    Cohort,
    Enrolment,
    Evidence,
    Mission,
    MissionProgress,
    Person,
    PointsEntry,
    RiskAssessment,
    Team,
)
from plugin.sandbox.generator import generate_scenario
from plugin.sandbox.graph_messages import MessageRenderer, resource_path
from plugin.services import inbox as inbox_service
from plugin.services.inbox import process_pending, store_notifications
from plugin.services.programmes import copy_missions, programme_for
from plugin.services.progress import recompute_cohort, recompute_people
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.ingest_fixtures import KNOWLEDGE_HTML, chat_message, iso, reaction

START = date(2026, 9, 7)  # a Monday
KICKOFF = datetime(2026, 9, 7, 9, tzinfo=UTC)
_examples = itertools.count(1)


@dataclass
class Pair:
    """The cohort recomputed per affected person and its fully recomputed twin."""

    incremental: Cohort
    full: Cohort
    clock: list[datetime]  # the moment the inbox's recomputes use (a list, so tests can move it)


def twin_cohorts(session: Session, people: list[Person], monkeypatch: Any, *, place: str | None = None,
                 at: datetime = KICKOFF) -> Pair:
    """Two cohorts with identical enrolments, intake, evidence and check-ins; the inbox recomputes only the first."""
    cohorts = []
    for _ in range(2):
        cohort = make_cohort(session, start_date=START, programme_place=place)
        missions = {m.slug: m for m in copy_missions(session, cohort, programme_for(cohort))}
        for n, person in enumerate(people):
            intake = {"platforms": ["linkedin"]} if n % 3 == 0 else {}
            enrolment = make_enrolment(session, cohort=cohort, person=person, intake=intake,
                                       enrolled_at=KICKOFF + timedelta(days=9 * (n % 4 == 3)))
            if n % 5 == 1:
                session.add(Evidence(enrolment_id=enrolment.id, mission_id=missions["first-external"].id,
                                     url=f"https://www.linkedin.com/posts/p{n}", status="approved",
                                     submitted_at=KICKOFF + timedelta(days=3)))
            if n % 4 == 2:
                session.add(CheckIn(enrolment_id=enrolment.id, mission_id=missions["kickoff-checkin"].id,
                                    note="kickoff", created_at=KICKOFF + timedelta(days=1)))
        cohorts.append(cohort)
    session.commit()
    pair = Pair(cohorts[0], cohorts[1], [at])

    def recompute_with_reference(s: Session, cohort_id: int, person_ids: Iterable[int], **_options: Any) -> Any:
        # The inbox's own call with the test's clock; the twin is recomputed whole at the same moment.
        if cohort_id != pair.incremental.id:
            return None
        result = recompute_people(s, cohort_id, person_ids, at=pair.clock[0])
        recompute_cohort(s, pair.full.id, at=pair.clock[0])
        return result

    monkeypatch.setattr(inbox_service, "recompute_people", recompute_with_reference)
    for cohort in cohorts:  # the starting point: both fully computed once
        recompute_cohort(session, cohort.id, at=pair.clock[0])
    return pair


def stored_state(session: Session, cohort: Cohort) -> dict[str, Any]:
    """Everything a recompute stores for a cohort, keyed by person (and mission, source key or badge)."""
    enrolment_person = dict(session.execute(
        select(Enrolment.id, Enrolment.person_id).where(Enrolment.cohort_id == cohort.id)).all())
    progress = {
        (enrolment_person[row.enrolment_id], slug): (row.current, row.target, row.completed_at, row.updated_at)
        for row, slug in session.execute(
            select(MissionProgress, Mission.slug).join(Mission, MissionProgress.mission_id == Mission.id)
            .where(Mission.cohort_id == cohort.id))
    }
    points = {(row.person_id, row.source_key): (row.amount, row.reason) for row in session.scalars(
        select(PointsEntry).where(PointsEntry.cohort_id == cohort.id))}
    awards, public_ids = {}, {}
    for award, slug in session.execute(select(Award, Badge.slug).join(Badge).where(Award.cohort_id == cohort.id)):
        awards[(award.person_id, slug)] = (award.awarded_at, award.revoked_at, award.revoke_reason)
        public_ids[award.public_id] = (award.person_id, slug)
    revocations = Counter(public_ids[target] for target in session.scalars(select(AuditEntry.target_id).where(
        AuditEntry.action == "award.revoke", AuditEntry.target_id.in_(public_ids))))
    risk = {enrolment_person[row.enrolment_id]: (row.score, row.reasons, row.computed_at)
            for row in session.scalars(select(RiskAssessment).where(
                RiskAssessment.enrolment_id.in_(enrolment_person)))}
    return {"progress": progress, "points": points, "awards": awards, "revocations": revocations, "risk": risk}


def timeless(state: Mapping[str, Any], fresh: set[int] | None = None) -> dict[str, Any]:
    """The state without what time alone changes (progress ``updated_at``, risk), except for the `fresh` people."""
    fresh = fresh or set()
    return {
        **state,
        "progress": {key: value if key[0] in fresh else value[:3] for key, value in state["progress"].items()},
        "risk": {person: value for person, value in state["risk"].items() if person in fresh},
    }


def process(session: Session, pair: Pair, notifications: list[dict[str, Any]], at: datetime) -> set[int]:
    """Deliver one batch through the inbox at `at`; recompute the twin whole; return who the inbox replayed."""
    pair.clock[0] = at
    replayed: set[int] = set()
    real = inbox_service.recompute_people

    def spy(s: Session, cohort_id: int, person_ids: Iterable[int], **options: Any) -> Any:
        person_ids = set(person_ids)
        if cohort_id == pair.incremental.id:
            replayed.update(person_ids)
        return real(s, cohort_id, person_ids, **options)

    inbox_service.recompute_people = spy
    try:
        stored = store_notifications(session, notifications)  # redeliveries of one snapshot collapse
        result = process_pending(session, lambda _resource: None, limit=1000)  # gone from Graph: a 404
    finally:
        inbox_service.recompute_people = real
    assert (result.claimed, result.failed) == (stored.stored, 0)
    recompute_cohort(session, pair.full.id, at=at)
    return replayed


def differences(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(section, key, incremental, full) for the first few rows that differ."""
    found = []
    for section, rows in mine.items():
        other = theirs[section]
        for key in sorted(rows.keys() | other.keys(), key=str):
            if rows.get(key) != other.get(key):
                found.append((section, key, rows.get(key), other.get(key)))
    return found[:10]


def assert_same(session: Session, pair: Pair, fresh: set[int]) -> None:
    incremental, full = stored_state(session, pair.incremental), stored_state(session, pair.full)
    mine, theirs = timeless(incremental, fresh), timeless(full, fresh)
    assert mine == theirs, differences(mine, theirs)


def notification(message: Mapping[str, Any], resource: str, n: int, *, change: str = "created") -> dict[str, Any]:
    """A change notification as the webhook stores it: with the decrypted message, or without for a deletion."""
    item = {"id": f"replay-{n}", "subscriptionId": "sub-replay", "changeType": change, "resource": resource,
            "tenantId": "t", "resourceData": {"id": message["id"], "@odata.type": "#Microsoft.Graph.chatMessage"}}
    if change != "deleted":
        item["content"] = dict(message)
    return item


# -- a generated organisation, through the inbox ------------------------------------------------------------------


def test_a_generated_cohort_replayed_per_person_matches_the_full_replay(session, monkeypatch):
    scenario = generate_scenario(people=24, teams=2, messages=220, communities=0, seed=2026, tenant_id="t",
                                 start=datetime(2026, 9, 1, tzinfo=UTC), end=datetime(2026, 10, 12, tzinfo=UTC),
                                 programme_start=KICKOFF, cohort_share=0.7)
    persons = {oid: make_person(session, entra_oid=oid, display_name=p.name) for oid, p in scenario.people.items()}
    for team in scenario.teams.values():
        row = Team(graph_id=team.id, display_name=team.name)
        row.channels = [Channel(graph_id=c.id, display_name=c.name) for c in team.channels.values()]
        session.add(row)
    session.flush()
    assert scenario.plan is not None
    cohort_people = [persons[oid] for oid in sorted(scenario.plan.cohort)]
    first_team = next(iter(scenario.teams.values()))
    pair = twin_cohorts(session, cohort_people, monkeypatch, place=next(iter(first_team.channels)))

    # Arrival order: roughly by time, jittered so replies can overtake their roots; some messages are later
    # deleted (Graph answers 404) and some lose their reactions in a newer snapshot.
    rng = random.Random(7)
    renderer = MessageRenderer(scenario, "http://graph.test", {})
    deliveries: list[tuple[datetime, dict[str, Any]]] = []
    counter = itertools.count()
    for message in scenario.messages.values():
        arrival = message.created + timedelta(minutes=rng.randrange(0, 180))
        document, resource = renderer.render(message), resource_path(message)
        deliveries.append((arrival, notification(document, resource, next(counter))))
        if message.author_oid and rng.random() < 0.05:
            gone = arrival + timedelta(hours=rng.randrange(1, 72))
            deliveries.append((gone, notification(document, resource, next(counter), change="deleted")))
        elif message.reactions and rng.random() < 0.08:
            later = arrival + timedelta(hours=rng.randrange(1, 48))
            unliked = document | {"reactions": [], "lastModifiedDateTime": iso(later),
                                  "etag": str(int(later.timestamp() * 1000))}
            deliveries.append((later, notification(unliked, resource, next(counter), change="updated")))
    deliveries.sort(key=lambda pair_: pair_[0])

    batches, position, replayed_anyone = 0, 0, set()
    while position < len(deliveries):
        size = rng.choice((1, 1, 2, 3, 5, 8, 13))
        batch = deliveries[position:position + size]
        position += size
        fresh = process(session, pair, [item for _at, item in batch], at=batch[-1][0] + timedelta(minutes=5))
        assert_same(session, pair, fresh)
        replayed_anyone |= fresh
        batches += 1

    final = deliveries[-1][0] + timedelta(hours=1)
    recompute_cohort(session, pair.incremental.id, at=final)  # the hourly safety net
    recompute_cohort(session, pair.full.id, at=final)
    incremental, full = stored_state(session, pair.incremental), stored_state(session, pair.full)
    assert incremental == full
    # The scenario really exercised the rules: progress, points, badges, revocations and partial replays.
    assert batches > 40 and len(replayed_anyone) > len(cohort_people) // 2
    assert {slug for _person, slug in full["awards"]} >= {"first-share", "personal-touch", "steady"}
    assert sum(full["revocations"].values()) >= 1 and any(amount < 0 for amount, _reason in full["points"].values())


# -- random threads, replies, reactions, deletions and arrival orders (Hypothesis) --------------------------------

CAST = 7  # five participants and two colleagues who are not enrolled
ROOT = st.tuples(st.integers(0, CAST - 1), st.booleans(), st.integers(0, 30),
                 st.sets(st.integers(0, CAST - 1), max_size=CAST))
REPLY = st.tuples(st.integers(0, CAST - 1), st.integers(0, 7), st.booleans(), st.integers(0, 20))


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(roots=st.lists(ROOT, min_size=1, max_size=8), replies=st.lists(REPLY, max_size=14),
       deletions=st.sets(st.integers(0, 7), max_size=3), data=st.data())
def test_any_arrival_order_and_batching_gives_the_full_replays_state(session, monkeypatch, roots, replies,
                                                                     deletions, data):
    example = next(_examples)
    team = Team(graph_id=f"team-replay-{example}", display_name="Replay")
    team.channels = [Channel(graph_id=f"19:replay{example}@thread.tacv2", display_name="General")]
    session.add(team)
    cast = [make_person(session) for _ in range(CAST)]  # the last two are not enrolled: their reactions and
    session.flush()                                      # replies still count for the participants they answer
    at = KICKOFF + timedelta(days=33)  # one moment for every recompute: everything must then be equal
    pair = twin_cohorts(session, cast[:5], monkeypatch, at=at)
    channel = team.channels[0].graph_id
    resource = f"teams('{team.graph_id}')/channels('{channel}')/messages('{{}}')"
    counter = itertools.count()

    deliveries = []
    root_ids, root_times = [], []
    for n, (author, knowledge, day, reactors) in enumerate(roots):
        message_id = f"{example}{n:03d}00"
        created = KICKOFF + timedelta(days=day, hours=n)
        root_ids.append(message_id)
        root_times.append(created)
        html = KNOWLEDGE_HTML if knowledge else f"<p>Kort bericht {n}</p>"
        bare = chat_message(message_id, cast[author].entra_oid, html, created=created)
        liked = chat_message(message_id, cast[author].entra_oid, html, created=created,
                             reactions=[reaction(cast[r].entra_oid, at=created + timedelta(hours=1))
                                        for r in sorted(reactors)])
        for document in (bare, liked):
            document["channelIdentity"] = {"teamId": team.graph_id, "channelId": channel}
            deliveries.append(notification(document, resource.format(message_id), next(counter)))
    for n, (author, root, long_reply, hours) in enumerate(replies):
        if root >= len(root_ids):
            continue
        reply_id = f"{example}{n:03d}01"
        created = root_times[root] + timedelta(hours=hours + 1)
        words = "Goed punt, dit ga ik morgen met mijn team ook proberen" if long_reply else "Top!"
        document = chat_message(reply_id, cast[author].entra_oid, f"<p>{words}</p>", reply_to=root_ids[root],
                                created=created)
        document["channelIdentity"] = {"teamId": team.graph_id, "channelId": channel}
        path = f"teams('{team.graph_id}')/channels('{channel}')/messages('{root_ids[root]}')/replies('{reply_id}')"
        deliveries.append(notification(document, path, next(counter)))
    for root in sorted(deletions):
        if root < len(root_ids):
            gone = {"id": root_ids[root]}
            deliveries.append(notification(gone, resource.format(root_ids[root]), next(counter), change="deleted"))

    order = data.draw(st.permutations(deliveries), label="arrival order")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(len(order) - 1, 1)), max_size=6), label="batch cuts"))
    for start, end in itertools.pairwise([0, *cuts, len(order)]):
        if start < end:
            fresh = process(session, pair, list(order[start:end]), at=at)
            assert stored_state(session, pair.incremental) == stored_state(session, pair.full), fresh


# -- the rule that depends on other people's activity --------------------------------------------------------------


def test_replies_from_others_reach_the_post_authors_conversation_starter_badge(session, monkeypatch):
    team = Team(graph_id="team-conversation", display_name="Conversation")
    team.channels = [Channel(graph_id="19:conversation@thread.tacv2", display_name="General")]
    session.add(team)
    author, *others = [make_person(session) for _ in range(6)]
    session.flush()
    pair = twin_cohorts(session, [author, *others], monkeypatch)
    channel = team.channels[0].graph_id
    root = chat_message("1800000000000", author.entra_oid, KNOWLEDGE_HTML, created=KICKOFF + timedelta(days=1))
    root["channelIdentity"] = {"teamId": team.graph_id, "channelId": channel}
    messages = f"teams('{team.graph_id}')/channels('{channel}')/messages('1800000000000')"
    at = KICKOFF + timedelta(days=3)

    assert process(session, pair, [notification(root, messages, 0)], at=at) == {author.id}
    for n, other in enumerate(others, start=1):
        reply = chat_message(f"18000000000{n:02d}", other.entra_oid,
                             "<p>Goed punt, dit ga ik morgen met mijn team ook proberen</p>",
                             reply_to="1800000000000", created=KICKOFF + timedelta(days=1, hours=n))
        reply["channelIdentity"] = {"teamId": team.graph_id, "channelId": channel}
        path = f"{messages}/replies('{reply['id']}')"
        replayed = process(session, pair, [notification(reply, path, n)], at=at)
        assert replayed == {other.id, author.id}  # who replied, and whose post it answered
        assert_same(session, pair, replayed)
    earned = stored_state(session, pair.incremental)["awards"]
    assert earned[(author.id, "conversation-starter")][1] is None  # five different colleagues replied

    gone = {"id": "1800000000001"}
    replayed = process(session, pair, [notification(gone, f"{messages}/replies('1800000000001')", 9,
                                                    change="deleted")], at=at + timedelta(hours=1))
    assert replayed == {others[0].id, author.id}
    assert_same(session, pair, replayed)
    incremental = stored_state(session, pair.incremental)
    assert incremental["awards"][(author.id, "conversation-starter")][1] is not None  # withdrawn with the reply
    assert incremental["revocations"][(author.id, "conversation-starter")] == 1
