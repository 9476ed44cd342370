"""The lean path of the webhook routes: answered in front of Flask, with the same answers Flask's views give."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, jsonify
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import Client

from plugin.models import InboxItem

STATE = "sandbox-client-state"
RESOURCE = "teams('team-1')/channels('19:general@thread.tacv2')/messages('{}')"
WAIT = 30  # seconds: a deadline for things that happen at once, never a measurement
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def change(message_id: str, *, state: str = STATE, **extra: Any) -> dict[str, Any]:
    return {"id": f"n-{message_id}", "subscriptionId": "0f6a7b1c-sub", "changeType": "created", "clientState": state,
            "tenantId": "t", "resource": RESOURCE.format(message_id), "resourceData": {"id": message_id}, **extra}


def lifecycle(event: str, **extra: Any) -> dict[str, Any]:
    return {"subscriptionId": "0f6a7b1c-sub", "lifecycleEvent": event, "clientState": STATE, **extra,
            "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z", "tenantId": "t"}


def deliver(client: Any, body: Any, path: str = "/webhooks/graph", **kwargs: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=data, content_type="application/json", **kwargs)


def stored(session: Session) -> list[str]:
    session.expire_all()
    return [i.resource for i in session.scalars(select(InboxItem).order_by(InboxItem.id))]


def test_deliveries_do_not_go_through_flasks_request_handling(app, client, session):
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask"))
    assert deliver(client, {"value": [change("1700000600000")]}).status_code == 202
    assert deliver(client, b"{not json").status_code == 400
    assert client.post("/webhooks/graph/lifecycle?validationToken=abc").get_data() == b"abc"
    assert "Set-Cookie" not in deliver(client, {"value": [change("1700000600001")]}).headers
    assert seen == []
    assert stored(session) == [RESOURCE.format("1700000600000"), RESOURCE.format("1700000600001")]
    refused = client.get("/webhooks/graph")  # not a delivery: Flask answers it as before
    assert refused.status_code == 405 and refused.json["error"] == "method_not_allowed"
    assert seen == ["flask"]


def unavailable(app: Flask, tmp_path: Any) -> Callable[[], None]:
    """Point the inbox at a database that cannot be opened; returns the undo."""
    closed = create_engine(f"sqlite:///{tmp_path}/no/such/dir/ambassador.db")
    working = app.extensions["db.sessionmaker"]
    app.extensions["db.sessionmaker"] = sessionmaker(bind=closed)

    def undo() -> None:
        app.extensions["db.sessionmaker"] = working
        closed.dispose()

    return undo


CASES = {
    "handshake": (200, "/webhooks/graph?validationToken=Validation%3A%20hi%20%3Cb%3E", b""),
    "accepted": (202, "/webhooks/graph", {"value": [change("{n}")]}),
    "lifecycle": (202, "/webhooks/graph/lifecycle", {"value": [lifecycle("missed", id="{n}")]}),
    "not json": (400, "/webhooks/graph", b"\xff{"),
    "bad shape": (400, "/webhooks/graph", {"value": [change("1", changeType="x" * 40)]}),
    "NUL in an id": (400, "/webhooks/graph", {"value": [change("1", subscriptionId="a\x00b")]}),
    "forged": (403, "/webhooks/graph", {"value": [change("1", state="guess")]}),
    "too large": (413, "/webhooks/graph", {"value": [change(str(n)) for n in range(400)]}),
    "database down": (503, "/webhooks/graph", {"value": [change("{n}")]}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_lean_answer_is_flasks_answer(app, client, session, tmp_path, case):
    status, path, body = CASES[case]
    app.config["WEBHOOK_MAX_BYTES"] = 64 * 1024
    flask_only = Client(app.wsgi_app.wrapped)  # the same app without the lean path in front
    undo = unavailable(app, tmp_path) if status == 503 else lambda: None
    try:
        answers = []
        for n, through in enumerate((client, flask_only)):
            sent = json.loads(json.dumps(body).replace("{n}", str(1700000700000 + n))) if isinstance(body, dict) \
                else body
            answers.append(deliver(through, sent, path))
    finally:
        undo()
    lean, flask = answers
    assert lean.status_code == flask.status_code == status
    assert lean.get_data() == flask.get_data()
    assert lean.headers.get("Content-Type") == flask.headers.get("Content-Type")
    assert lean.headers.get("Retry-After") == flask.headers.get("Retry-After")
    assert all(lean.headers.get(h) for h in SECURITY_HEADERS) and all(flask.headers.get(h) for h in SECURITY_HEADERS)
    if status >= 400:  # the API's error shape, byte for byte as the rest of the app writes it
        with app.app_context():
            assert lean.get_data() == jsonify(error=lean.json["error"], message=lean.json["message"]).get_data()
    if status == 202:
        assert len(stored(session)) == 2  # one delivery through each path
    else:
        assert stored(session) == []


def test_a_body_cut_short_is_refused(client, session):
    body = json.dumps({"value": [change("1700000800000")]}).encode()
    response = client.post("/webhooks/graph", data=body[:-10], content_type="application/json",
                           headers={"Content-Length": str(len(body))})
    assert response.status_code == 400 and response.json["error"]
    assert stored(session) == []


def test_the_jobs_are_queued_once_per_commit_and_only_for_new_items(app, client, session):
    queued: list[str] = []
    app.config["INBOX_AUTO_PROCESS"] = True
    app.extensions["tasks"] = {name: (lambda name=name: queued.append(name))
                               for name in ("process_inbox", "handle_lifecycle")}
    three = {"value": [change("1700000900000"), change("1700000900001"), change("1700000900002")]}
    assert deliver(client, three).status_code == 202
    assert queued == ["process_inbox"]
    assert deliver(client, three).status_code == 202  # a redelivery: nothing new, nothing to do
    assert queued == ["process_inbox"]
    assert deliver(client, {"value": [lifecycle("reauthorizationRequired")]}, "/webhooks/graph/lifecycle"
                   ).status_code == 202
    assert queued == ["process_inbox", "handle_lifecycle"]
    assert len(stored(session)) == 4


def test_a_failing_job_queue_does_not_fail_the_delivery(app, client, session):
    def broken() -> None:
        raise ConnectionError("redis is down")

    app.config["INBOX_AUTO_PROCESS"] = True
    app.extensions["tasks"] = {"process_inbox": broken, "handle_lifecycle": broken}
    assert deliver(client, {"value": [change("1700001000000")]}).status_code == 202
    assert stored(session) == [RESOURCE.format("1700001000000")]


def test_with_a_real_queue_jobs_are_queued_in_the_background_and_coalesced(app, client, session):
    queued: list[str] = []
    first_call_may_end = threading.Event()

    def record(job: str) -> None:
        queued.append(job)
        if len(queued) == 1:
            assert first_call_may_end.wait(WAIT)  # a slow queue: requests must not wait for it

    app.config["INBOX_AUTO_PROCESS"] = True
    app.extensions["huey"] = SimpleNamespace(immediate=False)
    app.extensions["tasks"] = {"process_inbox": lambda: record("process_inbox"),
                               "handle_lifecycle": lambda: record("handle_lifecycle")}
    assert deliver(client, {"value": [change("1700001100000")]}).status_code == 202
    assert until(lambda: queued == ["process_inbox"])
    # While that job is being queued, five more deliveries are answered and stored ...
    for n in range(1, 6):
        assert deliver(client, {"value": [change(str(1700001100000 + n))]}).status_code == 202
    assert len(stored(session)) == 6
    first_call_may_end.set()
    # ... and they need one more job, not five.
    assert until(lambda: len(queued) == 2)
    assert queued == ["process_inbox", "process_inbox"]


def until(condition: Callable[[], bool]) -> bool:
    """Wait (up to a deadline) until `condition` holds."""
    pause = threading.Event()
    for _ in range(WAIT * 100):
        if condition():
            return True
        pause.wait(0.01)
    return condition()
