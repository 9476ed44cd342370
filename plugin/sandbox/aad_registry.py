"""What the dev Entra tenant knows: app registrations, users, well-known resources and scope parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field

from plugin.sandbox.aad_errors import AadError

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
YAMMER_RESOURCE = "https://api.yammer.com"
TEAMS_DESKTOP_CLIENT_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
TEAMS_WEB_CLIENT_ID = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
_RESOURCE_ALIASES = {GRAPH_APP_ID: GRAPH_RESOURCE, f"{GRAPH_RESOURCE}/": GRAPH_RESOURCE}


@dataclass(frozen=True)
class ClientRegistration:
    """An Entra app registration (the app object plus its service principal's grants in this tenant)."""

    client_id: str
    _: KW_ONLY
    client_secret: str | None = None
    #: Hex SHA-1 or SHA-256 thumbprints (as the portal lists them): an assertion whose x5c certificate has
    #: one of them is accepted. Certificates given in full (``certificates``, PEM) are matched by x5t too.
    certificate_thumbprints: tuple[str, ...] = ()
    certificates: tuple[str, ...] = ()
    #: "Expose an API": api://<host>/<client id>, with the delegated scopes the app exposes.
    app_id_uri: str | None = None
    exposed_scopes: tuple[str, ...] = ("access_as_user",)
    #: Application permissions granted (admin consented) to this client, per resource: app-only ``roles``.
    app_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Delegated permissions admin-consented for every user, per resource; per-user consent comes on top.
    consented_scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Web redirect URIs allowed at the authorize endpoint (the consent pop-up of the tab).
    redirect_uris: tuple[str, ...] = ()
    display_name: str = "Ambassador"
    #: accessTokenAcceptedVersion of this app's API: version of tokens minted for it (the Teams SSO token).
    access_token_version: int = 2


@dataclass(frozen=True)
class DevUser:
    """A user of the dev tenant; ``roles`` are app roles assigned on the tab app (e.g. Coach, Admin)."""

    oid: str
    name: str
    preferred_username: str
    roles: tuple[str, ...] = ()
    locale: str = "en-US"


@dataclass(frozen=True)
class ScopeRequest:
    """A parsed ``scope``: one resource, its permissions (``.default`` kept as is) and OIDC scopes."""

    resource: str
    permissions: frozenset[str]
    oidc: frozenset[str]

    @property
    def is_default(self) -> bool:
        return ".default" in self.permissions

    def qualified(self, permissions: frozenset[str] | set[str]) -> str:
        """Permissions prefixed with the resource, as the ``scope`` field of a token response."""
        return " ".join(f"{self.resource}/{name}" for name in sorted(permissions))


def canonical_resource(resource: str) -> str:
    """Map aliases (Graph's app id, trailing slash) to one resource identifier."""
    return _RESOURCE_ALIASES.get(resource, resource.rstrip("/") or resource)


def parse_scope(scope: str | None) -> ScopeRequest:
    """Split a space-separated ``scope`` into resource and permissions; bare names are Graph permissions."""
    names = (scope or "").split()
    oidc = frozenset(name for name in names if name in OIDC_SCOPES)
    by_resource: dict[str, set[str]] = {}
    for name in names:
        if name in OIDC_SCOPES:
            continue
        resource, _, permission = name.rpartition("/") if "/" in name else (GRAPH_RESOURCE, "", name)
        if not permission or not resource:
            raise invalid_scope(scope or "")
        by_resource.setdefault(canonical_resource(resource), set()).add(permission)
    if not by_resource:
        raise invalid_scope(scope or "")
    if len(by_resource) > 1:
        raise AadError(
            "invalid_scope",
            28000,
            "Provided value for the input parameter scope is not valid because it contains more than one "
            f"resource. Scope {scope} is not valid.",
        )
    [(resource, permissions)] = by_resource.items()
    if ".default" in permissions and len(permissions) > 1:
        raise AadError(
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. "
            f"The scope {scope} is not valid. .default scope can't be combined with resource-specific "
            "scopes.",
        )
    return ScopeRequest(resource, frozenset(permissions), oidc)


def invalid_scope(scope: str) -> AadError:
    """AADSTS70011 for a scope that names no permission."""
    return AadError(
        "invalid_scope",
        70011,
        f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
    )
