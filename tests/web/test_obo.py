"""On-behalf-of with the real MSAL against the sandbox authority: tokens, consent, Conditional Access, sign-in."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, jsonify
from sqlalchemy import select

import plugin.web.api_profile  # noqa: F401 - adds /api/me/graph-profile to the API blueprint
from plugin import create_app
from plugin.adapters import msal_client
from plugin.adapters.entra import Identity
from plugin.adapters.msal_client import (
    GRAPH_DEFAULT,
    GRAPH_USER_READ,
    Acquired,
    Failed,
    MsalClient,
    NeedsConsent,
    NeedsInteraction,
    classify,
)
from plugin.models import Person, TokenCache
from plugin.sandbox.aad import GRAPH_RESOURCE
from plugin.sandbox.aad_grants import GRANT_JWT_BEARER, MFA_CLAIMS_CHALLENGE
from plugin.sandbox.aad_state import DevState
from plugin.services import tokens
from plugin.services.demo import demo_oid
from plugin.services.people import sign_in
from plugin.web import auth_pages, security
from plugin.web.session_auth import api_session_caller, login_required, session_caller
from tests.integration.sandbox_server import self_signed_cert

DAAN = demo_oid("Daan Jansen")
ESTHER = demo_oid("Esther Koster")
SANNE = demo_oid("Sanne de Vries")
PROFILE = "/api/me/graph-profile"


@pytest.fixture
def app(app: Flask) -> Flask:
    """The test app with what the lead wires into create_app (registered here only if not yet wired)."""
    security.init_app(app)
    if "auth_pages" not in app.blueprints:
        app.register_blueprint(auth_pages.bp)

    @app.get("/_test/whoami")
    def whoami():
        caller = session_caller()
        return jsonify(person_id=caller.person_id if caller else None, roles=sorted(caller.roles) if caller else [])

    @app.get("/_test/private")
    @login_required
    def private():
        return "private page"

    @app.route("/api/_test/session", methods=["GET", "POST"])
    def api_session():
        caller = api_session_caller()
        return jsonify(person_id=caller.person_id if caller else None, csrf=security.csrf_token())

    return app


@pytest.fixture
def dev(authority):
    """The dev authority with consent and MFA state in memory (the shared state file stays untouched)."""
    authority.state = DevState()
    return authority


@pytest.fixture
def token_requests(dev, monkeypatch) -> list[str]:
    """The grant type of every request that reached the authority's token endpoint."""
    seen: list[str] = []
    real = dev.token_response

    def counting(tenant, form, **kwargs):
        seen.append(form.get("grant_type", ""))
        return real(tenant, form, **kwargs)

    monkeypatch.setattr(dev, "token_response", counting)
    return seen


@pytest.fixture
def no_admin_consent(app, dev) -> Iterator[None]:
    """The app registration without the tenant-wide consent for Graph, so each user must consent."""
    client_id = app.config["AZURE_CLIENT_ID"]
    registration = dev.clients[client_id]
    scopes = {k: v for k, v in registration.consented_scopes.items() if k != GRAPH_RESOURCE}
    dev.clients[client_id] = dataclasses.replace(registration, consented_scopes=scopes)
    yield
    dev.clients[client_id] = registration


def bearer(dev, user: str, **kwargs) -> dict[str, str]:
    return {"Authorization": f"Bearer {dev.mint_sso_token(user, **kwargs)}"}


def person(session, oid: str) -> Person:
    return session.scalar(select(Person).where(Person.entra_oid == oid))


def cached_access_tokens(app, session, oid: str) -> list[str]:
    """The access tokens in a person's (decrypted) cache."""
    row = session.get(TokenCache, person(session, oid).id)
    blob = tokens.load_cache(session, row.person_id, tokens.cipher_for(app))
    return [entry["secret"] for entry in json.loads(blob)["AccessToken"].values()]


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value)
            for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def sign_in_through_authority(client, start: str, user: str, decision: str = "accept"):
    """Follow /auth/consent or /auth/login through the dev authority's consent page back to /auth/callback."""
    started = client.get(start)
    assert started.status_code == 302, started.get_data(as_text=True)
    authorize = urlsplit(started.headers["Location"])
    page = client.get(f"{authorize.path}?{authorize.query}")
    assert page.status_code == 200 and "Permissions requested" in page.get_data(as_text=True)
    form = hidden_fields(page.get_data(as_text=True)) | {"user": user, "decision": decision}
    answer = client.post(authorize.path, data=form)  # the consent page's own form post (Accept/Cancel)
    assert answer.status_code == 200 and 'action="http://127.0.0.1:5000/auth/callback"' in answer.get_data(as_text=True)
    return client.post("/auth/callback", data=hidden_fields(answer.get_data(as_text=True)))  # response_mode=form_post


# -- on-behalf-of ------------------------------------------------------------------------------------------------
def test_obo_reads_the_graph_profile_and_the_second_call_is_served_from_the_encrypted_cache(
        app, client, dev, session, token_requests):
    first = client.get(PROFILE, headers=bearer(dev, DAAN))
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["displayName"] == "Daan Jansen" and first.get_json()["id"] == DAAN
    assert token_requests == [GRANT_JWT_BEARER]

    second = client.get(PROFILE, headers=bearer(dev, DAAN))  # a fresh Teams token, same person
    assert second.status_code == 200 and second.get_json() == first.get_json()
    assert token_requests == [GRANT_JWT_BEARER]  # no second token request: silent, from the database cache

    row = session.get(TokenCache, person(session, DAAN).id)
    [access_token] = cached_access_tokens(app, session, DAAN)
    assert access_token.encode() not in row.ciphertext and b"access_token" not in row.ciphertext
    assert b"AccessToken" not in row.ciphertext and b"secret" not in row.ciphertext


def test_each_person_has_their_own_cache(app, client, dev, session, token_requests):
    assert client.get(PROFILE, headers=bearer(dev, DAAN)).get_json()["id"] == DAAN
    assert client.get(PROFILE, headers=bearer(dev, SANNE)).get_json()["id"] == SANNE
    assert token_requests == [GRANT_JWT_BEARER, GRANT_JWT_BEARER]
    assert cached_access_tokens(app, session, DAAN) != cached_access_tokens(app, session, SANNE)


def test_missing_consent_is_a_403_that_points_to_the_consent_popup(client, dev, session, no_admin_consent):
    response = client.get(PROFILE, headers=bearer(dev, DAAN))
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "consent_required" and body["message"] and body["consent_url"] == "/auth/consent"
    assert session.get(TokenCache, person(session, DAAN).id) is None  # nothing to cache


def test_revoked_consent_is_asked_for_again(app, client, dev, no_admin_consent):
    client_id = app.config["AZURE_CLIENT_ID"]
    dev.grant_consent(ESTHER, client_id, GRAPH_USER_READ)
    assert client.get(PROFILE, headers=bearer(dev, ESTHER)).status_code == 200

    dev.grant_consent(SANNE, client_id, GRAPH_USER_READ)
    dev.revoke_consent(SANNE, client_id, GRAPH_RESOURCE)
    refused = client.get(PROFILE, headers=bearer(dev, SANNE))
    assert refused.status_code == 403 and refused.get_json()["error"] == "consent_required"


def test_conditional_access_is_a_401_with_the_claims_challenge(client, dev):
    dev.require_mfa(DAAN)
    response = client.get(PROFILE, headers=bearer(dev, DAAN))
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "interaction_required" and json.loads(body["claims"]) == json.loads(MFA_CLAIMS_CHALLENGE)
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="Ambassador", error="insufficient_claims", claims="')
    claims = re.search(r'claims="([^"]+)"', challenge).group(1)
    assert json.loads(base64.b64decode(claims)) == json.loads(MFA_CLAIMS_CHALLENGE)

    # Teams hands out a new token that satisfies the challenge; with it the call goes through.
    assert client.get(PROFILE, headers=bearer(dev, DAAN, mfa=True)).status_code == 200


def test_an_invalid_sso_token_never_reaches_the_authority(client, dev, token_requests):
    response = client.get(PROFILE, headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"
    assert token_requests == []


def test_app_only_tokens_are_cached_by_msal(app, dev, token_requests):
    client = MsalClient.from_app(app)
    first, second = client.app_token([GRAPH_DEFAULT]), client.app_token([GRAPH_DEFAULT])
    assert isinstance(first, Acquired) and isinstance(second, Acquired)
    assert first.access_token == second.access_token and token_requests == ["client_credentials"]
    claims = dev.verify_token(first.access_token, audience=GRAPH_RESOURCE)
    assert claims["idtyp"] == "app" and "User.Read.All" in claims["roles"]


def test_a_certificate_can_replace_the_client_secret(database_url, tmp_path):
    # An https base URL: the client assertion's `aud` is the token endpoint as MSAL sees it, which the
    # http-to-https bridge of the plain-http sandbox would change (see plugin.adapters.msal_client).
    app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url,
                      "APP_BASE_URL": "https://ambassador.test"})
    dev = app.extensions["sandbox"].authority
    cert_pem, key_pem, _cert = self_signed_cert("ambassador-client")
    pem = tmp_path / "client.pem"
    pem.write_text(key_pem + cert_pem)
    client_id = app.config["AZURE_CLIENT_ID"]
    dev.clients[client_id] = dataclasses.replace(dev.clients[client_id], client_secret=None, certificates=(cert_pem,))
    app.config.update(AZURE_CLIENT_SECRET=None, AZURE_CLIENT_CERTIFICATE=str(pem))
    credential = msal_client.client_credential(app)
    assert isinstance(credential, dict) and "PRIVATE KEY" in credential["private_key"]
    outcome = MsalClient.from_app(app).app_token([GRAPH_DEFAULT])
    assert isinstance(outcome, Acquired), outcome
    assert dev.verify_token(outcome.access_token, audience=GRAPH_RESOURCE)["idtyp"] == "app"
    app.extensions["db.engine"].dispose()


def test_a_pem_without_key_or_certificate_is_refused():
    with pytest.raises(ValueError, match="private key and the certificate"):
        msal_client.certificate_credential("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize(("result", "expected"), [
    ({"access_token": "t", "expires_in": 3599}, Acquired),
    ({"error": "invalid_grant", "error_codes": [65001], "suberror": "consent_required"}, NeedsConsent),
    ({"error": "invalid_grant", "error_codes": [65001]}, NeedsConsent),
    ({"error": "interaction_required", "error_codes": [50079], "claims": "{}"}, NeedsInteraction),
    ({"error": "invalid_grant", "error_codes": [50013]}, Failed),
    ({}, Failed),
])
def test_msal_results_are_classified(result, expected):
    assert isinstance(classify(result), expected)


# -- the consent pop-up and standalone sign-in --------------------------------------------------------------------
def test_consent_popup_uses_pkce_and_prompt_consent(client, dev):
    response = client.get("/auth/consent?login_hint=daan.jansen@noorderlicht.example")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/dev/aad/{dev.tenant_id}/oauth2/v2.0/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["prompt"] == "consent" and query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://127.0.0.1:5000/auth/callback" and query["response_mode"] == "form_post"
    assert GRAPH_USER_READ in query["scope"].split() and query["login_hint"] == "daan.jansen@noorderlicht.example"
    assert "code_verifier" not in response.headers.get("Set-Cookie", "")  # the flow is sealed in the cookie


def test_consent_popup_completes_and_the_api_then_answers_from_the_cache(
        client, dev, session, token_requests, no_admin_consent):
    assert client.get(PROFILE, headers=bearer(dev, DAAN)).status_code == 403

    finished = sign_in_through_authority(client, "/auth/consent", DAAN)
    assert finished.status_code == 200
    page = finished.get_data(as_text=True)
    assert 'data-outcome="success"' in page and "js/auth-callback.js" in page and "vendor/teams-js.min.js" in page
    assert "<script>" not in page  # no inline script: the CSP allows files only
    assert finished.headers["Cache-Control"] == "no-store"
    assert session.get(TokenCache, person(session, DAAN).id) is not None

    token_requests.clear()
    retried = client.get(PROFILE, headers=bearer(dev, DAAN))
    assert retried.status_code == 200 and retried.get_json()["id"] == DAAN
    assert token_requests == []  # the token from the consent flow, out of the encrypted cache


def test_cancelled_consent_reports_failure_to_the_tab(client, dev):
    finished = sign_in_through_authority(client, "/auth/consent", DAAN, decision="cancel")
    assert finished.status_code == 200
    assert 'data-outcome="failure"' in finished.get_data(as_text=True)
    assert 'data-reason="access_denied"' in finished.get_data(as_text=True)


def test_a_callback_without_a_started_sign_in_is_refused(client, dev):
    refused = client.post("/auth/callback", data={"code": "x", "state": "y"})
    assert refused.status_code == 400 and 'data-outcome="failure"' in refused.get_data(as_text=True)


def test_a_callback_with_another_state_is_refused(client, dev):
    started = client.get("/auth/consent")
    assert started.status_code == 302
    refused = client.post("/auth/callback", data={"code": "x", "state": "forged"})
    assert refused.status_code == 400 and 'data-reason="invalid_state"' in refused.get_data(as_text=True)


def test_standalone_login_and_logout_round_trip(client, dev, session):
    assert client.get("/_test/whoami").get_json()["person_id"] is None
    gate = client.get("/_test/private?tab=1")
    assert gate.status_code == 302 and gate.headers["Location"] == "/auth/login?next=%2F_test%2Fprivate%3Ftab%3D1"

    started = client.get("/auth/login?next=/_test/private")
    query = parse_qs(urlsplit(started.headers["Location"]).query)
    assert "prompt" not in query and query["code_challenge_method"] == ["S256"]
    finished = sign_in_through_authority(client, "/auth/login?next=/_test/private", ESTHER)
    assert finished.status_code == 303 and finished.headers["Location"] == "/_test/private"

    me = client.get("/_test/whoami").get_json()
    esther = person(session, ESTHER)
    assert me["person_id"] == esther.id and "employee" in me["roles"]
    assert client.get("/_test/private").get_data(as_text=True) == "private page"
    assert session.get(TokenCache, esther.id) is not None

    out = client.get("/auth/logout")
    assert out.status_code == 303 and out.headers["Location"].endswith("/auth/signed-out")
    assert client.get("/_test/whoami").get_json()["person_id"] is None
    assert session.get(TokenCache, esther.id) is None  # signing out forgets the delegated tokens
    assert client.get("/auth/signed-out").status_code == 200


def test_api_use_of_the_session_needs_the_csrf_header_for_unsafe_methods(client, dev, session):
    sign_in_through_authority(client, "/auth/login", DAAN)
    daan = person(session, DAAN).id
    read = client.get("/api/_test/session").get_json()
    assert read["person_id"] == daan
    assert client.post("/api/_test/session", headers={"X-CSRF-Token": read["csrf"]}).get_json()["person_id"] == daan
    assert client.post("/api/_test/session").get_json()["person_id"] is None  # a cross-site POST would look so
    assert client.post("/api/_test/session", headers={"X-CSRF-Token": "forged"}).get_json()["person_id"] is None


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "relative"])
def test_login_only_returns_to_paths_on_this_site(client, dev, target):
    finished = sign_in_through_authority(client, f"/auth/login?next={target}", DAAN)
    assert finished.status_code == 303 and finished.headers["Location"] == "/"


def test_a_session_without_tokens_or_teams_token_must_sign_in_again(app, dev, session):
    caller = sign_in(session, Identity(oid=DAAN, tenant_id=dev.tenant_id, name="Daan Jansen", username=None,
                                       roles=frozenset(), version="2.0"))
    with app.test_request_context("/"), pytest.raises(tokens.SignInRequired):
        tokens.delegated_token(session, caller, None, [GRAPH_USER_READ])


# -- logs --------------------------------------------------------------------------------------------------------
def test_no_token_code_or_secret_appears_in_the_logs(app, client, dev, session, caplog, no_admin_consent):
    caplog.set_level(logging.DEBUG)
    sso = dev.mint_sso_token(DAAN)
    assert client.get(PROFILE, headers={"Authorization": f"Bearer {sso}"}).status_code == 403
    started = client.get("/auth/consent")
    authorize = urlsplit(started.headers["Location"])
    form = hidden_fields(client.get(f"{authorize.path}?{authorize.query}").get_data(as_text=True))
    answer = hidden_fields(client.post(authorize.path, data=form | {"user": DAAN, "decision": "accept"})
                           .get_data(as_text=True))
    assert client.post("/auth/callback", data=answer).status_code == 200
    dev.grant_consent(SANNE, app.config["AZURE_CLIENT_ID"], GRAPH_USER_READ)
    dev.require_mfa(SANNE)
    assert client.get(PROFILE, headers=bearer(dev, SANNE)).status_code == 401
    assert client.get(PROFILE, headers={"Authorization": f"Bearer {sso}"}).status_code == 200

    secrets = [sso, answer["code"], app.extensions["sandbox"].client_secret, *cached_access_tokens(app, session, DAAN)]
    assert caplog.records  # MSAL, httpx and our own modules did log
    for secret in secrets:
        assert secret not in caplog.text
    assert set(re.findall(r'"code(?:_verifier)?": "([^"]*)"', caplog.text)) <= {"********"}
