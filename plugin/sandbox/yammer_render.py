"""Yammer REST v1 JSON for scenario objects: messages, user/group/thread references and the feed envelope."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from plugin.sandbox.scenario import CommunityMessage, ScenarioCommunity, ScenarioPerson

YAMMER_TIME = "%Y/%m/%d %H:%M:%S +0000"
#: Mentions in a scenario body, as Yammer's ``body.parsed`` carries them.
USER_REF = re.compile(r"\[\[user:(\d+)\]\]")
_URL = re.compile(r"https?://[^\s<>\"']+")
_EXCERPT_CHARS = 240
_NL_WORDS = frozenset("de het een en van ik je we wij is zijn niet met voor op dat die ook maar naar bij wat".split())
_EN_WORDS = frozenset("the a an and of i you we is are not with for on that this also but to at what".split())


def yammer_time(at: datetime) -> str:
    """``created_at`` as Yammer writes it: ``YYYY/MM/DD HH:MM:SS +0000``."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime(YAMMER_TIME)


def yammer_user_id(person: ScenarioPerson) -> int:
    """The person's Yammer id, or a stable 11-digit one derived from the oid when the scenario left it 0."""
    if person.yammer_id:
        return person.yammer_id
    digest = hashlib.sha256(person.oid.encode()).digest()
    return 30_000_000_000 + int.from_bytes(digest[:8], "big") % 10_000_000_000


def permalink(person: ScenarioPerson) -> str:
    """The user's Yammer permalink (``@name`` in plain bodies): the local part of the UPN."""
    return person.upn.split("@", 1)[0].lower()


def detect_language(text: str) -> str | None:
    """The language, "nl" or "en" or None, from closed-class words (Yammer has its own detector)."""
    words = re.findall(r"[a-zà-ÿ]+", text.lower())
    nl = sum(word in _NL_WORDS for word in words)
    en = sum(word in _EN_WORDS for word in words)
    if nl == en:
        return None
    return "nl" if nl > en else "en"


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs beyond the message: URLs, the people and which messages came in through the API."""

    api_base: str  # e.g. https://host/dev/yammer/api/v1
    web_base: str  # e.g. https://www.yammer.com/contoso.example
    people: Mapping[str, ScenarioPerson]  # by oid
    by_yammer_id: Mapping[int, ScenarioPerson]
    posted_ids: Container[int]
    thread_ids: Callable[[int], Sequence[int]]  # all message ids of a thread, ascending

    def person(self, oid: str) -> ScenarioPerson:
        """The scenario person for an oid, or a placeholder for a sender the scenario does not know."""
        return self.people.get(oid) or ScenarioPerson(oid=oid, name="Former user", upn=f"{oid}@unknown.invalid")


def body_json(text: str, ctx: RenderContext) -> dict[str, str]:
    """``body`` as ``{parsed, plain, rich}``: parsed keeps ``[[user:id]]``, plain has ``@permalink``, rich is HTML."""

    def plain_mention(match: re.Match[str]) -> str:
        person = ctx.by_yammer_id.get(int(match.group(1)))
        return f"@{permalink(person)}" if person else match.group(0)

    def rich_mention(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        person = ctx.by_yammer_id.get(user_id)
        if person is None:
            return match.group(0)
        return (
            f"<span class='yammer-object' data-yammer-object='user:{user_id}' data-resource-id='{user_id}' "
            f"data-resource-model='user'>@<a href='{ctx.web_base}/users/{user_id}'>{html.escape(person.name)}</a>"
            "</span>"
        )

    rich = _URL.sub(lambda m: f'<a href="{m.group(0)}" rel="nofollow noreferrer">{m.group(0)}</a>', html.escape(text))
    rich = USER_REF.sub(rich_mention, rich).replace("\n", "<br>")
    return {"parsed": text, "plain": USER_REF.sub(plain_mention, text), "rich": rich}


def message_json(message: CommunityMessage, community: ScenarioCommunity, ctx: RenderContext) -> dict[str, Any]:
    """A message exactly in the shape of the captured ``GET /messages/{id}.json`` response."""
    body = body_json(message.body_plain, ctx)
    names = []
    for oid in message.liked_by:
        liker = ctx.person(oid)
        names.append({"full_name": liker.name, "permalink": permalink(liker), "user_id": yammer_user_id(liker)})
    notified = [int(user_id) for user_id in dict.fromkeys(USER_REF.findall(message.body_plain))]
    plain = body["plain"]
    excerpt = plain if len(plain) <= _EXCERPT_CHARS else plain[: _EXCERPT_CHARS - 1].rstrip() + "…"
    posted = message.id in ctx.posted_ids
    return {
        "id": message.id,
        "sender_id": yammer_user_id(ctx.person(message.sender_oid)),
        "delegate_id": None,
        "replied_to_id": message.replied_to_id,
        "created_at": yammer_time(message.created),
        "network_id": community.network_id,
        "message_type": "update",
        "sender_type": "user",
        "url": f"{ctx.api_base}/messages/{message.id}",
        "web_url": f"{ctx.web_base}/messages/{message.id}",
        "group_id": message.community_id,
        "body": body,
        "thread_id": message.thread_id,
        "client_type": "O365 Api Auth" if posted else "Web",
        "client_url": "https://api.yammer.com" if posted else "https://www.yammer.com/",
        "system_message": False,
        "direct_message": False,
        "chat_client_sequence": None,
        "language": detect_language(plain),
        "notified_user_ids": notified,
        "privacy": "public",
        "attachments": list(message.attachments),
        "liked_by": {"count": len(message.liked_by), "names": names},
        "supplemental_reply": False,
        "content_excerpt": excerpt,
    }


def user_ref(person: ScenarioPerson, ctx: RenderContext) -> dict[str, Any]:
    """A ``type: user`` reference."""
    user_id = yammer_user_id(person)
    return {
        "type": "user",
        "id": user_id,
        "name": permalink(person),
        "full_name": person.name,
        "state": "active",
        "email": person.upn,
        "job_title": "",
        "mugshot_url": f"{ctx.api_base}/users/{user_id}/mugshot",
        "url": f"{ctx.api_base}/users/{user_id}",
        "web_url": f"{ctx.web_base}/users/{user_id}",
    }


def group_ref(community: ScenarioCommunity, ctx: RenderContext) -> dict[str, Any]:
    """A ``type: group`` reference."""
    return {
        "type": "group",
        "id": community.id,
        "full_name": community.name,
        "name": re.sub(r"[^a-z0-9]+", "", community.name.lower()),
        "description": "",
        "privacy": "public",
        "state": "active",
        "network_id": community.network_id,
        "url": f"{ctx.api_base}/groups/{community.id}",
        "web_url": f"{ctx.web_base}/#/threads/inGroup?type=in_group&feedId={community.id}",
        "stats": {"members": len(community.members)},
    }


def thread_ref(thread_id: int, group_id: int, messages: Mapping[int, CommunityMessage], ctx: RenderContext) -> dict:
    """A ``type: thread`` reference with reply statistics."""
    ids = ctx.thread_ids(thread_id)
    replies = [messages[i] for i in ids if i != thread_id and i in messages]
    first, latest = (replies[0], replies[-1]) if replies else (None, None)
    return {
        "type": "thread",
        "id": thread_id,
        "thread_starter_id": thread_id,
        "group_id": group_id,
        "privacy": "public",
        "direct_message": False,
        "has_attachments": bool(messages[thread_id].attachments) if thread_id in messages else False,
        "url": f"{ctx.api_base}/messages/in_thread/{thread_id}",
        "web_url": f"{ctx.web_base}/threads/{thread_id}",
        "stats": {
            "updates": len(ids),
            "shares": 0,
            "first_reply_id": first.id if first else None,
            "first_reply_at": yammer_time(first.created) if first else None,
            "latest_reply_id": latest.id if latest else None,
            "latest_reply_at": yammer_time(latest.created) if latest else None,
        },
    }


def references(
    shown: Iterable[CommunityMessage],
    communities: Mapping[int, ScenarioCommunity],
    messages: Mapping[int, CommunityMessage],
    ctx: RenderContext,
) -> list[dict[str, Any]]:
    """Users (senders and mentioned users), groups and threads of the messages shown, each once."""
    users: dict[int, ScenarioPerson] = {}
    groups: dict[int, ScenarioCommunity] = {}
    threads: dict[int, int] = {}
    for message in shown:
        sender = ctx.person(message.sender_oid)
        users.setdefault(yammer_user_id(sender), sender)
        for user_id in USER_REF.findall(message.body_plain):
            mentioned = ctx.by_yammer_id.get(int(user_id))
            if mentioned is not None:
                users.setdefault(int(user_id), mentioned)
        if message.community_id in communities:
            groups.setdefault(message.community_id, communities[message.community_id])
        threads.setdefault(message.thread_id, message.community_id)
    return (
        [user_ref(person, ctx) for person in users.values()]
        + [group_ref(community, ctx) for community in groups.values()]
        + [thread_ref(thread_id, group_id, messages, ctx) for thread_id, group_id in threads.items()]
    )


def fail_body(message: str, code: int) -> dict[str, Any]:
    """Yammer's error envelope ``{"response": {"message", "code", "stat": "fail"}}``."""
    return {"response": {"message": message, "code": code, "stat": "fail"}}
