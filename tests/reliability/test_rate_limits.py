"""Rate limits: the API per caller (token oid, else address), the webhooks per address, 429 JSON with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from plugin import ConfigError, create_app
from plugin.services.demo import demo_oid, seed_demo
from tests.web.test_webhooks import change


@pytest.fixture
def limited(database_url: str, connection: Connection) -> Iterator[Flask]:
    """The test app with tiny limits: 3 API calls a minute per caller, 2 webhook deliveries a minute per address."""
    app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url,
                      "API_RATE_LIMIT": "3 per minute", "WEBHOOK_RATE_LIMIT": "2 per minute"})
    app.extensions["db.engine"].dispose()
    app.extensions["db.engine"] = connection.engine
    app.extensions["db.sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    with app.app_context():
        from plugin.db import get_session
        seed_demo(get_session())
    yield app


def bearer(app: Flask, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.extensions['sandbox'].authority.mint_sso_token(demo_oid(name))}"}


def assert_refused(response) -> None:
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited" and response.get_json()["message"]
    assert int(response.headers["Retry-After"]) >= 1


def test_the_api_refuses_a_caller_above_the_limit_with_json_and_retry_after(limited):
    client: FlaskClient = limited.test_client()
    token = bearer(limited, "Daan Jansen")
    assert [client.get("/api/me", headers=token).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get("/api/me/programme", headers={**token, "Accept-Language": "en"})  # one budget for all
    assert_refused(refused)
    assert refused.get_json()["message"] == "Too many requests. Please wait a moment and try again."


def test_the_refusal_speaks_dutch(limited):
    client = limited.test_client()
    token = bearer(limited, "Daan Jansen")
    for _ in range(3):
        client.get("/api/me", headers=token)
    refused = client.get("/api/me", headers={**token, "Accept-Language": "nl"})
    assert_refused(refused)
    assert refused.get_json()["message"] == "Te veel verzoeken. Wacht even en probeer het opnieuw."


def test_each_caller_has_their_own_budget(limited):
    client = limited.test_client()
    anna, bram = bearer(limited, "Daan Jansen"), bearer(limited, "Fleur Bakker")
    for _ in range(3):
        assert client.get("/api/me", headers=anna).status_code == 200
    assert_refused(client.get("/api/me", headers=anna))
    assert client.get("/api/me", headers=bram).status_code == 200  # same address, another person


def test_forged_tokens_count_against_the_address_not_a_fresh_bucket_each(limited):
    client = limited.test_client()
    answers = [client.get("/api/me", headers={"Authorization": f"Bearer forged.{n}.token"}).status_code
               for n in range(4)]
    assert answers == [401, 401, 401, 429]


def test_pages_outside_the_api_are_not_limited(limited):
    client = limited.test_client()
    assert all(client.get("/healthz").status_code in (200, 503) for _ in range(6))


def deliver(client: FlaskClient, message_id: str, address: str):
    body = json.dumps({"value": [change(message_id)]})
    return client.post("/webhooks/graph", data=body, content_type="application/json",
                       environ_base={"REMOTE_ADDR": address})


def test_webhooks_are_limited_per_address_and_graph_is_told_when_to_retry(limited):
    client = limited.test_client()
    assert [deliver(client, f"17000009000{n:02d}", "192.0.2.1").status_code for n in range(2)] == [202, 202]
    assert_refused(deliver(client, "1700000900099", "192.0.2.1"))
    assert deliver(client, "1700000900100", "192.0.2.2").status_code == 202  # another sender


@pytest.mark.parametrize("name", ["API_RATE_LIMIT", "WEBHOOK_RATE_LIMIT"])
@pytest.mark.parametrize("value", ["lots", "0 per minute", "10 per fortnight"])
def test_a_bad_limit_setting_stops_the_app_with_one_clear_line(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"{name} must be a rate such as"):
        create_app({"TESTING": True})
