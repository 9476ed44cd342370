"""The offline Microsoft 365 sandbox, mounted only when AMBASSADOR_DEMO=1 (or a test asks for it).

It serves the dev Entra authority at /dev/aad, the Graph emulator at /dev/graph and the Yammer emulator at
/dev/yammer, and the Teams host page at /dev/host. With the demo off nothing is mounted, so every
/dev/ URL is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from .aad_authority import DevAuthority
    from .scenario import Scenario


@dataclass
class Sandbox:
    """What the sandbox mounted, for the host page, the demo and tests."""

    authority: DevAuthority
    scenario: Scenario
    client_secret: str
    apps: dict[str, Any]


def init_sandbox(app: Flask) -> Sandbox | None:
    """Mount the sandbox apps under /dev/ when the demo is on; return None (and mount nothing) otherwise."""
    if not (app.config["AMBASSADOR_DEMO"] or app.config.get("SANDBOX")):
        return None
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from .aad import GRAPH_RESOURCE, YAMMER_RESOURCE, ClientRegistration, create_aad_app
    from .demo_tenant import demo_client_secret, demo_scenario, demo_users
    from .graph_activity_feed import ambassador_package
    from .graph_app import create_graph_app
    from .host import init_host
    from .yammer_app import create_yammer_app

    base = app.config["APP_BASE_URL"]
    tenant, client_id = app.config["AZURE_TENANT_ID"], app.config["AZURE_CLIENT_ID"]
    secret = demo_client_secret(app.config["SECRET_KEY"])
    registration = ClientRegistration(
        client_id,
        client_secret=secret,
        app_id_uri=app.config["SSO_AUDIENCE"],
        app_roles={GRAPH_RESOURCE: ("ChannelMessage.Read.Group", "TeamsActivity.Send.Group",
                                    "TeamsActivity.Send.User", "TeamMember.Read.Group", "User.Read.All")},
        consented_scopes={GRAPH_RESOURCE: ("User.Read", "ChannelMessage.Send"),
                          YAMMER_RESOURCE: ("access_as_user",)},
        redirect_uris=(f"{base}/auth/callback",),
    )
    aad = create_aad_app(
        tenant_id=tenant, issuer_host=f"{base}/dev/aad", clients={client_id: registration}, users=demo_users(),
        # Tests keep keys and consent state in memory, so no test sees another's (or the demo's) state.
        key_dir=None if app.config.get("TESTING") else Path(app.instance_path) / "sandbox-keys",
    )
    authority = aad.extensions["dev_authority"]
    scenario = demo_scenario(tenant)
    graph = create_graph_app(scenario=scenario, authority=authority, base_url=f"{base}/dev/graph",
                             teams_apps=[ambassador_package(client_id, base)])
    yammer = create_yammer_app(scenario=scenario, authority=authority)
    apps: dict[str, Any] = {"/dev/aad": aad, "/dev/graph": graph, "/dev/yammer": yammer}
    sandbox = Sandbox(authority, scenario, secret, apps)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, apps)  # type: ignore[method-assign]
    app.extensions["sandbox"] = sandbox
    init_host(app)
    return sandbox
