"""The durable inbox of Graph notifications: stored before the 202, claimed under a lease, processed idempotently.

Life of an item: ``pending`` → (claimed) ``processing`` with ``locked_until`` = lease end → ``done``; on an error
back to ``pending`` with ``locked_until`` = not before (exponential backoff), after ``MAX_ATTEMPTS`` ``failed``.
A worker that dies leaves its items ``processing``; once the lease has passed, ``claim_batch`` (or
``requeue_stuck``) hands them out again. A worker processes its claimed batch in three steps: it commits each
item's Activity rows, then recomputes the people the batch touched (once per cohort), then marks the batch done:
a crash between any two steps repeats work on the next attempt but never loses or double-counts it (ingest and
recompute are idempotent, and a repeated item recomputes even when its ingest finds nothing new).

Identity (unique): sha256 of subscription id | change type | resource | resource data id | version, where the
version is ``@odata.etag``, else the resource's ``lastModifiedDateTime`` (from decrypted content), else the
notification's own ``id`` — Graph resends a notification with the same body, so redeliveries collapse while two
real changes of one message stay two items — and only when none of these exist, the minute it was received.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, and_, bindparam, delete, inspect, not_, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..adapters.graph_notifications import parse_message_resource
from ..db import begin_write as _begin_write
from ..models import InboxItem
from .ingest import TEAMS, IngestResult, ingest_channel_message, ingest_deletion
from .progress import recompute_people
from .retry import with_retry

log = logging.getLogger(__name__)

LIFECYCLE_PREFIX = "lifecycle:"
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
MAX_ATTEMPTS = 5
DEFAULT_LEASE_SECONDS = 300
_BACKOFF = timedelta(seconds=30)
_MAX_BACKOFF = timedelta(hours=1)
_ERROR_CHARS = 500
_INBOX_COLUMNS = ("source", "identity", "subscription_id", "change_type", "resource", "payload", "status",
                  "attempts", "locked_until", "error", "received_at", "processed_at")
_INSERT_CHUNK = 500  # rows per INSERT: 6,000 bind parameters, well within SQLite's and PostgreSQL's limits
#: Message fields kept in a processed item's payload: ids and times, never body, subject, mentions or attachments.
KEPT_CONTENT_FIELDS = ("id", "replyToId", "etag", "messageType", "createdDateTime", "lastModifiedDateTime",
                       "lastEditedDateTime", "deletedDateTime")

#: Gets a chatMessage by its notification ``resource``; None when it no longer exists (404).
FetchMessage = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class StoreResult:
    """What one webhook delivery added to the inbox."""

    received: int
    stored: int

    @property
    def duplicates(self) -> int:
        """Items that were in the inbox already (redeliveries)."""
        return self.received - self.stored


@dataclass(frozen=True)
class ProcessResult:
    """What one ``process_pending`` run did."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    failed: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def is_lifecycle(item: Mapping[str, Any]) -> bool:
    """True for a lifecycle notification (it has ``lifecycleEvent`` instead of ``changeType``)."""
    return "lifecycleEvent" in item


def notification_identity(item: Mapping[str, Any], *, received_at: datetime | None = None) -> str:
    """The inbox identity of one notification item (see the module docstring)."""
    received_at = received_at or _utcnow()
    if is_lifecycle(item):
        # Reacting to a lifecycle event twice is harmless, missing one is not: a redelivery within the same
        # 10 minutes collapses, a later event of the same kind is a new item.
        version = str(item.get("id") or f"t{int(received_at.timestamp()) // 600}")
        parts = [item.get("subscriptionId"), f"{LIFECYCLE_PREFIX}{item.get('lifecycleEvent')}",
                 item.get("subscriptionExpirationDateTime"), version]
    else:
        data = item.get("resourceData") if isinstance(item.get("resourceData"), Mapping) else {}
        content = item.get("content") if isinstance(item.get("content"), Mapping) else {}
        version = (data.get("@odata.etag") or content.get("lastModifiedDateTime") or content.get("etag")
                   or item.get("id") or f"t{int(received_at.timestamp()) // 60}")
        parts = [item.get("subscriptionId"), item.get("changeType"), item.get("resource"), data.get("id"), version]
    return hashlib.sha256("|".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def inbox_rows(items: Iterable[Mapping[str, Any]], *, received_at: datetime) -> dict[str, dict[str, Any]]:
    """The inbox row of each notification item, by identity (an item repeated in one delivery counts once)."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        identity = notification_identity(item, received_at=received_at)
        if identity in rows:
            continue
        lifecycle = is_lifecycle(item)
        subscription = str(item.get("subscriptionId") or "")
        rows[identity] = {
            "source": "graph", "identity": identity, "subscription_id": subscription[:64] or None,
            "change_type": f"{LIFECYCLE_PREFIX}{item['lifecycleEvent']}" if lifecycle else str(item["changeType"]),
            "resource": str(item.get("resource") or f"subscriptions/{subscription}")[:1024],
            "payload": dict(item), "status": "pending", "attempts": 0, "locked_until": None, "error": None,
            "received_at": received_at, "processed_at": None,
        }
    return rows


def insert_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert the inbox rows whose identity is not stored yet (no commit); returns the identities added."""
    return _insert(session.connection(), rows, transaction=False)


def insert_rows_autocommit(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Insert and commit the new rows on a connection in AUTOCOMMIT mode; returns the identities added."""
    # Up to _INSERT_CHUNK rows are one statement, which is its own transaction: one round trip, no BEGIN/COMMIT.
    return _insert(connection, rows, transaction=len(rows) > _INSERT_CHUNK)


def _insert(connection: Connection, rows: Sequence[Mapping[str, Any]], *, transaction: bool) -> set[str]:
    # The intake's hot path. SQLAlchemy compiles the statement once per dialect and row count (with the columns'
    # conversions: JSON, UTC timestamps); the driver's cursor runs it, which costs a fraction of a Core or ORM
    # execute.
    dialect = connection.dialect
    added: set[str] = set()
    cursor = None
    sql: str | None = None
    params: Any = None
    try:
        cursor = connection.connection.cursor()
        if transaction:
            sql = "BEGIN"
            cursor.execute(sql)
        for start in range(0, len(rows), _INSERT_CHUNK):
            part = rows[start:start + _INSERT_CHUNK]
            statement = _compiled_insert(dialect, len(part))
            values = {f"{name}_{n}": convert(row[name]) if convert else row[name]
                      for n, row in enumerate(part) for name, convert in statement.converters}
            sql = statement.sql
            params = tuple(values[name] for name in statement.positions) if statement.positions else values
            cursor.execute(sql, params)
            added.update(identity for (identity,) in cursor.fetchall())
        if transaction:
            sql, params = "COMMIT", None
            cursor.execute(sql)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        if cursor is not None:
            cursor.close()
    return added


def store_notifications(session: Session, items: Sequence[Mapping[str, Any]]) -> StoreResult:
    """Insert the items in one multi-row statement, skipping ones already stored, and commit."""
    rows = inbox_rows(items, received_at=_utcnow())
    added = insert_rows(session, list(rows.values()))
    session.commit()
    return StoreResult(received=len(items), stored=len(added))


@dataclass(frozen=True)
class _CompiledInsert:
    """INSERT … ON CONFLICT (identity) DO NOTHING RETURNING identity for some rows, as one dialect's driver takes it."""

    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional drivers (SQLite); None: by name
    converters: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # each column's bind conversion


@lru_cache(maxsize=256)
def _compiled_insert(dialect: Dialect, rows: int) -> _CompiledInsert:
    # One multi-row statement reads the same on SQLite (≥ 3.35) and PostgreSQL; RETURNING says which rows were new.
    table = InboxItem.__table__
    groups = ", ".join("(" + ", ".join(f":{name}_{n}" for name in _INBOX_COLUMNS) + ")" for n in range(rows))
    statement = text(f"INSERT INTO {table.name} ({', '.join(_INBOX_COLUMNS)}) VALUES {groups} "  # noqa: S608
                     "ON CONFLICT (identity) DO NOTHING RETURNING identity").bindparams(
        *(bindparam(f"{name}_{n}", type_=table.c[name].type) for n in range(rows) for name in _INBOX_COLUMNS))
    compiled = statement.compile(dialect=dialect)
    converters = tuple((name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                       for name in _INBOX_COLUMNS)
    return _CompiledInsert(compiled.string, tuple(compiled.positiontup) if compiled.positiontup else None,
                           converters)


def _claimable(now: datetime, lifecycle: bool) -> Any:
    kind = InboxItem.change_type.like(f"{LIFECYCLE_PREFIX}%")
    return and_(
        kind if lifecycle else not_(kind),
        or_(
            and_(InboxItem.status == "pending", or_(InboxItem.locked_until.is_(None), InboxItem.locked_until <= now)),
            and_(InboxItem.status == "processing", InboxItem.locked_until < now),  # its worker's lease ran out
        ),
    )


def claim_batch(session: Session, limit: int, *, worker_id: str, lease_seconds: int = DEFAULT_LEASE_SECONDS,
                lifecycle: bool = False, now: datetime | None = None) -> list[InboxItem]:
    """Atomically take up to ``limit`` items (oldest first) for this worker until the lease ends; commits."""
    # Change notifications by default; lifecycle=True takes the lifecycle items (for the subscription job).
    # PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, then UPDATE those. SQLite: one UPDATE … WHERE id IN (the
    # oldest claimable) RETURNING id, in a transaction that took the write lock at BEGIN (IMMEDIATE): concurrent
    # workers and the webhook wait their turn (busy timeout) instead of one failing with "database is locked"
    # because its read could not be upgraded to a write, and no two workers ever own the same item.
    # End any open transaction first: on SQLite (WAL) a read transaction keeps seeing the snapshot it started
    # with, so a worker reusing its session would never see items stored since.
    session.commit()
    now = now or _utcnow()
    lease = now + timedelta(seconds=lease_seconds)
    claimable = _claimable(now, lifecycle)
    take = {"status": "processing", "locked_until": lease, "attempts": InboxItem.attempts + 1}
    candidates = select(InboxItem.id).where(claimable).order_by(InboxItem.id).limit(limit)

    def claim() -> list[int]:
        if session.get_bind().dialect.name == "postgresql":
            claimed = list(session.scalars(candidates.with_for_update(skip_locked=True)))
            if claimed:
                session.execute(update(InboxItem).where(InboxItem.id.in_(claimed)).values(**take)
                                .execution_options(synchronize_session=False))
        else:
            _begin_write(session)
            claimed = sorted(session.scalars(
                update(InboxItem).where(InboxItem.id.in_(candidates), claimable).values(**take)
                .returning(InboxItem.id).execution_options(synchronize_session=False)))
        session.commit()
        return claimed

    # A write conflict that still happens (PostgreSQL: a deadlock; SQLite: the lock not granted within the busy
    # timeout) starts the claim again on a fresh snapshot.
    claimed = with_retry(session, claim)
    if not claimed:
        return []
    log.debug("worker %s claimed %d inbox items", worker_id, len(claimed))
    return list(session.scalars(select(InboxItem).where(InboxItem.id.in_(claimed)).order_by(InboxItem.id)
                                .execution_options(populate_existing=True)))


def process_item(session: Session, item: InboxItem, fetch_message: FetchMessage, *,
                 corporate_texts: Sequence[str] = (), instance_path: str | Path | None = None) -> IngestResult:
    """Ingest the message an item is about, recompute the people it concerns, mark it done (commits each step)."""
    ingested = _ingest_item(session, item, fetch_message, corporate_texts=corporate_texts)
    if ingested is None:
        _mark_done(session, item, note="not a channel message resource")
        return IngestResult(None, ignored="unsupported_resource")
    result, touched = ingested
    for cohort_id, people in sorted(touched.items()):
        recompute_people(session, cohort_id, people, instance_path=instance_path)
    _mark_done(session, item)
    return result


def _ingest_item(session: Session, item: InboxItem, fetch_message: FetchMessage, *,
                 corporate_texts: Sequence[str] = ()) -> tuple[IngestResult, dict[int, set[int]]] | None:
    """Store the activity of one item (commits); with the people to recompute, by cohort; None: not for us."""
    if item.change_type.startswith(LIFECYCLE_PREFIX):
        raise ValueError("lifecycle items are for the subscription job, not for process_item")
    payload = item.payload or {}
    ref = parse_message_resource(item.resource)
    content = payload.get("content")
    message = content if isinstance(content, Mapping) and content.get("id") else None
    if ref is None and message is None:
        return None
    if message is None:
        message = fetch_message(item.resource)
    attempts = item.attempts

    def ingest() -> IngestResult:
        _begin_write(session)
        if message is None:
            assert ref is not None
            external_id = f"{ref.message_id}/{ref.reply_id}" if ref.reply_id else ref.message_id
            result = ingest_deletion(session, source=TEAMS, external_id=external_id)
        else:
            channel = message.get("channelIdentity") or {}
            team_id = ref.team_id if ref else str(channel.get("teamId") or "")
            channel_id = ref.channel_id if ref else str(channel.get("channelId") or "")
            result = ingest_channel_message(session, message, team_graph_id=team_id, channel_graph_id=channel_id,
                                            corporate_texts=corporate_texts)
        session.commit()  # the activity is durable before anything is derived from it
        return result

    # A write conflict (SQLite: another writer since our read) is retried at once: ingesting is idempotent, and
    # backing the item off for half a minute would hold up the badge for nothing.
    result = with_retry(session, ingest)
    # A retried item recomputes even when ingest found nothing new: its first attempt may have stored the rows
    # and died before the recompute. Only the people the message bears on are replayed (see services.progress).
    touched: dict[int, set[int]] = {}
    if result.changed or attempts > 1:
        people = {p for p in result.people if p is not None}
        touched = {cohort_id: set(people) for cohort_id in result.cohort_ids}
    return result, touched


def _mark_done(session: Session, item: InboxItem, *, note: str | None = None) -> None:
    """Done: the lease released and the message text removed from the stored payload; commits."""

    def done() -> None:
        _begin_write(session)
        item.status, item.locked_until, item.error = "done", None, note
        item.processed_at = _utcnow()
        item.payload = strip_content(item.payload or {})
        session.commit()

    with_retry(session, done)


def strip_content(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without message text: no ``encryptedContent``, and only ids and times of the content."""
    stripped = {key: value for key, value in payload.items() if key != "encryptedContent"}
    content = stripped.get("content")
    if isinstance(content, Mapping):
        stripped["content"] = {key: content[key] for key in KEPT_CONTENT_FIELDS if key in content}
    return stripped


def process_pending(session: Session, fetch_message: FetchMessage, *, limit: int = 100, worker_id: str = "worker",
                    lease_seconds: int = DEFAULT_LEASE_SECONDS, corporate_texts: Sequence[str] = (),
                    instance_path: str | Path | None = None) -> ProcessResult:
    """Claim a batch, ingest each item, recompute the people they touch once per cohort, mark the batch done."""
    # instance_path: where admin-loaded programme files live (services.programmes).
    # Replaying a person costs the same for one new message as for a hundred, so the recompute runs once per
    # batch, over everyone its items touched. The items stay leased (``processing``) until their cohorts are
    # recomputed: a worker dying anywhere in between leaves them to be claimed again, and a repeated item
    # (attempts > 1) recomputes even when its ingest finds nothing new.
    items = claim_batch(session, limit, worker_id=worker_id, lease_seconds=lease_seconds)
    retried = failed = 0
    ingested: list[InboxItem] = []
    unsupported: list[InboxItem] = []
    touched: dict[int, set[int]] = {}  # cohort → people to recompute
    items_of: dict[int, list[InboxItem]] = {}  # cohort → the items that wait for its recompute
    for item in items:
        if item.attempts > MAX_ATTEMPTS:  # its workers kept dying on it (the lease ran out each time)
            _begin_write(session)
            _give_up(session, item, "gave up: the lease expired on every attempt")
            failed += 1
            continue
        try:
            outcome = _ingest_item(session, item, fetch_message, corporate_texts=corporate_texts)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the batch; it is retried later
            if _failed(session, item, exc):
                retried += 1
            else:
                failed += 1
            continue
        if outcome is None:
            unsupported.append(item)
            continue
        ingested.append(item)
        for cohort_id, people in outcome[1].items():
            touched.setdefault(cohort_id, set()).update(people)
            items_of.setdefault(cohort_id, []).append(item)

    waiting = {id(item) for item in ingested}  # items not yet known to need a retry
    for cohort_id, people in sorted(touched.items()):
        try:
            recompute_people(session, cohort_id, people, instance_path=instance_path)
        except Exception as exc:  # noqa: BLE001 - the other cohorts go on; these items are retried later
            for item in items_of[cohort_id]:
                if id(item) in waiting:
                    waiting.discard(id(item))
                    if _failed(session, item, exc):
                        retried += 1
                    else:
                        failed += 1
    finished = [item for item in ingested if id(item) in waiting]
    _mark_all_done(session, [(item, None) for item in finished]
                   + [(item, "not a channel message resource") for item in unsupported])
    return ProcessResult(claimed=len(items), done=len(finished) + len(unsupported), retried=retried, failed=failed)


def _failed(session: Session, item: InboxItem, exc: Exception) -> bool:
    """Log a failed item and put it back with a backoff (or fail it); True when it will be retried; commits."""
    item_id = inspect(item).identity[0]  # read without a query: a failed session refuses to load anything
    session.rollback()
    log.warning("inbox item %s failed: %s", item_id, type(exc).__name__, exc_info=exc)
    return _retry_later(session, item_id, exc)


def _mark_all_done(session: Session, items: Sequence[tuple[InboxItem, str | None]]) -> None:
    """Mark these items done (with an optional note), as ``_mark_done`` does, in one transaction; commits."""
    if not items:
        return

    def done() -> None:
        _begin_write(session)
        now = _utcnow()
        for item, note in items:
            item.status, item.locked_until, item.error = "done", None, note
            item.processed_at = now
            item.payload = strip_content(item.payload or {})
        session.commit()

    with_retry(session, done)


def _retry_later(session: Session, item_id: int, exc: Exception) -> bool:
    """Back to pending with a backoff, or failed after MAX_ATTEMPTS; True when it will be retried; commits."""
    _begin_write(session)
    item = session.get(InboxItem, item_id, populate_existing=True)
    if item is None:
        session.commit()
        return False
    item.error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
    retry = item.attempts < MAX_ATTEMPTS
    if retry:
        item.status = "pending"
        item.locked_until = _utcnow() + min(_BACKOFF * 2 ** max(item.attempts - 1, 0), _MAX_BACKOFF)
        session.commit()
    else:
        _give_up(session, item, item.error)
    return retry


def _give_up(session: Session, item: InboxItem, error: str | None) -> None:
    """Failed for good (an admin can look at ``error``); the text must not linger either; commits."""
    # The caller began the transaction (``_begin_write``).
    item.status, item.locked_until, item.error = "failed", None, error
    item.payload = strip_content(item.payload or {})
    session.commit()


def requeue_stuck(session: Session, now: datetime | None = None) -> int:
    """Put items whose worker's lease expired back to pending; returns how many; commits."""
    now = now or _utcnow()
    result = session.execute(
        update(InboxItem).where(InboxItem.status == "processing", InboxItem.locked_until < now)
        .values(status="pending", locked_until=None).execution_options(synchronize_session=False)
    )
    session.commit()
    return max(result.rowcount, 0)


def purge_processed(session: Session, before: datetime) -> int:
    """Delete done items processed before ``before`` (keep at least Graph's 4-hour retry window); commits."""
    result = session.execute(delete(InboxItem).where(InboxItem.status == "done", InboxItem.processed_at < before)
                             .execution_options(synchronize_session=False))
    session.commit()
    return max(result.rowcount, 0)
