"""Microsoft Entra ID: validate Teams SSO tokens against the authority's JWKS.

Validation follows the Entra access-token rules for a single-tenant API: RS256 only; the key picked by `kid`
from the authority's JWKS (cached, refreshed at most once a minute when an unknown `kid` shows up, so keys
that rotate are picked up and a flood of forged kids cannot hammer the authority); `iss` is the tenant's v1
(`https://sts.windows.net/{tid}/`) or v2 (`{authority}/{tid}/v2.0`) issuer; `aud` is the Application ID URI
(v1 tokens) or the client id (v2 tokens); `tid` is our tenant; `exp`/`nbf` with five minutes of skew;
`scp` contains `access_as_user`; `oid` is present. Tokens are never logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

REQUIRED_SCOPE = "access_as_user"
CLOCK_SKEW_SECONDS = 300
JWKS_REFRESH_INTERVAL = 60.0


class TokenError(Exception):
    """The bearer token is not acceptable; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Identity:
    """Who a valid token says the caller is."""

    oid: str
    tenant_id: str
    name: str | None
    username: str | None
    roles: frozenset[str]
    version: str
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)


JwksFetcher = Callable[[str], Mapping[str, Any]]


class JwksCache:
    """The authority's signing keys by `kid`, refreshed when an unknown `kid` appears (rate-limited)."""

    def __init__(self, url: str, fetch: JwksFetcher, *, min_interval: float = JWKS_REFRESH_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url, self._fetch, self._min_interval, self._clock = url, fetch, min_interval, clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any | None:
        """The public key for `kid`, fetching the JWKS first if needed; None when it is not published."""
        if kid not in self._keys:
            self._refresh()
        return self._keys.get(kid)

    def _refresh(self) -> None:
        with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < self._min_interval:
                return
            self._fetched_at = now
            self.fetches += 1
            document = self._fetch(self.url)
            keys = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") == "RSA" and jwk.get("kid"):
                    keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
            self._keys = keys


class TokenValidator:
    """Validates Teams SSO tokens for one tenant and one app registration."""

    def __init__(self, *, tenant_id: str, client_id: str, app_id_uri: str, authority_host: str,
                 jwks: JwksCache) -> None:
        self.tenant_id, self.client_id = tenant_id, client_id
        self.audiences = [app_id_uri, client_id]
        self.issuers = [f"https://sts.windows.net/{tenant_id}/", f"{authority_host.rstrip('/')}/{tenant_id}/v2.0"]
        self.jwks = jwks

    def validate(self, token: str) -> Identity:
        """Return the caller's identity, or raise TokenError saying exactly what is wrong."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("invalid_token", "The token is not a well-formed JWT.") from None
        if header.get("alg") != "RS256":
            raise TokenError("invalid_token", "Only RS256-signed tokens are accepted.")
        key = self.jwks.key(str(header.get("kid", "")))
        if key is None:
            raise TokenError("invalid_token", "The token is signed with an unknown key.")
        try:
            claims = jwt.decode(
                token, key, algorithms=["RS256"], audience=self.audiences, issuer=self.issuers,
                leeway=CLOCK_SKEW_SECONDS, options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenError("token_expired", "The token has expired; get a new one from Teams.") from None
        except jwt.ImmatureSignatureError:
            raise TokenError("token_not_yet_valid", "The token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise TokenError("invalid_audience", "The token was issued for another application.") from None
        except jwt.InvalidIssuerError:
            raise TokenError("invalid_issuer", "The token was issued by an unexpected issuer.") from None
        except jwt.InvalidSignatureError:
            raise TokenError("invalid_signature", "The token signature does not verify.") from None
        except jwt.PyJWTError:
            raise TokenError("invalid_token", "The token could not be validated.") from None
        return self._identity(claims)

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        if claims.get("tid") != self.tenant_id:
            raise TokenError("invalid_tenant", "The token belongs to another organisation.")
        if REQUIRED_SCOPE not in str(claims.get("scp", "")).split():
            raise TokenError("insufficient_scope", "The token lacks the access_as_user scope.")
        oid = claims.get("oid")
        if not oid:
            raise TokenError("invalid_token", "The token does not name a user (no oid).")
        return Identity(
            oid=str(oid), tenant_id=str(claims["tid"]), name=claims.get("name"),
            username=claims.get("preferred_username") or claims.get("upn") or claims.get("unique_name"),
            roles=frozenset(str(r) for r in claims.get("roles", ()) or ()), version=str(claims.get("ver", "")),
            claims=dict(claims),
        )
