"""Change and lifecycle notification payloads, and publishing them through the fault plan to the notifier.

One POST carries one change notification (Graph may batch several; receivers must handle both). With
``includeResourceData`` the item gets ``encryptedContent`` (the chatMessage JSON as GET returns it, see
:mod:`plugin.sandbox.graph_crypto`) and the body gets ``validationTokens``: one JWT signed by the dev authority
with ``iss`` ``https://sts.windows.net/{tid}/``, ``aud`` = the subscribing app's id, ``appid`` = Graph's
change-notification publisher ``0bf30f3b-4a52-48df-9a82-234910c4a086``, ``ver`` 1.0, valid one hour.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plugin.sandbox.aad_tokens import opaque
from plugin.sandbox.graph_crypto import encrypt_content
from plugin.sandbox.graph_http import iso_7
from plugin.sandbox.graph_messages import resource_path
from plugin.sandbox.graph_subscriptions import Subscription
from plugin.sandbox.scenario import ChannelMessage

if TYPE_CHECKING:
    from plugin.sandbox.graph_emulator import GraphEmulator

NOTIFICATION_PUBLISHER_APP_ID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
TokenSigner = Callable[[dict[str, Any]], str]


def validation_token(signer: TokenSigner, tenant_id: str, app_id: str) -> str:
    """A ``validationTokens`` JWT as Graph's change-notification publisher sends it."""
    now = int(time.time())
    issuer = f"https://sts.windows.net/{tenant_id}/"
    publisher = str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ambassador:sandbox:sp:{NOTIFICATION_PUBLISHER_APP_ID}"))
    return signer(
        {
            "aud": app_id,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "aio": opaque(),
            "appid": NOTIFICATION_PUBLISHER_APP_ID,
            "appidacr": "2",
            "idp": issuer,
            "oid": publisher,
            "sub": publisher,
            "tid": tenant_id,
            "uti": opaque(16),
            "ver": "1.0",
        }
    )


def change_item(
    emulator: GraphEmulator, subscription: Subscription, message: ChannelMessage, change_type: str
) -> dict[str, Any]:
    """One item of the ``value`` array of a change notification."""
    resource = resource_path(message)
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": iso_7(subscription.expiration),
        "changeType": change_type,
        "resource": resource,
        "resourceData": {"id": message.id, "@odata.type": "#Microsoft.Graph.chatMessage", "@odata.id": resource},
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }
    if subscription.include_resource_data and subscription.certificate is not None:
        payload = json.dumps(emulator.renderer.entity(message), ensure_ascii=False).encode()
        item["encryptedContent"] = encrypt_content(payload, subscription.certificate, subscription.certificate_id or "")
    return item


def lifecycle_body(subscription: Subscription, event: str) -> dict[str, Any]:
    """A lifecycle notification body (``reauthorizationRequired``, ``subscriptionRemoved`` or ``missed``)."""
    return {
        "value": [
            {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": iso_7(subscription.expiration),
                "tenantId": subscription.tenant_id,
                "clientState": subscription.client_state,
                "lifecycleEvent": event,
            }
        ]
    }


class Publisher:
    """Turns scenario changes into notification POSTs, applying the drop/duplicate/reorder faults."""

    def __init__(self, emulator: GraphEmulator, signer: TokenSigner | None) -> None:
        self.emulator = emulator
        self.signer = signer
        self._held: list[tuple[str, dict[str, Any], str]] = []
        self._lock = threading.Lock()

    def publish(self, message: ChannelMessage, change_type: str) -> int:
        """Queue notifications of a change to every covering subscription; returns how many were queued."""
        emulator = self.emulator
        queued = 0
        for subscription in emulator.subscriptions.active(emulator.clock()):
            if not subscription.covers(message, change_type):
                continue
            body: dict[str, Any] = {"value": [change_item(emulator, subscription, message, change_type)]}
            if subscription.include_resource_data and self.signer is not None:
                body["validationTokens"] = [
                    validation_token(self.signer, subscription.tenant_id, subscription.application_id)
                ]
            queued += self._send(subscription.notification_url, body, subscription.id)
        return queued

    def lifecycle(self, subscription: Subscription, event: str) -> bool:
        """Send a lifecycle event to the subscription's lifecycleNotificationUrl; False when it has none."""
        if not subscription.lifecycle_url:
            return False
        self.emulator.notifier.submit(
            subscription.lifecycle_url, lifecycle_body(subscription, event), kind=event, subscription_id=subscription.id
        )
        return True

    def _send(self, url: str, body: dict[str, Any], subscription_id: str) -> int:
        fault = self.emulator.faults.take_notification_fault()
        notifier = self.emulator.notifier
        if fault is None:
            notifier.submit(url, body, kind="change", subscription_id=subscription_id)
            return 1
        kind, size = fault
        self.emulator.record_fault(kind, subscription_id)
        if kind == "drop":
            return 0
        if kind == "duplicate":
            notifier.submit(url, body, kind="change", subscription_id=subscription_id)
            notifier.submit(url, body, kind="change", subscription_id=subscription_id)
            return 2
        with self._lock:
            self._held.append((url, body, subscription_id))
            if len(self._held) < size:
                return 0
            held, self._held = self._held, []
        for url_, body_, sid in reversed(held):
            notifier.submit(url_, body_, kind="change", subscription_id=sid)
        return len(held)
