"""Pull Teams channel messages (Graph delta) and Viva Engage community posts into Activity rows.

Reliability (DESIGN §3): a page's messages are ingested and committed **together with** the link that follows
them, so the stored link always points just past what is stored. A crash mid-walk (or a Graph outage the
client's retries could not ride out) leaves the previous page's link, and the next run resumes there: nothing
is skipped, and the page being processed is rolled back and read again (ingestion is idempotent besides).
Both nextLinks (mid-round) and deltaLinks (between rounds) are stored in ``SyncState.delta_link``; a stored link
Graph no longer accepts (400/410: an expired token) restarts the walk from scratch, which is safe for the same
reason.

Backfill: a first walk starts from scratch with ``$filter=lastModifiedDateTime gt <backfill_from>`` (fewer
pages) and ignores messages created before ``backfill_from`` (a cohort's start minus its baseline weeks); the
floor is kept in ``SyncState.backfilled_from``, and a later cohort asking for an earlier floor re-walks the
channel once. Cohorts touched by ingested messages are recomputed once per sync, not per message, and only for
the people those messages bear on (``services.progress.recompute_people``).

Budget (DESIGN §5): delta pages of 50 root messages with ``$expand=replies`` put 1,000 new posts in 20 requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.graph import DeltaPage, GraphClient, GraphError, flatten, parse_graph_datetime
from ..adapters.yammer import TokenProvider, YammerClient, parse_yammer_datetime
from ..models import Channel, Cohort, CohortCommunity, CohortTeam, Community, SyncState, Team
from . import ingest
from .progress import cohort_calendar, recompute_people
from .subscriptions import renew_due, subscribe_cohort
from .upsert import insert_ignore

log = logging.getLogger(__name__)

CHANNEL_DELTA, YAMMER_GROUP = "channel_delta", "yammer_group"
#: Graph answers these when a stored skip/delta token is no longer valid.
_STALE_LINK = frozenset({400, 410})


@dataclass
class SyncResult:
    """What one channel or community sync did (cohorts only once their page was committed)."""

    key: str
    pages: int = 0
    ingested: int = 0
    skipped: int = 0
    requests: int = 0
    complete: bool = False
    restarted: bool = False
    cohort_ids: set[int] = field(default_factory=set)
    #: People whose progress the committed pages bear on.
    people: set[int] = field(default_factory=set)


@dataclass
class CohortSyncResult:
    """What syncing a cohort's channels did (one SyncResult per channel, errors by channel key)."""

    cohort_id: int
    places: list[SyncResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    recomputed: set[int] = field(default_factory=set)
    #: Graph requests of the whole cohort sync (the channel list included), every retry counted.
    requests: int = 0

    @property
    def ingested(self) -> int:
        """Messages ingested over every place."""
        return sum(place.ingested for place in self.places)


# -- Teams channels ------------------------------------------------------------------------------------------------
def sync_channel(
    session: Session,
    graph: GraphClient,
    team: Team,
    channel: Channel,
    *,
    backfill_from: datetime | None = None,
    corporate_texts: Iterable[str] = (),
    recompute: bool = True,
    instance_path: str | Path | None = None,
) -> SyncResult:
    """Walk a channel's message delta from where the last sync stopped, ingesting every message; commits per page.

    ``instance_path``: the app's instance folder, where admin-loaded programme files live (services.programmes).
    """
    result = SyncResult(f"{team.graph_id}/{channel.graph_id}")
    try:
        _walk_channel(session, graph, team, channel, result, backfill_from, tuple(corporate_texts))
    finally:
        # Also after a failure: the committed pages' cohorts are not read again by the resumed walk.
        if recompute:
            _recompute(session, result.cohort_ids, result.people, instance_path)
    return result


def _walk_channel(
    session: Session,
    graph: GraphClient,
    team: Team,
    channel: Channel,
    result: SyncResult,
    backfill_from: datetime | None,
    corporate_texts: tuple[str, ...],
) -> None:
    team_graph_id, channel_graph_id = team.graph_id, channel.graph_id
    state = _state(session, CHANNEL_DELTA, result.key)
    link = state.delta_link
    if link and backfill_from and state.backfilled_from and backfill_from < state.backfilled_from:
        link, result.restarted = None, True  # an earlier baseline than walked so far: walk the channel again
    floor = _earliest(backfill_from, state.backfilled_from if link else None)
    before = getattr(graph, "request_count", 0)
    try:
        pages = _delta_pages(graph, team_graph_id, channel_graph_id, link, floor, result)
        for page in pages:
            touched: set[int] = set()
            people: set[int] = set()
            for root in page.messages:
                for message in flatten(root):
                    if _too_old(message.get("createdDateTime"), floor, parse_graph_datetime):
                        result.skipped += 1
                        continue
                    outcome = ingest.ingest_channel_message(
                        session, message, team_graph_id=team_graph_id, channel_graph_id=channel_graph_id,
                        corporate_texts=corporate_texts,
                    )
                    touched |= outcome.cohort_ids
                    people |= outcome.people
                    result.ingested += 1
            state.delta_link = page.resume_link
            state.backfilled_from = floor
            if page.delta_link:
                state.synced_at = datetime.now(UTC)
            session.commit()  # the page's rows and the link past them, in one transaction
            result.pages += 1
            result.cohort_ids |= touched
            result.people |= people
        result.complete = True
    except BaseException:
        session.rollback()
        raise
    finally:
        result.requests = getattr(graph, "request_count", 0) - before


def _delta_pages(
    graph: GraphClient, team_id: str, channel_id: str, link: str | None, floor: datetime | None, result: SyncResult
) -> Iterator[DeltaPage]:
    """The delta pages from ``link``; a stored link Graph rejects as stale restarts from scratch (once)."""
    pages = graph.channel_messages_delta(team_id, channel_id, link, since=None if link else floor)
    try:
        first = next(pages, None)
    except GraphError as exc:
        if not link or exc.status not in _STALE_LINK:
            raise
        log.warning("stored delta link of %s rejected (%s); walking the channel again", result.key, exc.status)
        result.restarted = True
        pages = graph.channel_messages_delta(team_id, channel_id, None, since=floor)
        first = next(pages, None)
    if first is not None:
        yield first
        yield from pages


def cohort_channels(session: Session, cohort_id: int) -> list[tuple[Team, Channel]]:
    """Every (team, channel) of the cohort's teams, as stored."""
    rows = session.execute(
        select(Team, Channel)
        .join(CohortTeam, CohortTeam.team_id == Team.id)
        .join(Channel, Channel.team_id == Team.id)
        .where(CohortTeam.cohort_id == cohort_id)
        .order_by(Team.id, Channel.id)
    )
    return [(team, channel) for team, channel in rows.tuples()]


def refresh_channels(session: Session, graph: GraphClient, cohort_id: int) -> int:
    """Add channels created in Teams since the teams were registered (one request per team); commits."""
    teams = list(session.scalars(
        select(Team).join(CohortTeam, CohortTeam.team_id == Team.id).where(CohortTeam.cohort_id == cohort_id)
    ))
    added = 0
    for team in teams:
        rows = [{"team_id": team.id, "graph_id": c.id, "display_name": c.display_name[:200]}
                for c in graph.channels(team.graph_id)]
        added += insert_ignore(session, Channel, rows)
    session.commit()
    return added


def baseline_start(cohort: Cohort) -> datetime:
    """Where a cohort's baseline period begins: its start minus ``baseline_weeks`` (UTC)."""
    return cohort_calendar(cohort).starts_at.astimezone(UTC) - timedelta(weeks=cohort.baseline_weeks)


def sync_cohort(
    session: Session,
    graph: GraphClient,
    cohort_id: int,
    *,
    refresh: bool = True,
    corporate_texts: Iterable[str] = (),
    on_place: Callable[[SyncResult, str], None] | None = None,
    instance_path: str | Path | None = None,
) -> CohortSyncResult:
    """Sync every channel of the cohort's teams from its baseline start; recompute affected cohorts once.

    ``instance_path``: the app's instance folder, where admin-loaded programme files live (services.programmes).
    """
    # A failing channel (403 not approved, 404 deleted, a bad message) is reported and the others go on.
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise LookupError(f"cohort {cohort_id} does not exist")
    floor = baseline_start(cohort)
    outcome = CohortSyncResult(cohort_id)
    before = getattr(graph, "request_count", 0)
    if refresh:
        refresh_channels(session, graph, cohort_id)
    texts = tuple(corporate_texts)
    try:
        for team, channel in cohort_channels(session, cohort_id):
            key = f"{team.graph_id}/{channel.graph_id}"
            result = SyncResult(key)
            outcome.places.append(result)
            try:
                _walk_channel(session, graph, team, channel, result, floor, texts)
            except (GraphError, ValueError) as exc:  # this channel only (e.g. 403 not approved, a bad message)
                log.warning("sync of channel %s failed: %s", key, exc)
                outcome.errors[key] = str(exc)
            if on_place is not None:
                on_place(result, channel.display_name)
    finally:
        outcome.requests = getattr(graph, "request_count", 0) - before
        cohorts = set().union(*(place.cohort_ids for place in outcome.places))
        people = set().union(*(place.people for place in outcome.places))
        outcome.recomputed = _recompute(session, cohorts, people, instance_path)
    return outcome


# -- Viva Engage communities ------------------------------------------------------------------------------------
def sync_community(
    session: Session,
    yammer: YammerClient,
    community: Community,
    token_provider: TokenProvider,
    *,
    backfill_from: datetime | None = None,
    corporate_texts: Iterable[str] = (),
    recompute: bool = True,
    instance_path: str | Path | None = None,
) -> SyncResult:
    """Read a community's posts newer than the last sync (newest first, paged down); commits per page.

    ``instance_path``: the app's instance folder, where admin-loaded programme files live (services.programmes).
    """
    # newest_id advances only once the walk reached the previous one; meanwhile delta_link keeps the walk's
    # cursor, so a crash resumes below the last committed page.
    result = SyncResult(str(community.yammer_group_id))
    try:
        _walk_community(session, yammer, community, token_provider, result, backfill_from, tuple(corporate_texts))
    finally:
        if recompute:
            _recompute(session, result.cohort_ids, result.people, instance_path)
    return result


def _walk_community(
    session: Session,
    yammer: YammerClient,
    community: Community,
    token_provider: TokenProvider,
    result: SyncResult,
    backfill_from: datetime | None,
    corporate_texts: tuple[str, ...],
) -> None:
    group_id = str(community.yammer_group_id)
    state = _state(session, YAMMER_GROUP, result.key)
    cursor = _parse_cursor(state.delta_link)  # an interrupted walk: {"older_than", "top"}
    history = state.newest_id is None  # the first walk reads history: likes are dated with their message
    floor = _earliest(backfill_from, state.backfilled_from if state.newest_id else None)
    walk_newest = cursor.get("top")
    before = yammer.request_count
    try:
        pages = yammer.group_messages(group_id, state.newest_id, older_than=cursor.get("older_than"),
                                      token_provider=token_provider)
        for page in pages:
            touched: set[int] = set()
            people: set[int] = set()
            reached_floor = False
            for message in page.messages:
                walk_newest = _max_id(walk_newest, str(message["id"]))
                if _too_old(message.get("created_at"), floor, parse_yammer_datetime):
                    result.skipped += 1
                    reached_floor = True
                    continue
                options: dict[str, Any] = {}
                if history:
                    options["liked_at"] = parse_yammer_datetime(str(message["created_at"]))
                outcome = ingest.ingest_community_message(
                    session, message, page.references, community_group_id=group_id,
                    corporate_texts=corporate_texts, **options,
                )
                touched |= outcome.cohort_ids
                people |= outcome.people
                result.ingested += 1
            done = reached_floor or not page.older_available
            if done:
                state.newest_id, state.delta_link = walk_newest or state.newest_id, None
                state.backfilled_from = floor
                state.synced_at = datetime.now(UTC)
            elif page.messages:
                state.delta_link = _cursor(str(page.messages[-1]["id"]), walk_newest)
            session.commit()
            result.pages += 1
            result.cohort_ids |= touched
            result.people |= people
            if done:
                break  # older pages lie below the floor (ids grow with time)
        result.complete = True
    except BaseException:
        session.rollback()
        raise
    finally:
        result.requests = yammer.request_count - before


def _cursor(older_than: str, top: str | None) -> str:
    return f"older_than={older_than}&top={top or ''}"


def _parse_cursor(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    pairs = (part.partition("=") for part in value.split("&"))
    return {name: item for name, _, item in pairs if item}


def _max_id(current: str | None, candidate: str) -> str:
    return candidate if current is None or int(candidate) > int(current) else current


# -- shared -------------------------------------------------------------------------------------------------------
def _state(session: Session, kind: str, key: str) -> SyncState:
    """The feed's resume point, created on first use (race-safe)."""
    insert_ignore(session, SyncState, [{"kind": kind, "key": key}])
    state = session.scalar(select(SyncState).where(SyncState.kind == kind, SyncState.key == key))
    assert state is not None
    return state


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def _too_old(value: Any, floor: datetime | None, parse: Callable[[str], datetime]) -> bool:
    if floor is None or not isinstance(value, str) or not value:
        return False
    try:
        return parse(value) < floor
    except ValueError:
        return False


def _recompute(session: Session, cohort_ids: Iterable[int], people: Iterable[int],
               instance_path: str | Path | None) -> set[int]:
    """Recompute each affected cohort's affected people once (a failure is logged: the next sync or the hourly
    full recompute catches up)."""
    done: set[int] = set()
    people = frozenset(people)
    for cohort_id in sorted(set(cohort_ids)):
        try:
            recompute_people(session, cohort_id, people, instance_path=instance_path)
            done.add(cohort_id)
        except Exception:  # one cohort's failure must not hide the sync's own outcome
            session.rollback()
            log.exception("recomputing cohort %s after sync failed", cohort_id)
    return done


def cohort_communities(session: Session, cohort_id: int) -> list[Community]:
    """The Viva Engage communities whose posts count for a cohort."""
    return list(session.scalars(
        select(Community).join(CohortCommunity, CohortCommunity.community_id == Community.id)
        .where(CohortCommunity.cohort_id == cohort_id).order_by(Community.id)
    ))


__all__ = [
    "CohortSyncResult", "SyncResult", "baseline_start", "cohort_channels", "cohort_communities", "refresh_channels",
    "renew_due", "subscribe_cohort", "sync_channel", "sync_cohort", "sync_community",
]
