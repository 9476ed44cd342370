"""Map Teams chatMessages and Viva Engage (Yammer) messages to Activity rows: derived features, never the text.

One message becomes one ``post`` or ``reply`` row plus one ``reaction`` row per reaction:

* ids: a root post is ``<id>``, a reply ``<root id>/<reply id>``, a reaction ``<message external id>:<user>:<type>``
  (``<user>`` is the Entra oid on Teams, the Yammer user id on Viva Engage, which has no oid);
  ``thread_external_id`` is the root's id. Replies and reactions target the root's / message's author.
* ingesting the same message again changes nothing (insert-or-ignore, then compare before updating);
* an edit (``lastEditedDateTime`` newer than the stored ``edited_at``) re-classifies the post;
* a deletion sets ``deleted_at`` on the post and its reactions (the progress service then ignores them and
  withdraws the credit);
* a reaction missing from a newer snapshot is marked deleted (a tombstone, ``deleted_at``), not removed, so a
  stale snapshot delivered out of order can neither resurrect it nor remove a newer one: every change is
  applied only when the snapshot (``lastModifiedDateTime``) is newer than what the row already reflects.

The service flushes but does not commit: the caller commits the unit of work (see ``services.inbox``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, func, or_, select, text
from sqlalchemy.orm import Session

from ..domain.classify import PostFeatures, classify_post
from ..domain.text import parse_body, tokens
from ..models import Activity, Channel, Cohort, Community, Enrolment, Person, Team
from .library import corporate_library

TEAMS, YAMMER = "teams", "yammer"
#: Yammer message types that are not something a person wrote.
_YAMMER_SYSTEM_TYPES = frozenset({"system", "chat"})
_REACTION_TYPE_MAX = 32
_EXTERNAL_ID_MAX = 255
_ACTIVITY: Table = Activity.__table__  # type: ignore[assignment]
_ACTIVITY_KEY = ("source", "external_id")


@dataclass(frozen=True)
class IngestResult:
    """What ingesting one message did, and the cohorts whose participants it concerns."""

    external_id: str | None
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: str | None = None  # why the message was skipped: "not_a_message", "bot", "no_author"
    cohort_ids: frozenset[int] = frozenset()
    #: Known people whose progress the message bears on: its author, whose post it answers, the reactors.
    people: frozenset[int] = frozenset()

    @property
    def changed(self) -> bool:
        """True when any row was inserted, updated or marked deleted."""
        return bool(self.inserted or self.updated or self.deleted)


@dataclass
class _Reaction:
    user_key: str  # Entra oid (Teams) or Yammer user id
    author_oid: str
    author_id: int | None
    reaction_type: str
    at: datetime | None


@dataclass
class _Message:
    """A Teams or Yammer message in one shape, ready to be written."""

    source: str
    external_id: str
    kind: str  # post | reply
    thread_id: str
    author_oid: str
    author_id: int | None
    occurred_at: datetime
    body: str
    attachments: Sequence[Mapping[str, Any]]
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    #: The snapshot's time (lastModifiedDateTime); None when the source gives none (then it counts as current).
    snapshot_at: datetime | None = None
    #: Yammer has no edit timestamp: compare the features instead.
    compare_features: bool = False
    reactions: list[_Reaction] = field(default_factory=list)
    #: False when the source lists only some of the reactions (Yammer's truncated ``liked_by.names``).
    reactions_complete: bool = True
    team_id: int | None = None
    channel_id: int | None = None
    community_id: int | None = None


def content_hash(markup: str) -> str | None:
    """SHA-256 of the normalised own words (lower-cased tokens), to spot re-posts without keeping the text."""
    words = tokens(parse_body(markup or "").own)
    return hashlib.sha256(" ".join(words).encode()).hexdigest() if words else None


def feature_values(markup: str, *, corporate_texts: Sequence[str] = (),
                   attachments: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The Activity feature columns for a message body (classifier output plus the content hash)."""
    features: PostFeatures = classify_post(markup or "", corporate_texts=corporate_texts, attachments=attachments)
    return {
        "knowledge_sharing": features.knowledge_sharing, "broadcast": features.broadcast,
        "own_words": features.own_words, "language": features.language[:3], "links": len(features.links),
        "files": features.files, "mentions": features.mentions, "is_question": features.is_question,
        "topics": list(features.topics), "content_hash": content_hash(markup),
    }


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from Graph's ISO 8601 (``…Z``, up to 7 fractional digits) or Yammer's format."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if "/" in text[:10]:  # Yammer: 2022/11/11 21:00:20 +0000
            parsed = datetime.strptime(text, "%Y/%m/%d %H:%M:%S %z")
        else:
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            head, dot, rest = text.partition(".")
            if dot:  # Python 3.11 accepts at most 6 fractional digits
                digits = len(rest) - len(rest.lstrip("0123456789"))
                text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
            parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# -- Teams ------------------------------------------------------------------------------------------------------


def ingest_channel_message(session: Session, message: Mapping[str, Any], *, team_graph_id: str,
                           channel_graph_id: str, corporate_texts: Sequence[str] = ()) -> IngestResult:
    """Store one Graph chatMessage (root or reply, with its reactions) as Activity rows; flushes, no commit."""
    message_id = str(message.get("id") or "")
    if not message_id:
        raise ValueError("a chatMessage needs an id")
    if message.get("messageType", "message") != "message":
        return IngestResult(None, ignored="not_a_message")
    sender = message.get("from") or {}
    user = sender.get("user") if isinstance(sender, Mapping) else None
    if not isinstance(user, Mapping) or not user.get("id"):
        # Bot and app posts (``from.application``) are not a person's activity; deleted posts of people keep
        # ``from.user``, so a post without one is not ours to track either.
        return IngestResult(None, ignored="bot" if isinstance(sender, Mapping) and sender.get("application")
                            else "no_author")
    root_id = str(message.get("replyToId") or "")
    external_id = f"{root_id}/{message_id}" if root_id else message_id
    raw_reactions = [r for r in message.get("reactions") or () if isinstance(r, Mapping)]
    reactor_oids = [_reaction_user(r) for r in raw_reactions]
    people = _people_by_oid(session, {str(user["id"]), *(oid for oid in reactor_oids if oid)})
    reactions = []
    for raw, oid in zip(raw_reactions, reactor_oids, strict=True):
        reaction_type = str(raw.get("reactionType") or "")
        if oid and reaction_type:
            reactions.append(_Reaction(oid, oid, people.get(oid), reaction_type,
                                       parse_time(raw.get("createdDateTime"))))
    body = message.get("body") or {}
    created = parse_time(message.get("createdDateTime")) or datetime.now(UTC)
    team_id, channel_id = _team_and_channel(session, team_graph_id, channel_graph_id)
    view = _Message(
        source=TEAMS, external_id=external_id[:_EXTERNAL_ID_MAX], kind="reply" if root_id else "post",
        thread_id=root_id or message_id, author_oid=str(user["id"]), author_id=people.get(str(user["id"])),
        occurred_at=created, body=str(body.get("content") or "") if isinstance(body, Mapping) else "",
        attachments=[a for a in message.get("attachments") or () if isinstance(a, Mapping)],
        edited_at=parse_time(message.get("lastEditedDateTime")), deleted_at=parse_time(message.get("deletedDateTime")),
        snapshot_at=parse_time(message.get("lastModifiedDateTime")), reactions=reactions,
        team_id=team_id, channel_id=channel_id,
    )
    return _apply(session, view, corporate_texts)


def _reaction_user(reaction: Mapping[str, Any]) -> str | None:
    identity = reaction.get("user") or {}
    user = identity.get("user") if isinstance(identity, Mapping) else None
    return str(user["id"]) if isinstance(user, Mapping) and user.get("id") else None


# -- Viva Engage (Yammer) ---------------------------------------------------------------------------------------


def ingest_community_message(session: Session, message: Mapping[str, Any], references: Iterable[Mapping[str, Any]],
                             *, community_group_id: str, corporate_texts: Sequence[str] = (),
                             liked_at: datetime | None = None) -> IngestResult:
    """Store one Yammer REST message (with ``liked_by``) as Activity rows; flushes, no commit."""
    # People are matched by the e-mail of their ``references`` user entry (UPN or e-mail). Yammer gives likes no
    # time: a new like is dated ``liked_at`` (default now, never before the message); pass the message's time
    # when importing history.
    message_id = str(message.get("id") or "")
    if not message_id:
        raise ValueError("a Yammer message needs an id")
    if message.get("system_message") or message.get("message_type") in _YAMMER_SYSTEM_TYPES:
        return IngestResult(None, ignored="not_a_message")
    if message.get("sender_type", "user") != "user":
        return IngestResult(None, ignored="bot")
    sender_id = str(message.get("sender_id") or "")
    if not sender_id:
        return IngestResult(None, ignored="no_author")
    users = {str(ref.get("id")): ref for ref in references if isinstance(ref, Mapping) and ref.get("type") == "user"}
    liked = message.get("liked_by") or {}
    names = [n for n in (liked.get("names") or ()) if isinstance(n, Mapping) and n.get("user_id")]
    likers = [str(n["user_id"]) for n in names]
    people = _people_by_yammer_user(session, [sender_id, *likers], users,
                                    {str(n["user_id"]): str(n.get("permalink") or "") for n in names})
    thread_id = str(message.get("thread_id") or message_id)
    is_root = thread_id == message_id or not message.get("replied_to_id")
    external_id = message_id if is_root else f"{thread_id}/{message_id}"
    created = parse_time(message.get("created_at")) or datetime.now(UTC)
    like_time = max(liked_at or datetime.now(UTC), created)
    reactions = [_Reaction(user_id, _yammer_oid(user_id, people), _yammer_person(user_id, people), "like",
                           like_time) for user_id in dict.fromkeys(likers)]
    body = message.get("body") or {}
    community = session.scalar(select(Community.id).where(Community.yammer_group_id == str(community_group_id)))
    view = _Message(
        source=YAMMER, external_id=external_id, kind="post" if is_root else "reply",
        thread_id=thread_id, author_oid=_yammer_oid(sender_id, people), author_id=_yammer_person(sender_id, people),
        occurred_at=created, body=str(body.get("plain") or "") if isinstance(body, Mapping) else "",
        attachments=[a for a in message.get("attachments") or () if isinstance(a, Mapping)],
        compare_features=True, reactions=reactions,
        reactions_complete=len(names) >= int(liked.get("count") or 0), community_id=community,
    )
    return _apply(session, view, corporate_texts)


def _yammer_oid(user_id: str, people: Mapping[str, tuple[str, int]]) -> str:
    known = people.get(user_id)
    return known[0] if known else f"yammer:{user_id}"


def _yammer_person(user_id: str, people: Mapping[str, tuple[str, int]]) -> int | None:
    known = people.get(user_id)
    return known[1] if known else None


def _people_by_yammer_user(session: Session, user_ids: Sequence[str], users: Mapping[str, Mapping[str, Any]],
                           permalinks: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    """Yammer user id → (Entra oid, person id), by the reference's e-mail, else the permalink (UPN local part)."""
    emails: dict[str, str] = {}
    for user_id in dict.fromkeys(user_ids):
        ref = users.get(user_id) or {}
        email = str(ref.get("email") or "").strip().lower()
        if email:
            emails[user_id] = email
    found: dict[str, tuple[str, int]] = {}
    if emails:
        wanted = set(emails.values())
        rows = session.execute(select(Person.entra_oid, Person.id, Person.upn, Person.email).where(
            or_(func.lower(Person.upn).in_(wanted), func.lower(Person.email).in_(wanted))))
        by_mail: dict[str, tuple[str, int]] = {}
        for oid, person_id, upn, email in rows:
            for address in (upn, email):
                if address:
                    by_mail.setdefault(address.lower(), (oid, person_id))
        found = {user_id: by_mail[email] for user_id, email in emails.items() if email in by_mail}
    # Likers are often missing from the references; their permalink is the local part of the UPN.
    loose = {user_id: permalinks[user_id].lower() for user_id in user_ids
             if user_id not in found and permalinks.get(user_id)}
    for user_id, local in loose.items():
        rows = session.execute(select(Person.entra_oid, Person.id).where(
            func.lower(Person.upn).like(f"{_escape_like(local)}@%", escape="\\")).limit(2)).all()
        if len(rows) == 1:  # ambiguous local parts (two domains) stay unknown
            found[user_id] = (rows[0][0], rows[0][1])
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- deletions without a snapshot --------------------------------------------------------------------------------


def ingest_deletion(session: Session, *, source: str, external_id: str, at: datetime | None = None) -> IngestResult:
    """Mark a message that is gone (Graph 404, Yammer deletion) and its reactions deleted; flushes, no commit."""
    at = at or datetime.now(UTC)
    row = session.scalar(select(Activity).where(Activity.source == source, Activity.external_id == external_id))
    if row is None:
        return IngestResult(external_id)
    deleted = 0
    people = {row.author_id, row.target_author_id}
    if row.deleted_at is None:
        row.deleted_at, deleted = at, 1
    for reaction in _stored_reactions(session, source, row.thread_external_id or external_id, external_id):
        people.add(reaction.author_id)
        if reaction.deleted_at is None:
            reaction.deleted_at, deleted = at, deleted + 1
    session.flush()
    return IngestResult(external_id, deleted=deleted, cohort_ids=affected_cohorts(session, people),
                        people=_known(people))


# -- writing ----------------------------------------------------------------------------------------------------


def _apply(session: Session, message: _Message, corporate_texts: Sequence[str]) -> IngestResult:
    # Without an explicit library, posts are compared against the content library (services.library).
    corporate_texts = corporate_texts or corporate_library(session)
    target = None
    if message.kind == "reply":
        target = session.scalar(select(Activity.author_id).where(
            Activity.source == message.source, Activity.external_id == message.thread_id, Activity.kind == "post"))
    people: set[int | None] = {message.author_id, target}
    inserted = updated = deleted = 0
    row = session.scalar(select(Activity).where(Activity.source == message.source,
                                                Activity.external_id == message.external_id))
    if row is None:
        features = (feature_values("") if message.deleted_at else
                    feature_values(message.body, corporate_texts=corporate_texts, attachments=message.attachments))
        values = {
            "source": message.source, "external_id": message.external_id, "kind": message.kind,
            "author_oid": message.author_oid, "author_id": message.author_id, "target_author_id": target,
            "team_id": message.team_id, "channel_id": message.channel_id, "community_id": message.community_id,
            "thread_external_id": message.thread_id, "occurred_at": message.occurred_at,
            "edited_at": message.edited_at, "deleted_at": message.deleted_at, "reaction_type": None,
            "ingested_at": datetime.now(UTC), **features,
        }
        inserted = insert_new(session, _ACTIVITY, [values], conflict=_ACTIVITY_KEY)
        if not inserted:  # another worker inserted it a moment ago: continue as an update
            row = session.scalar(select(Activity).where(Activity.source == message.source,
                                                        Activity.external_id == message.external_id))
    if row is not None:
        people |= {row.author_id, row.target_author_id}  # whoever the row credited so far, if that changes
        changes = _row_changes(row, message, target, corporate_texts)
        if "deleted_at" in changes:
            row.deleted_at = changes.pop("deleted_at")
            if row.deleted_at is not None:
                deleted += 1
            else:
                updated += 1
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            updated += 1
    if message.kind == "post" and message.author_id is not None:
        people |= _backfill_reply_targets(session, message)
    # What the post row says after this snapshot: a stale snapshot of a deleted post must not add reactions.
    deleted_at = row.deleted_at if row is not None else message.deleted_at
    reaction_counts = _apply_reactions(session, message, target_author_id=message.author_id, deleted_at=deleted_at)
    people |= reaction_counts[3]
    session.flush()
    return IngestResult(
        message.external_id, inserted=inserted + reaction_counts[0], updated=updated + reaction_counts[1],
        deleted=deleted + reaction_counts[2], cohort_ids=affected_cohorts(session, people), people=_known(people),
    )


def _known(people: Iterable[int | None]) -> frozenset[int]:
    return frozenset(p for p in people if p is not None)


def _row_changes(row: Activity, message: _Message, target: int | None,
                 corporate_texts: Sequence[str]) -> dict[str, Any]:
    """Columns of an existing post/reply row that the snapshot changes (compare first: no write when equal)."""
    changes: dict[str, Any] = {}
    if message.author_id is not None and row.author_id != message.author_id:
        changes["author_id"] = message.author_id  # the person signed up since we first saw the post
    if target is not None and row.target_author_id != target:
        changes["target_author_id"] = target
    for name in ("team_id", "channel_id", "community_id"):
        value = getattr(message, name)
        if value is not None and getattr(row, name) is None:
            changes[name] = value
    newer = message.snapshot_at
    if message.deleted_at is not None:
        if row.deleted_at is None:
            changes["deleted_at"] = message.deleted_at
        return changes
    if row.deleted_at is not None:
        if newer is None or newer <= row.deleted_at:
            return changes  # a stale snapshot from before the deletion
        changes["deleted_at"] = None  # "undo delete": a snapshot taken after the deletion shows the post again
    edited = message.edited_at is not None and (row.edited_at is None or message.edited_at > row.edited_at)
    if edited or message.compare_features:
        features = feature_values(message.body, corporate_texts=corporate_texts, attachments=message.attachments)
        changes.update({name: value for name, value in features.items() if getattr(row, name) != value})
        if edited:
            changes["edited_at"] = message.edited_at
    return changes


def _backfill_reply_targets(session: Session, message: _Message) -> set[int | None]:
    """Replies stored before their root (out-of-order delivery) get the root's author as target now."""
    orphans = list(session.scalars(select(Activity).where(
        Activity.source == message.source, Activity.thread_external_id == message.thread_id,
        Activity.kind == "reply", Activity.target_author_id.is_(None))))
    for reply in orphans:
        reply.target_author_id = message.author_id
    return {reply.author_id for reply in orphans}


def _stored_reactions(session: Session, source: str, thread_id: str, external_id: str) -> list[Activity]:
    # Filtered by the indexed thread id, then by prefix in Python (no LIKE escaping, index-friendly everywhere).
    prefix = f"{external_id}:"
    return [row for row in session.scalars(select(Activity).where(
        Activity.source == source, Activity.thread_external_id == thread_id, Activity.kind == "reaction"))
        if row.external_id.startswith(prefix)]


def _apply_reactions(session: Session, message: _Message, *, target_author_id: int | None,
                     deleted_at: datetime | None) -> tuple[int, int, int, set[int | None]]:
    """Insert new reactions, tombstone removed ones, revive re-added ones; (inserted, updated, deleted, people)."""
    stored = {row.external_id: row for row in _stored_reactions(session, message.source, message.thread_id,
                                                                message.external_id)}
    wanted: dict[str, _Reaction] = {}
    for reaction in message.reactions:
        key = f"{message.external_id}:{reaction.user_key}:{reaction.reaction_type}"[:_EXTERNAL_ID_MAX]
        wanted.setdefault(key, reaction)
    people: set[int | None] = {r.author_id for r in message.reactions} | {r.author_id for r in stored.values()}
    updated = deleted = 0
    snapshot = message.snapshot_at
    if deleted_at is not None:
        for row in stored.values():
            if row.deleted_at is None:
                row.deleted_at, deleted = deleted_at, deleted + 1
        return 0, 0, deleted, people
    new_rows = []
    for key, reaction in wanted.items():
        row = stored.get(key)
        if row is None:
            new_rows.append({
                "source": message.source, "external_id": key, "kind": "reaction", "author_oid": reaction.author_oid,
                "author_id": reaction.author_id, "target_author_id": target_author_id, "team_id": message.team_id,
                "channel_id": message.channel_id, "community_id": message.community_id,
                "thread_external_id": message.thread_id,
                "occurred_at": reaction.at or snapshot or message.occurred_at, "edited_at": None, "deleted_at": None,
                "reaction_type": reaction.reaction_type[:_REACTION_TYPE_MAX], "ingested_at": datetime.now(UTC),
                "knowledge_sharing": False, "broadcast": False, "own_words": 0, "language": "und", "links": 0,
                "files": 0, "mentions": 0, "is_question": False, "topics": [], "content_hash": None,
            })
            continue
        changed = False
        if row.deleted_at is not None and (snapshot is None or snapshot > row.deleted_at):
            # Removed earlier, present in a snapshot taken after the removal: the person reacted again.
            row.deleted_at = None
            if reaction.at is not None:
                row.occurred_at = reaction.at
            changed = True
        if reaction.author_id is not None and row.author_id != reaction.author_id:
            row.author_id, changed = reaction.author_id, True
        if target_author_id is not None and row.target_author_id != target_author_id:
            row.target_author_id, changed = target_author_id, True
        updated += changed
    if message.reactions_complete:
        removed_at = snapshot or datetime.now(UTC)
        for key, row in stored.items():
            # Only a snapshot taken after the reaction was made can say it was taken back.
            if key not in wanted and row.deleted_at is None and (snapshot is None or row.occurred_at <= snapshot):
                row.deleted_at, deleted = removed_at, deleted + 1
    inserted = insert_new(session, _ACTIVITY, new_rows, conflict=_ACTIVITY_KEY)
    return inserted, updated, deleted, people


# -- fast insert-or-ignore ---------------------------------------------------------------------------------------


def insert_new(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, conflict: tuple[str, ...],
               chunk: int = 500) -> int:
    """INSERT … ON CONFLICT (conflict) DO NOTHING RETURNING id in multi-row statements; returns rows added."""
    if not rows:
        return 0
    columns = tuple(rows[0])
    added = 0
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        params = {f"{name}_{n}": row[name] for n, row in enumerate(part) for name in columns}
        added += len(session.execute(_insert_sql(table, columns, conflict, len(part)), params).all())
    return added


@lru_cache(maxsize=128)
def _insert_sql(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], rows: int) -> TextClause:
    # SQLAlchemy never caches the dialects' INSERT … ON CONFLICT constructs (``inherit_cache = False``), so
    # ``upsert.insert_ignore`` compiles on every call (~3 ms for Activity's 25 columns). This statement reads the
    # same on SQLite (≥ 3.35) and PostgreSQL and is compiled once per shape; typed bind parameters keep the
    # columns' conversions (JSON, UTC timestamps).
    groups = ", ".join("(" + ", ".join(f":{name}_{n}" for name in columns) + ")" for n in range(rows))
    statement = text(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {groups} "  # noqa: S608 - names only
                     f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING id")
    return statement.bindparams(*(bindparam(f"{name}_{n}", type_=table.c[name].type)
                                  for n in range(rows) for name in columns))


# -- lookups ----------------------------------------------------------------------------------------------------


def _people_by_oid(session: Session, oids: set[str]) -> dict[str, int]:
    if not oids:
        return {}
    return dict(session.execute(select(Person.entra_oid, Person.id).where(Person.entra_oid.in_(oids))).all())


def _team_and_channel(session: Session, team_graph_id: str, channel_graph_id: str) -> tuple[int | None, int | None]:
    channel = session.execute(select(Channel.id, Channel.team_id).where(Channel.graph_id == channel_graph_id)).first()
    if channel is not None:
        return channel.team_id, channel.id
    return session.scalar(select(Team.id).where(Team.graph_id == team_graph_id)), None


def affected_cohorts(session: Session, people: Iterable[int | None]) -> frozenset[int]:
    """Running (not frozen) cohorts with an active enrolment of any of these people."""
    ids = {p for p in people if p is not None}
    if not ids:
        return frozenset()
    return frozenset(session.scalars(
        select(Enrolment.cohort_id).join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Enrolment.person_id.in_(ids), Enrolment.status == "active", Cohort.frozen_at.is_(None)).distinct()
    ))
