"""Teams SSO tokens: valid ones sign the caller in, everything else is a 401 with a clear code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from plugin.models import Person, RoleAssignment, Team, TeamMembership
from plugin.sandbox.demo_tenant import demo_users
from plugin.services.demo import demo_oid

SANNE = demo_oid("Sanne de Vries")  # lead of Financieel Advies
DAAN = demo_oid("Daan Jansen")  # employee
ESTHER = demo_oid("Esther Koster")  # coach (app role in Entra)
GERRIT = demo_oid("Gerrit Post")  # admin (app role in Entra)


def call(client, token: str | None, path: str = "/api/me", **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


@pytest.mark.parametrize("version", [1, 2])
def test_valid_v1_and_v2_tokens_are_accepted_and_create_the_person(client, authority, session, version):
    response = call(client, authority.mint_sso_token(DAAN, version=version))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["oid"] == DAAN and body["name"] == "Daan Jansen" and body["roles"] == ["employee"]
    person = session.scalar(select(Person).where(Person.entra_oid == DAAN))
    assert person is not None and person.upn == "daan.jansen@noorderlicht.example"
    assert body["id"] == person.id


def test_a_second_call_updates_rather_than_duplicates(client, authority, session):
    call(client, authority.mint_sso_token(DAAN))
    call(client, authority.mint_sso_token(DAAN, extra_claims={"name": "Daan J. Jansen"}))
    people = session.scalars(select(Person).where(Person.entra_oid == DAAN)).all()
    assert len(people) == 1 and people[0].display_name == "Daan J. Jansen"


def test_teams_locale_is_remembered_as_the_persons_language(client, authority):
    body = client.get("/api/me?locale=en-GB", headers={"Authorization": f"Bearer {authority.mint_sso_token(DAAN)}"})
    assert body.get_json()["locale"] == "en"


def test_app_roles_in_the_token_make_coaches_and_admins(client, authority):
    assert call(client, authority.mint_sso_token(ESTHER)).get_json()["roles"] == ["coach", "employee"]
    assert call(client, authority.mint_sso_token(GERRIT)).get_json()["roles"] == ["admin", "employee"]


def test_team_owners_and_assigned_leads_are_leads(client, authority, session):
    call(client, authority.mint_sso_token(SANNE))
    sanne = session.scalar(select(Person).where(Person.entra_oid == SANNE))
    team = Team(graph_id="team-fin", display_name="Financieel Advies")
    session.add(team)
    session.flush()
    session.add(TeamMembership(team_id=team.id, person_id=sanne.id, is_owner=True))
    session.flush()
    body = call(client, authority.mint_sso_token(SANNE)).get_json()
    assert body["roles"] == ["employee", "lead"] and body["lead_team_ids"] == [team.id]

    call(client, authority.mint_sso_token(DAAN))
    daan = session.scalar(select(Person).where(Person.entra_oid == DAAN))
    session.add(RoleAssignment(person_id=daan.id, role="coach"))
    session.flush()
    assert "coach" in call(client, authority.mint_sso_token(DAAN)).get_json()["roles"]


def _forge(claims: dict, key, alg: str = "RS256", headers: dict | None = None) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _claims(authority, **overrides) -> tuple[dict, dict]:
    token = authority.mint_sso_token(DAAN)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims | overrides, header


def _private_key(authority):
    return authority.keys.signing_key().private_key


def _unsigned(claims: dict) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}."


def _rejections(authority):
    now = int(time.time())
    claims, header = _claims(authority)
    key = _private_key(authority)
    kid = {"kid": header["kid"]}
    yield "expired", authority.mint_sso_token(DAAN, issued_at=now - 7200, lifetime=3600), "token_expired"
    yield "not yet valid", _forge(claims | {"nbf": now + 3600, "iat": now + 3600}, key, headers=kid), \
        "token_not_yet_valid"
    yield "wrong audience", authority.mint_sso_token(DAAN, audience="api://elsewhere.example/other"), \
        "invalid_audience"
    yield "wrong issuer", _forge(claims | {"iss": "https://login.evil.example/x/v2.0"}, key, headers=kid), \
        "invalid_issuer"
    yield "wrong tenant", _forge(claims | {"tid": "00000000-0000-0000-0000-000000000000"}, key, headers=kid), \
        "invalid_tenant"
    yield "missing scp", _forge({k: v for k, v in claims.items() if k != "scp"}, key, headers=kid), \
        "insufficient_scope"
    yield "missing oid", _forge({k: v for k, v in claims.items() if k != "oid"}, key, headers=kid), "invalid_token"
    yield "alg none", _unsigned(claims), "invalid_token"
    yield "unknown kid", _forge(claims, key, headers={"kid": "not-a-published-key"}), "invalid_token"
    token = authority.mint_sso_token(DAAN)
    head, payload, signature = token.split(".")
    tampered = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered["oid"] = GERRIT
    forged_payload = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
    yield "tampered payload", f"{head}.{forged_payload}.{signature}", "invalid_signature"
    yield "token for another app", _forge(claims | {"aud": "api://127.0.0.1:5000/11111111-2222-3333-4444-555555555555"},
                                          key, headers=kid), "invalid_audience"
    yield "garbage", "not-a-jwt", "invalid_token"


def test_every_kind_of_bad_token_is_a_401_with_a_code(client, authority, session):
    cases = list(_rejections(authority))
    assert len(cases) >= 12
    for name, token, code in cases:
        response = call(client, token)
        assert response.status_code == 401, name
        assert response.get_json()["error"] == code, name
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Ambassador", error="invalid_token"')
    assert session.scalar(select(Person).where(Person.entra_oid == GERRIT)) is None  # nobody was signed in


def test_hs256_signed_with_the_public_key_is_refused(client, authority):
    """The classic algorithm-confusion attack: the RSA public key used as an HMAC secret."""
    claims, header = _claims(authority)
    public_key = authority.keys.signing_key().private_key.public_key()
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    response = call(client, _hs256(claims, pem, header["kid"]))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    signing_input = f"{encode({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{encode(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_missing_or_malformed_authorization_header(client):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        response = client.get("/api/me", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["error"] == "missing_token"
        assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_key_rotation_is_picked_up_and_old_tokens_keep_working(client, authority, app):
    old = authority.mint_sso_token(DAAN)
    assert call(client, old).status_code == 200
    authority.rotate_keys()
    jwks = app.extensions["token_validator"].jwks
    jwks._fetched_at = None  # the refresh interval has passed
    new = authority.mint_sso_token(DAAN)
    assert jwt.get_unverified_header(new)["kid"] != jwt.get_unverified_header(old)["kid"]
    assert call(client, new).status_code == 200
    assert call(client, old).status_code == 200  # the previous key is still published


def test_unknown_kids_do_not_hammer_the_authority(client, authority, app):
    claims, _header = _claims(authority)
    jwks = app.extensions["token_validator"].jwks
    call(client, authority.mint_sso_token(DAAN))
    before = jwks.fetches
    for n in range(20):
        call(client, _forge(claims, _private_key(authority), headers={"kid": f"forged-{n}"}))
    assert jwks.fetches - before <= 1


def test_tokens_never_reach_the_log(client, authority, caplog):
    token = authority.mint_sso_token(DAAN)
    with caplog.at_level("DEBUG"):
        call(client, token)
        call(client, token + "x")
    assert token[:40] not in caplog.text


def test_demo_users_cover_every_role():
    roles = {role for user in demo_users().values() for role in user.roles}
    assert roles == {"Coach", "Admin"}
