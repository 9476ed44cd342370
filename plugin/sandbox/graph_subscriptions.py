"""Change-notification subscriptions of the Graph emulator: validation rules, the store and the JSON shape.

Rules (Graph docs; choices where they are unconfirmed):

* ``resource``: ``/teams/{id}/channels/{id}/messages`` (replies included; optional ``?$filter=mentions/any(u:
  u/mentioned/user/id eq '…')`` or ``?$search=…``) or ``/teams/getAllMessages``; anything else answers 400,
  an unknown team or channel 404.
* ``changeType``: a comma-separated non-empty subset of created, updated, deleted.
* ``notificationUrl``/``lifecycleNotificationUrl``: https, or http on a loopback host (sandbox only).
* ``expirationDateTime``: in the future; more than 60 minutes ahead requires ``lifecycleNotificationUrl``
  (the documented error message); at most ``max_minutes`` ahead (default 4320 = 3 days, configurable, since the
  current maximum is unconfirmed) — beyond that 400, not silently clamped.
* ``clientState``: optional, at most 128 characters (the limit is unconfirmed).
* ``includeResourceData``: needs ``encryptionCertificate`` (base64 DER X.509, RSA 2048-4096) and
  ``encryptionCertificateId`` (≤ 128 chars); for channel messages only with app-only tokens, as documented.
* A subscription whose expiration passed is gone: it gets no notifications and PATCH/DELETE answer 404.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography import x509

from plugin.sandbox.graph_auth import Caller
from plugin.sandbox.graph_crypto import load_certificate
from plugin.sandbox.graph_delivery import check_receiver_url
from plugin.sandbox.graph_http import GraphError, bad_request, iso_7, not_found, parse_datetime
from plugin.sandbox.scenario import ChannelMessage, Scenario

CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
LIFECYCLE_REQUIRED_AFTER = timedelta(minutes=60)
DEFAULT_MAX_MINUTES = 4320
_CHANNEL_RESOURCE = re.compile(r"^/?teams(?:/|\(')([^/'()]+)'?\)?/channels(?:/|\(')([^/'()]+)'?\)?/messages$")
_TENANT_RESOURCE = re.compile(r"^/?teams/getAllMessages$")
_MENTION_FILTER = re.compile(r"^mentions/any\(\s*(\w+)\s*:\s*\1/mentioned/user/id\s+eq\s+'([^']+)'\s*\)$")


@dataclass
class Subscription:
    """One subscription as created through ``POST /subscriptions``."""

    id: str
    resource: str
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    application_id: str
    creator_id: str | None
    tenant_id: str
    team_id: str | None = None  # None for /teams/getAllMessages
    channel_id: str | None = None
    mentioned_user: str | None = None
    search: str | None = None
    include_resource_data: bool = False
    certificate: x509.Certificate | None = None
    certificate_text: str | None = None
    certificate_id: str | None = None
    needs_reauthorization: bool = False

    def covers(self, message: ChannelMessage, change_type: str) -> bool:
        """Whether a change of ``message`` is notified to this subscription."""
        if change_type not in self.change_types or self.needs_reauthorization:
            return False
        if self.team_id is not None and (message.team_id, message.channel_id) != (self.team_id, self.channel_id):
            return False
        if self.mentioned_user and not any(
            ((m.get("mentioned") or {}).get("user") or {}).get("id") == self.mentioned_user for m in message.mentions
        ):
            return False
        return not self.search or self.search.lower() in message.body_html.lower()

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The subscription resource as Graph returns it."""
        return {
            "@odata.context": f"{base_url}/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": iso_7(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": self.include_resource_data,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": self.certificate_text,
            "encryptionCertificateId": self.certificate_id,
            "notificationUrlAppId": None,
        }


class SubscriptionStore:
    """The emulator's subscriptions (thread-safe); expired ones are dropped as they are looked at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        """Store a subscription."""
        with self._lock:
            self._items[subscription.id] = subscription

    def get(self, subscription_id: str, now: datetime) -> Subscription:
        """The live subscription; 404 ``ResourceNotFound`` when unknown or expired."""
        with self._lock:
            self._expire(now)
            found = self._items.get(subscription_id)
        if found is None:
            raise not_found(f"The object was not found: subscription '{subscription_id}'.", "ResourceNotFound")
        return found

    def remove(self, subscription_id: str) -> Subscription | None:
        """Forget a subscription (None when unknown)."""
        with self._lock:
            return self._items.pop(subscription_id, None)

    def active(self, now: datetime) -> list[Subscription]:
        """Live subscriptions, oldest first."""
        with self._lock:
            self._expire(now)
            return list(self._items.values())

    def _expire(self, now: datetime) -> None:
        for key in [k for k, s in self._items.items() if s.expiration <= now]:
            del self._items[key]


def new_subscription(
    body: Mapping[str, Any], caller: Caller, scenario: Scenario, now: datetime, max_minutes: int
) -> Subscription:
    """A validated subscription from a ``POST /subscriptions`` body (before the handshake)."""
    resource = body.get("resource")
    if not isinstance(resource, str) or not resource:
        raise bad_request("resource is a required property for subscription creation.", "InvalidRequest")
    subscription = Subscription(
        id=str(uuid.uuid4()),
        resource=resource,
        change_types=_change_types(body.get("changeType")),
        notification_url=check_receiver_url(body.get("notificationUrl")),
        lifecycle_url=(
            check_receiver_url(body["lifecycleNotificationUrl"], "lifecycleNotificationUrl")
            if body.get("lifecycleNotificationUrl")
            else None
        ),
        expiration=now,
        client_state=_client_state(body.get("clientState")),
        application_id=caller.app_id,
        creator_id=caller.oid,
        tenant_id=scenario.tenant_id,
    )
    _bind_resource(subscription, scenario, caller)
    subscription.expiration = check_expiration(body.get("expirationDateTime"), subscription, now, max_minutes)
    if body.get("includeResourceData") is True:
        _resource_data(subscription, body, caller)
    return subscription


def check_expiration(value: Any, subscription: Subscription, now: datetime, max_minutes: int) -> datetime:
    """A valid ``expirationDateTime`` for ``subscription`` (create and renew); 400 otherwise."""
    try:
        expiration = parse_datetime(value)
    except ValueError as exc:
        message = "expirationDateTime is required and must be an ISO 8601 timestamp."
        raise bad_request(message, "InvalidRequest") from exc
    if expiration <= now:
        raise bad_request("Subscription expiration must be in the future.", "InvalidRequest")
    if expiration - now > timedelta(minutes=max_minutes):
        raise bad_request(f"Subscription expiration can only be {max_minutes} minutes in the future.", "InvalidRequest")
    if expiration - now > LIFECYCLE_REQUIRED_AFTER and not subscription.lifecycle_url:
        raise bad_request(
            "lifecycleNotificationUrl is a required property for subscription creation on this resource when the "
            "expirationDateTime value is set to greater than 1 hour.",
            "ValidationError",
        )
    return expiration


def _change_types(value: Any) -> tuple[str, ...]:
    names = [part.strip() for part in value.split(",")] if isinstance(value, str) else []
    if not names or any(name not in CHANGE_TYPES for name in names):
        raise bad_request(
            f"Invalid changeType '{value}': use a comma-separated list of created, updated, deleted.",
            "InvalidRequest",
        )
    return tuple(dict.fromkeys(names))


def _client_state(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 128:
        raise bad_request("clientState must be a string of at most 128 characters.", "InvalidRequest")
    return value


def _bind_resource(subscription: Subscription, scenario: Scenario, caller: Caller) -> None:
    path, _, query = subscription.resource.partition("?")
    if _TENANT_RESOURCE.match(path):
        if caller.delegated:
            raise GraphError(403, "Forbidden", "/teams/getAllMessages is not supported with delegated permissions.")
        return
    match = _CHANNEL_RESOURCE.match(path)
    if not match:
        raise bad_request(f"Resource '{subscription.resource}' is not supported for subscriptions.", "InvalidRequest")
    team_id, channel_id = unquote(match.group(1)), unquote(match.group(2))
    team = scenario.teams.get(team_id)
    if team is None:
        raise not_found(f"No team found with Group Id {team_id}.")
    if channel_id not in team.channels:
        raise not_found(f"Channel '{channel_id}' was not found in team {team_id}.")
    subscription.team_id, subscription.channel_id = team_id, channel_id
    options = parse_qs(query)
    if "$filter" in options:
        mention = _MENTION_FILTER.match(options["$filter"][0].strip())
        if not mention:
            raise bad_request("Only $filter=mentions/any(u: u/mentioned/user/id eq '{id}') is supported.")
        subscription.mentioned_user = mention.group(2)
    if "$search" in options:
        subscription.search = options["$search"][0].strip('"')


def _resource_data(subscription: Subscription, body: Mapping[str, Any], caller: Caller) -> None:
    if caller.delegated and subscription.team_id is not None:
        raise bad_request(
            "includeResourceData is only supported in application-only mode for this resource.", "ValidationError"
        )
    certificate, certificate_id = body.get("encryptionCertificate"), body.get("encryptionCertificateId")
    if not certificate or not certificate_id:
        raise bad_request(
            "encryptionCertificate and encryptionCertificateId are required when includeResourceData is true.",
            "ValidationError",
        )
    if not isinstance(certificate_id, str) or len(certificate_id) > 128:
        raise bad_request("encryptionCertificateId must be a string of at most 128 characters.", "ValidationError")
    try:
        subscription.certificate = load_certificate(str(certificate))
    except ValueError as exc:
        raise bad_request(f"encryptionCertificate is not valid: {exc}", "ValidationError") from exc
    subscription.include_resource_data = True
    subscription.certificate_text = str(certificate)
    subscription.certificate_id = certificate_id
