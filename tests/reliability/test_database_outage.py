"""The database goes down: /healthz says 503, the webhook answers 503 so Graph retries, and nothing is lost after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from plugin.models import Activity, InboxItem
from plugin.services.inbox import process_pending
from tests.integration.ingest_fixtures import KNOWLEDGE_HTML, badges_of, chat_message, setup_cohort
from tests.reliability.test_burst import notification, resource

#: Port 1 on loopback refuses connections at once: a database server that is down.
DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/ambassador"


@contextmanager
def database_down(app: Flask) -> Iterator[None]:
    """Point the app (requests, health check and webhook intake) at a database that cannot be reached."""
    working = app.extensions["db.engine"], app.extensions["db.sessionmaker"]
    down = create_engine(DOWN_URL)
    app.extensions["db.engine"], app.extensions["db.sessionmaker"] = down, sessionmaker(bind=down)
    try:
        yield
    finally:
        app.extensions["db.engine"], app.extensions["db.sessionmaker"] = working
        down.dispose()


def test_while_the_database_is_down_graph_is_told_to_retry_and_nothing_is_lost_after(app, client, session):
    _cohort, (ann, bob) = setup_cohort(session)
    session.commit()
    posts = ((ann, KNOWLEDGE_HTML), (bob, "<p>Thanks for sharing!</p>"), (ann, "<p>Good morning all</p>"))
    messages = [chat_message(str(1_700_200_000_000 + n), author.entra_oid, html)
                for n, (author, html) in enumerate(posts)]
    deliveries = [json.dumps({"value": [notification(m)]}) for m in messages]

    with database_down(app):
        health = client.get("/healthz")
        refused = [client.post("/webhooks/graph", data=body, content_type="application/json") for body in deliveries]
    assert health.status_code == 503 and health.get_json()["database"]["ok"] is False
    assert {answer.status_code for answer in refused} == {503}
    assert all(a.get_json()["error"] == "unavailable" and int(a.headers["Retry-After"]) > 0 for a in refused)
    assert session.scalar(select(func.count()).select_from(InboxItem)) == 0  # nothing half-stored

    assert client.get("/healthz").status_code == 200  # back
    for body in deliveries:  # Graph's retries
        assert client.post("/webhooks/graph", data=body, content_type="application/json").status_code == 202
    by_resource = {resource(m): m for m in messages}
    assert process_pending(session, by_resource.get).done == 3
    session.expire_all()
    stored = {a.external_id: a.author_id for a in session.scalars(select(Activity))}
    assert stored == {m["id"]: person.id for m, (person, _html) in zip(messages, posts, strict=True)}
    assert "first-share" in badges_of(session, ann)
