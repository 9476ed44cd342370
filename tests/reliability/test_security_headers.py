"""One test per hardening header: HSTS only in production, nosniff and Referrer-Policy everywhere (also on 429s)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask

from plugin import create_app
from tests.web.test_security import PRODUCTION
from tests.web.test_webhooks import change

PATHS = ["/", "/healthz", "/api/openapi.json", "/api/me", "/no-such-page", "/tabs/personal"]


@pytest.fixture
def production(monkeypatch, database_url: str) -> Iterator[Flask]:
    """The app as it runs in production: real settings, https APP_BASE_URL, not demo, not testing."""
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app({"DATABASE_URL": database_url, "WEBHOOK_RATE_LIMIT": "1 per minute"})
    yield app
    app.extensions["db.engine"].dispose()


@pytest.mark.parametrize("path", PATHS)
def test_production_answers_carry_hsts(production, path):
    response = production.test_client().get(path, base_url="https://ambassador.example.com")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize("path", PATHS)
def test_demo_and_tests_on_plain_http_send_no_hsts(client, path):
    assert "Strict-Transport-Security" not in client.get(path).headers


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_forbids_content_type_sniffing(client, path):
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_limits_the_referrer(client, path):
    assert client.get(path).headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_refused_webhook_delivery_carries_the_same_headers(production):
    client = production.test_client()
    body = json.dumps({"value": [change("1700000950000", state="forged")]})  # stores nothing: not rolled back
    answers = [client.post("/webhooks/graph", data=body, content_type="application/json",
                           base_url="https://ambassador.example.com") for _ in range(2)]
    assert answers[0].status_code == 403  # counted all the same
    refused = answers[1]
    assert refused.status_code == 429
    assert refused.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    assert refused.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors" in refused.headers["Content-Security-Policy"]
