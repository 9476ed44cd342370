"""Group commit of webhook deliveries, through a real threaded HTTP server committing to the test database.

Concurrent deliveries share one commit; each is answered only after the commit that holds its rows, and a
commit that fails is answered 503 to every delivery in it, with none of their rows stored.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, delete, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from plugin import create_app
from plugin.models import InboxItem
from plugin.services import inbox_writer as inbox_writer_module
from plugin.web.webhooks import inbox_writer
from tests.integration.ingest_fixtures import serve_app

STATE = "sandbox-client-state"
RESOURCE = "teams('team-1')/channels('19:general@thread.tacv2')/messages('{}')"
WAIT = 30  # seconds: a deadline for things that happen at once, never a measurement


class Served:
    """The app on a real threaded server; every delivery of a test carries the test's own subscription id."""

    def __init__(self, base: str, app: Flask, engine: Engine) -> None:
        self.base, self.app, self.engine = base, app, engine
        self.subscription = f"sub-{uuid.uuid4().hex[:12]}"
        self.http = httpx.Client(base_url=base, trust_env=False, timeout=WAIT)

    def body(self, message_id: str, **extra: Any) -> dict[str, Any]:
        """A delivery of one change notification."""
        return {"value": [{"id": f"n-{message_id}", "subscriptionId": self.subscription, "changeType": "created",
                           "clientState": STATE, "resource": RESOURCE.format(message_id), "tenantId": "t",
                           "resourceData": {"id": message_id}, **extra}]}

    def post(self, body: dict[str, Any]) -> httpx.Response:
        """POST a delivery to the change notification URL."""
        return self.http.post("/webhooks/graph", json=body)

    def stored(self) -> list[str]:
        """The message ids in the inbox for this test, in storing order."""
        with Session(self.engine) as s:
            items = s.scalars(select(InboxItem).where(InboxItem.subscription_id == self.subscription)
                              .order_by(InboxItem.id))
            return [item.payload["resourceData"]["id"] for item in items]

    def waiting(self) -> int:
        """Deliveries queued behind the commit under way."""
        return inbox_writer(self.app).waiting


@pytest.fixture
def served(engine: Engine, database_url: str) -> Iterator[Served]:
    def build(base: str) -> Flask:
        return create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url, "APP_BASE_URL": base})

    with serve_app(build) as (base, app):
        state = Served(base, app, engine)
        try:
            yield state
        finally:
            state.http.close()
            with Session(engine) as s:
                s.execute(delete(InboxItem).where(InboxItem.subscription_id == state.subscription))
                s.commit()
            app.extensions["db.engine"].dispose()


class Gate:
    """Holds every commit of the inbox writer until opened (as a slow disk flush would), counting the batches."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, refuse: Callable[[list[dict]], bool] = lambda rows: False):
        self.opened, self.batches, self.broken = threading.Event(), [], False
        insert = inbox_writer_module.insert_rows_autocommit

        def held(connection: Any, rows: list[dict[str, Any]]) -> set[str]:
            self.batches.append(len(rows))
            assert self.opened.wait(WAIT)
            if refuse(rows):  # as the database refuses a value it cannot store
                raise DataError("INSERT INTO inbox_item …", {}, Exception("value cannot be stored"))
            if self.broken:  # the database went away under the connection
                connection.connection.dbapi_connection.close()
            return insert(connection, rows)

        monkeypatch.setattr(inbox_writer_module, "insert_rows_autocommit", held)


def until(condition: Callable[[], bool]) -> bool:
    """Wait (up to a deadline) until `condition` holds."""
    pause = threading.Event()
    for _ in range(WAIT * 100):
        if condition():
            return True
        pause.wait(0.01)
    return condition()


def test_concurrent_deliveries_are_each_stored_exactly_once(served):
    ids = [str(1700000100000 + n) for n in range(120)]
    deliveries = ids + ids[::10]  # a tenth of them delivered twice, at about the same time
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda message_id: served.post(served.body(message_id)).status_code, deliveries))
    assert statuses == [202] * len(deliveries)
    assert sorted(served.stored()) == sorted(ids)


def test_deliveries_that_arrive_during_a_commit_share_the_next_one_and_wait_for_it(served, monkeypatch):
    gate = Gate(monkeypatch)
    with ThreadPoolExecutor(max_workers=12) as pool:
        first = pool.submit(served.post, served.body("1700000200000"))
        assert until(lambda: len(gate.batches) == 1)  # the first delivery's commit is under way
        rest = [pool.submit(served.post, served.body(str(1700000200001 + n))) for n in range(10)]
        assert until(lambda: served.waiting() == 10)
        assert not first.done() and not any(f.done() for f in rest)  # nobody is answered before the commit
        assert served.stored() == []
        gate.opened.set()
        assert first.result().status_code == 202
        assert [f.result().status_code for f in rest] == [202] * 10
    assert gate.batches == [1, 10]  # the ten deliveries that waited went in one commit
    assert sorted(served.stored()) == [str(1700000200000 + n) for n in range(11)]


def test_a_failing_commit_answers_503_to_every_delivery_in_it_and_stores_none(served, monkeypatch, tmp_path):
    gate = Gate(monkeypatch)
    working = served.app.extensions["db.sessionmaker"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(served.post, served.body("1700000300000"))
        assert until(lambda: len(gate.batches) == 1)
        rest = [pool.submit(served.post, served.body(str(1700000300001 + n))) for n in range(5)]
        assert until(lambda: served.waiting() == 5)
        # The database goes away while the first commit is under way: it and the five waiting ones fail.
        gone = create_engine(f"sqlite:///{tmp_path}/no/such/dir/ambassador.db")
        served.app.extensions["db.sessionmaker"] = sessionmaker(bind=gone)
        gate.broken = True
        gate.opened.set()
        answers = [first.result(), *(f.result() for f in rest)]
    gone.dispose()
    assert [a.status_code for a in answers] == [503] * 6
    assert all(a.json()["error"] == "unavailable" and int(a.headers["Retry-After"]) > 0 for a in answers)
    assert served.stored() == []
    # Graph retries later: the same deliveries are stored once the database is back.
    served.app.extensions["db.sessionmaker"], gate.broken = working, False
    assert served.post(served.body("1700000300000")).status_code == 202
    assert served.stored() == ["1700000300000"]


def test_a_delivery_the_database_refuses_does_not_fail_the_others_in_its_batch(served, monkeypatch):
    gate = Gate(monkeypatch, refuse=lambda rows: any(r["payload"].get("tenantId") == "poison" for r in rows))
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(served.post, served.body("1700000400000"))
        assert until(lambda: len(gate.batches) == 1)
        good = [pool.submit(served.post, served.body(str(1700000400001 + n))) for n in range(4)]
        poison = pool.submit(served.post, served.body("1700000400009", tenantId="poison"))
        assert until(lambda: served.waiting() == 5)
        gate.opened.set()
        assert first.result().status_code == 202
        assert [f.result().status_code for f in good] == [202] * 4
        assert poison.result().status_code == 503
    assert gate.batches == [1, 5, 1, 1, 1, 1, 1]  # the refused batch was retried one delivery at a time
    assert sorted(served.stored()) == [str(1700000400000 + n) for n in range(5)]
