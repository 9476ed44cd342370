"""chatMessage JSON of the Graph emulator, rendered from the scenario's :class:`ChannelMessage` objects.

Shape as in the Graph v1.0 samples: epoch-ms string ids, ``etag`` = epoch ms of ``lastModifiedDateTime``,
``locale`` always ``en-us`` (the documented value), ``body.contentType`` always ``html`` (the scenario stores
HTML), ``from.user`` as ``teamworkUserIdentity`` or ``from.application`` for bot/app posts, reactions with the
reacting user's id only (``displayName`` null, as Graph returns it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from plugin.sandbox.graph_http import epoch_ms, iso_ms
from plugin.sandbox.scenario import ChannelMessage, Reaction, Scenario

USER_IDENTITY = "#microsoft.graph.teamworkUserIdentity"
APP_IDENTITY = "#microsoft.graph.teamworkApplicationIdentity"
#: Display names Graph gives the legacy reaction types and the common emoji.
REACTION_NAMES = {
    "like": "Like",
    "heart": "Heart",
    "laugh": "Laugh",
    "surprised": "Surprised",
    "sad": "Sad",
    "angry": "Angry",
    "👍": "Like",
    "❤️": "Heart",
    "😆": "Laugh",
    "😮": "Surprised",
    "😢": "Sad",
    "😡": "Angry",
    "💯": "Hundred points",
    "🎉": "Party popper",
}


def application_id_for(name: str) -> str:
    """A stable app id for a scenario bot that has only a name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ambassador:sandbox:bot:{name}"))


def resource_path(message: ChannelMessage) -> str:
    """The OData path Graph puts in change notifications (``teams('…')/channels('…')/messages('…')[/replies]``)."""
    base = f"teams('{message.team_id}')/channels('{message.channel_id}')"
    if message.reply_to_id:
        return f"{base}/messages('{message.reply_to_id}')/replies('{message.id}')"
    return f"{base}/messages('{message.id}')"


def web_url(message: ChannelMessage, tenant_id: str) -> str:
    """The Teams deep link of a message, as in Graph's ``webUrl``."""
    root = message.reply_to_id or message.id
    created = epoch_ms(message.created)
    return (
        f"https://teams.microsoft.com/l/message/{quote(message.channel_id, safe='')}/{message.id}"
        f"?groupId={message.team_id}&tenantId={tenant_id}&createdTime={created}&parentMessageId={root}"
    )


def channel_context(base_url: str, team_id: str, channel_id: str) -> str:
    """``@odata.context`` prefix of a channel's messages collection."""
    return f"{base_url}/v1.0/$metadata#teams('{team_id}')/channels('{quote(channel_id, safe='')}')/messages"


class MessageRenderer:
    """Renders scenario messages as Graph chatMessage JSON."""

    def __init__(self, scenario: Scenario, base_url: str, extras: Mapping[str, Mapping[str, Any]]) -> None:
        self.scenario = scenario
        self.base_url = base_url
        #: message id → what the scenario model has no field for (``appId``, ``importance``) of API posts.
        self.extras = extras

    def render(
        self, message: ChannelMessage, *, replies: list[ChannelMessage] | None = None, odata_type: bool = False
    ) -> dict[str, Any]:
        """One chatMessage; ``replies`` adds the expanded ``replies`` list (delta adds ``@odata.type``)."""
        document: dict[str, Any] = {"@odata.type": "#microsoft.graph.chatMessage"} if odata_type else {}
        document |= {
            "id": message.id,
            "replyToId": message.reply_to_id,
            "etag": str(epoch_ms(message.last_modified)),
            "messageType": message.message_type,
            "createdDateTime": iso_ms(message.created),
            "lastModifiedDateTime": iso_ms(message.last_modified),
            "lastEditedDateTime": iso_ms(message.last_edited),
            "deletedDateTime": iso_ms(message.deleted),
            "subject": message.subject,
            "summary": None,
            "chatId": None,
            "importance": self.extras.get(message.id, {}).get("importance", "normal"),
            "locale": "en-us",
            "webUrl": web_url(message, self.scenario.tenant_id),
            "policyViolation": None,
            "eventDetail": None,
            "from": self._from(message),
            "body": {"contentType": "html", "content": self._body(message)},
            "channelIdentity": {"teamId": message.team_id, "channelId": message.channel_id},
            "attachments": [dict(a) for a in message.attachments],
            "mentions": [dict(m) for m in message.mentions],
            "reactions": [self._reaction(r) for r in message.reactions],
            "messageHistory": [],
        }
        if replies is not None:
            document["replies@odata.context"] = (
                f"{channel_context(self.base_url, message.team_id, message.channel_id)}('{message.id}')/replies"
            )
            document["replies"] = [self.render(reply) for reply in replies]
        return document

    def entity(self, message: ChannelMessage, *, replies: list[ChannelMessage] | None = None) -> dict[str, Any]:
        """A single chatMessage with its ``@odata.context`` (GET by id, POST answers, encrypted content)."""
        context = channel_context(self.base_url, message.team_id, message.channel_id)
        if message.reply_to_id:
            context += f"('{message.reply_to_id}')/replies"
        return {"@odata.context": f"{context}/$entity", **self.render(message, replies=replies)}

    def user_identity(self, oid: str, *, with_name: bool = True) -> dict[str, Any]:
        """A ``teamworkUserIdentity`` for a tenant user."""
        person = self.scenario.people.get(oid)
        return {
            "@odata.type": USER_IDENTITY,
            "id": oid,
            "displayName": person.name if person and with_name else None,
            "userIdentityType": "aadUser",
            "tenantId": self.scenario.tenant_id,
        }

    def _from(self, message: ChannelMessage) -> dict[str, Any] | None:
        if message.author_oid:
            return {"application": None, "device": None, "user": self.user_identity(message.author_oid)}
        if message.application_name:
            app_id = self.extras.get(message.id, {}).get("appId") or application_id_for(message.application_name)
            application = {
                "@odata.type": APP_IDENTITY,
                "id": app_id,
                "displayName": message.application_name,
                "applicationIdentityType": "bot",
            }
            return {"application": application, "device": None, "user": None}
        return None

    @staticmethod
    def _body(message: ChannelMessage) -> str:
        if message.deleted:
            return ""
        if message.message_type == "systemEventMessage" and not message.body_html:
            return "<systemEventMessage/>"
        return message.body_html

    def _reaction(self, reaction: Reaction) -> dict[str, Any]:
        return {
            "reactionType": reaction.reaction_type,
            "displayName": REACTION_NAMES.get(reaction.reaction_type),
            "reactionContentUrl": None,
            "createdDateTime": iso_ms(reaction.created),
            "user": {
                "application": None,
                "device": None,
                "user": self.user_identity(reaction.user_oid, with_name=False),
            },
        }
