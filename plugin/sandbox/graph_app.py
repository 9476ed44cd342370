"""The Graph emulator: an offline stand-in for ``https://graph.microsoft.com`` for real clients (msgraph-core/httpx).

Build it with :func:`create_graph_app` and mount it at ``/dev/graph`` (werkzeug ``DispatcherMiddleware``);
``base_url`` is that external URL (e.g. ``http://127.0.0.1:5000/dev/graph``) and clients use
``{base_url}/v1.0`` as their Graph base. The state lives in ``app.extensions["graph_emulator"]``
(:class:`~plugin.sandbox.graph_emulator.GraphEmulator`); call its ``close()`` when the server stops.

Graph routes (all under ``/v1.0``, bearer token required, see :mod:`plugin.sandbox.graph_auth`):
teams/channels/members/users (:mod:`~plugin.sandbox.graph_directory`), channel messages, replies and delta
(:mod:`~plugin.sandbox.graph_channel_messages`, :mod:`~plugin.sandbox.graph_delta`), subscriptions and
notifications (:mod:`~plugin.sandbox.graph_subscription_api`, :mod:`~plugin.sandbox.graph_notify`),
``$batch`` (:mod:`~plugin.sandbox.graph_batch`) and activity feed notifications, checked against the Teams app
packages in ``teams_apps`` (:mod:`~plugin.sandbox.graph_activity_feed`). Every answer carries ``request-id``,
``client-request-id`` (echoed) and ``x-ms-ags-diagnostic``; errors use Graph's ``{"error": {code, message,
innerError}}``.

Dev-only routes (no token): ``GET /_log`` (activity notifications, posted messages, deliveries, subscriptions,
faults, recent requests), ``GET /_activity[?user=&locale=]`` (a person's activity feed, for the host page),
``GET|POST|DELETE /_faults`` (:mod:`~plugin.sandbox.graph_faults`), ``POST /_lifecycle`` ``{"subscriptionId",
"lifecycleEvent"}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.dev_routes import register_dev_routes
from plugin.sandbox.graph_activity_feed import ActivityFeed, TeamsAppPackage
from plugin.sandbox.graph_activity_feed import blueprint as activity_routes
from plugin.sandbox.graph_auth import TokenVerifier, authenticate, make_verifier
from plugin.sandbox.graph_batch import BATCH_ITEM
from plugin.sandbox.graph_batch import blueprint as batch_routes
from plugin.sandbox.graph_channel_messages import blueprint as message_routes
from plugin.sandbox.graph_directory import blueprint as directory_routes
from plugin.sandbox.graph_emulator import GraphEmulator
from plugin.sandbox.graph_http import GraphError, add_graph_headers, error_response
from plugin.sandbox.graph_notify import TokenSigner
from plugin.sandbox.graph_subscription_api import blueprint as subscription_routes
from plugin.sandbox.scenario import Scenario

__all__ = ["GraphEmulator", "create_graph_app"]

_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    415: "UnsupportedMediaType",
}


def create_graph_app(
    *,
    scenario: Scenario,
    authority: DevAuthority | TokenVerifier,
    base_url: str,
    clock: Callable[[], datetime] | None = None,
    signer: TokenSigner | None = None,
    teams_apps: Sequence[TeamsAppPackage] = (),
    **options: Any,
) -> Flask:
    """Build the Graph emulator as its own WSGI app (``options`` go to :class:`GraphEmulator`)."""
    if isinstance(authority, DevAuthority):
        signer = signer or authority.keys.sign
        options.setdefault("app_names", lambda app_id: _display_name(authority, app_id))
    emulator = GraphEmulator(
        scenario=scenario,
        verifier=make_verifier(authority),
        base_url=base_url,
        clock=clock,
        signer=signer,
        **options,
    )
    app = Flask(__name__)
    app.extensions["graph_emulator"] = emulator
    app.extensions["activity_feed"] = ActivityFeed(teams_apps)
    for blueprint in (directory_routes, message_routes, subscription_routes, batch_routes, activity_routes):
        app.register_blueprint(blueprint)

    @app.before_request
    def authenticate_and_inject_faults() -> None:
        """Authenticate /v1.0 calls, then apply the fault plan (delay, 429/503/504)."""
        g.graph_client_request_id = request.headers.get("client-request-id")
        if not request.path.startswith("/v1.0/"):
            return
        g.graph_caller = authenticate(request.headers.get("Authorization"), emulator.verifier)
        delay, fault = emulator.faults.take_request_faults(request.path)
        if delay:
            emulator.record_fault("slow", request.path)
            time.sleep(delay)
        if fault is not None:
            status, code, message, headers = fault.error()
            emulator.record_fault(str(status), request.path)
            raise GraphError(status, code, message, headers)

    @app.after_request
    def graph_headers(response: Response) -> Response:
        """Log /v1.0 calls and add Graph's response headers."""
        if request.path.startswith("/v1.0/"):
            emulator.record_request(
                request.method,
                request.full_path.rstrip("?"),
                response.status_code,
                batch=bool(request.environ.get(BATCH_ITEM)),
            )
        return add_graph_headers(response)

    @app.errorhandler(GraphError)
    def graph_error(exc: GraphError) -> Response:
        """Graph's error JSON for a GraphError."""
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        """Graph's error JSON for routing errors (an unknown /v1.0 path answers 400 as Graph does)."""
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 404 and request.path.startswith("/v1.0/"):
            message = f"Resource not found for the segment '{request.path.rsplit('/', 1)[-1]}'."
            status = 400
        return error_response(GraphError(status, _CODES.get(status, "UnknownError"), message))

    register_dev_routes(app, emulator)

    @app.post("/_lifecycle")
    def lifecycle() -> Response | tuple[Response, int]:
        """POST /_lifecycle: send a lifecycle event to a subscription."""
        data = request.get_json(force=True, silent=True) or {}
        try:
            sent = emulator.lifecycle(str(data.get("subscriptionId", "")), str(data.get("lifecycleEvent", "")))
        except ValueError as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify({"sent": sent})

    return app


def _display_name(authority: DevAuthority, app_id: str) -> str | None:
    client = authority.clients.get(app_id)
    return client.display_name if client else None
