"""Behind a reverse proxy: TRUSTED_PROXIES says how many proxies' X-Forwarded-For/-Proto headers to believe.

With 1 (nginx in front), the app sees the visitor's address (the rate limits count per visitor, not all visitors
as the proxy's 127.0.0.1) and https. With 0, the default, those headers are ignored: a client cannot pick the
address it is counted under, nor claim https.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, jsonify, request, url_for
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from plugin import ConfigError, create_app
from tests.web.test_webhooks import change

PROXY = "127.0.0.1"  # nginx on the same machine, as in docs/ADMIN.md


@pytest.fixture
def make_app(database_url: str, connection: Connection) -> Iterator[Callable[[int], Flask]]:
    """The test app with tiny limits (2 webhook deliveries and 3 API calls a minute) and TRUSTED_PROXIES=n."""

    def make(proxies: int) -> Flask:
        app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url,
                          "API_RATE_LIMIT": "3 per minute", "WEBHOOK_RATE_LIMIT": "2 per minute",
                          "TRUSTED_PROXIES": proxies})
        app.extensions["db.engine"].dispose()
        app.extensions["db.engine"] = connection.engine
        app.extensions["db.sessionmaker"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

        @app.get("/test/seen")
        def seen():  # what a view sees of the request
            return jsonify(scheme=request.scheme, address=request.remote_addr, secure=request.is_secure,
                           health=url_for("health.healthz", _external=True))

        return app

    yield make


def via_proxy(forwarded_for: str | None, proto: str | None = "https") -> dict[str, object]:
    """The request as nginx passes it on: from 127.0.0.1 over http, with the X-Forwarded-* headers given."""
    headers = {}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    if proto is not None:
        headers["X-Forwarded-Proto"] = proto
    return {"headers": headers, "environ_base": {"REMOTE_ADDR": PROXY}}


def deliver(app: Flask, message_id: str, forwarded_for: str) -> int:
    body = json.dumps({"value": [change(message_id)]})
    return app.test_client().post("/webhooks/graph", data=body, content_type="application/json",
                                  **via_proxy(forwarded_for)).status_code


def forged_api_call(app: Flask, forwarded_for: str) -> int:
    # A token that does not validate counts against the client address.
    return app.test_client().get("/api/me", headers={"Authorization": "Bearer forged.token",
                                                     **via_proxy(forwarded_for)["headers"]},
                                 environ_base={"REMOTE_ADDR": PROXY}).status_code


def test_behind_one_trusted_proxy_a_view_sees_the_visitor_and_https(make_app):
    app = make_app(1)
    seen = app.test_client().get("/test/seen", **via_proxy("198.51.100.7")).get_json()
    assert (seen["scheme"], seen["address"], seen["secure"]) == ("https", "198.51.100.7", True)
    assert seen["health"].startswith("https://") and seen["health"].endswith("/healthz")  # url_for(_external)


def test_behind_one_trusted_proxy_the_visitor_cannot_prepend_another_address(make_app):
    # nginx appends the address it saw ($proxy_add_x_forwarded_for) to whatever the visitor sent: only that last
    # entry, written by the proxy we trust, counts.
    app = make_app(1)
    seen = app.test_client().get("/test/seen", **via_proxy("203.0.113.66, 198.51.100.7")).get_json()
    assert seen["address"] == "198.51.100.7"


def test_behind_one_trusted_proxy_the_webhook_limit_counts_per_visitor_not_per_proxy(make_app):
    app = make_app(1)
    assert [deliver(app, f"17000009100{n:02d}", "192.0.2.1") for n in range(2)] == [202, 202]
    assert deliver(app, "1700000910099", "192.0.2.1") == 429
    assert deliver(app, "1700000910100", "192.0.2.2") == 202  # another sender behind the same proxy


def test_behind_one_trusted_proxy_the_api_limit_counts_per_visitor(make_app):
    app = make_app(1)
    assert [forged_api_call(app, "192.0.2.1") for _ in range(4)] == [401, 401, 401, 429]
    assert forged_api_call(app, "192.0.2.2") == 401  # a fresh budget: another visitor


def test_without_trusted_proxies_the_forwarded_headers_are_ignored(make_app):
    app = make_app(0)
    seen = app.test_client().get("/test/seen", **via_proxy("198.51.100.7")).get_json()
    assert (seen["scheme"], seen["address"], seen["secure"]) == ("http", PROXY, False)
    assert seen["health"].startswith("http://")


def test_without_trusted_proxies_a_client_cannot_escape_the_limit_by_claiming_other_addresses(make_app):
    app = make_app(0)
    answers = [deliver(app, f"17000009200{n:02d}", f"192.0.2.{n}") for n in range(3)]
    assert answers == [202, 202, 429]  # all counted against the address it really came from
    assert [forged_api_call(app, f"192.0.2.{n}") for n in range(4)] == [401, 401, 401, 429]


def test_the_webhook_intake_stays_reachable_below_the_proxy_layer(make_app):
    app = make_app(1)
    assert callable(app.wsgi_app.wrapped)  # the same app without the lean path, as tests/web use it


@pytest.mark.parametrize("value", ["lots", "-1", "1.5", "11"])
def test_a_bad_trusted_proxies_setting_stops_the_app_with_one_clear_line(monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be the number of reverse proxies") as raised:
        create_app({"TESTING": True})
    assert "\n" not in str(raised.value)


def test_the_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert create_app({"TESTING": True}).config["TRUSTED_PROXIES"] == 2
    monkeypatch.delenv("TRUSTED_PROXIES")
    assert create_app({"TESTING": True}).config["TRUSTED_PROXIES"] == 0
