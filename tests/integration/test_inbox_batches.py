"""The inbox processes a claimed batch as a whole: ingest every item, recompute each touched cohort once, done.

A batch replays the people its messages bear on once per cohort (not once per message); what it stores is what a
recompute from scratch stores. A recompute that fails sends back only the items of that cohort, and a worker that
dies between ingesting and recomputing leaves the batch leased, so the next worker repeats the recompute.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.models import Activity, InboxItem, PointsEntry
from plugin.services import inbox as inbox_service
from plugin.services.inbox import process_pending, requeue_stuck, store_notifications
from plugin.services.progress import recompute_cohort, recompute_people
from tests.integration.ingest_fixtures import (
    IN_WEEK_1,
    KNOWLEDGE_HTML,
    LATER,
    badges_of,
    chat_message,
    reaction,
    setup_cohort,
)
from tests.integration.test_ingest import no_fetch, notification
from tests.reliability.test_burst import totals


class WorkerKilled(BaseException):
    """A dying worker process: not an Exception, so nothing in the app catches it."""


def recorded(monkeypatch: Any, *, failing: set[int] = frozenset(), killed: list[bool] | None = None
             ) -> list[tuple[int, set[int]]]:
    """The inbox's recomputes (cohort, people), run for real at LATER; cohorts in `failing` raise."""
    calls: list[tuple[int, set[int]]] = []

    def recompute(session: Session, cohort_id: int, people: Any, **_options: Any) -> Any:
        calls.append((cohort_id, set(people)))
        if killed:
            killed.pop()
            raise WorkerKilled
        if cohort_id in failing:
            raise RuntimeError("lost the connection")
        return recompute_people(session, cohort_id, people, at=LATER)

    monkeypatch.setattr(inbox_service, "recompute_people", recompute)
    return calls


def statuses(session: Session) -> dict[str, int]:
    session.expire_all()
    return dict(session.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all())


def test_a_batch_recomputes_each_cohort_once_for_everyone_its_messages_touch(session, monkeypatch):
    cohort, (ann, bob, cas, dirk) = setup_cohort(session, 4)
    calls = recorded(monkeypatch)
    post = chat_message("1910000000000", ann.entra_oid, KNOWLEDGE_HTML)
    reply = chat_message("1910000000001", bob.entra_oid, "<p>Dit ga ik morgen met mijn team proberen</p>",
                         reply_to=post["id"], created=IN_WEEK_1 + timedelta(hours=1),
                         reactions=[reaction(cas.entra_oid, at=IN_WEEK_1 + timedelta(hours=2))])
    other = chat_message("1910000000002", ann.entra_oid, "<p>Goedemorgen allemaal</p>",
                         created=IN_WEEK_1 + timedelta(hours=3))
    store_notifications(session, [notification(m) for m in (post, reply, other)])

    result = process_pending(session, no_fetch)

    assert (result.claimed, result.done, result.retried, result.failed) == (3, 3, 0, 0)
    assert calls == [(cohort.id, {ann.id, bob.id, cas.id})]  # once, and dirk is not replayed
    assert statuses(session) == {"done": 3}
    assert "first-share" in badges_of(session, ann)
    after = totals(session)
    recompute_cohort(session, cohort.id, at=LATER)
    assert totals(session) == after  # what replaying the whole cohort stores


def test_a_failing_recompute_sends_back_only_the_items_of_its_cohort(session, monkeypatch):
    first, (ann,) = setup_cohort(session, 1)
    second, (bob,) = setup_cohort(session, 1)
    calls = recorded(monkeypatch, failing={second.id})
    store_notifications(session, [
        notification(chat_message("1920000000000", ann.entra_oid, KNOWLEDGE_HTML)),
        notification(chat_message("1920000000001", bob.entra_oid, KNOWLEDGE_HTML)),
    ])

    result = process_pending(session, no_fetch)

    assert (result.claimed, result.done, result.retried) == (2, 1, 1)
    assert calls == [(first.id, {ann.id}), (second.id, {bob.id})]
    items = {item.payload["resourceData"]["id"]: item for item in session.scalars(select(InboxItem))}
    assert items["1920000000000"].status == "done"
    retried = items["1920000000001"]
    assert retried.status == "pending" and retried.error.startswith("RuntimeError")
    assert retried.locked_until is not None and "body" in retried.payload["content"]  # text kept for the retry
    assert "first-share" in badges_of(session, ann) and "first-share" not in badges_of(session, bob)

    calls.clear()
    recorded(monkeypatch)
    retried.locked_until = datetime.now(UTC) - timedelta(seconds=1)  # the backoff has passed
    session.commit()
    again = process_pending(session, no_fetch)
    assert (again.claimed, again.done) == (1, 1)
    assert statuses(session) == {"done": 2}
    assert "first-share" in badges_of(session, bob)  # nothing new to ingest, recomputed anyway


def test_a_worker_dying_between_ingest_and_recompute_leaves_the_batch_to_the_next_worker(session, monkeypatch):
    cohort, people = setup_cohort(session, 3)
    recorded(monkeypatch, killed=[True])
    messages = [chat_message(str(1930000000000 + n), people[n % 3].entra_oid,
                             KNOWLEDGE_HTML if n % 2 else f"<p>Goedemorgen ({n})</p>",
                             created=IN_WEEK_1 + timedelta(hours=n)) for n in range(6)]
    store_notifications(session, [notification(m) for m in messages])

    with pytest.raises(WorkerKilled):
        process_pending(session, no_fetch, worker_id="w1", lease_seconds=60)
    session.rollback()
    assert statuses(session) == {"processing": 6}  # still leased: the activity is stored, nothing derived yet
    assert session.scalar(select(func.count()).select_from(Activity)) == 6
    assert session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    assert process_pending(session, no_fetch, worker_id="w2").claimed == 0  # until the lease runs out

    assert requeue_stuck(session, datetime.now(UTC) + timedelta(seconds=61)) == 6
    result = process_pending(session, no_fetch, worker_id="w2")

    assert (result.claimed, result.done) == (6, 6)
    assert statuses(session) == {"done": 6}
    assert set(session.scalars(select(InboxItem.attempts))) == {2}
    assert session.scalar(select(func.count()).select_from(Activity)) == 6  # nothing stored twice
    after = totals(session)
    assert after[0] and after[1]
    recompute_cohort(session, cohort.id, at=LATER)
    assert totals(session) == after
