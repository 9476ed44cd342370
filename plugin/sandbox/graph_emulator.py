"""GraphEmulator: the state behind the Graph emulator's HTTP routes (``app.extensions["graph_emulator"]``).

It holds the scenario, the subscriptions, the notifier thread, the fault plan and the inspectable logs
(requests, posted messages, activity notifications, deliveries). Callers that change the scenario directly
call :meth:`GraphEmulator.publish_change` afterwards (or use :meth:`post`, :meth:`react`, :meth:`edit` and
:meth:`delete`, which do both) so subscribers get change notifications.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g

from plugin.sandbox.graph_auth import Caller, TokenVerifier
from plugin.sandbox.graph_delivery import Notifier, Verify
from plugin.sandbox.graph_faults import Faults
from plugin.sandbox.graph_messages import MessageRenderer
from plugin.sandbox.graph_notify import Publisher, TokenSigner
from plugin.sandbox.graph_paging import TokenCodec
from plugin.sandbox.graph_subscriptions import DEFAULT_MAX_MINUTES, LIFECYCLE_EVENTS, SubscriptionStore
from plugin.sandbox.scenario import ChannelMessage, Scenario

_LOG_SIZE = 500


def current_emulator() -> GraphEmulator:
    """The emulator serving the current request."""
    return current_app.extensions["graph_emulator"]


def current_caller() -> Caller:
    """The authenticated caller of the current ``/v1.0`` request."""
    return g.graph_caller


class GraphEmulator:
    """State and in-process API of one Graph emulator."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        verifier: TokenVerifier,
        base_url: str,
        clock: Callable[[], datetime] | None = None,
        signer: TokenSigner | None = None,
        app_names: Callable[[str], str | None] | None = None,
        max_subscription_minutes: int = DEFAULT_MAX_MINUTES,
        validation_timeout: float = 10.0,
        delivery_verify: Verify = True,
        delivery_timeout: float = 3.0,
        delivery_attempts: int = 5,
        delivery_backoff: float = 0.5,
        activity_types: frozenset[str] | None = None,
    ) -> None:
        self.scenario = scenario
        self.verifier = verifier
        self.base_url = base_url.rstrip("/")
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.app_names = app_names or (lambda _app_id: None)
        self.max_subscription_minutes = max_subscription_minutes
        self.validation_timeout = validation_timeout
        self.delivery_verify = delivery_verify
        self.activity_types = activity_types
        self.codec = TokenCodec(secrets.token_bytes(32))
        self.faults = Faults()
        self.subscriptions = SubscriptionStore()
        self.notifier = Notifier(
            verify=delivery_verify, timeout=delivery_timeout, max_attempts=delivery_attempts, backoff=delivery_backoff
        )
        #: message id → fields the scenario model lacks (``appId``, ``importance``) for API posts.
        self.message_extras: dict[str, dict[str, Any]] = {}
        self.renderer = MessageRenderer(scenario, self.base_url, self.message_extras)
        self.publisher = Publisher(self, signer)
        self.activity_notifications: list[dict[str, Any]] = []
        self.posted_messages: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self.fault_log: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self._lock = threading.Lock()

    # -- change notifications --
    def publish_change(self, message: ChannelMessage, change_type: str) -> int:
        """Notify subscribers that ``message`` was created/updated/deleted; returns the number of POSTs queued."""
        if change_type not in ("created", "updated", "deleted"):
            raise ValueError(f"unknown change type {change_type!r}")
        return self.publisher.publish(message, change_type)

    def lifecycle(self, subscription_id: str, event: str) -> bool:
        """Send a lifecycle event; ``reauthorizationRequired`` pauses the subscription until it is reauthorized
        or renewed, ``subscriptionRemoved`` deletes it. False when it has no lifecycleNotificationUrl."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"unknown lifecycle event {event!r}")
        subscription = self.subscriptions.get(subscription_id, self.clock())
        if event == "reauthorizationRequired":
            subscription.needs_reauthorization = True
        elif event == "subscriptionRemoved":
            self.subscriptions.remove(subscription_id)
        return self.publisher.lifecycle(subscription, event)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until queued notifications are delivered or given up; False on timeout."""
        return self.notifier.wait_idle(timeout)

    def close(self) -> None:
        """Stop the delivery thread (call when the emulator's server stops)."""
        self.notifier.close()

    # -- scenario changes that notify --
    def post(
        self, team_id: str, channel_id: str, author_oid: str | None, body_html: str, **extra: Any
    ) -> ChannelMessage:
        """``scenario.post`` (root or reply with ``reply_to``) plus a ``created`` notification."""
        extra.setdefault("at", self.clock())
        message = self.scenario.post(team_id, channel_id, author_oid, body_html, **extra)
        self.publish_change(message, "created")
        return message

    def react(self, message_id: str, user_oid: str, reaction_type: str = "like") -> ChannelMessage:
        """``scenario.react`` plus an ``updated`` notification."""
        self.scenario.react(message_id, user_oid, reaction_type, at=self.clock())
        return self._changed(message_id, "updated")

    def edit(self, message_id: str, body_html: str) -> ChannelMessage:
        """``scenario.edit`` plus an ``updated`` notification."""
        self.scenario.edit(message_id, body_html, at=self.clock())
        return self._changed(message_id, "updated")

    def delete(self, message_id: str) -> ChannelMessage:
        """``scenario.delete`` (soft delete) plus a ``deleted`` notification."""
        self.scenario.delete(message_id, at=self.clock())
        return self._changed(message_id, "deleted")

    # -- logs --
    def record_post(self, message: ChannelMessage, caller: dict[str, Any]) -> None:
        """Remember a message posted through the API (for the feed panel)."""
        with self._lock:
            self.posted_messages.append(
                {
                    "at": self.clock().isoformat(),
                    "id": message.id,
                    "teamId": message.team_id,
                    "channelId": message.channel_id,
                    "replyToId": message.reply_to_id,
                    "from": caller,
                    "body": message.body_html,
                }
            )

    def record_activity(self, entry: dict[str, Any]) -> None:
        """Remember one sendActivityNotification(ToRecipients) call."""
        with self._lock:
            self.activity_notifications.append({"at": self.clock().isoformat(), **entry})

    def record_request(self, method: str, path: str, status: int, *, batch: bool = False) -> None:
        """Remember one handled request (tests count retries with it)."""
        self.requests.append(
            {"at": datetime.now(UTC).isoformat(), "method": method, "path": path, "status": status, "batch": batch}
        )

    def record_fault(self, kind: str, target: str) -> None:
        """Remember an injected fault that fired."""
        self.fault_log.append({"at": datetime.now(UTC).isoformat(), "kind": kind, "target": target})

    def log(self) -> dict[str, Any]:
        """Everything inspectable, as JSON (``GET /_log``)."""
        with self._lock:
            return {
                "activityNotifications": list(self.activity_notifications),
                "postedMessages": list(self.posted_messages),
                "deliveries": list(self.notifier.attempts),
                "subscriptions": [s.to_json(self.base_url) for s in self.subscriptions.active(self.clock())],
                "faults": self.faults.snapshot(),
                "firedFaults": list(self.fault_log),
                "requests": list(self.requests),
            }

    def _changed(self, message_id: str, change_type: str) -> ChannelMessage:
        message = self.scenario.messages[message_id]
        self.publish_change(message, change_type)
        return message
