"""Activity feed routes: ``sendActivityNotification`` (204) and ``sendActivityNotificationToRecipients`` (202).

Validation follows the Graph docs: ``topic`` {source entityUrl|text, value, webUrl required for text};
``activityType`` a non-empty string (checked against the manifest's types when the emulator was given
``activity_types``; ``systemDefault`` is always allowed); ``previewText`` {content} of at most 150 characters
(the docs only say Teams shows 150 — rejecting longer text with 400 is this emulator's choice, so the app
notices truncation); ``templateParameters`` a list of {name, value} strings; optional Int64 ``chainId``;
at most 100 ``recipients`` of type ``aadUserNotificationRecipient``. Recipients must be tenant users (404
otherwise); whether the app is installed for them is not checked. Every accepted call is recorded in
``GraphEmulator.activity_notifications``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response

from plugin.sandbox.graph_directory import find_person
from plugin.sandbox.graph_emulator import current_caller, current_emulator
from plugin.sandbox.graph_http import bad_request, json_body, no_content

blueprint = Blueprint("graph_activity", __name__, url_prefix="/v1.0")
PREVIEW_MAX = 150
MAX_RECIPIENTS = 100
RECIPIENT_TYPES = ("microsoft.graph.aadUserNotificationRecipient", "#microsoft.graph.aadUserNotificationRecipient")


@blueprint.post("/users/<ref>/teamwork/sendActivityNotification")
def send_to_user(ref: str) -> Response:
    """POST /users/{id|upn}/teamwork/sendActivityNotification → 204."""
    body = json_body()
    entry = _notification(body)
    entry["recipients"] = [find_person(ref).oid]
    _record(entry, "user")
    return no_content(204)


@blueprint.post("/teamwork/sendActivityNotificationToRecipients")
def send_to_recipients() -> Response:
    """POST /teamwork/sendActivityNotificationToRecipients (≤ 100 recipients) → 202."""
    body = json_body()
    entry = _notification(body)
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise bad_request("recipients is required and must be a non-empty array.")
    if len(recipients) > MAX_RECIPIENTS:
        raise bad_request(f"There is an upper limit of {MAX_RECIPIENTS} recipients in a single request.")
    oids = []
    for recipient in recipients:
        if not isinstance(recipient, dict) or recipient.get("@odata.type") not in RECIPIENT_TYPES:
            raise bad_request("Only recipients of type microsoft.graph.aadUserNotificationRecipient are supported.")
        oids.append(find_person(str(recipient.get("userId", ""))).oid)
    entry["recipients"] = oids
    _record(entry, "recipients")
    return no_content(202)


def _record(entry: dict[str, Any], kind: str) -> None:
    caller = current_caller()
    sender = {"user": caller.oid} if caller.delegated else {"application": caller.app_id}
    current_emulator().record_activity({"kind": kind, "from": sender, **entry})


def _notification(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "topic": _topic(body.get("topic")),
        "activityType": _activity_type(body.get("activityType")),
        "previewText": _preview(body.get("previewText")),
        "templateParameters": _parameters(body.get("templateParameters")),
        "chainId": _chain_id(body.get("chainId")),
        "teamsAppId": body.get("teamsAppId"),
    }


def _topic(topic: Any) -> dict[str, Any]:
    if not isinstance(topic, dict) or topic.get("source") not in ("entityUrl", "text"):
        raise bad_request("topic is required, with source 'entityUrl' or 'text'.")
    if not isinstance(topic.get("value"), str) or not topic["value"]:
        raise bad_request("topic.value is required.")
    if topic["source"] == "text" and not topic.get("webUrl"):
        raise bad_request("topic.webUrl is required when topic.source is 'text'.")
    return {"source": topic["source"], "value": topic["value"], "webUrl": topic.get("webUrl")}


def _activity_type(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request("activityType is required.")
    allowed = current_emulator().activity_types
    if allowed is not None and value != "systemDefault" and value not in allowed:
        raise bad_request(f"activityType '{value}' is not declared in the Teams app manifest.")
    return value


def _preview(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("content"), str):
        raise bad_request("previewText is required, with a content string.")
    if len(value["content"]) > PREVIEW_MAX:
        raise bad_request(f"previewText.content must be at most {PREVIEW_MAX} characters.")
    return {"content": value["content"]}


def _parameters(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] and isinstance(p.get("value"), str)
        for p in value
    ):
        raise bad_request("templateParameters must be an array of {name, value} strings.")
    return [{"name": p["name"], "value": p["value"]} for p in value]


def _chain_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise bad_request("chainId must be an Int64.")
    return int(value)
