"""The dev Entra authority: an offline stand-in for login.microsoftonline.com for real MSAL and PyJWT.

Mount the app returned by :func:`create_aad_app` at ``/dev/aad`` (werkzeug ``DispatcherMiddleware``) and set
``AZURE_AUTHORITY_HOST`` to ``<APP_BASE_URL>/dev/aad``; ``issuer_host`` must be that same external URL.
MSAL only accepts ``https`` authorities (``msal.authority.canonicalize``), so the mount must be reached over
https (the tests serve it with a self-signed certificate and give MSAL ``verify=<that cert>``).

Routes (relative to the mount point):

* ``GET /{tenant}/v2.0/.well-known/openid-configuration`` and (v1) ``/{tenant}/.well-known/openid-configuration``;
  ``{tenant}`` is the tenant id, ``common`` or ``organizations``. MSAL with
  ``instance_discovery=False`` fetches ``{authority}/v2.0/.well-known/openid-configuration`` and nothing else
  before its token request.
* ``GET /{tenant}/discovery/v2.0/keys`` and ``/{tenant}/discovery/keys`` (so also ``/common/discovery/keys``):
  two RSA keys (kid = x5t, n, e, x5c). The newest signs; :meth:`DevAuthority.rotate_keys` or
  ``POST /dev/keys/rotate`` adds a new signing key, keeps the previous one published, drops the older one.
* ``POST /{tenant}/oauth2/v2.0/token`` (and v1 ``/{tenant}/oauth2/token``, which also takes ``resource``):
  ``client_credentials``, on-behalf-of (``urn:ietf:params:oauth:grant-type:jwt-bearer``), ``refresh_token``
  and ``authorization_code``; client secret (post or basic) or certificate client assertion (RS256 + x5t or
  PS256 + x5t#S256, as MSAL sends them).
* ``GET|POST /{tenant}/oauth2/v2.0/authorize``: a consent page for the tab's consent pop-up.
* Dev-only: ``POST /{tenant}/dev/sso-token`` (``user``, ``version``, ``client_id``, ``mfa``) returns
  ``{"token": …}`` as Teams' ``getAuthToken()`` would; ``POST /dev/consent`` (``user``, ``client_id``,
  ``scope``, ``action`` = grant|revoke); ``POST /dev/mfa`` (``user``, ``required``); ``POST /dev/keys/rotate``.

Choices where the reference is silent or unconfirmed (documented Entra behaviour was followed):

* v1 tokens carry ``iss = https://sts.windows.net/{tid}/`` as real Entra does (not the sandbox host); v2
  tokens carry ``iss = {issuer_host}/{tid}/v2.0``. ``aud`` is the App ID URI in v1 tokens and the client id
  in v2 tokens (documented Entra behaviour); ``mint_sso_token(audience=…)`` forces another value. The SSO
  token version defaults to the registration's ``access_token_version`` (accessTokenAcceptedVersion).
* Graph and Yammer tokens (OBO, client credentials) are v1 tokens with ``aud`` = the resource URI
  (``https://graph.microsoft.com``, ``https://api.yammer.com``) signed by the same keys, so the emulators can
  validate them against this JWKS. ``expires_in`` is 3599 s (Entra picks 60-90 min at random).
* Delegated consent = the registration's admin-consented ``consented_scopes`` plus per-user grants.
  ``.default`` needs at least one consented scope for the resource; named scopes must all be consented;
  otherwise ``invalid_grant`` / AADSTS65001 / ``suberror: consent_required``. Tokens carry every consented
  scope of the resource.
* Conditional Access: for a user flagged with ``require_mfa``, OBO and refresh answer
  ``interaction_required`` (AADSTS50076) with a ``claims`` challenge (``capolids``) unless the assertion's
  ``amr`` contains ``mfa`` (mint with ``mfa=True``; the sandbox also puts ``amr`` in v2 tokens for this).
* Refresh tokens and authorization codes are opaque AES-GCM sealed blobs (stateless, so every process
  sharing ``key_dir`` accepts them); refresh tokens only when ``offline_access`` is requested, as documented.
* Client assertions need ``aud`` = this authority's v2 or v1 token endpoint and ``iss`` = ``sub`` = client id.

No token, secret or assertion is ever logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request

from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.aad_authorize import authorize
from plugin.sandbox.aad_errors import AadError
from plugin.sandbox.aad_grants import MFA_POLICY_ID
from plugin.sandbox.aad_registry import (
    GRAPH_RESOURCE,
    TEAMS_DESKTOP_CLIENT_ID,
    TEAMS_WEB_CLIENT_ID,
    YAMMER_RESOURCE,
    ClientRegistration,
    DevUser,
)

__all__ = [
    "GRAPH_RESOURCE",
    "TEAMS_DESKTOP_CLIENT_ID",
    "TEAMS_WEB_CLIENT_ID",
    "YAMMER_RESOURCE",
    "AadError",
    "ClientRegistration",
    "DevAuthority",
    "DevUser",
    "create_aad_app",
    "create_aad_app_for",
]

_METADATA_CACHE = "max-age=86400, private"


def create_aad_app(
    *,
    tenant_id: str,
    issuer_host: str,
    clients: Mapping[str, ClientRegistration],
    users: Mapping[str, DevUser],
    key_dir: Path | None = None,
) -> Flask:
    """Build the dev authority as its own WSGI app; the core object is ``app.extensions["dev_authority"]``."""
    authority = DevAuthority(
        tenant_id=tenant_id, issuer_host=issuer_host, clients=clients, users=users, key_dir=key_dir
    )
    return create_aad_app_for(authority)


def create_aad_app_for(authority: DevAuthority) -> Flask:
    """Wrap an existing :class:`DevAuthority` in the HTTP protocol layer."""
    app = Flask(__name__)
    app.extensions["dev_authority"] = authority

    @app.errorhandler(AadError)
    def aad_error(exc: AadError) -> tuple[Response, int]:
        body = exc.body(error_base=authority.issuer_host, correlation_id=request.headers.get("client-request-id"))
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store, no-cache"
        return response, exc.status

    @app.get("/<tenant>/v2.0/.well-known/openid-configuration")
    def openid_configuration_v2(tenant: str) -> Response:
        return _cached(authority.openid_configuration(tenant, 2))

    @app.get("/<tenant>/.well-known/openid-configuration")
    def openid_configuration_v1(tenant: str) -> Response:
        return _cached(authority.openid_configuration(tenant, 1))

    @app.get("/<tenant>/discovery/v2.0/keys")
    def jwks_v2(tenant: str) -> Response:
        return _cached(authority.jwks(tenant, 2))

    @app.get("/<tenant>/discovery/keys")
    def jwks_v1(tenant: str) -> Response:
        return _cached(authority.jwks(tenant, 1))

    @app.post("/<tenant>/oauth2/v2.0/token")
    def token_v2(tenant: str) -> Response:
        return _token(authority, tenant, 2)

    @app.post("/<tenant>/oauth2/token")
    def token_v1(tenant: str) -> Response:
        return _token(authority, tenant, 1)

    @app.route("/<tenant>/oauth2/v2.0/authorize", methods=["GET", "POST"])
    def authorize_v2(tenant: str) -> Response:
        authority.resolve_tenant(tenant)
        submitted = request.method == "POST"
        params = (request.form if submitted else request.args).to_dict()
        try:
            return authorize(authority, params, submitted=submitted)
        except KeyError:
            return _dev_error("unknown_user", "No such user in the dev tenant.", 400)

    @app.post("/<tenant>/dev/sso-token")
    def sso_token(tenant: str) -> Response | tuple[Response, int]:
        authority.resolve_tenant(tenant)
        data = _input()
        try:
            token = authority.mint_sso_token(
                str(data.get("user", "")),
                version=int(data["version"]) if data.get("version") else None,
                client_id=str(data["client_id"]) if data.get("client_id") else None,
                mfa=_truthy(data.get("mfa")) or MFA_POLICY_ID in str(data.get("claims", "")),
            )
        except KeyError:
            return _dev_error("unknown_user", "No such user or client in the dev tenant.", 404)
        except ValueError:
            return _dev_error("invalid_version", "version must be 1 or 2.", 400)
        return _no_store({"token": token, "token_type": "Bearer", "expires_in": 3600})

    @app.post("/dev/consent")
    def consent() -> Response | tuple[Response, int]:
        data = _input()
        try:
            if data.get("action", "grant") == "revoke":
                authority.revoke_consent(str(data["user"]), str(data["client_id"]), data.get("resource"))
            else:
                authority.grant_consent(str(data["user"]), str(data["client_id"]), str(data["scope"]))
        except KeyError:
            return _dev_error("unknown_entity", "user, client_id and scope (or resource) must name known ones.", 400)
        return Response(status=204)

    @app.post("/dev/mfa")
    def mfa() -> Response | tuple[Response, int]:
        data = _input()
        try:
            authority.require_mfa(str(data["user"]), _truthy(data.get("required", True)))
        except KeyError:
            return _dev_error("unknown_user", "No such user in the dev tenant.", 400)
        return Response(status=204)

    @app.post("/dev/keys/rotate")
    def rotate() -> Response:
        return jsonify({"kid": authority.rotate_keys()})

    return app


def _token(authority: DevAuthority, tenant: str, version: int) -> Response:
    auth = request.authorization
    basic = (auth.username or "", auth.password or "") if auth and auth.type == "basic" else None
    body = authority.token_response(tenant, request.form.to_dict(), basic=basic, version=version)
    if version == 1 and "expires_in" in body:
        body = _v1_fields(body, request.form.get("resource"))
    response = _no_store(body)
    if request.headers.get("client-request-id"):
        response.headers["client-request-id"] = request.headers["client-request-id"]
    return response


def _v1_fields(body: dict[str, Any], resource: str | None) -> dict[str, Any]:
    now = int(time.time())
    extra = {"expires_on": str(now + body["expires_in"]), "not_before": str(now)}
    if resource:
        extra["resource"] = resource
    return {**body, "expires_in": str(body["expires_in"]), **extra}


def _cached(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = _METADATA_CACHE
    return response


def _no_store(document: dict[str, Any]) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = "no-store, no-cache"
    response.headers["Pragma"] = "no-cache"
    return response


def _input() -> Mapping[str, Any]:
    return request.get_json(silent=True) or request.form.to_dict()


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


def _dev_error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error": code, "message": message}), status
