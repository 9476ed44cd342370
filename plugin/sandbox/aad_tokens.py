"""Claim sets of the tokens the dev authority issues, in Entra's v1.0 and v2.0 access-token shapes."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from typing import Any

from plugin.sandbox.aad_registry import DevUser
from plugin.sandbox.keys import b64url

V1_ISSUER = "https://sts.windows.net/{tid}/"


def opaque(size: int = 24) -> str:
    """A random base64url value like Entra's ``aio``/``uti`` claims."""
    return b64url(secrets.token_bytes(size))


def pairwise_sub(oid: str, client_id: str) -> str:
    """Entra's ``sub``: stable per user and per application, unlike ``oid``."""
    return b64url(hashlib.sha256(f"{oid}|{client_id}".encode()).digest())[:43]


def service_principal_oid(client_id: str) -> str:
    """The object id of a client's service principal in the dev tenant (derived from the client id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ambassador:dev-aad:sp:{client_id}"))


def client_info(user: DevUser, tenant_id: str) -> str:
    """The ``client_info`` response field MSAL asks for (uid/utid of the signed-in user)."""
    return b64url(json.dumps({"uid": user.oid, "utid": tenant_id}).encode())


def base_claims(*, version: int, issuer: str, audience: str, tenant_id: str, now: int, lifetime: int) -> dict[str, Any]:
    """Claims every access token carries."""
    return {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "aio": opaque(),
        "rh": f"0.{opaque(18)}.",
        "tid": tenant_id,
        "uti": opaque(16),
        "ver": "2.0" if version == 2 else "1.0",
    }


def user_claims(
    user: DevUser, *, version: int, client_id: str, client_acr: str, scp: str | None, amr: list[str]
) -> dict[str, Any]:
    """Delegated claims: who the user is and which app acts for them (appid in v1, azp in v2)."""
    claims: dict[str, Any] = {
        "name": user.name,
        "oid": user.oid,
        "sub": pairwise_sub(user.oid, client_id),
        "idtyp": "user",
        "amr": amr,
    }
    if scp:
        claims["scp"] = scp
    if version == 2:
        claims |= {"azp": client_id, "azpacr": client_acr, "preferred_username": user.preferred_username}
    else:
        given, _, family = user.name.partition(" ")
        claims |= {
            "appid": client_id,
            "appidacr": client_acr,
            "acr": "1",
            "upn": user.preferred_username,
            "unique_name": user.preferred_username,
            "given_name": given,
            "family_name": family or given,
        }
    return claims


def app_claims(*, version: int, client_id: str, client_acr: str, issuer: str) -> dict[str, Any]:
    """App-only claims: the service principal is both ``oid`` and ``sub``."""
    sp_oid = service_principal_oid(client_id)
    claims: dict[str, Any] = {"oid": sp_oid, "sub": sp_oid, "idtyp": "app"}
    if version == 2:
        return claims | {"azp": client_id, "azpacr": client_acr}
    return claims | {"appid": client_id, "appidacr": client_acr, "idp": issuer}


def id_token_claims(user: DevUser, *, client_id: str, issuer: str, tenant_id: str, now: int) -> dict[str, Any]:
    """A v2.0 ID token for ``client_id`` (MSAL asks for ``openid profile`` on every user flow)."""
    return {
        "aud": client_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "aio": opaque(),
        "name": user.name,
        "oid": user.oid,
        "preferred_username": user.preferred_username,
        "rh": f"0.{opaque(18)}.",
        "sub": pairwise_sub(user.oid, client_id),
        "tid": tenant_id,
        "uti": opaque(16),
        "ver": "2.0",
    }
