"""``/v1.0/subscriptions`` routes: create (with the validation handshake), list, get, renew, delete, reauthorize.

Creation validates the body (see :mod:`plugin.sandbox.graph_subscriptions`), then runs the handshake against
``notificationUrl`` and, when given, ``lifecycleNotificationUrl`` (see :mod:`plugin.sandbox.graph_delivery`);
only then is the subscription stored and 201 returned. PATCH accepts ``expirationDateTime`` (same rules) and
``notificationUrl`` (handshake again); renewing or reauthorizing resumes a subscription paused by a
``reauthorizationRequired`` lifecycle event. Callers see the subscriptions of their own application only.
"""

from __future__ import annotations

from flask import Blueprint, Response

from plugin.sandbox.graph_delivery import check_receiver_url, validate_endpoint
from plugin.sandbox.graph_emulator import GraphEmulator, current_caller, current_emulator
from plugin.sandbox.graph_http import json_body, json_response, no_content, not_found
from plugin.sandbox.graph_subscriptions import Subscription, check_expiration, new_subscription

blueprint = Blueprint("graph_subscriptions", __name__, url_prefix="/v1.0/subscriptions")


@blueprint.post("")
def create() -> tuple[Response, int]:
    """POST /subscriptions: validate, handshake, store → 201."""
    emulator = current_emulator()
    subscription = new_subscription(
        json_body(), current_caller(), emulator.scenario, emulator.clock(), emulator.max_subscription_minutes
    )
    _handshake(emulator, subscription.notification_url)
    if subscription.lifecycle_url:
        _handshake(emulator, subscription.lifecycle_url)
    emulator.subscriptions.add(subscription)
    return json_response(subscription.to_json(emulator.base_url)), 201


@blueprint.get("")
def list_subscriptions() -> Response:
    """GET /subscriptions: the caller application's live subscriptions."""
    emulator = current_emulator()
    app_id = current_caller().app_id
    mine = [
        s.to_json(emulator.base_url)
        for s in emulator.subscriptions.active(emulator.clock())
        if s.application_id == app_id
    ]
    for item in mine:
        item.pop("@odata.context")
    return json_response({"@odata.context": f"{emulator.base_url}/v1.0/$metadata#subscriptions", "value": mine})


@blueprint.get("/<subscription_id>")
def get(subscription_id: str) -> Response:
    """GET /subscriptions/{id}."""
    emulator = current_emulator()
    return json_response(_own(emulator, subscription_id).to_json(emulator.base_url))


@blueprint.patch("/<subscription_id>")
def renew(subscription_id: str) -> Response:
    """PATCH /subscriptions/{id}: renew (expirationDateTime) or move (notificationUrl)."""
    emulator = current_emulator()
    subscription = _own(emulator, subscription_id)
    body = json_body()
    if "notificationUrl" in body:
        url = check_receiver_url(body["notificationUrl"])
        _handshake(emulator, url)
        subscription.notification_url = url
    if "expirationDateTime" in body:
        subscription.expiration = check_expiration(
            body["expirationDateTime"], subscription, emulator.clock(), emulator.max_subscription_minutes
        )
    subscription.needs_reauthorization = False
    return json_response(subscription.to_json(emulator.base_url))


@blueprint.delete("/<subscription_id>")
def delete(subscription_id: str) -> Response:
    """DELETE /subscriptions/{id} → 204."""
    emulator = current_emulator()
    emulator.subscriptions.remove(_own(emulator, subscription_id).id)
    return no_content()


@blueprint.post("/<subscription_id>/reauthorize")
def reauthorize(subscription_id: str) -> Response:
    """POST /subscriptions/{id}/reauthorize → 204."""
    _own(current_emulator(), subscription_id).needs_reauthorization = False
    return no_content()


def _own(emulator: GraphEmulator, subscription_id: str) -> Subscription:
    subscription = emulator.subscriptions.get(subscription_id, emulator.clock())
    if subscription.application_id != current_caller().app_id:
        raise not_found(f"The object was not found: subscription '{subscription_id}'.", "ResourceNotFound")
    return subscription


def _handshake(emulator: GraphEmulator, url: str) -> None:
    validate_endpoint(url, timeout=emulator.validation_timeout, verify=emulator.delivery_verify)
