"""Channel message routes of the Graph emulator: list/get/reply/post and delta.

* ``GET …/messages`` lists root posts newest first, ``$top`` 1..50 (default 20), ``$expand=replies``,
  ``@odata.nextLink`` with an opaque ``$skiptoken`` while more remain; ``GET …/messages/{id}/replies`` pages
  the same way. Deleted messages are listed with ``deletedDateTime`` and an empty body.
* ``POST …/messages`` and ``…/messages/{id}/replies`` take ``body`` {contentType text|html, content}
  (text is HTML-escaped, the scenario stores HTML), optional ``subject``, ``importance``, ``mentions`` and
  ``attachments`` (each referenced in the HTML body as ``<attachment id="…"></attachment>``; an Adaptive Card's
  ``content`` is the card as a JSON string, otherwise 400); they answer 201 with the chatMessage, record the
  post and publish a ``created`` change.
  The author is the delegated token's ``oid``, or ``from.application`` (the app registration's display name)
  for app-only tokens. Team membership of the author is not checked.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request

from plugin.sandbox.graph_delta import delta
from plugin.sandbox.graph_directory import find_channel
from plugin.sandbox.graph_emulator import GraphEmulator, current_caller, current_emulator
from plugin.sandbox.graph_http import bad_request, json_body, json_response, not_found
from plugin.sandbox.graph_messages import channel_context
from plugin.sandbox.graph_paging import link, page_newest_first, parse_top, wants_replies
from plugin.sandbox.scenario import ChannelMessage

blueprint = Blueprint("graph_channel_messages", __name__, url_prefix="/v1.0/teams/<team_id>/channels/<channel_id>")
IMPORTANCE = ("normal", "high", "urgent")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
_ATTACHMENT_REF = re.compile(r"""<attachment\s+id=["']([^"']+)["']\s*>\s*</attachment>""", re.IGNORECASE)


@blueprint.get("/messages")
def list_messages(team_id: str, channel_id: str) -> Response:
    """GET …/messages: root posts newest first, paged."""
    find_channel(team_id, channel_id)
    emulator = current_emulator()
    messages = emulator.scenario.channel_messages(team_id, channel_id)
    roots = [m for m in messages if m.reply_to_id is None]
    path = f"/teams/{team_id}/channels/{channel_id}/messages"
    document = _page(emulator, roots, [team_id, channel_id, None], path, request.args, messages)
    document = {"@odata.context": channel_context(emulator.base_url, team_id, channel_id), **document}
    return json_response(document)


@blueprint.get("/messages/delta")
def messages_delta(team_id: str, channel_id: str) -> Response:
    """GET …/messages/delta: one page of a delta round."""
    find_channel(team_id, channel_id)
    return json_response(delta(current_emulator(), team_id, channel_id, request.args))


@blueprint.get("/messages/<message_id>")
def get_message(team_id: str, channel_id: str, message_id: str) -> Response:
    """GET …/messages/{id}: one root post (``$expand=replies`` allowed)."""
    find_channel(team_id, channel_id)
    emulator = current_emulator()
    root = _root(emulator, team_id, channel_id, message_id)
    replies = _replies(emulator, root) if wants_replies(request.args.get("$expand")) else None
    return json_response(emulator.renderer.entity(root, replies=replies))


@blueprint.get("/messages/<message_id>/replies")
def list_replies(team_id: str, channel_id: str, message_id: str) -> Response:
    """GET …/messages/{id}/replies: the replies, newest first, paged."""
    find_channel(team_id, channel_id)
    emulator = current_emulator()
    root = _root(emulator, team_id, channel_id, message_id)
    path = f"/teams/{team_id}/channels/{channel_id}/messages/{message_id}/replies"
    document = _page(emulator, _replies(emulator, root), [team_id, channel_id, message_id], path, request.args, [])
    context = f"{channel_context(emulator.base_url, team_id, channel_id)}('{message_id}')/replies"
    return json_response({"@odata.context": context, **document})


@blueprint.get("/messages/<message_id>/replies/<reply_id>")
def get_reply(team_id: str, channel_id: str, message_id: str, reply_id: str) -> Response:
    """GET …/messages/{id}/replies/{reply-id}."""
    find_channel(team_id, channel_id)
    emulator = current_emulator()
    _root(emulator, team_id, channel_id, message_id)
    reply = emulator.scenario.messages.get(reply_id)
    if reply is None or reply.reply_to_id != message_id:
        raise not_found(f"Reply '{reply_id}' was not found on message {message_id}.")
    return json_response(emulator.renderer.entity(reply))


@blueprint.post("/messages")
def post_message(team_id: str, channel_id: str) -> tuple[Response, int]:
    """POST …/messages: a new root post → 201."""
    find_channel(team_id, channel_id)
    return _create(current_emulator(), team_id, channel_id, None)


@blueprint.post("/messages/<message_id>/replies")
def post_reply(team_id: str, channel_id: str, message_id: str) -> tuple[Response, int]:
    """POST …/messages/{id}/replies: a new reply → 201."""
    find_channel(team_id, channel_id)
    emulator = current_emulator()
    _root(emulator, team_id, channel_id, message_id)
    return _create(emulator, team_id, channel_id, message_id)


def _root(emulator: GraphEmulator, team_id: str, channel_id: str, message_id: str) -> ChannelMessage:
    message = emulator.scenario.messages.get(message_id)
    if message is None or message.reply_to_id or (message.team_id, message.channel_id) != (team_id, channel_id):
        raise not_found(f"Message '{message_id}' was not found in channel {channel_id}.")
    return message


def _replies(emulator: GraphEmulator, root: ChannelMessage) -> list[ChannelMessage]:
    return [m for m in emulator.scenario.channel_messages(root.team_id, root.channel_id) if m.reply_to_id == root.id]


def _page(
    emulator: GraphEmulator,
    items: list[ChannelMessage],
    scope: list[str | None],
    path: str,
    args: Mapping[str, str],
    all_messages: list[ChannelMessage],
) -> dict[str, Any]:
    if args.get("$skiptoken"):
        state = emulator.codec.decode("skip", args["$skiptoken"])
        if state.get("scope") != scope:
            raise bad_request("The $skiptoken was issued for another collection.")
    else:
        state = {
            "scope": scope,
            "top": parse_top(args.get("$top")),
            "expand": wants_replies(args.get("$expand")),
            "cursor": None,
        }
    page, cursor = page_newest_first(items, int(state["top"]), state.get("cursor"))
    document: dict[str, Any] = {"@odata.count": len(page)}
    if cursor is not None:
        state["cursor"] = list(cursor)
        document["@odata.nextLink"] = link(emulator.base_url, path, skiptoken=emulator.codec.encode("skip", state))
    replies: dict[str, list[ChannelMessage]] = {}
    if state["expand"]:
        for message in all_messages:
            if message.reply_to_id:
                replies.setdefault(message.reply_to_id, []).append(message)
    document["value"] = [
        emulator.renderer.render(m, replies=replies.get(m.id, []) if state["expand"] else None) for m in page
    ]
    return document


def _create(emulator: GraphEmulator, team_id: str, channel_id: str, reply_to: str | None) -> tuple[Response, int]:
    body = json_body()
    fields = _message_fields(body)
    caller = current_caller()
    if caller.delegated:
        author, application, who = caller.oid, None, {"user": caller.oid}
    else:
        application = emulator.app_names(caller.app_id) or caller.app_id
        author, who = None, {"application": caller.app_id, "displayName": application}
    message = emulator.scenario.post(
        team_id,
        channel_id,
        author,
        fields.pop("body_html"),
        at=emulator.clock(),
        reply_to=reply_to,
        application_name=application,
        **fields.pop("scenario"),
    )
    extras = {"importance": fields["importance"]}
    if application:
        extras["appId"] = caller.app_id
    emulator.message_extras[message.id] = extras
    emulator.record_post(message, who)
    emulator.publish_change(message, "created")
    return json_response(emulator.renderer.entity(message)), 201


def _message_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    item = body.get("body")
    if not isinstance(item, dict) or not isinstance(item.get("content"), str) or not item["content"].strip():
        raise bad_request("Missing body content.", "BadRequest")
    content_type = str(item.get("contentType") or "text").lower()
    if content_type not in ("text", "html"):
        raise bad_request(f"Invalid contentType '{content_type}': use text or html.")
    importance = body.get("importance") or "normal"
    if importance not in IMPORTANCE:
        raise bad_request(f"Invalid importance '{importance}'.")
    mentions, attachments = body.get("mentions") or [], body.get("attachments") or []
    if not isinstance(mentions, list) or not isinstance(attachments, list):
        raise bad_request("mentions and attachments must be arrays.")
    _check_attachments(item["content"] if content_type == "html" else "", attachments)
    subject = body.get("subject")
    return {
        "body_html": item["content"] if content_type == "html" else html.escape(item["content"]),
        "importance": importance,
        "scenario": {
            "subject": subject if isinstance(subject, str) else None,
            "mentions": list(mentions),
            "attachments": list(attachments),
        },
    }


def _check_attachments(body_html: str, attachments: list[Any]) -> None:
    """Graph's rules for attachments (e.g. an Adaptive Card): each has an id the HTML body references with
    ``<attachment id="…"></attachment>``, every reference names one of them, and a card's ``content`` is the
    card serialised as a JSON string."""
    ids = []
    for attachment in attachments:
        if not isinstance(attachment, dict) or not isinstance(attachment.get("id"), str) or not attachment["id"]:
            raise bad_request("Each attachment needs an id.")
        ids.append(attachment["id"])
        if attachment.get("contentType") == ADAPTIVE_CARD:
            content = attachment.get("content")
            try:
                card = json.loads(content) if isinstance(content, str) else None
            except ValueError:
                card = None
            if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
                raise bad_request(f"Attachment '{attachment['id']}': content must be an Adaptive Card as a JSON "
                                  "string.")
    referenced = _ATTACHMENT_REF.findall(body_html)
    missing = [i for i in ids if i not in referenced]
    if missing:
        raise bad_request(f"Attachment '{missing[0]}' is not referenced in the message body; add "
                          f"<attachment id=\"{missing[0]}\"></attachment> to body.content.")
    unknown = [i for i in referenced if i not in ids]
    if unknown:
        raise bad_request(f"The message body references attachment '{unknown[0]}', which is not in attachments.")
