"""The dev Entra authority against the real clients: msal.ConfidentialClientApplication and jwt.PyJWKClient."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.sandbox.aad import (
    GRAPH_RESOURCE,
    TEAMS_DESKTOP_CLIENT_ID,
    YAMMER_RESOURCE,
    ClientRegistration,
    DevAuthority,
    DevUser,
    create_aad_app,
)
from tests.integration.sandbox_server import TlsFiles, self_signed_cert, serve, tls_files

TENANT = "3f6a9c2e-8d41-4b7a-9e05-1c2d3e4f5a6b"
APP_ID = "6c1f2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
APP_ID_URI = f"api://ambassador.example.com/{APP_ID}"
SECRET = "dev-secret-" + "x" * 24
CERT_APP_ID = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
X5C_APP_ID = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
REDIRECT_URI = "https://ambassador.example.com/auth/consent-end"
GRAPH_DEFAULT = f"{GRAPH_RESOURCE}/.default"

USERS = {
    user.oid: user
    for user in (
        DevUser("4b1c0d2e-0000-4000-8000-000000000001", "Alice Jansen", "alice@contoso.example"),
        DevUser("4b1c0d2e-0000-4000-8000-000000000002", "Carol de Vries", "carol@contoso.example", ("Coach",)),
        DevUser("4b1c0d2e-0000-4000-8000-000000000003", "Dana Bakker", "dana@contoso.example"),
        DevUser("4b1c0d2e-0000-4000-8000-000000000004", "Erin Visser", "erin@contoso.example"),
        DevUser("4b1c0d2e-0000-4000-8000-000000000005", "Adam Smit", "adam@contoso.example", ("Admin", "Coach")),
    )
}
ALICE, CAROL, DANA, ERIN, ADAM = USERS


@dataclass(frozen=True)
class ClientCert:
    cert_pem: str
    key_pem: str
    sha1: str
    sha256: str


@dataclass(frozen=True)
class Sandbox:
    base: str
    authority: DevAuthority
    tls: TlsFiles

    @property
    def authority_url(self) -> str:
        return f"{self.base}/{TENANT}"

    def jwks_client(self, jwks_uri: str | None = None) -> jwt.PyJWKClient:
        uri = jwks_uri or f"{self.base}/common/discovery/v2.0/keys"
        return jwt.PyJWKClient(uri, cache_jwk_set=False, ssl_context=self.tls.client_context())

    def decode(self, token: str, *, audience: str, issuer: str, jwks_uri: str | None = None) -> dict[str, Any]:
        key = self.jwks_client(jwks_uri).get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer)


def _client_cert(name: str) -> ClientCert:
    cert_pem, key_pem, cert = self_signed_cert(name)
    return ClientCert(
        cert_pem,
        key_pem,
        cert.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - Entra's x5t is SHA-1
        cert.fingerprint(hashes.SHA256()).hex(),
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def cert_a() -> ClientCert:
    return _client_cert("ambassador-cert-client")


@pytest.fixture(scope="module")
def cert_b() -> ClientCert:
    return _client_cert("ambassador-x5c-client")


def _clients(cert_a: ClientCert, cert_b: ClientCert) -> dict[str, ClientRegistration]:
    return {
        APP_ID: ClientRegistration(
            APP_ID,
            client_secret=SECRET,
            app_id_uri=APP_ID_URI,
            app_roles={GRAPH_RESOURCE: ("ChannelMessage.Read.All", "TeamsActivity.Send")},
            consented_scopes={
                GRAPH_RESOURCE: ("User.Read", "ChannelMessage.Read.All"),
                YAMMER_RESOURCE: ("user_impersonation",),
            },
            redirect_uris=(REDIRECT_URI,),
        ),
        CERT_APP_ID: ClientRegistration(
            CERT_APP_ID,
            certificates=(cert_a.cert_pem,),
            app_id_uri=f"api://ambassador.example.com/{CERT_APP_ID}",
            app_roles={GRAPH_RESOURCE: ("Group.Read.All",)},
            consented_scopes={GRAPH_RESOURCE: ("User.Read",)},
            access_token_version=1,
        ),
        X5C_APP_ID: ClientRegistration(X5C_APP_ID, certificate_thumbprints=(cert_b.sha256.upper(),)),
    }


@pytest.fixture(scope="module")
def sandbox(tls: TlsFiles, cert_a: ClientCert, cert_b: ClientCert) -> Iterator[Sandbox]:
    clients = _clients(cert_a, cert_b)

    def build(base: str) -> Flask:
        return create_aad_app(tenant_id=TENANT, issuer_host=base, clients=clients, users=USERS)

    with serve(build, tls) as (base, app):
        yield Sandbox(base, app.extensions["dev_authority"], tls)  # type: ignore[attr-defined]


@pytest.fixture
def http(tls: TlsFiles) -> Iterator[requests.Session]:
    session = requests.Session()
    session.verify = str(tls.cert)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    yield session
    session.close()


def _cca(
    sandbox: Sandbox,
    http: requests.Session,
    client_id: str = APP_ID,
    credential: Any = SECRET,
    *,
    authority: str | None = None,
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=authority or sandbox.authority_url,
        instance_discovery=False,
        http_client=http,
    )


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _assert_error_shape(result: dict[str, Any], error: str, code: int) -> None:
    assert result["error"] == error
    assert result["error_codes"] == [code]
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= result.keys()


# -- metadata and keys --


@pytest.mark.parametrize("tenant", [TENANT, "common", "organizations"])
def test_v2_metadata_is_what_msal_needs(sandbox: Sandbox, http: requests.Session, tenant: str) -> None:
    doc = http.get(f"{sandbox.base}/{tenant}/v2.0/.well-known/openid-configuration").json()
    issuer_tid = TENANT if tenant == TENANT else "{tenantid}"
    assert doc["issuer"] == f"{sandbox.base}/{issuer_tid}/v2.0"
    assert doc["token_endpoint"] == f"{sandbox.base}/{tenant}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{sandbox.base}/{tenant}/oauth2/v2.0/authorize"
    keys = http.get(doc["jwks_uri"]).json()["keys"]
    assert len(keys) == 2
    assert all(k["kty"] == "RSA" and k["use"] == "sig" and k["kid"] == k["x5t"] and k["x5c"] for k in keys)
    assert {"n", "e", "issuer"} <= keys[0].keys()


def test_v1_metadata_uses_the_sts_issuer(sandbox: Sandbox, http: requests.Session) -> None:
    doc = http.get(f"{sandbox.base}/{TENANT}/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"https://sts.windows.net/{TENANT}/"
    assert doc["token_endpoint"] == f"{sandbox.base}/{TENANT}/oauth2/token"
    assert doc["jwks_uri"] == f"{sandbox.base}/{TENANT}/discovery/keys"
    v1_keys = http.get(f"{sandbox.base}/common/discovery/keys").json()["keys"]
    v2_keys = http.get(f"{sandbox.base}/common/discovery/v2.0/keys").json()["keys"]
    assert [k["kid"] for k in v1_keys] == [k["kid"] for k in v2_keys]


def test_unknown_tenant_is_rejected_like_entra(sandbox: Sandbox, http: requests.Session) -> None:
    response = http.get(f"{sandbox.base}/contoso.example/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "invalid_tenant", 90002)
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        _cca(sandbox, http, authority=f"{sandbox.base}/contoso.example")


# -- client credentials --


def test_client_credentials_with_secret_are_cached_by_msal(sandbox: Sandbox, http: requests.Session) -> None:
    app = _cca(sandbox, http)
    first = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert first["token_source"] == "identity_provider"
    assert first["token_type"] == "Bearer" and first["expires_in"] > 3000
    second = app.acquire_token_for_client([GRAPH_DEFAULT])
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]

    claims = sandbox.decode(
        first["access_token"],
        audience=GRAPH_RESOURCE,
        issuer=f"https://sts.windows.net/{TENANT}/",
        jwks_uri=f"{sandbox.base}/{TENANT}/discovery/keys",
    )
    assert claims["roles"] == ["ChannelMessage.Read.All", "TeamsActivity.Send"]
    assert claims["idtyp"] == "app"
    assert claims["appid"] == APP_ID and claims["appidacr"] == "1"
    assert claims["tid"] == TENANT and claims["oid"] == claims["sub"]
    assert "scp" not in claims


def test_obo_through_organizations_authority(sandbox: Sandbox, http: requests.Session) -> None:
    app = _cca(sandbox, http, authority=f"{sandbox.base}/organizations")
    result = app.acquire_token_on_behalf_of(sandbox.authority.mint_sso_token(ALICE), [f"{YAMMER_RESOURCE}/.default"])
    assert _claims(result["access_token"])["aud"] == YAMMER_RESOURCE


def test_wrong_secret_is_invalid_client(sandbox: Sandbox, http: requests.Session) -> None:
    result = _cca(sandbox, http, credential="not-the-secret").acquire_token_for_client([GRAPH_DEFAULT])
    _assert_error_shape(result, "invalid_client", 7000215)


def test_unknown_client_is_unauthorized_client(sandbox: Sandbox, http: requests.Session) -> None:
    result = _cca(sandbox, http, client_id="00000000-1111-2222-3333-444444444444").acquire_token_for_client(
        [GRAPH_DEFAULT]
    )
    _assert_error_shape(result, "unauthorized_client", 700016)


def test_client_credentials_need_dot_default(sandbox: Sandbox, http: requests.Session) -> None:
    result = _cca(sandbox, http).acquire_token_for_client([f"{GRAPH_RESOURCE}/User.Read"])
    _assert_error_shape(result, "invalid_scope", 1002012)


def test_certificate_credential_with_sha1_thumbprint(
    sandbox: Sandbox, http: requests.Session, cert_a: ClientCert
) -> None:
    credential = {"private_key": cert_a.key_pem, "thumbprint": cert_a.sha1}
    result = _cca(sandbox, http, CERT_APP_ID, credential).acquire_token_for_client([GRAPH_DEFAULT])
    claims = _claims(result["access_token"])
    assert claims["appid"] == CERT_APP_ID and claims["appidacr"] == "2"
    assert claims["roles"] == ["Group.Read.All"]


def test_certificate_credential_with_x5c_and_registered_thumbprint(
    sandbox: Sandbox, http: requests.Session, cert_b: ClientCert
) -> None:
    credential = {"private_key": cert_b.key_pem, "public_certificate": cert_b.cert_pem}  # PS256 + x5t#S256
    result = _cca(sandbox, http, X5C_APP_ID, credential).acquire_token_for_client([GRAPH_DEFAULT])
    assert _claims(result["access_token"])["appidacr"] == "2"


def test_unregistered_certificate_is_invalid_client(
    sandbox: Sandbox, http: requests.Session, cert_b: ClientCert
) -> None:
    credential = {"private_key": cert_b.key_pem, "thumbprint": cert_b.sha1}
    result = _cca(sandbox, http, CERT_APP_ID, credential).acquire_token_for_client([GRAPH_DEFAULT])
    _assert_error_shape(result, "invalid_client", 700027)


def test_unsupported_grant_type(sandbox: Sandbox, http: requests.Session) -> None:
    response = http.post(
        f"{sandbox.authority_url}/oauth2/v2.0/token",
        data={"grant_type": "password", "client_id": APP_ID, "client_secret": SECRET, "scope": GRAPH_DEFAULT},
    )
    assert response.status_code == 400
    _assert_error_shape(response.json(), "unsupported_grant_type", 70003)


# -- Teams SSO tokens --


def test_v2_sso_token_shape(sandbox: Sandbox) -> None:
    token = sandbox.authority.mint_sso_token(CAROL, version=2)
    assert jwt.get_unverified_header(token)["kid"]
    claims = sandbox.decode(token, audience=APP_ID, issuer=f"{sandbox.base}/{TENANT}/v2.0")
    assert claims["ver"] == "2.0"
    assert claims["scp"] == "access_as_user"
    assert claims["oid"] == CAROL and claims["tid"] == TENANT
    assert claims["preferred_username"] == "carol@contoso.example" and claims["name"] == "Carol de Vries"
    assert claims["azp"] == TEAMS_DESKTOP_CLIENT_ID
    assert claims["roles"] == ["Coach"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] <= time.time()


def test_v1_sso_token_shape(sandbox: Sandbox) -> None:
    token = sandbox.authority.mint_sso_token("alice@contoso.example", version=1)
    claims = sandbox.decode(
        token,
        audience=APP_ID_URI,
        issuer=f"https://sts.windows.net/{TENANT}/",
        jwks_uri=f"{sandbox.base}/{TENANT}/discovery/keys",
    )
    assert claims["ver"] == "1.0"
    assert claims["scp"] == "access_as_user"
    assert claims["oid"] == ALICE and claims["tid"] == TENANT
    assert claims["upn"] == claims["unique_name"] == "alice@contoso.example"
    assert claims["appid"] == TEAMS_DESKTOP_CLIENT_ID
    assert "roles" not in claims


def test_sso_token_http_endpoint(sandbox: Sandbox, http: requests.Session) -> None:
    response = http.post(f"{sandbox.authority_url}/dev/sso-token", data={"user": ADAM, "version": "2"})
    assert response.status_code == 200
    claims = sandbox.decode(response.json()["token"], audience=APP_ID, issuer=f"{sandbox.base}/{TENANT}/v2.0")
    assert claims["roles"] == ["Admin", "Coach"]
    assert http.post(f"{sandbox.authority_url}/dev/sso-token", json={"user": "nobody"}).status_code == 404


# -- on-behalf-of --


@pytest.mark.parametrize("version", [1, 2])
def test_obo_with_a_minted_sso_token(sandbox: Sandbox, http: requests.Session, version: int) -> None:
    sso = sandbox.authority.mint_sso_token(ALICE, version=version)
    result = _cca(sandbox, http).acquire_token_on_behalf_of(sso, [GRAPH_DEFAULT])
    assert "access_token" in result, result.get("error_description")
    assert result["refresh_token"] and result["id_token_claims"]["oid"] == ALICE
    claims = sandbox.decode(
        result["access_token"], audience=GRAPH_RESOURCE, issuer=f"https://sts.windows.net/{TENANT}/"
    )
    assert claims["oid"] == ALICE and claims["tid"] == TENANT
    assert set(claims["scp"].split()) == {"User.Read", "ChannelMessage.Read.All"}
    assert claims["appid"] == APP_ID and claims["idtyp"] == "user"


def test_obo_for_yammer_and_refresh_through_msal(sandbox: Sandbox, http: requests.Session) -> None:
    app = _cca(sandbox, http)
    sso = sandbox.authority.mint_sso_token(CAROL)
    first = app.acquire_token_on_behalf_of(sso, [f"{YAMMER_RESOURCE}/.default"])
    assert _claims(first["access_token"])["aud"] == YAMMER_RESOURCE
    [account] = app.get_accounts(username="carol@contoso.example")
    refreshed = app.acquire_token_silent_with_error([GRAPH_DEFAULT], account=account)  # refresh_token grant
    assert refreshed is not None and refreshed["token_source"] == "identity_provider"
    assert _claims(refreshed["access_token"])["aud"] == GRAPH_RESOURCE
    assert _claims(refreshed["access_token"])["oid"] == CAROL


def test_obo_consent_required_then_granted(sandbox: Sandbox, http: requests.Session) -> None:
    app = _cca(sandbox, http)
    sso = sandbox.authority.mint_sso_token(DANA)
    result = app.acquire_token_on_behalf_of(sso, [f"{GRAPH_RESOURCE}/Mail.Read"])
    _assert_error_shape(result, "invalid_grant", 65001)
    assert result["suberror"] == "consent_required"

    response = http.post(
        f"{sandbox.base}/dev/consent",
        json={"user": DANA, "client_id": APP_ID, "scope": f"{GRAPH_RESOURCE}/Mail.Read"},
    )
    assert response.status_code == 204
    # MSAL replays a failed request's answer for a while, so retry as the tab would: with a fresh SSO token.
    fresh = sandbox.authority.mint_sso_token(DANA)
    granted = app.acquire_token_on_behalf_of(fresh, [f"{GRAPH_RESOURCE}/Mail.Read"])
    assert "Mail.Read" in _claims(granted["access_token"])["scp"].split()
    # Another user has not consented.
    other = app.acquire_token_on_behalf_of(sandbox.authority.mint_sso_token(ALICE), [f"{GRAPH_RESOURCE}/Mail.Read"])
    assert other["suberror"] == "consent_required"


def test_obo_without_any_consent_for_the_resource(sandbox: Sandbox, http: requests.Session, cert_a: ClientCert) -> None:
    sso = sandbox.authority.mint_sso_token(ALICE, client_id=CERT_APP_ID)  # v1 token: aud is the App ID URI
    assert _claims(sso)["aud"] == f"api://ambassador.example.com/{CERT_APP_ID}"
    app = _cca(sandbox, http, CERT_APP_ID, {"private_key": cert_a.key_pem, "thumbprint": cert_a.sha1})
    result = app.acquire_token_on_behalf_of(sso, [f"{YAMMER_RESOURCE}/.default"])
    assert result["error"] == "invalid_grant" and result["suberror"] == "consent_required"


def test_obo_interaction_required_carries_claims(sandbox: Sandbox, http: requests.Session) -> None:
    assert http.post(f"{sandbox.base}/dev/mfa", json={"user": ERIN, "required": True}).status_code == 204
    app = _cca(sandbox, http)
    result = app.acquire_token_on_behalf_of(sandbox.authority.mint_sso_token(ERIN), [GRAPH_DEFAULT])
    _assert_error_shape(result, "interaction_required", 50076)
    assert "capolids" in json.loads(result["claims"])["access_token"]

    # The tab asks Teams again with the claims; the new SSO token carries MFA.
    response = http.post(f"{sandbox.authority_url}/dev/sso-token", data={"user": ERIN, "claims": result["claims"]})
    retried = app.acquire_token_on_behalf_of(
        response.json()["token"], [GRAPH_DEFAULT], claims_challenge=result["claims"]
    )
    assert "access_token" in retried, retried.get("error_description")


def test_obo_rejects_a_token_for_another_app(sandbox: Sandbox, http: requests.Session) -> None:
    sso = sandbox.authority.mint_sso_token(ALICE, audience="api://elsewhere.example/1234")
    result = _cca(sandbox, http).acquire_token_on_behalf_of(sso, [GRAPH_DEFAULT])
    _assert_error_shape(result, "invalid_grant", 500131)


def test_obo_rejects_an_expired_assertion(sandbox: Sandbox, http: requests.Session) -> None:
    sso = sandbox.authority.mint_sso_token(ALICE, issued_at=int(time.time()) - 7200)
    result = _cca(sandbox, http).acquire_token_on_behalf_of(sso, [GRAPH_DEFAULT])
    _assert_error_shape(result, "invalid_grant", 500133)


def test_obo_rejects_a_foreign_signature(sandbox: Sandbox, http: requests.Session, cert_a: ClientCert) -> None:
    claims = _claims(sandbox.authority.mint_sso_token(ALICE))
    kid = sandbox.authority.keys.signing_key().kid
    forged = jwt.encode(claims, cert_a.key_pem, algorithm="RS256", headers={"kid": kid})
    result = _cca(sandbox, http).acquire_token_on_behalf_of(forged, [GRAPH_DEFAULT])
    _assert_error_shape(result, "invalid_grant", 50013)


# -- consent pop-up: authorize endpoint + authorization code --


def test_consent_popup_then_code_redemption(sandbox: Sandbox, http: requests.Session) -> None:
    app = _cca(sandbox, http)
    flow = app.initiate_auth_code_flow(
        [f"{GRAPH_RESOURCE}/Calendars.Read"],
        redirect_uri=REDIRECT_URI,
        login_hint="dana@contoso.example",
        prompt="consent",
        response_mode="form_post",
    )
    page = http.get(flow["auth_uri"])
    assert page.status_code == 200 and "Calendars.Read" in page.text and "Dana Bakker" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    params = {k: v[0] for k, v in parse_qs(urlsplit(flow["auth_uri"]).query).items()}
    accepted = http.post(
        flow["auth_uri"].split("?")[0], data={**params, "user": DANA, "decision": "accept"}, allow_redirects=False
    )
    assert accepted.status_code == 200 and f'action="{REDIRECT_URI}"' in accepted.text
    auth_response = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', accepted.text))

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)  # checks state, PKCE and nonce
    assert "Calendars.Read" in _claims(result["access_token"])["scp"].split()
    assert result["id_token_claims"]["oid"] == DANA
    # The consent also unblocks OBO for that user.
    obo = app.acquire_token_on_behalf_of(sandbox.authority.mint_sso_token(DANA), [f"{GRAPH_RESOURCE}/Calendars.Read"])
    assert "access_token" in obo


def test_consent_popup_cancel_and_bad_redirect(sandbox: Sandbox, http: requests.Session) -> None:
    params = {
        "client_id": APP_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "s-2",
        "scope": f"{GRAPH_RESOURCE}/Mail.Send",
    }
    url = f"{sandbox.authority_url}/oauth2/v2.0/authorize"
    cancelled = http.post(url, data={**params, "user": ALICE, "decision": "cancel"}, allow_redirects=False)
    query = parse_qs(urlsplit(cancelled.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s-2"]
    wrong = http.get(url, params={**params, "redirect_uri": "https://evil.example/cb"})
    assert wrong.status_code == 400 and "AADSTS50011" in wrong.text


# -- key rotation and sharing --


def test_rotation_keeps_the_previous_key_until_the_next_one(tls: TlsFiles, http: requests.Session) -> None:
    def build(base: str) -> Flask:
        return create_aad_app(tenant_id=TENANT, issuer_host=base, clients=_clients_plain(), users=USERS)

    with serve(build, tls) as (base, app):
        sandbox = Sandbox(base, app.extensions["dev_authority"], tls)  # type: ignore[attr-defined]
        issuer = f"{base}/{TENANT}/v2.0"
        old = sandbox.authority.mint_sso_token(ALICE)
        old_kid = jwt.get_unverified_header(old)["kid"]

        new_kid = http.post(f"{base}/dev/keys/rotate").json()["kid"]
        new = sandbox.authority.mint_sso_token(ALICE)
        assert jwt.get_unverified_header(new)["kid"] == new_kid != old_kid
        published = [k["kid"] for k in http.get(f"{base}/common/discovery/v2.0/keys").json()["keys"]]
        assert published[0] == new_kid and old_kid in published and len(published) == 2
        assert sandbox.decode(old, audience=APP_ID, issuer=issuer)["oid"] == ALICE
        assert sandbox.decode(new, audience=APP_ID, issuer=issuer)["oid"] == ALICE

        sandbox.authority.rotate_keys()
        with pytest.raises(jwt.PyJWKClientError):
            sandbox.decode(old, audience=APP_ID, issuer=issuer)
        assert sandbox.decode(new, audience=APP_ID, issuer=issuer)["oid"] == ALICE
        dropped = _cca(sandbox, http).acquire_token_on_behalf_of(old, [GRAPH_DEFAULT])
        _assert_error_shape(dropped, "invalid_grant", 50013)


def test_key_dir_shares_keys_consent_and_refresh_tokens(tmp_path: Path) -> None:
    def authority() -> DevAuthority:
        return DevAuthority(
            tenant_id=TENANT,
            issuer_host="https://sandbox.example/dev/aad",
            clients=_clients_plain(),
            users=USERS,
            key_dir=tmp_path / "keys",
        )

    one, two = authority(), authority()
    assert [k.kid for k in one.keys.published()] == [k.kid for k in two.keys.published()]
    token = one.mint_sso_token(ALICE)
    assert two.verify_token(token, audience=APP_ID)["oid"] == ALICE

    one.rotate_keys()
    assert two.keys.signing_key().kid == one.keys.signing_key().kid
    assert two.verify_token(token, audience=APP_ID)["oid"] == ALICE  # previous key still published

    two.grant_consent(DANA, APP_ID, f"{GRAPH_RESOURCE}/Files.Read")
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "client_id": APP_ID,
        "client_secret": SECRET,
        "requested_token_use": "on_behalf_of",
        "assertion": one.mint_sso_token(DANA),
        "scope": f"{GRAPH_RESOURCE}/Files.Read offline_access",
    }
    body = one.token_response(TENANT, form)
    refreshed = two.token_response(
        TENANT,
        {
            "grant_type": "refresh_token",
            "client_id": APP_ID,
            "client_secret": SECRET,
            "refresh_token": body["refresh_token"],
            "scope": GRAPH_DEFAULT,
        },
    )
    assert "Files.Read" in _claims(refreshed["access_token"])["scp"].split()
    assert not any(p.stat().st_mode & 0o077 for p in (tmp_path / "keys").glob("*.pem"))


# -- mounted like the main app does it --


def test_mounted_under_dev_aad(tls: TlsFiles, http: requests.Session) -> None:
    def build(base: str) -> DispatcherMiddleware:
        aad = create_aad_app(tenant_id=TENANT, issuer_host=f"{base}/dev/aad", clients=_clients_plain(), users=USERS)
        host = Flask("host")
        host.extensions["dev_authority"] = aad.extensions["dev_authority"]
        return DispatcherMiddleware(host, {"/dev/aad": aad})

    with serve(build, tls) as (base, _):
        app = _cca(Sandbox(base, None, tls), http, authority=f"{base}/dev/aad/{TENANT}")  # type: ignore[arg-type]
        assert "access_token" in app.acquire_token_for_client([GRAPH_DEFAULT])
        sso = http.post(f"{base}/dev/aad/{TENANT}/dev/sso-token", data={"user": ALICE}).json()["token"]
        assert _claims(sso)["iss"] == f"{base}/dev/aad/{TENANT}/v2.0"
        assert "access_token" in app.acquire_token_on_behalf_of(sso, [GRAPH_DEFAULT])
        key = jwt.PyJWKClient(
            f"{base}/dev/aad/common/discovery/v2.0/keys", ssl_context=tls.client_context()
        ).get_signing_key_from_jwt(sso)
        assert jwt.decode(sso, key.key, algorithms=["RS256"], audience=APP_ID)["oid"] == ALICE


def test_no_secret_or_token_is_logged(
    sandbox: Sandbox, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sso = sandbox.authority.mint_sso_token(ALICE)
    result = _cca(sandbox, http).acquire_token_on_behalf_of(sso, [GRAPH_DEFAULT])
    _cca(sandbox, http, credential="wrong").acquire_token_for_client([GRAPH_DEFAULT])
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("plugin", "werkzeug", "flask"))]
    for secret in (SECRET, sso, result["access_token"], result["refresh_token"]):
        assert not any(secret in message for message in ours)


def _clients_plain() -> dict[str, ClientRegistration]:
    return {
        APP_ID: ClientRegistration(
            APP_ID, client_secret=SECRET, app_id_uri=APP_ID_URI, consented_scopes={GRAPH_RESOURCE: ("User.Read",)}
        )
    }
