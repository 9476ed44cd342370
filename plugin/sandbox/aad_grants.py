"""The dev authority's token endpoint: client credentials, on-behalf-of, refresh token, authorization code."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt

from plugin.sandbox.aad_authorize import redeem_code
from plugin.sandbox.aad_client_auth import authenticate_client
from plugin.sandbox.aad_errors import AadError, missing_parameter
from plugin.sandbox.aad_registry import ClientRegistration, DevUser, ScopeRequest, parse_scope
from plugin.sandbox.aad_tokens import base_claims, client_info, id_token_claims, user_claims

if TYPE_CHECKING:
    from plugin.sandbox.aad_authority import DevAuthority

GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type name, not a secret
GRANT_AUTHORIZATION_CODE = "authorization_code"
TOKEN_LIFETIME = 3599  # what Entra's token endpoint answers as expires_in for most tokens
REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600
MFA_POLICY_ID = "6b5b5a1e-0f4c-4c3e-9d7e-3f1d2f0a9c11"  # the dev tenant's Conditional Access policy
MFA_CLAIMS_CHALLENGE = json.dumps({"access_token": {"capolids": {"essential": True, "values": [MFA_POLICY_ID]}}})


class TokenEndpoint:
    """``POST /{tenant}/oauth2[/v2.0]/token`` of a :class:`DevAuthority`."""

    def __init__(self, authority: DevAuthority) -> None:
        self._authority = authority

    def respond(
        self, tenant: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None, version: int = 2
    ) -> dict[str, Any]:
        """Answer a token request (form fields as posted); raises :class:`AadError` for error bodies."""
        segment = self._authority.resolve_tenant(tenant)
        if version == 1 and not form.get("scope") and form.get("resource"):
            form = {**form, "scope": f"{form['resource'].rstrip('/')}/.default"}
        grant_type = form.get("grant_type") or _raise(missing_parameter("grant_type"))
        client_id = form.get("client_id") or (basic[0] if basic else None) or _raise(missing_parameter("client_id"))
        client = self._authority.clients.get(client_id) or _raise(self._authority.unknown_client_error(client_id))
        handlers = {
            GRANT_CLIENT_CREDENTIALS: self._client_credentials,
            GRANT_JWT_BEARER: self._on_behalf_of,
            GRANT_REFRESH_TOKEN: self._refresh,
            GRANT_AUTHORIZATION_CODE: self._authorization_code,
        }
        handler = handlers.get(grant_type)
        if handler is None:
            raise AadError(
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type}'.",
            )
        acr = authenticate_client(
            client,
            form,
            basic,
            audiences=self._assertion_audiences(segment),
            required=grant_type in (GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER),
        )
        return handler(client, form, str(acr))

    def _client_credentials(self, client: ClientRegistration, form: Mapping[str, str], acr: str) -> dict[str, Any]:
        scope = parse_scope(form.get("scope") or _raise(missing_parameter("scope")))
        if not scope.is_default:
            raise AadError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {form['scope']} is not valid. Client credential flows must "
                "have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        token = self._authority.app_token(client, self._authority.resolve_resource(scope.resource), acr, TOKEN_LIFETIME)
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": token,
        }

    def _on_behalf_of(self, client: ClientRegistration, form: Mapping[str, str], acr: str) -> dict[str, Any]:
        use = form.get("requested_token_use") or _raise(missing_parameter("requested_token_use"))
        if use != "on_behalf_of":
            raise AadError("invalid_request", 9002313, "Invalid request. Request is malformed or invalid.")
        assertion = form.get("assertion") or _raise(missing_parameter("assertion"))
        scope = parse_scope(form.get("scope") or _raise(missing_parameter("scope")))
        claims = self._validate_assertion(assertion, client)
        user = self._authority.known_user(str(claims["oid"]))
        return self._user_token_response(client, user, scope, acr, amr=list(claims.get("amr", [])), form=form)

    def _refresh(self, client: ClientRegistration, form: Mapping[str, str], acr: str) -> dict[str, Any]:
        raw = self._authority.sealer.unseal(
            form.get("refresh_token") or _raise(missing_parameter("refresh_token")), "rt"
        )
        if raw is None:
            raise AadError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        grant = json.loads(raw)
        if grant["cid"] != client.client_id:
            raise AadError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
        if grant["exp"] < time.time():
            raise AadError("invalid_grant", 700082, "The refresh token has expired due to inactivity.")
        scope = parse_scope(form.get("scope") or _raise(missing_parameter("scope")))
        user = self._authority.known_user(grant["oid"])
        return self._user_token_response(client, user, scope, acr, amr=grant["amr"], form=form)

    def _authorization_code(self, client: ClientRegistration, form: Mapping[str, str], acr: str) -> dict[str, Any]:
        grant = redeem_code(self._authority.sealer, client, form)
        scope = parse_scope(form.get("scope") or grant["scope"])
        user = self._authority.known_user(grant["oid"])
        return self._user_token_response(client, user, scope, acr, amr=["pwd"], form=form, nonce=grant.get("nonce"))

    def _user_token_response(
        self,
        client: ClientRegistration,
        user: DevUser,
        scope: ScopeRequest,
        acr: str,
        *,
        amr: list[str],
        form: Mapping[str, str],
        nonce: str | None = None,
    ) -> dict[str, Any]:
        resource, target = self._authority.resolve_resource(scope.resource)
        granted = self._consented(client, user, scope, resource, target)
        if self._authority.state.requires_mfa(user.oid) and "mfa" not in amr:
            raise AadError(
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new "
                f"location, you must use multi-factor authentication to access '{resource}'.",
                claims=MFA_CLAIMS_CHALLENGE,
            )
        version = target.access_token_version if target else 1
        now = int(time.time())
        claims = base_claims(
            version=version,
            issuer=self._authority.issuer(version),
            audience=self._authority.audience_for(target, version) if target else resource,
            tenant_id=self._authority.tenant_id,
            now=now,
            lifetime=TOKEN_LIFETIME,
        )
        claims |= user_claims(
            user,
            version=version,
            client_id=client.client_id,
            client_acr=acr,
            scp=" ".join(sorted(granted)),
            amr=amr,
        )
        if target and user.roles:
            claims["roles"] = list(user.roles)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scope.qualified(granted),
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self._authority.keys.sign(claims),
        }
        if "offline_access" in scope.oidc:
            rt = {"cid": client.client_id, "oid": user.oid, "amr": amr, "exp": now + REFRESH_TOKEN_LIFETIME}
            body["refresh_token"] = self._authority.sealer.seal(json.dumps(rt).encode(), "rt")
        if "openid" in scope.oidc:
            id_claims = id_token_claims(
                user,
                client_id=client.client_id,
                issuer=self._authority.issuer(2),
                tenant_id=self._authority.tenant_id,
                now=now,
            )
            body["id_token"] = self._authority.keys.sign(id_claims | ({"nonce": nonce} if nonce else {}))
        if form.get("client_info") == "1":
            body["client_info"] = client_info(user, self._authority.tenant_id)
        return body

    def _consented(
        self,
        client: ClientRegistration,
        user: DevUser,
        scope: ScopeRequest,
        resource: str,
        target: ClientRegistration | None,
    ) -> frozenset[str]:
        if target and not scope.is_default and not scope.permissions <= set(target.exposed_scopes):
            raise AadError(
                "invalid_scope",
                70011,
                f"The provided value for the input parameter 'scope' is not "
                f"valid. The scope {scope.qualified(scope.permissions)} does not exist.",
            )
        consented = frozenset(client.consented_scopes.get(resource, ())) | self._authority.state.user_consents(
            client.client_id, user.oid, resource
        )
        needed = frozenset() if scope.is_default else scope.permissions
        if not consented or not needed <= consented:
            raise AadError(
                "invalid_grant",
                65001,
                "The user or administrator has not consented to use the application with ID "
                f"'{client.client_id}' named '{client.display_name}'. Send an interactive authorization "
                "request for this user and resource.",
                suberror="consent_required",
            )
        return consented

    def _validate_assertion(self, assertion: str, client: ClientRegistration) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.DecodeError as exc:
            raise AadError("invalid_request", 50027, "JWT token is invalid or malformed.") from exc
        key = self._authority.keys.find(str(header.get("kid")))
        if key is None:
            raise AadError(
                "invalid_grant",
                50013,
                "Assertion failed signature validation. [Reason - The key was not found.]",
            )
        try:
            claims = jwt.decode(
                assertion,
                key.private_key.public_key(),
                algorithms=["RS256"],
                issuer=[self._authority.issuer(1), self._authority.issuer(2)],
                options={"require": ["exp", "aud", "iss", "tid"], "verify_aud": False},
                leeway=300,
            )
        except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError) as exc:
            raise AadError(
                "invalid_grant",
                500133,
                "Assertion is not within its valid time range. Ensure that the access token is not expired "
                "before using it for user assertion, or request a new token.",
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise AadError(
                "invalid_grant",
                50013,
                "Assertion failed signature validation. [Reason - The "
                "provided signature value did not match the expected signature value.]",
            ) from exc
        except jwt.PyJWTError as exc:
            raise AadError("invalid_grant", 50013, "Assertion failed signature validation.") from exc
        expected = [a for a in (client.app_id_uri, client.client_id) if a]
        if claims["aud"] not in expected:
            raise AadError(
                "invalid_grant",
                500131,
                "Assertion audience does not match the Client app presenting the assertion. The audience in "
                f"the assertion was '{claims['aud']}' and the expected audience is '{client.client_id}' or "
                "one of the Application Uris of this application with App ID '{client.client_id}'"
                f"({client.display_name}). "
                "The downstream client must request a token for the expected audience (the application that "
                "made the OBO request) and this application should use that token as the assertion.",
            )
        if claims["tid"] != self._authority.tenant_id or "oid" not in claims or "scp" not in claims:
            raise AadError(
                "invalid_grant",
                50013,
                "Assertion failed signature validation. [Reason - The "
                "assertion is not a delegated access token of this tenant.]",
            )
        return claims

    def _assertion_audiences(self, segment: str) -> list[str]:
        tenants = {segment, self._authority.tenant_id}
        return [f"{self._authority.issuer_host}/{t}/oauth2{v}/token" for t in tenants for v in ("/v2.0", "")]


def _raise(error: AadError) -> Any:
    raise error
