"""Bearer-token checks of the Graph emulator: who is calling (app or user) and the light permission check.

Tokens must be RS256 JWTs the dev authority signed with ``aud`` ``https://graph.microsoft.com`` (or Graph's app
id ``00000003-0000-0000-c000-000000000000``). A missing or invalid token answers 401
``InvalidAuthenticationToken`` (with Graph's messages and ``WWW-Authenticate`` header). The permission check is
deliberately light: a delegated token (one with ``scp``) needs a non-empty ``scp``, an app-only token a
non-empty ``roles``; which permission an endpoint needs is not checked. Otherwise 403 ``Forbidden``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.aad_registry import GRAPH_APP_ID, GRAPH_RESOURCE
from plugin.sandbox.graph_http import GraphError

TokenVerifier = Callable[[str], Mapping[str, Any]]
GRAPH_AUDIENCES = (GRAPH_RESOURCE, f"{GRAPH_RESOURCE}/", GRAPH_APP_ID)
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    f'client_id="{GRAPH_APP_ID}"'
)


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    token: str
    claims: Mapping[str, Any] = field(repr=False)

    @property
    def delegated(self) -> bool:
        """True for a user's token (it carries ``scp`` or ``idtyp`` = user)."""
        return "scp" in self.claims or self.claims.get("idtyp") == "user"

    @property
    def oid(self) -> str | None:
        """The user's (or the service principal's) object id."""
        return self.claims.get("oid")

    @property
    def app_id(self) -> str:
        """The client application's id (``appid`` in v1 tokens, ``azp`` in v2)."""
        return str(self.claims.get("appid") or self.claims.get("azp") or "")

    @property
    def tenant_id(self) -> str:
        """The token's tenant (``tid``)."""
        return str(self.claims.get("tid", ""))

    @property
    def roles(self) -> tuple[str, ...]:
        """Application permissions (``roles``)."""
        return tuple(self.claims.get("roles") or ())

    @property
    def scopes(self) -> tuple[str, ...]:
        """Delegated permissions (``scp``)."""
        return tuple(str(self.claims.get("scp") or "").split())


def make_verifier(authority: DevAuthority | TokenVerifier) -> TokenVerifier:
    """A token verifier: the dev authority's signature/audience check, or the given callable."""
    if isinstance(authority, DevAuthority):
        return lambda token: authority.verify_token(token, audience=GRAPH_AUDIENCES)
    return authority


def authenticate(authorization: str | None, verify: TokenVerifier) -> Caller:
    """The caller behind an ``Authorization`` header; raises 401/403 :class:`GraphError` as Graph does."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthenticated("Access token is empty.")
    if token.count(".") != 2:
        raise unauthenticated("IDX14100: JWT is not well formed, there are no dots (.).")
    try:
        claims = verify(token)
    except jwt.ExpiredSignatureError as exc:
        raise unauthenticated("Lifetime validation failed, the token is expired.") from exc
    except jwt.InvalidAudienceError as exc:
        raise unauthenticated("Access token validation failure. Invalid audience.") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise unauthenticated("Access token validation failure.") from exc
    caller = Caller(token, claims)
    if caller.delegated and not caller.scopes:
        raise GraphError(403, "Forbidden", "Missing scope permissions on the request. Scopes on the request ''.")
    if not caller.delegated and not caller.roles:
        raise GraphError(403, "Forbidden", "Missing role permissions on the request. Roles on the request ''.")
    return caller


def unauthenticated(message: str) -> GraphError:
    """401 ``InvalidAuthenticationToken`` with the ``WWW-Authenticate`` challenge Graph sends."""
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": _WWW_AUTHENTICATE})
