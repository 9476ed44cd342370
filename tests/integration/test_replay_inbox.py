"""The inbox hands the recompute only the people a message bears on, and rides out write conflicts at once."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from plugin.models import InboxItem
from plugin.services import inbox as inbox_service
from plugin.services.inbox import process_pending, store_notifications
from plugin.services.progress import recompute_people
from tests.integration.ingest_fixtures import KNOWLEDGE_HTML, badges_of, chat_message, reaction, setup_cohort

START = date(2026, 9, 7)
POSTED = datetime.fromisoformat("2026-09-08T10:00:00+00:00")
AT = POSTED + timedelta(days=2)


def notification(message: dict[str, Any], n: int) -> dict[str, Any]:
    """A change notification with the decrypted message, as the webhook stores it."""
    resource = f"teams('team-1')/channels('19:general@thread.tacv2')/messages('{message['id']}')"
    if message.get("replyToId"):
        resource = (f"teams('team-1')/channels('19:general@thread.tacv2')/messages('{message['replyToId']}')"
                    f"/replies('{message['id']}')")
    return {"id": f"replay-inbox-{n}", "subscriptionId": "sub-1", "changeType": "created", "resource": resource,
            "tenantId": "t", "content": message,
            "resourceData": {"id": message["id"], "@odata.type": "#Microsoft.Graph.chatMessage"}}


def recorded(monkeypatch: Any) -> list[tuple[int, set[int]]]:
    """The inbox's recomputes (cohort, people), run for real at a fixed moment."""
    calls: list[tuple[int, set[int]]] = []

    def recompute(session: Session, cohort_id: int, people: Any, **_options: Any) -> Any:
        calls.append((cohort_id, set(people)))
        return recompute_people(session, cohort_id, people, at=AT)

    monkeypatch.setattr(inbox_service, "recompute_people", recompute)
    return calls


def test_a_reply_with_reactions_recomputes_its_author_the_post_author_and_the_reactors(session, monkeypatch):
    cohort, (ann, bob, cas, dirk) = setup_cohort(session, 4, start=START)
    calls = recorded(monkeypatch)
    post = chat_message("1900000000000", ann.entra_oid, KNOWLEDGE_HTML, created=POSTED)
    reply = chat_message("1900000000001", bob.entra_oid, "<p>Goed punt, dit ga ik morgen met mijn team proberen</p>",
                         reply_to=post["id"], created=POSTED + timedelta(hours=1),
                         reactions=[reaction(cas.entra_oid, at=POSTED + timedelta(hours=2))])
    store_notifications(session, [notification(post, 0), notification(reply, 1)])

    # One item per run: a batch recomputes once for the union of its items' people.
    assert process_pending(session, lambda _resource: None, limit=1).done == 1
    assert process_pending(session, lambda _resource: None, limit=1).done == 1

    assert calls == [(cohort.id, {ann.id}), (cohort.id, {bob.id, ann.id, cas.id})]
    assert dirk.id not in set().union(*(people for _cohort, people in calls))  # untouched, not replayed


def test_a_write_conflict_while_ingesting_is_retried_at_once(session, monkeypatch):
    cohort, (ann, _bob) = setup_cohort(session, start=START)
    recorded(monkeypatch)
    real = inbox_service.ingest_channel_message
    conflicts = []

    def busy_once(*args: Any, **kwargs: Any) -> Any:
        if not conflicts:  # SQLite: another writer committed after this transaction's first read
            conflicts.append(1)
            raise OperationalError("INSERT INTO activity …", {}, sqlite3.OperationalError("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(inbox_service, "ingest_channel_message", busy_once)
    store_notifications(session, [notification(chat_message("1900000000100", ann.entra_oid, KNOWLEDGE_HTML,
                                                            created=POSTED), 0)])

    result = process_pending(session, lambda _resource: None)

    assert (result.done, result.retried, conflicts) == (1, 0, [1])  # not backed off for half a minute
    assert "first-share" in badges_of(session, ann)
    item = session.scalars(select(InboxItem)).one()
    assert item.status == "done" and item.attempts == 1
