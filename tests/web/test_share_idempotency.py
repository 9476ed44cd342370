"""A share is posted once per idempotency key: a double click or a retried request gets the first answer again.

The tab sends ``idempotency_key`` in the body (one per composed share); API clients may send the
``Idempotency-Key`` header instead. A failed post frees its key; a key cannot be used for a different share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from plugin.adapters.graph import GraphClient
from plugin.models import ShareRequest
from plugin.services.privacy import erase_person, export_person
from plugin.services.retention import apply_retention

from .coaching_world import DAAN, FLEUR
from .test_share import CHANNEL, NOTE, TEAM, channel_messages, item_id, world  # noqa: F401 - fixtures

TEAMS = {"type": "teams", "team_id": TEAM, "channel_id": CHANNEL}
KEY = "0b9f6c1e-3c1d-4d8e-9a52-5e0f3f6c2a11"


def share_body(item: int, **extra) -> dict:
    return {"item_id": item, "note": NOTE, "target": TEAMS} | extra


def test_a_repeated_request_posts_once_and_answers_as_the_first(app, world, item_id):  # noqa: F811
    first = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    again = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))

    assert first.status_code == 201, first.get_json()
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    [message] = channel_messages(app)
    assert message.id == first.get_json()["message_id"]


def test_the_idempotency_key_header_works_the_same_and_a_new_key_is_a_new_share(app, world, item_id):  # noqa: F811
    headers = {**world.headers(DAAN), "Idempotency-Key": KEY}
    first = world.client.post("/api/me/share", json=share_body(item_id), headers=headers)
    again = world.client.post("/api/me/share", json=share_body(item_id), headers=headers)
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert len(channel_messages(app)) == 1

    other = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key="compose-2"))
    assert other.status_code == 201 and other.get_json()["message_id"] != first.get_json()["message_id"]
    # Keys are per person: a colleague's share under the same key is their own.
    fleur = world.post(FLEUR, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    assert fleur.status_code == 201 and fleur.get_json()["message_id"] != first.get_json()["message_id"]
    assert len(channel_messages(app)) == 3


def test_a_double_click_while_the_first_is_posting_posts_nothing(app, world, item_id, monkeypatch):  # noqa: F811
    real = GraphClient.post_channel_message
    during: list = []

    def slow_post(graph, *args, **kwargs):
        # The second click arrives while Teams is still taking the first post.
        during.append(world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY)))
        return real(graph, *args, **kwargs)

    monkeypatch.setattr(GraphClient, "post_channel_message", slow_post)
    first = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))

    [second] = during
    assert second.status_code == 409 and second.get_json()["error"] == "share_in_progress"
    assert second.get_json()["message"]
    assert first.status_code == 201 and len(channel_messages(app)) == 1
    monkeypatch.undo()
    assert world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY)).get_json() == first.get_json()


def test_a_key_used_for_another_share_is_refused(app, world, item_id):  # noqa: F811
    assert world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY)).status_code == 201
    changed = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY, note=NOTE + " Echt."))
    assert changed.status_code == 409
    assert changed.get_json()["error"] == "idempotency_key_reused" and changed.get_json()["field"] == "idempotency_key"
    assert len(channel_messages(app)) == 1


def test_a_failed_post_frees_its_key_for_the_retry(app, world, session, item_id):  # noqa: F811
    emulator_client = app.test_client()
    fault = {"kind": "unavailable", "count": 10, "status": 503, "retryAfter": 0}
    assert emulator_client.post("/dev/graph/_faults", json=fault).status_code in (200, 201, 204)
    failed = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    assert failed.status_code == 502 and channel_messages(app) == []
    assert session.scalar(select(func.count()).select_from(ShareRequest)) == 0
    emulator_client.delete("/dev/graph/_faults")

    retried = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    assert retried.status_code == 201 and len(channel_messages(app)) == 1


def test_a_claim_left_by_a_request_that_died_is_taken_over_after_a_while(app, world, session, item_id):  # noqa: F811
    assert world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY)).status_code == 201
    row = session.scalar(select(ShareRequest))
    # As if the worker had died during the call to Teams, long ago: the claim never got its answer.
    row.status, row.answer, row.created_at = "posting", None, datetime.now(UTC) - timedelta(minutes=6)
    session.commit()
    retried = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert len(channel_messages(app)) == 2


@pytest.mark.parametrize("key", ["", "x" * 65, "spaces are not allowed", 42])
def test_a_malformed_key_is_refused_and_nothing_is_posted(app, world, item_id, key):  # noqa: F811
    answer = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=key))
    assert answer.status_code == 400 and answer.get_json()["field"] == "idempotency_key"
    assert answer.get_json()["error"] == "invalid_idempotency_key"
    assert channel_messages(app) == []


def test_two_different_keys_in_one_request_are_refused(app, world, item_id):  # noqa: F811
    headers = {**world.headers(DAAN), "Idempotency-Key": KEY}
    answer = world.client.post("/api/me/share", json=share_body(item_id, idempotency_key="other"), headers=headers)
    assert answer.status_code == 400 and answer.get_json()["field"] == "idempotency_key"
    assert channel_messages(app) == []


def test_the_api_description_documents_the_key(client):
    operation = client.get("/api/openapi.json").get_json()["paths"]["/api/me/share"]["post"]
    assert "Idempotency-Key" in operation["summary"] and "idempotency_key" in operation["summary"]
    assert "share_in_progress" in operation["responses"]["409"]["description"]
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]


def test_keys_are_kept_a_day_exported_and_erased(app, world, session, item_id):  # noqa: F811
    first = world.post(DAAN, "/api/me/share", share_body(item_id, idempotency_key=KEY)).get_json()
    world.post(FLEUR, "/api/me/share", share_body(item_id, idempotency_key=KEY))
    [mine] = export_person(session, world.id(DAAN))["shares"]
    assert (mine["key"], mine["status"], mine["answer"]) == (KEY, "posted", first)

    erase_person(session, world.id(DAAN), requested_by="self")
    assert session.scalars(select(ShareRequest.person_id)).all() == [world.id(FLEUR)]

    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert apply_retention(session, activity_days=730, text_days=0, now=later).shares_deleted == 1
    assert session.scalar(select(func.count()).select_from(ShareRequest)) == 0
