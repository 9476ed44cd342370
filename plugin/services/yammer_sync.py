"""Poll the Viva Engage communities of running cohorts through the Yammer REST API, as their participants.

For each community linked to a selected cohort:

1. **Readers.** Yammer takes only delegated tokens, so the feed is read as one of the cohorts' active
   participants, with the token :class:`~plugin.services.delegated.DelegatedTokens` gets silently from their
   cached MSAL account. Participants go least recently used first, so the work (and the check of whose token
   still works) moves round the cohort from run to run; those without a usable token are marked
   ``needs_sign_in`` and skipped, and a community nobody can read is marked ``no_reader``. Neither fails the job.
2. **Pacing.** Yammer allows 10 requests per 30 s per user per app. :class:`ReaderPool` is the walk's token
   provider: each request goes out as the reader the client's rate limiter lets send soonest, and a further
   participant is enlisted (up to :data:`MAX_READERS`) only when all current readers would have to wait. A 429
   is retried by the client after its ``Retry-After`` (that reader is held back meanwhile, so the retry usually
   goes out as another). A 401 gets the reader one fresh token, a second 401 or a 403 drops them, and the walk
   resumes (from its committed cursor) as the next one.
3. **New posts** (:func:`plugin.services.sync.sync_community`): ``newer_than`` the stored newest id, paging down
   with ``older_than``; the first walk goes back to the earliest baseline start of the cohorts (their start minus
   ``baseline_weeks``) and stops paging there. Each page's activity rows and the cursor past them are committed
   together, so a crash resumes after the last committed page and nothing is counted twice.
4. **Edits and deletions.** The v1 API has no edit time and no deletion feed, and ``newer_than`` never shows an
   old message again, so every :data:`RECHECK_EVERY` the messages of the last :data:`RECHECK_WINDOW` are read
   again: an edited text is re-classified and likes added or taken back are applied (ingestion compares the
   features); a stored post or reply that is no longer in the feed has been deleted (the API shows a deletion no
   other way; ``GET /messages/{id}`` answers 404), and :func:`plugin.services.ingest.ingest_deletion` withdraws
   its credit. Deletions are concluded only after
   a complete re-read, and only for ids inside the range it covered.
5. Each touched cohort is recomputed once, for the people the changed messages bear on (the whole cohort when a
   walk broke off, since what its committed pages touched is not known then); the recompute revokes badges that
   no longer hold, with an audit entry.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..adapters.yammer import RateLimiter, YammerClient, YammerError, parse_yammer_datetime, user_key
from ..models import Activity, Cohort, CohortCommunity, Community, Enrolment, Person, SyncState
from . import ingest
from .delegated import (
    NEEDS_SIGN_IN,
    NO_ACCESS,
    DelegatedTokens,
    Reader,
    mark_without_cache,
    needing_sign_in,
    token_statuses,
)
from .progress import recompute_cohort, recompute_people
from .sync import YAMMER_GROUP, baseline_start, sync_community
from .upsert import insert_ignore

log = logging.getLogger(__name__)

#: At most this many participants' tokens are used for one community in one run.
MAX_READERS = 4
#: How often, and how far back, a community's recent messages are read again for edits, likes and deletions.
RECHECK_EVERY = timedelta(hours=1)
RECHECK_WINDOW = timedelta(days=7)
OK, NO_READER, FAILED = "ok", "no_reader", "failed"
_T = TypeVar("_T")


class Touched:
    """Which cohorts to recompute after a poll, and for whom (None: every participant)."""

    def __init__(self) -> None:
        self.people: dict[int, set[int] | None] = {}

    def add(self, cohort_ids: Iterable[int], people: Iterable[int]) -> None:
        """These people's progress in these cohorts may have changed."""
        for cohort_id in cohort_ids:
            known = self.people.setdefault(cohort_id, set())
            if known is not None:
                known.update(people)

    def whole(self, cohort_ids: Iterable[int]) -> None:
        """Anyone's progress in these cohorts may have changed."""
        for cohort_id in cohort_ids:
            self.people[cohort_id] = None


class NoReader(Exception):
    """No participant of the community has a usable delegated token."""


@dataclass
class _Active:
    reader: Reader
    token: str = field(repr=False)
    user: str
    uses: int = 0


class ReaderPool:
    """The token provider of one community's walk: each request goes out as the reader who may send soonest."""

    def __init__(self, tokens: DelegatedTokens, candidates: Iterable[Reader], limiter: RateLimiter, *,
                 max_readers: int = MAX_READERS) -> None:
        self.tokens = tokens
        self.limiter = limiter
        self.max_readers = max_readers
        self._pending = deque(candidates)
        self._active: list[_Active] = []
        #: The reader the last token was handed to (the one a failed request was sent as).
        self.current: Reader | None = None
        #: Participants tried whose token could not be had or was refused.
        self.skipped: list[Reader] = []
        self.used: set[int] = set()
        self._refused: set[int] = set()

    def __call__(self) -> str:
        """A token for the next request (raises :class:`NoReader` when nobody is left)."""
        while True:
            best = min(self._active, key=lambda a: (self.limiter.wait_time(a.user), a.uses), default=None)
            if best is not None and (self.limiter.wait_time(best.user) == 0 or len(self._active) >= self.max_readers):
                break
            if not self._enlist():
                if best is None:
                    raise NoReader("no participant of this community has a usable Viva Engage sign-in")
                break  # everyone is busy and nobody else can help: the client waits for the best one
        best.uses += 1
        self.current = best.reader
        self.used.add(best.reader.person_id)
        return best.token

    def reject(self, status: str = NEEDS_SIGN_IN) -> None:
        """Yammer refused the current reader: drop them for this run and record why.

        A first 401 only sends the reader back to the queue with a fresh token (theirs may have expired during a
        long walk); refused again, they are dropped."""
        reader = self.current
        if reader is None:
            return
        self._active = [a for a in self._active if a.reader != reader]
        self.current = None
        if status == NEEDS_SIGN_IN and reader.person_id not in self._refused:
            self._refused.add(reader.person_id)
            self.tokens.forget(reader)
            self._pending.appendleft(reader)
            return
        self.skipped.append(reader)
        self.tokens.reject(reader, status)

    def _enlist(self) -> bool:
        """Add the next candidate whose token can be had; False when none is left."""
        while self._pending:
            reader = self._pending.popleft()
            token = self.tokens.token(reader)
            if token is None:
                self.skipped.append(reader)
                continue
            self._active.append(_Active(reader, token, user_key(token)))
            return True
        return False


@dataclass
class CommunityResult:
    """What polling one community did."""

    group_id: str
    name: str
    ingested: int = 0
    pages: int = 0
    rechecked: int = 0
    withdrawn: int = 0
    requests: int = 0
    readers: int = 0
    skipped: list[int] = field(default_factory=list)
    status: str = OK
    error: str | None = None


@dataclass
class YammerSyncResult:
    """What one Yammer poll did over the selected cohorts' communities."""

    cohort_ids: list[int]
    communities: list[CommunityResult] = field(default_factory=list)
    #: Participants of those cohorts whose Viva Engage sign-in is missing or refused.
    needs_sign_in: list[int] = field(default_factory=list)
    recomputed: set[int] = field(default_factory=set)

    @property
    def ingested(self) -> int:
        """New messages read over every community."""
        return sum(c.ingested for c in self.communities)

    @property
    def requests(self) -> int:
        """Yammer requests over every community (every retry counted)."""
        return sum(c.requests for c in self.communities)

    @property
    def errors(self) -> dict[str, str]:
        """Communities that could not be polled, by group id."""
        return {c.group_id: c.error or c.status for c in self.communities if c.status != OK}


def running_cohorts(session: Session, now: datetime) -> list[int]:
    """Cohorts that have started (or start tomorrow) and are not frozen yet."""
    return list(session.scalars(select(Cohort.id).where(
        Cohort.frozen_at.is_(None), Cohort.start_date <= (now + timedelta(days=1)).date()).order_by(Cohort.id)))


def communities_of(session: Session, cohort_ids: Sequence[int]) -> list[tuple[Community, list[Cohort]]]:
    """Each community linked to any of these cohorts, with the cohorts it counts for."""
    if not cohort_ids:
        return []
    rows = session.execute(select(Community, Cohort)
                           .join(CohortCommunity, CohortCommunity.community_id == Community.id)
                           .join(Cohort, Cohort.id == CohortCommunity.cohort_id)
                           .where(Cohort.id.in_(cohort_ids)).order_by(Community.id, Cohort.id)).tuples()
    grouped: dict[int, tuple[Community, list[Cohort]]] = {}
    for community, cohort in rows:
        grouped.setdefault(community.id, (community, []))[1].append(cohort)
    return list(grouped.values())


def sync_yammer(
    session: Session,
    yammer: YammerClient,
    *,
    cohort_id: int | None = None,
    tokens: DelegatedTokens | None = None,
    recheck: bool | None = None,
    corporate_texts: Iterable[str] = (),
    on_community: Callable[[CommunityResult], None] | None = None,
    now: datetime | None = None,
    instance_path: str | Path | None = None,
) -> YammerSyncResult:
    """Poll every community of one cohort (or of every running cohort); commits per page; recomputes once.

    ``recheck``: None re-reads recent messages when :data:`RECHECK_EVERY` has passed, True always, False never.
    ``instance_path``: the app's instance folder, where admin-loaded programme files live (services.programmes).
    """
    now = now or datetime.now(UTC)
    if cohort_id is not None:
        if session.get(Cohort, cohort_id) is None:
            raise LookupError(f"cohort {cohort_id} does not exist")
        cohort_ids = [cohort_id]
    else:
        cohort_ids = running_cohorts(session, now)
    tokens = tokens or DelegatedTokens(session)
    outcome = YammerSyncResult(cohort_ids)
    touched = Touched()
    texts = tuple(corporate_texts)
    try:
        for community, cohorts in communities_of(session, cohort_ids):
            result = _sync_community(session, yammer, community, cohorts, tokens, recheck, texts, now, touched)
            outcome.communities.append(result)
            if on_community is not None:
                on_community(result)
    finally:
        outcome.recomputed = _recompute(session, touched, instance_path)
    outcome.needs_sign_in = needing_sign_in(session, _participants(session, cohort_ids))
    return outcome


def _sync_community(session: Session, yammer: YammerClient, community: Community, cohorts: list[Cohort],
                    tokens: DelegatedTokens, recheck: bool | None, texts: tuple[str, ...], now: datetime,
                    touched: Touched) -> CommunityResult:
    """Read one community's new posts (and, when due, re-read recent ones); never raises for Yammer trouble."""
    group_id, cohort_ids = str(community.yammer_group_id), [c.id for c in cohorts]
    result = CommunityResult(group_id, community.display_name)
    floor = min(baseline_start(c) for c in cohorts)
    pool = ReaderPool(tokens, community_readers(session, community.id, cohort_ids, now), yammer.limiter)
    before = yammer.request_count
    state = _group_state(session, group_id)
    first_walk = state.newest_id is None
    try:
        walk = _as_readers(pool, touched, cohort_ids, lambda: sync_community(
            session, yammer, community, pool, backfill_from=floor, corporate_texts=texts, recompute=False))
        result.ingested, result.pages = walk.ingested, walk.pages
        touched.add(walk.cohort_ids, walk.people)
        state = _group_state(session, group_id)
        due = state.checked_at is None or now - state.checked_at >= RECHECK_EVERY
        rechecked = False
        if recheck or (recheck is None and due and not first_walk):
            since = max(now - RECHECK_WINDOW, floor)
            read, withdrawn = _as_readers(pool, touched, cohort_ids, lambda: _recheck(
                session, yammer, community, pool, since, texts, touched))
            result.rechecked, result.withdrawn, rechecked = read, withdrawn, True
        # A first walk has just read everything, so the first re-read is due an hour from now.
        _set_group_state(session, group_id, OK, checked=first_walk or rechecked, now=now)
    except NoReader as exc:
        result.status, result.error = NO_READER, str(exc)
        _set_group_state(session, group_id, NO_READER, now=now)
    except (YammerError, httpx.HTTPError, ValueError) as exc:
        log.warning("Yammer poll of community %s failed: %s", group_id, exc)
        result.status, result.error = FAILED, " ".join(str(exc).split())
        _set_group_state(session, group_id, FAILED, now=now)
    finally:
        result.requests = yammer.request_count - before
        result.readers = len(pool.used)
        result.skipped = sorted({r.person_id for r in pool.skipped})
    return result


def _as_readers(pool: ReaderPool, touched: Touched, cohort_ids: Sequence[int], walk: Callable[[], _T]) -> _T:
    """Run ``walk``; when Yammer refuses the reader (401, 403), drop them and resume as the next one."""
    while True:
        try:
            return walk()
        except YammerError as exc:
            # Pages committed before the failure changed these cohorts' activity (for whom is not known).
            touched.whole(cohort_ids)
            if exc.status not in (401, 403) or pool.current is None:
                raise
            log.info("Yammer refused the token of person %s (%s); trying another participant",
                     pool.current.person_id, exc.status)
            pool.reject(NEEDS_SIGN_IN if exc.status == 401 else NO_ACCESS)


def community_readers(session: Session, community_id: int, cohort_ids: Sequence[int], now: datetime) -> list[Reader]:
    """Participants who may read the community for these cohorts, least recently used first.

    People without a token cache are marked ``needs_sign_in``; people whose token failed are left out until they
    sign in again (or a day has passed)."""
    rows = session.execute(
        select(Person.id, Person.entra_oid)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .join(CohortCommunity, CohortCommunity.cohort_id == Enrolment.cohort_id)
        .where(CohortCommunity.community_id == community_id, Enrolment.cohort_id.in_(cohort_ids),
               Enrolment.status == "active", Person.erased_at.is_(None))
        .distinct()
    ).all()
    statuses = token_statuses(session, [person_id for person_id, _oid in rows])
    mark_without_cache(session, [p for p, status in statuses.items() if status.cache_updated_at is None])
    usable = [(person_id, oid) for person_id, oid in rows if statuses[person_id].worth_trying(now)]
    last_used = _last_used(session, [person_id for person_id, _oid in usable])
    usable.sort(key=lambda row: (last_used.get(row[0]) or datetime.min.replace(tzinfo=UTC), row[0]))
    return [Reader(person_id, oid) for person_id, oid in usable]


def _last_used(session: Session, person_ids: Sequence[int]) -> dict[int, datetime | None]:
    if not person_ids:
        return {}
    return {int(key): used for key, used in session.execute(select(SyncState.key, SyncState.synced_at).where(
        SyncState.kind == "yammer_user", SyncState.key.in_([str(i) for i in person_ids])))}


def _recheck(session: Session, yammer: YammerClient, community: Community, pool: ReaderPool, since: datetime,
             texts: tuple[str, ...], touched: Touched) -> tuple[int, int]:
    """Read the messages since ``since`` again: (messages read, deletions withdrawn); commits per page."""
    group_id = str(community.yammer_group_id)
    seen: set[int] = set()
    top: int | None = None
    bottom = 0  # ids above this were all in the re-read (exclusive bound)
    try:
        for page in yammer.group_messages(group_id, token_provider=pool):
            reached_floor = False
            for message in page.messages:
                message_id = int(message["id"])
                top = message_id if top is None else max(top, message_id)
                if _older_than(message, since):
                    reached_floor, bottom = True, message_id
                    break
                outcome = ingest.ingest_community_message(session, message, page.references,
                                                          community_group_id=group_id, corporate_texts=texts)
                if outcome.changed:
                    touched.add(outcome.cohort_ids, outcome.people)
                seen.add(message_id)
            session.commit()
            if reached_floor or not page.older_available:
                break
    except BaseException:
        session.rollback()
        raise
    withdrawn = 0
    for row in _stored_since(session, community.id, since):
        message_id = int(row.external_id.rsplit("/", 1)[-1])
        # An empty feed means every stored message is gone; otherwise only ids inside the range read count.
        if bottom < message_id and (top is None or message_id <= top) and message_id not in seen:
            deleted = ingest.ingest_deletion(session, source=ingest.YAMMER, external_id=row.external_id)
            withdrawn += bool(deleted.deleted)
            touched.add(deleted.cohort_ids, deleted.people)
    session.commit()
    return len(seen), withdrawn


def _stored_since(session: Session, community_id: int, since: datetime) -> list[Activity]:
    """The community's stored posts and replies since ``since`` that still count."""
    return list(session.scalars(select(Activity).where(
        Activity.source == ingest.YAMMER, Activity.community_id == community_id,
        Activity.kind.in_(("post", "reply")), Activity.deleted_at.is_(None), Activity.occurred_at >= since)))


def _older_than(message: dict[str, Any], moment: datetime) -> bool:
    try:
        return parse_yammer_datetime(str(message.get("created_at") or "")) < moment
    except ValueError:
        return False


def _group_state(session: Session, group_id: str) -> SyncState:
    insert_ignore(session, SyncState, [{"kind": YAMMER_GROUP, "key": group_id}])
    state = session.scalar(select(SyncState).where(SyncState.kind == YAMMER_GROUP, SyncState.key == group_id))
    assert state is not None
    return state


def _set_group_state(session: Session, group_id: str, status: str, *, now: datetime, checked: bool = False) -> None:
    """Store whether the community could be polled (and when its recent messages were last re-read); commits."""
    insert_ignore(session, SyncState, [{"kind": YAMMER_GROUP, "key": group_id}])  # rolled back with a failed walk
    values: dict[str, Any] = {"status": status}
    if checked:
        values["checked_at"] = now
    session.execute(update(SyncState).where(SyncState.kind == YAMMER_GROUP, SyncState.key == group_id)
                    .values(**values))
    session.commit()


def _participants(session: Session, cohort_ids: Sequence[int]) -> list[int]:
    if not cohort_ids:
        return []
    return list(session.scalars(select(Enrolment.person_id).where(
        Enrolment.cohort_id.in_(cohort_ids), Enrolment.status == "active").distinct()))


def _recompute(session: Session, touched: Touched, instance_path: str | Path | None) -> set[int]:
    """Recompute each touched cohort once (a failure is logged: the hourly recompute catches up)."""
    done: set[int] = set()
    for cohort_id, people in sorted(touched.people.items()):
        try:
            if people is None:
                recompute_cohort(session, cohort_id, instance_path=instance_path)
            else:
                recompute_people(session, cohort_id, people, instance_path=instance_path)
            done.add(cohort_id)
        except Exception:  # one cohort's failure must not hide the poll's own outcome
            session.rollback()
            log.exception("recomputing cohort %s after the Yammer poll failed", cohort_id)
    return done


__all__ = [
    "MAX_READERS", "RECHECK_EVERY", "RECHECK_WINDOW", "CommunityResult", "NoReader", "ReaderPool",
    "YammerSyncResult", "communities_of", "community_readers", "running_cohorts", "sync_yammer",
]
