"""DevAuthority: the in-process core of the dev Entra authority (metadata, keys, token minting, grants).

The Flask app in :mod:`plugin.sandbox.aad` is a thin HTTP layer over this object; the main app reaches
the same object through ``app.extensions["dev_authority"]`` to mint Teams SSO tokens in-process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt

from plugin.sandbox.aad_errors import AadError
from plugin.sandbox.aad_grants import TOKEN_LIFETIME, TokenEndpoint
from plugin.sandbox.aad_registry import (
    GRAPH_RESOURCE,
    TEAMS_DESKTOP_CLIENT_ID,
    YAMMER_RESOURCE,
    ClientRegistration,
    DevUser,
    canonical_resource,
    parse_scope,
)
from plugin.sandbox.aad_state import DevState
from plugin.sandbox.aad_tokens import (
    V1_ISSUER,
    app_claims,
    base_claims,
    user_claims,
)
from plugin.sandbox.keys import KeySet, Sealer

_WELL_KNOWN_TENANTS = ("common", "organizations")


class DevAuthority:
    """A single-tenant Entra stand-in: app registrations, users, signing keys, consent and CA state."""

    def __init__(
        self,
        *,
        tenant_id: str,
        issuer_host: str,
        clients: Mapping[str, ClientRegistration],
        users: Mapping[str, DevUser],
        key_dir: Path | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.issuer_host = issuer_host.rstrip("/")
        self.clients = dict(clients)
        self.users = dict(users)
        self.keys = KeySet(key_dir)
        self.state = DevState(key_dir)
        self.sealer = Sealer(key_dir)
        self._token_endpoint = TokenEndpoint(self)

    # -- metadata --
    def issuer(self, version: int = 2, tenant: str | None = None) -> str:
        """Token issuer: ``{issuer_host}/{tid}/v2.0`` for v2, ``https://sts.windows.net/{tid}/`` for v1."""
        tid = tenant or self.tenant_id
        return f"{self.issuer_host}/{tid}/v2.0" if version == 2 else V1_ISSUER.format(tid=tid)

    def resolve_tenant(self, tenant: str) -> str:
        """The tenant segment as URLs should carry it; unknown tenants fail like Entra's AADSTS90002."""
        if tenant.lower() == self.tenant_id.lower():
            return self.tenant_id
        if tenant.lower() in _WELL_KNOWN_TENANTS:
            return tenant.lower()
        raise AadError(
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
            "into the correct cloud.",
        )

    def openid_configuration(self, tenant: str, version: int = 2) -> dict[str, Any]:
        """The OpenID Connect discovery document for ``/{tenant}[/v2.0]/.well-known/openid-configuration``."""
        segment = self.resolve_tenant(tenant)
        # Like Entra, the multi-tenant documents carry a "{tenantid}" template in the issuer.
        issuer_tid = self.tenant_id if segment == self.tenant_id else "{tenantid}"
        base = f"{self.issuer_host}/{segment}"
        suffix = "/v2.0" if version == 2 else ""
        return {
            "issuer": self.issuer(version, issuer_tid),
            "authorization_endpoint": f"{base}/oauth2{suffix}/authorize",
            "token_endpoint": f"{base}/oauth2{suffix}/token",
            "jwks_uri": f"{base}/discovery{suffix}/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "request_uri_parameter_supported": False,
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "msgraph_host": "graph.microsoft.com",
        }

    def jwks(self, tenant: str, version: int = 2) -> dict[str, Any]:
        """The JWKS document; v2 keys carry their ``issuer`` as Entra's do."""
        segment = self.resolve_tenant(tenant)
        issuer_tid = self.tenant_id if segment == self.tenant_id else "{tenantid}"
        return self.keys.jwks(self.issuer(2, issuer_tid) if version == 2 else None)

    def rotate_keys(self) -> str:
        """Rotate the signing key; returns the new ``kid``."""
        return self.keys.rotate().kid

    # -- users, consent, conditional access --
    def user(self, ref: str) -> DevUser:
        """A user by object id or ``preferred_username`` (KeyError when unknown)."""
        if ref in self.users:
            return self.users[ref]
        for user in self.users.values():
            if user.preferred_username.lower() == ref.lower():
                return user
        raise KeyError(ref)

    def grant_consent(self, user: str, client_id: str, scope: str) -> None:
        """Record the user's consent to ``scope`` (e.g. ``https://graph.microsoft.com/Mail.Read``)."""
        request = parse_scope(scope)
        resource = self.resolve_resource(request.resource)[0]
        self.state.grant(self.client(client_id).client_id, self.user(user).oid, resource, request.permissions)

    def revoke_consent(self, user: str, client_id: str, resource: str | None = None) -> None:
        """Withdraw the user's consent for one resource (or all)."""
        canonical = self.resolve_resource(canonical_resource(resource))[0] if resource else None
        self.state.revoke(self.client(client_id).client_id, self.user(user).oid, canonical)

    def require_mfa(self, user: str, required: bool = True) -> None:
        """Make Conditional Access demand MFA from ``user`` on OBO/refresh (``interaction_required``)."""
        self.state.set_mfa(self.user(user).oid, required)

    # -- minting --
    def mint_sso_token(
        self,
        user: str,
        *,
        version: int | None = None,
        client_id: str | None = None,
        audience: str | None = None,
        lifetime: int = 3600,
        extra_claims: Mapping[str, Any] | None = None,
        teams_client_id: str = TEAMS_DESKTOP_CLIENT_ID,
        mfa: bool = False,
        issued_at: int | None = None,
    ) -> str:
        """A Teams SSO token (what ``authentication.getAuthToken()`` returns) for ``user`` (oid or UPN)."""
        app = self.client(client_id) if client_id else self.tab_client()
        dev_user = self.user(user)
        version = version or app.access_token_version
        if version not in (1, 2):
            raise ValueError(f"token version must be 1 or 2, not {version}")
        now = int(time.time() if issued_at is None else issued_at)
        claims = base_claims(
            version=version,
            issuer=self.issuer(version),
            audience=audience or self.audience_for(app, version),
            tenant_id=self.tenant_id,
            now=now,
            lifetime=lifetime,
        )
        claims |= user_claims(
            dev_user,
            version=version,
            client_id=teams_client_id,
            client_acr="0",
            scp=" ".join(app.exposed_scopes),
            amr=["pwd", "mfa"] if mfa else ["pwd"],
        )
        if dev_user.roles:
            claims["roles"] = list(dev_user.roles)
        claims |= dict(extra_claims or {})
        return self.keys.sign(claims)

    def mint_app_token(self, client_id: str, resource: str = GRAPH_RESOURCE, *, lifetime: int = TOKEN_LIFETIME) -> str:
        """An app-only token as the client-credentials grant issues it, without the HTTP round trip."""
        return self.app_token(
            self.client(client_id), self.resolve_resource(canonical_resource(resource)), "1", lifetime
        )

    def tab_client(self) -> ClientRegistration:
        """The registration Teams SSO tokens are for: the first client that exposes an API."""
        for client in self.clients.values():
            if client.app_id_uri:
                return client
        raise LookupError("no client registration has an app_id_uri")

    def verify_token(self, token: str, *, audience: str | Iterable[str]) -> dict[str, Any]:
        """Claims of a token this authority signed (v1 or v2 issuer); raises ``jwt.PyJWTError`` otherwise."""
        kid = jwt.get_unverified_header(token).get("kid")
        key = self.keys.find(str(kid))
        if key is None:
            raise jwt.InvalidSignatureError(f"unknown signing key {kid!r}")
        audiences = [audience] if isinstance(audience, str) else list(audience)
        return jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=["RS256"],
            audience=audiences,
            issuer=[self.issuer(1), self.issuer(2)],
            options={"require": ["exp", "iat", "aud", "iss", "tid"]},
            leeway=300,
        )

    def token_response(
        self, tenant: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None, version: int = 2
    ) -> dict[str, Any]:
        """Answer a token request (form fields as posted); raises :class:`AadError` for error bodies."""
        return self._token_endpoint.respond(tenant, form, basic=basic, version=version)

    def seal_code(self, payload: Mapping[str, Any]) -> str:
        """An authorization code carrying ``payload`` (used by the authorize endpoint)."""
        return self.sealer.seal(json.dumps(dict(payload, exp=int(time.time()) + 600)).encode(), "code")

    def app_token(
        self,
        client: ClientRegistration,
        resolved: tuple[str, ClientRegistration | None],
        acr: str,
        lifetime: int,
    ) -> str:
        """An app-only token for a resolved resource (see :meth:`resolve_resource`)."""
        resource, target = resolved
        version = target.access_token_version if target else 1
        claims = base_claims(
            version=version,
            issuer=self.issuer(version),
            audience=self.audience_for(target, version) if target else resource,
            tenant_id=self.tenant_id,
            now=int(time.time()),
            lifetime=lifetime,
        )
        claims |= app_claims(version=version, client_id=client.client_id, client_acr=acr, issuer=self.issuer(version))
        roles = client.app_roles.get(resource, ())
        if roles:
            claims["roles"] = list(roles)
        return self.keys.sign(claims)

    def resolve_resource(self, resource: str) -> tuple[str, ClientRegistration | None]:
        """(canonical resource, its registration if it is one of ours); AADSTS500011 when unknown."""
        if resource in (GRAPH_RESOURCE, YAMMER_RESOURCE):
            return resource, None
        for client in self.clients.values():
            if resource in (client.app_id_uri, client.client_id):
                return client.app_id_uri or client.client_id, client
        raise AadError(
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named {self.tenant_id}. "
            "This can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You might have sent your authentication request to the "
            "wrong tenant.",
        )

    def client(self, client_id: str) -> ClientRegistration:
        """A registration by client id; AADSTS700016 when unknown."""
        return self.clients.get(client_id) or _raise(self.unknown_client_error(client_id))

    def unknown_client_error(self, client_id: str) -> AadError:
        """AADSTS700016, the answer for a client id that is not registered."""
        return AadError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{self.tenant_id}'. "
            "This can happen if the application has not been installed by the administrator of the tenant or "
            "consented to by any user in the tenant. You may have sent your authentication request to the "
            "wrong tenant.",
        )

    def known_user(self, oid: str) -> DevUser:
        """A user by object id; AADSTS50034 when the directory has no such user."""
        user = self.users.get(oid)
        if user is None:
            raise AadError(
                "invalid_grant",
                50034,
                f"The user account {oid} does not exist in the "
                f"{self.tenant_id} directory. To sign into this application, the account must be "
                "added to the directory.",
            )
        return user

    @staticmethod
    def audience_for(client: ClientRegistration, version: int) -> str:
        """The ``aud`` of tokens for ``client``'s API."""
        # Entra: v1 tokens carry the App ID URI as aud, v2 tokens the client id.
        return (client.app_id_uri or client.client_id) if version == 1 else client.client_id


def _raise(error: AadError) -> Any:
    raise error
