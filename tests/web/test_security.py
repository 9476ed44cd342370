"""Security headers on every response, CSRF on HTML forms, cookie flags outside demo/test."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template_string, request

from plugin import create_app
from plugin.web import auth_pages, security

FRAME_ANCESTORS = ("'self' https://*.cloud.microsoft https://teams.microsoft.com https://*.teams.microsoft.com "
                   "https://*.microsoft365.com https://*.office.com https://outlook.office.com "
                   "https://outlook.office365.com")
FORM = """<form method="post" action="/_test/form"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<script nonce="{{ csp_nonce() }}">/* rare inline script */</script></form>"""


def add_test_routes(app: Flask) -> None:
    """A form page, its POST target and a webhook-like POST, for the CSRF tests only (never in the app)."""

    @app.get("/_test/form")
    def form_page():
        return render_template_string(FORM)

    @app.post("/_test/form")
    def form_post():
        return {"ok": True, "name": request.form.get("name")}

    @app.post("/webhooks/_test")
    def webhook():
        return {"ok": True}

    @app.get("/_test/own-csp")
    def own_csp():
        return "x", 200, {"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}


@pytest.fixture
def app(app: Flask) -> Flask:
    """The test app with the security extension (registered here only if create_app does not yet)."""
    security.init_app(app)
    if "auth_pages" not in app.blueprints:
        app.register_blueprint(auth_pages.bp)
    add_test_routes(app)
    return app


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in (p.strip() for p in policy.split(";"))}


@pytest.mark.parametrize("path", ["/", "/_test/form", "/api/openapi.json", "/healthz", "/no-such-page"])
def test_every_response_carries_the_csp_and_nosniff(client, path):
    response = client.get(path)
    policy = directives(response)
    assert policy["frame-ancestors"] == FRAME_ANCESTORS
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
    assert policy["img-src"] == "'self' data:" and policy["connect-src"] == "'self' https://res.cdn.office.net"
    assert re.fullmatch(r"'self' 'nonce-[\w-]{22}'", policy["script-src"])
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # demo/test run on plain http


def test_the_nonce_is_fresh_per_request_and_matches_the_page(client):
    first, second = client.get("/_test/form"), client.get("/_test/form")
    nonce = re.search(r"'nonce-([\w-]+)'", directives(first)["script-src"]).group(1)
    assert f'<script nonce="{nonce}">' in first.get_data(as_text=True)
    assert nonce not in second.headers["Content-Security-Policy"]


def test_a_policy_set_by_the_view_is_kept(client):
    own = client.get("/_test/own-csp").headers["Content-Security-Policy"]
    assert own == "default-src 'none'; frame-ancestors 'none'"


def test_sign_in_pages_carry_the_policy_too(client):
    assert directives(client.get("/auth/signed-out"))["frame-ancestors"] == FRAME_ANCESTORS


def form_token(client) -> str:
    page = client.get("/_test/form").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_form_post_without_the_token_is_refused(client):
    client.get("/_test/form")
    refused = client.post("/_test/form", data={"name": "x"}, headers={"Accept": "text/html"})
    assert refused.status_code == 400 and "text/html" in refused.content_type
    as_json = client.post("/_test/form", data={"name": "x"}, headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json()["error"] == "csrf_failed"


def test_a_form_post_with_a_wrong_token_is_refused(client):
    form_token(client)
    assert client.post("/_test/form", data={"name": "x", "csrf_token": "forged"}).status_code == 400


def test_a_form_post_with_the_token_goes_through(client):
    token = form_token(client)
    accepted = client.post("/_test/form", data={"name": "x", "csrf_token": token})
    assert accepted.status_code == 200 and accepted.get_json() == {"ok": True, "name": "x"}
    by_header = client.post("/_test/form", data={"name": "y"}, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200 and by_header.get_json()["name"] == "y"


def test_a_token_from_another_session_is_refused(app):
    token = form_token(app.test_client())
    other = app.test_client()
    other.get("/_test/form")
    assert other.post("/_test/form", data={"csrf_token": token}).status_code == 400


def test_api_webhooks_and_the_sandbox_are_exempt(client, authority):
    assert client.post("/webhooks/_test").status_code == 200
    api = client.post("/api/me")  # bearer-token auth: method not allowed, not a CSRF failure
    assert api.status_code == 405
    tenant = authority.tenant_id
    token = client.post(f"/dev/aad/{tenant}/oauth2/v2.0/token", data={"grant_type": "client_credentials"})
    assert token.status_code == 400 and token.get_json()["error"] != "csrf_failed"


def test_init_app_is_idempotent(app):
    before = len(app.before_request_funcs[None]), len(app.after_request_funcs[None])
    security.init_app(app)
    assert (len(app.before_request_funcs[None]), len(app.after_request_funcs[None])) == before


PRODUCTION = {
    "SECRET_KEY": "a-production-secret-of-enough-length", "AZURE_TENANT_ID": "6d5b6c1e-6a0f-4b8e-9a57-2f6f2c1d0a11",
    "AZURE_CLIENT_ID": "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "AZURE_CLIENT_SECRET": "not-a-real-secret",
    "GRAPH_CLIENT_STATE": "state", "APP_BASE_URL": "https://ambassador.example.com",
}


def test_production_cookies_are_secure_samesite_none_httponly_and_hsts_is_sent(monkeypatch, database_url):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app({"DATABASE_URL": database_url})
    security.init_app(app)
    add_test_routes(app)
    response = app.test_client().get("/_test/form", base_url="https://ambassador.example.com")
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=None" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert directives(response)["frame-ancestors"] == FRAME_ANCESTORS
    app.extensions["db.engine"].dispose()
