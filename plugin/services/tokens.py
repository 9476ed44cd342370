"""Delegated tokens for a person: their MSAL token cache, encrypted at rest, and the on-behalf-of exchange.

Each person's MSAL ``SerializableTokenCache`` is stored in ``token_cache.ciphertext`` sealed with AES-256-GCM:
``b"\\x01" + 12-byte random nonce + ciphertext||tag``, with the person's id as associated data so a row copied
to another person does not decrypt. The key is HKDF-SHA256(info=``"ambassador token cache v1"``) of

* ``TOKEN_CACHE_KEY`` when that setting is present (Flask config or environment; any long random string, e.g.
  ``python -c "import secrets; print(secrets.token_urlsafe(48))"``), so that ``SECRET_KEY`` can be rotated
  without losing the caches; otherwise
* ``SECRET_KEY``.

A cache that does not decrypt (the key changed) is treated as empty: the next call simply does on-behalf-of
again. The same cipher (with another associated-data label) seals the auth-code flow kept in the session
cookie during sign-in, so the PKCE verifier is not readable by the browser.

:func:`delegated_token` first asks MSAL for a cached token (``acquire_token_silent`` with the person's account,
refreshing with the refresh token when needed), then falls back to on-behalf-of with the Teams SSO token, saves
the cache when it changed and commits, and raises :class:`ConsentRequired` or :class:`InteractionRequired`
for the web layer to turn into the 403/401 answers of :mod:`plugin.web.consent`. Tokens are never logged.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..adapters.entra import Identity
from ..adapters.msal_client import (
    GRAPH_USER_READ,
    Acquired,
    Failed,
    MsalClient,
    NeedsConsent,
    NeedsInteraction,
    describe,
    http_client_for,
)
from ..models import TokenCache
from .people import Caller, sign_in

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

HKDF_INFO = b"ambassador token cache v1"
FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
#: Graph user fields the profile endpoint passes on (nothing else leaves Graph through us).
PROFILE_FIELDS = ("id", "displayName", "givenName", "surname", "mail", "userPrincipalName", "jobTitle",
                  "preferredLanguage", "officeLocation")


# -- errors the web layer maps to responses ----------------------------------------------------------------------
class DelegatedTokenError(Exception):
    """No delegated token could be had; `code` is the API error code."""

    code = "token_unavailable"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class ConsentRequired(DelegatedTokenError):
    """The person has not consented to the permissions (fall back to the consent pop-up)."""

    code = "consent_required"


class InteractionRequired(DelegatedTokenError):
    """Conditional Access wants the person back (e.g. MFA); `claims` is the challenge for getAuthToken()."""

    code = "interaction_required"

    def __init__(self, claims: str | None, message: str = "") -> None:
        super().__init__(message)
        self.claims = claims


class SignInRequired(DelegatedTokenError):
    """No Teams SSO token and nothing usable in the cache (standalone session): sign in again."""

    code = "sign_in_required"


class TokenUnavailable(DelegatedTokenError):
    """The authority refused for another reason (`authority_code`, e.g. invalid_grant) or could not be reached."""

    def __init__(self, authority_code: str, message: str = "") -> None:
        super().__init__(message)
        self.authority_code = authority_code


class UpstreamError(Exception):
    """Graph (or another resource) answered with an error; `status` is its HTTP status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"upstream answered {status}")
        self.status = status


class SignInFailed(Exception):
    """The authorization-code sign-in could not be completed; `code` says why (no token in it)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- encryption ------------------------------------------------------------------------------------------------
class CacheCipher:
    """AES-256-GCM under a key derived with HKDF from TOKEN_CACHE_KEY or SECRET_KEY."""

    def __init__(self, key_material: str | bytes) -> None:
        material = key_material.encode() if isinstance(key_material, str) else key_material
        if not material:
            raise ValueError("the token cache key material is empty")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material)
        self._aead = AESGCM(key)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CacheCipher:
        """The cipher for these settings: TOKEN_CACHE_KEY (config or environment), else SECRET_KEY."""
        return cls(config.get("TOKEN_CACHE_KEY") or os.environ.get("TOKEN_CACHE_KEY") or config["SECRET_KEY"])

    def seal(self, plaintext: bytes, context: str) -> bytes:
        """Encrypt `plaintext`, bound to `context` (associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_V1 + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes | None:
        """Decrypt, or None when the blob is not ours (other key, other context, tampered, unknown format)."""
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT_V1:
            return None
        try:
            return self._aead.decrypt(sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:], context.encode())
        except InvalidTag:
            return None

    def seal_text(self, value: Mapping[str, Any], context: str) -> str:
        """Seal a JSON-able mapping into URL-safe text (for the session cookie)."""
        return base64.urlsafe_b64encode(self.seal(json.dumps(value).encode(), context)).decode()

    def open_text(self, sealed: str | None, context: str) -> dict[str, Any] | None:
        """The mapping sealed by :meth:`seal_text`, or None."""
        if not sealed:
            return None
        try:
            raw = self.open(base64.urlsafe_b64decode(sealed.encode()), context)
        except ValueError:
            return None
        return None if raw is None else json.loads(raw)


def _context(person_id: int) -> str:
    return f"token_cache:{person_id}"


def cipher_for(app: Flask) -> CacheCipher:
    """The app's token-cache cipher (built once)."""
    cipher = app.extensions.get("token_cache_cipher")
    if cipher is None:
        cipher = app.extensions["token_cache_cipher"] = CacheCipher.from_config(app.config)
    return cipher


def msal_for(app: Flask) -> MsalClient:
    """The app's MSAL client (built on first use, so start-up makes no network call)."""
    client = app.extensions.get("msal")
    if client is None:
        client = app.extensions["msal"] = MsalClient.from_app(app)
    return client


# -- the cache row -----------------------------------------------------------------------------------------------
def load_cache(session: Session, person_id: int, cipher: CacheCipher) -> str | None:
    """The person's serialized MSAL cache, or None (no row, or it no longer decrypts)."""
    row = session.get(TokenCache, person_id)
    if row is None:
        return None
    plaintext = cipher.open(bytes(row.ciphertext), _context(person_id))
    if plaintext is None:
        log.warning("token cache of person %s does not decrypt (key changed?); starting afresh", person_id)
        return None
    return plaintext.decode()


def save_cache(session: Session, person_id: int, blob: str, cipher: CacheCipher) -> None:
    """Store the serialized cache encrypted (not committed: the calling service commits)."""
    ciphertext = cipher.seal(blob.encode(), _context(person_id))
    row = session.get(TokenCache, person_id)
    if row is None:
        session.add(TokenCache(person_id=person_id, ciphertext=ciphertext, updated_at=datetime.now(UTC)))
    else:
        row.ciphertext = ciphertext
        row.updated_at = datetime.now(UTC)


def _save_and_commit(session: Session, person_id: int, blob: str, cipher: CacheCipher) -> None:
    save_cache(session, person_id, blob, cipher)
    try:
        session.commit()
    except IntegrityError:  # a concurrent request inserted the row first: ours is as good, so overwrite it
        session.rollback()
        save_cache(session, person_id, blob, cipher)
        session.commit()


def forget(session: Session, person_id: int) -> bool:
    """Delete the person's token cache (sign-out, erasure); commits; True when there was one."""
    row = session.get(TokenCache, person_id)
    if row is None:
        return False
    session.delete(row)
    session.commit()
    return True


# -- use cases -------------------------------------------------------------------------------------------------
def delegated_token(session: Session, caller: Caller, sso_token: str | None, scopes: Sequence[str], *,
                    msal: MsalClient | None = None, cipher: CacheCipher | None = None) -> str:
    """An access token for `scopes` acting as `caller`: from the encrypted cache, else on-behalf-of; commits."""
    msal = msal or msal_for(current_app)
    cipher = cipher or cipher_for(current_app)
    blob = load_cache(session, caller.person_id, cipher)
    cached, refreshed = msal.silent(scopes, blob, caller.oid)
    if cached is not None:
        if refreshed:
            _save_and_commit(session, caller.person_id, refreshed, cipher)
        return cached.access_token
    if not sso_token:
        raise SignInRequired("No cached token and no Teams SSO token to exchange.")
    outcome, updated = msal.on_behalf_of(sso_token, scopes, blob)
    if updated:
        _save_and_commit(session, caller.person_id, updated, cipher)
    if isinstance(outcome, Acquired):
        return outcome.access_token
    log.info("on-behalf-of for person %s: %s", caller.person_id, describe(outcome))
    if isinstance(outcome, NeedsConsent):
        raise ConsentRequired(outcome.description)
    if isinstance(outcome, NeedsInteraction):
        raise InteractionRequired(outcome.claims, outcome.description)
    assert isinstance(outcome, Failed)
    raise TokenUnavailable(outcome.code, outcome.description)


def start_sign_in(scopes: Sequence[str], redirect_uri: str, *, prompt: str | None = None,
                  login_hint: str | None = None, msal: MsalClient | None = None) -> dict[str, Any]:
    """Begin an authorization-code + PKCE sign-in; returns MSAL's flow (with `auth_uri`)."""
    msal = msal or msal_for(current_app)
    return msal.start_auth_code_flow(scopes, redirect_uri, prompt=prompt, login_hint=login_hint)


def complete_sign_in(session: Session, flow: Mapping[str, Any], response: Mapping[str, str], *,
                     msal: MsalClient | None = None, cipher: CacheCipher | None = None
                     ) -> tuple[Caller, frozenset[str]]:
    """Redeem the authorization code, sign the person in, store their new token cache; commits.

    Returns the caller and the app roles of the ID token. The new cache replaces the old one: it holds a fresh
    refresh token, which Entra honours for every resource the person consented to."""
    msal = msal or msal_for(current_app)
    cipher = cipher or cipher_for(current_app)
    if response.get("error"):
        raise SignInFailed(str(response["error"]))
    outcome, claims, blob = msal.finish_auth_code_flow(flow, response)
    if not isinstance(outcome, Acquired):
        log.info("sign-in failed: %s", describe(outcome))
        raise SignInFailed(outcome.code if isinstance(outcome, Failed) else
                           "consent_required" if isinstance(outcome, NeedsConsent) else "interaction_required")
    tenant = current_app.config["AZURE_TENANT_ID"]
    if claims.get("tid") != tenant or not claims.get("oid"):
        # MSAL checked nonce, audience and issuer; the tenant is ours to check (single-tenant app).
        raise SignInFailed("invalid_tenant")
    roles = frozenset(str(r) for r in claims.get("roles", ()) or ())
    identity = Identity(oid=str(claims["oid"]), tenant_id=tenant, name=claims.get("name"),
                        username=claims.get("preferred_username"), roles=roles, version=str(claims.get("ver", "")))
    caller = sign_in(session, identity)
    if blob:
        _save_and_commit(session, caller.person_id, blob, cipher)
    return caller, roles


def graph_profile(session: Session, caller: Caller, sso_token: str | None, *, http: httpx.Client | None = None
                  ) -> dict[str, Any]:
    """The caller's own Graph profile (`GET /v1.0/me` with a delegated User.Read token)."""
    token = delegated_token(session, caller, sso_token, [GRAPH_USER_READ])
    base = current_app.config["GRAPH_BASE_URL"].rstrip("/")
    http = http or _graph_http(current_app)
    try:
        response = http.get(f"{base}/v1.0/me", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        log.warning("Graph /me could not be reached")
        raise UpstreamError(503) from None
    if response.status_code != 200:
        log.warning("Graph /me answered %s", response.status_code)
        raise UpstreamError(response.status_code)
    document = response.json()
    return {name: document.get(name) for name in PROFILE_FIELDS}


def _graph_http(app: Flask) -> httpx.Client:
    client = app.extensions.get("delegated_graph_http")
    if client is None:
        client = app.extensions["delegated_graph_http"] = http_client_for(app, app.config["GRAPH_BASE_URL"])
    return client
