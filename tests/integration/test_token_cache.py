"""The per-person MSAL token cache: AES-GCM at rest, bound to its person, readable only with the right key."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from plugin.adapters.entra import Identity
from plugin.adapters.msal_client import GRAPH_USER_READ
from plugin.models import Person, TokenCache
from plugin.sandbox.aad_grants import GRANT_JWT_BEARER
from plugin.sandbox.aad_state import DevState
from plugin.services import tokens
from plugin.services.demo import demo_oid
from plugin.services.people import Caller, sign_in

DAAN = demo_oid("Daan Jansen")
BLOB = json.dumps({"AccessToken": {"k": {"secret": "eyJ-an-access-token"}}, "RefreshToken": {}})


@pytest.fixture
def dev(authority):
    """The dev authority with consent and MFA state in memory."""
    authority.state = DevState()
    return authority


@pytest.fixture
def daan(session, dev) -> Caller:
    return sign_in(session, Identity(oid=DAAN, tenant_id=dev.tenant_id, name="Daan Jansen", username=None,
                                     roles=frozenset(), version="2.0"))


def test_seal_and_open_round_trip_with_the_same_key_and_context():
    cipher = tokens.CacheCipher("k" * 40)
    sealed = cipher.seal(b"hello", "token_cache:1")
    assert sealed[:1] == b"\x01" and b"hello" not in sealed
    assert cipher.open(sealed, "token_cache:1") == b"hello"
    assert cipher.seal(b"hello", "token_cache:1") != sealed  # a fresh nonce every time


def test_other_keys_other_people_and_tampering_do_not_decrypt():
    cipher = tokens.CacheCipher("k" * 40)
    sealed = cipher.seal(b"hello", "token_cache:1")
    assert tokens.CacheCipher("x" * 40).open(sealed, "token_cache:1") is None
    assert cipher.open(sealed, "token_cache:2") is None  # a row copied to another person
    assert cipher.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), "token_cache:1") is None
    assert cipher.open(b"\x02" + sealed[1:], "token_cache:1") is None
    assert cipher.open(b"short", "token_cache:1") is None


def test_token_cache_key_takes_precedence_over_secret_key(monkeypatch):
    monkeypatch.delenv("TOKEN_CACHE_KEY", raising=False)
    sealed = tokens.CacheCipher.from_config({"SECRET_KEY": "s" * 40}).seal(b"x", "c")
    assert tokens.CacheCipher("s" * 40).open(sealed, "c") == b"x"
    dedicated = tokens.CacheCipher.from_config({"SECRET_KEY": "s" * 40, "TOKEN_CACHE_KEY": "t" * 40})
    assert dedicated.open(sealed, "c") is None and dedicated.open(dedicated.seal(b"y", "c"), "c") == b"y"
    monkeypatch.setenv("TOKEN_CACHE_KEY", "t" * 40)
    assert tokens.CacheCipher.from_config({"SECRET_KEY": "s" * 40}).open(dedicated.seal(b"z", "c"), "c") == b"z"


def test_the_row_is_ciphertext_and_reads_back_only_with_the_right_key(session, daan, caplog):
    cipher = tokens.CacheCipher("k" * 40)
    tokens.save_cache(session, daan.person_id, BLOB, cipher)
    session.commit()
    row = session.get(TokenCache, daan.person_id)
    assert b"eyJ-an-access-token" not in row.ciphertext and b"AccessToken" not in row.ciphertext
    assert tokens.load_cache(session, daan.person_id, cipher) == BLOB

    with caplog.at_level(logging.WARNING):
        assert tokens.load_cache(session, daan.person_id, tokens.CacheCipher("other" * 8)) is None
    assert "does not decrypt" in caplog.text and "eyJ" not in caplog.text

    tokens.save_cache(session, daan.person_id, BLOB.replace("eyJ", "new"), cipher)  # an update, not a second row
    session.commit()
    assert session.scalars(select(TokenCache).where(TokenCache.person_id == daan.person_id)).all() == [row]
    assert tokens.forget(session, daan.person_id) and session.get(TokenCache, daan.person_id) is None
    assert not tokens.forget(session, daan.person_id)


def test_delegated_token_stores_an_encrypted_cache_and_reuses_it(app, session, dev, daan, monkeypatch):
    grants: list[str] = []
    real = dev.token_response
    monkeypatch.setattr(dev, "token_response",
                        lambda tenant, form, **kw: grants.append(form["grant_type"]) or real(tenant, form, **kw))
    with app.test_request_context("/"):
        first = tokens.delegated_token(session, daan, dev.mint_sso_token(DAAN), [GRAPH_USER_READ])
        again = tokens.delegated_token(session, daan, None, [GRAPH_USER_READ])  # no Teams token needed now
        cipher = tokens.cipher_for(app)
    assert first == again and grants == [GRANT_JWT_BEARER]
    assert dev.verify_token(first, audience="https://graph.microsoft.com")["oid"] == DAAN

    row = session.get(TokenCache, daan.person_id)
    assert first.encode() not in row.ciphertext and b"access_token" not in row.ciphertext
    assert b"secret" not in row.ciphertext and DAAN.encode() not in row.ciphertext
    assert first in cipher.open(row.ciphertext, f"token_cache:{daan.person_id}").decode()
    assert tokens.CacheCipher("a different key entirely").open(row.ciphertext, f"token_cache:{daan.person_id}") is None


def test_a_cache_that_no_longer_decrypts_means_on_behalf_of_again(app, session, dev, daan):
    tokens.save_cache(session, daan.person_id, BLOB, tokens.CacheCipher("an old key that was rotated away"))
    session.commit()
    with app.test_request_context("/"):
        token = tokens.delegated_token(session, daan, dev.mint_sso_token(DAAN), [GRAPH_USER_READ])
        assert tokens.load_cache(session, daan.person_id, tokens.cipher_for(app)) is not None
    assert dev.verify_token(token, audience="https://graph.microsoft.com")["oid"] == DAAN


def test_erasing_a_person_removes_their_cache(session, daan):
    tokens.save_cache(session, daan.person_id, BLOB, tokens.CacheCipher("k" * 40))
    session.commit()
    session.delete(session.get(Person, daan.person_id))
    session.commit()
    assert session.get(TokenCache, daan.person_id) is None
