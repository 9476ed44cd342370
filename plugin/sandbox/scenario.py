"""The scenario both emulators serve: a tenant's people, teams, channels, communities and a script of
posts, replies and reactions over time (including a baseline period before a cohort starts).

The Graph emulator renders channel messages from it as `chatMessage` JSON, the Yammer emulator renders
community messages as Yammer REST JSON. Messages are added over time (`post`, `reply`, `react`, `edit`,
`delete`), each change bumping `last_modified`, so delta queries and change notifications follow naturally.
Thread-safe: the emulators run in threaded servers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class ScenarioPerson:
    """A user of the tenant."""

    oid: str
    name: str
    upn: str
    locale: str = "nl-NL"
    #: Yammer user id (large integer in real life).
    yammer_id: int = 0


@dataclass
class ScenarioChannel:
    """A channel of a team (`19:…@thread.tacv2`)."""

    id: str
    name: str


@dataclass
class ScenarioTeam:
    """A Teams team with members, owners and channels."""

    id: str
    name: str
    channels: dict[str, ScenarioChannel] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # oids
    owners: list[str] = field(default_factory=list)  # oids


@dataclass
class ScenarioCommunity:
    """A Viva Engage community (Yammer group)."""

    id: int
    name: str
    network_id: int = 5897756673
    members: list[str] = field(default_factory=list)  # oids


@dataclass
class Reaction:
    """A reaction on a channel message or a like on a Yammer message."""

    user_oid: str
    reaction_type: str  # "like", "heart", or a unicode emoji such as "👍"
    created: datetime


@dataclass
class ChannelMessage:
    """A Teams channel post or reply, close to Graph's chatMessage."""

    id: str
    team_id: str
    channel_id: str
    created: datetime
    last_modified: datetime
    body_html: str
    author_oid: str | None  # None for bot/app posts
    application_name: str | None = None  # set for bot posts (`from.application`)
    reply_to_id: str | None = None
    message_type: str = "message"  # or "systemEventMessage"
    subject: str | None = None
    mentions: list[dict] = field(default_factory=list)  # Graph `mentions` items
    attachments: list[dict] = field(default_factory=list)  # Graph `attachments` items
    reactions: list[Reaction] = field(default_factory=list)
    last_edited: datetime | None = None
    deleted: datetime | None = None


@dataclass
class CommunityMessage:
    """A Viva Engage post or reply, close to Yammer's message JSON."""

    id: int
    community_id: int
    sender_oid: str
    created: datetime
    body_plain: str
    thread_id: int
    replied_to_id: int | None = None
    liked_by: list[str] = field(default_factory=list)  # oids
    attachments: list[dict] = field(default_factory=list)


@dataclass
class Scenario:
    """A whole tenant and everything that happened in it."""

    tenant_id: str
    people: dict[str, ScenarioPerson] = field(default_factory=dict)
    teams: dict[str, ScenarioTeam] = field(default_factory=dict)
    communities: dict[int, ScenarioCommunity] = field(default_factory=dict)
    messages: dict[str, ChannelMessage] = field(default_factory=dict)
    community_messages: dict[int, CommunityMessage] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def next_message_id(self, at: datetime) -> str:
        """A Graph-style message id: epoch milliseconds, made unique."""
        with self._lock:
            base = int(at.timestamp() * 1000)
            while str(base) in self.messages:
                base += 1
            return str(base)

    def post(self, team_id: str, channel_id: str, author_oid: str | None, body_html: str, *,
             at: datetime | None = None, reply_to: str | None = None, **extra) -> ChannelMessage:
        """Add a channel post (or a reply when `reply_to` is a root message id)."""
        at = at or datetime.now(UTC)
        with self._lock:
            message = ChannelMessage(
                id=self.next_message_id(at), team_id=team_id, channel_id=channel_id, created=at,
                last_modified=at, body_html=body_html, author_oid=author_oid, reply_to_id=reply_to, **extra,
            )
            self.messages[message.id] = message
            if reply_to is not None:
                self.messages[reply_to].last_modified = max(self.messages[reply_to].last_modified, at)
            return message

    def react(self, message_id: str, user_oid: str, reaction_type: str = "like", *,
              at: datetime | None = None) -> None:
        """Add a reaction; like Graph, this changes the message's lastModifiedDateTime."""
        at = at or datetime.now(UTC)
        with self._lock:
            message = self.messages[message_id]
            message.reactions.append(Reaction(user_oid, reaction_type, at))
            message.last_modified = at

    def edit(self, message_id: str, body_html: str, *, at: datetime | None = None) -> None:
        """Edit a message's body."""
        at = at or datetime.now(UTC)
        with self._lock:
            message = self.messages[message_id]
            message.body_html, message.last_edited, message.last_modified = body_html, at, at

    def delete(self, message_id: str, *, at: datetime | None = None) -> None:
        """Soft-delete a message, as Teams does (`deletedDateTime` set, body emptied)."""
        at = at or datetime.now(UTC)
        with self._lock:
            message = self.messages[message_id]
            message.deleted, message.last_modified, message.body_html = at, at, ""

    def post_in_community(self, community_id: int, sender_oid: str, body: str, *, at: datetime | None = None,
                          replied_to: int | None = None) -> CommunityMessage:
        """Add a Viva Engage post (or reply)."""
        at = at or datetime.now(UTC)
        with self._lock:
            message_id = 2000337749565441 + next(self._ids)
            thread = self.community_messages[replied_to].thread_id if replied_to else message_id
            message = CommunityMessage(message_id, community_id, sender_oid, at, body, thread, replied_to)
            self.community_messages[message_id] = message
            return message

    def channel_messages(self, team_id: str, channel_id: str) -> list[ChannelMessage]:
        """Root messages and replies of a channel, oldest first."""
        with self._lock:
            return sorted(
                (m for m in self.messages.values() if m.team_id == team_id and m.channel_id == channel_id),
                key=lambda m: (m.created, m.id),
            )
