"""A burst of Graph notifications — duplicates, shuffled, in many deliveries — while the worker is killed twice.

Every message must become exactly one activity, every notification one inbox item, and the points and awards
must be what a recompute from scratch gives (nothing counted twice, nothing missing).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.models import Activity, Award, InboxItem, PointsEntry
from plugin.services import inbox as inbox_service
from plugin.services.inbox import process_pending, requeue_stuck
from plugin.services.progress import recompute_cohort, recompute_people
from tests.integration.ingest_fixtures import IN_WEEK_1, KNOWLEDGE_HTML, chat_message, setup_cohort

STATE = "sandbox-client-state"  # GRAPH_CLIENT_STATE in tests
TEAM, CHANNEL = "team-1", "19:general@thread.tacv2"
#: The burst of issue #11: 20,000 notifications (18,181 messages). The inbox recomputes once per claimed batch, so
#: this takes about three minutes on the two-core CI machine, on SQLite and on PostgreSQL alike.
NOTIFICATIONS = 20_000
DUPLICATES = 0.10
PER_DELIVERY = 40
PEOPLE = 12
KILL_AFTER = (2_700, 7_300)  # the worker dies after this many ingests of its life, twice
#: The moment progress is judged at: after the two weeks of messages, before the cohort freezes (a test run on a
#: later date must not find the cohort ended, which would freeze it at the first recompute).
AT = IN_WEEK_1 + timedelta(days=15)


class WorkerKilled(BaseException):
    """A dying worker process: not an Exception, so nothing in the app catches it."""


def resource(message: Mapping[str, Any]) -> str:
    root = message.get("replyToId")
    path = f"teams('{TEAM}')/channels('{CHANNEL}')/messages('{root or message['id']}')"
    return f"{path}/replies('{message['id']}')" if root else path


def notification(message: Mapping[str, Any]) -> dict[str, Any]:
    """A change notification without resource data, as Graph sends it for a basic subscription."""
    return {"id": f"n-{message['id']}", "subscriptionId": "0f6a7b1c-sub", "changeType": "created",
            "clientState": STATE, "tenantId": "t", "resource": resource(message),
            "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
            "resourceData": {"id": message["id"], "@odata.type": "#Microsoft.Graph.chatMessage"}}


def conversation(oids: list[str], count: int, rng: random.Random) -> list[dict[str, Any]]:
    """`count` messages: knowledge posts, short posts and replies by the cohort's people over two weeks."""
    messages: list[dict[str, Any]] = []
    for n in range(count):
        message_id = str(1_700_100_000_000 + n)
        author = rng.choice(oids)
        created = IN_WEEK_1 + timedelta(minutes=7 * n % (14 * 24 * 60))
        roots = [m for m in messages[-50:] if not m["replyToId"]]
        if roots and rng.random() < 0.3:
            html = f"<p>Thanks, I will try this with my team ({n}).</p>"
            messages.append(chat_message(message_id, author, html, reply_to=rng.choice(roots)["id"], created=created))
        elif rng.random() < 0.5:
            messages.append(chat_message(message_id, author, KNOWLEDGE_HTML.replace("half", f"half ({n})"),
                                         created=created))
        else:
            messages.append(chat_message(message_id, author, f"<p>Good morning ({n})</p>", created=created))
    return messages


def deliveries(messages: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Every message's notification once, 10 % of them again, shuffled and cut into deliveries."""
    unique = [notification(m) for m in messages]
    items = unique + rng.sample(unique, int(len(unique) * DUPLICATES))
    rng.shuffle(items)
    return [{"value": items[start:start + PER_DELIVERY]} for start in range(0, len(items), PER_DELIVERY)]


def totals(session: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    session.expire_all()
    points = session.execute(select(PointsEntry.person_id, func.sum(PointsEntry.amount), func.count())
                             .group_by(PointsEntry.person_id).order_by(PointsEntry.person_id)).all()
    awards = session.execute(select(Award.person_id, Award.badge_id, func.count())
                             .group_by(Award.person_id, Award.badge_id).order_by(Award.person_id, Award.badge_id)).all()
    return [tuple(r) for r in points], [tuple(r) for r in awards]


def test_a_shuffled_burst_with_duplicates_and_two_worker_deaths_counts_every_activity_once(
        app, client, session, monkeypatch):
    rng = random.Random(20_000)
    cohort, people = setup_cohort(session, PEOPLE)
    session.commit()
    messages = conversation([p.entra_oid for p in people], int(NOTIFICATIONS / (1 + DUPLICATES)), rng)
    by_resource = {resource(m): m for m in messages}
    batches = deliveries(messages, rng)

    ingests = {"count": 0, "kill_at": list(KILL_AFTER)}
    real_ingest = inbox_service.ingest_channel_message

    def mortal_ingest(*args: Any, **kwargs: Any) -> Any:
        ingests["count"] += 1
        if ingests["kill_at"] and ingests["count"] == ingests["kill_at"][0]:
            ingests["kill_at"].pop(0)
            ingests["count"] = 0
            raise WorkerKilled
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(inbox_service, "ingest_channel_message", mortal_ingest)
    monkeypatch.setattr(inbox_service, "recompute_people",
                        lambda s, cohort_id, people, **kw: recompute_people(s, cohort_id, people, at=AT))
    worker, deaths = 1, 0

    def work() -> None:
        """Run the current worker until the inbox is empty or it dies; a dead worker is replaced."""
        nonlocal worker, deaths
        while True:
            try:
                if process_pending(session, by_resource.get, limit=100, worker_id=f"w{worker}").claimed == 0:
                    return
            except WorkerKilled:
                session.rollback()
                deaths, worker = deaths + 1, worker + 1
                # The new worker starts once the dead one's lease has run out (the sweep job's requeue).
                requeue_stuck(session, datetime.now(UTC) + timedelta(seconds=inbox_service.DEFAULT_LEASE_SECONDS + 1))

    third = len(batches) // 3
    for part in (batches[:third], batches[third:2 * third], batches[2 * third:]):  # Graph keeps sending meanwhile
        for body in part:
            answer = client.post("/webhooks/graph", data=json.dumps(body), content_type="application/json")
            assert answer.status_code == 202
        work()

    assert deaths == 2 and worker == 3
    session.expire_all()
    sent = sum(len(b["value"]) for b in batches)
    assert sent >= NOTIFICATIONS - PER_DELIVERY
    statuses = dict(session.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all())
    assert statuses == {"done": len(messages)}
    activities = session.execute(select(Activity.external_id, func.count()).where(Activity.source == "teams")
                                 .group_by(Activity.external_id)).all()
    expected_ids = {m["id"] if not m["replyToId"] else f"{m['replyToId']}/{m['id']}" for m in messages}
    assert {external_id for external_id, _ in activities} == expected_ids
    assert all(count == 1 for _, count in activities)

    after_burst = totals(session)
    assert after_burst[0] and after_burst[1]  # people earned points and badges
    assert all(count == 1 for *_, count in after_burst[1])  # one award per person and badge
    recompute_cohort(session, cohort.id, at=AT)
    assert totals(session) == after_burst  # what a calm, single recompute gives: nothing twice, nothing missing


@pytest.fixture(autouse=True)
def _quiet_inbox_logs(caplog):
    caplog.set_level("ERROR", logger="plugin.services.inbox")
