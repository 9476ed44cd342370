"""Import library items from the RSS/Atom feeds of trusted sources, one topic per feed.

Each fetch is a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last full answer) with a
timeout and a size cap; a 304 changes nothing but the time of the check. A feed that fails (network, status,
too big, malformed XML, a DTD) gets its ``error`` recorded and the others go on. Entries become library items
once: by their guid/id within the feed, and by their link across the whole library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.feeds import FeedEntry, FeedError, parse_feed
from ..domain.messages import N_
from ..domain.text import detect_language, tokens
from ..models import Feed, LibraryItem
from .library import (
    MAX_SUMMARY,
    MAX_TITLE,
    clean_text,
    clean_topics,
    clean_url,
    forget_corporate_library,
    strip_html,
)
from .people import Caller
from .refusal import Refused

#: Largest feed document read (bytes); bigger answers are refused as an error.
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 10.0
USER_AGENT = "Ambassador feed reader (+https://github.com/)"
MAX_ERROR = 500


@dataclass(frozen=True)
class FetchResult:
    """What one fetch did: "updated", "not_modified" or "error", with the items added."""

    feed_id: int
    status: str
    added: int = 0
    error: str | None = None


def add_feed(session: Session, caller: Caller, body: Mapping[str, Any]) -> Feed:
    """Register a feed for a topic (coaches and admins); commits."""
    if not caller.has("coach"):
        raise Refused("forbidden", "forbidden", N_("Only coaches can change the library."))
    url = clean_url(body.get("url"))
    topics = clean_topics([body.get("topic")] if isinstance(body.get("topic"), str) else body.get("topic"),
                          field="topic")
    if len(topics) != 1:
        raise Refused("invalid", "invalid_topics", N_("Give the feed one topic."), field="topic")
    if session.scalar(select(Feed.id).where(Feed.url == url)) is not None:
        raise Refused("conflict", "duplicate_url", N_("This feed is registered already."), field="url")
    feed = Feed(url=url, topic=topics[0], created_by_id=caller.person_id)
    session.add(feed)
    session.commit()
    return feed


def describe_feed(feed: Feed) -> dict[str, Any]:
    """A feed for the API."""
    return {"id": feed.id, "url": feed.url, "topic": feed.topic, "error": feed.error,
            "last_fetched_at": feed.last_fetched_at.isoformat() if feed.last_fetched_at else None}


def feed_http(timeout: float = TIMEOUT) -> httpx.Client:
    """The HTTP client for feeds: bounded time per phase (connect, read, …) and at most three redirects."""
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=True, max_redirects=3,
                        headers={"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
                                 "application/xml;q=0.9, text/xml;q=0.8"})


def refresh_all(session: Session, *, http: httpx.Client | None = None, timeout: float = TIMEOUT,
                now: datetime | None = None) -> list[FetchResult]:
    """Fetch every feed once; commits after each feed."""
    own = http is None
    client = http or feed_http(timeout)
    try:
        return [fetch_feed(session, feed, client, now=now)
                for feed in list(session.scalars(select(Feed).order_by(Feed.id)))]
    finally:
        if own:
            client.close()


def fetch_feed(session: Session, feed: Feed, http: httpx.Client, *, now: datetime | None = None) -> FetchResult:
    """One conditional fetch of `feed`; new entries become library items; never raises for the feed's faults."""
    now = now or datetime.now(UTC)
    headers = {}
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    try:
        status, body, response_headers = _download(http, feed.url, headers)
        if status == 304:
            feed.last_fetched_at, feed.error = now, None
            session.commit()
            return FetchResult(feed.id, "not_modified")
        if status != 200:
            raise FeedError(f"the server answered HTTP {status}")
        entries = parse_feed(body)
    except (FeedError, httpx.HTTPError) as exc:
        session.rollback()
        feed.last_fetched_at, feed.error = now, _describe(exc)[:MAX_ERROR]
        session.commit()
        return FetchResult(feed.id, "error", error=feed.error)
    added = _import(session, feed, entries)
    feed.etag = (response_headers.get("etag") or "")[:255] or None
    feed.last_modified = (response_headers.get("last-modified") or "")[:64] or None
    feed.last_fetched_at, feed.error = now, None
    session.commit()
    if added:
        forget_corporate_library(session)
    return FetchResult(feed.id, "updated", added=added)


def _download(http: httpx.Client, url: str, headers: Mapping[str, str]) -> tuple[int, bytes, httpx.Headers]:
    with http.stream("GET", url, headers=dict(headers)) as response:
        if response.status_code != 200:
            return response.status_code, b"", response.headers
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise FeedError(f"the feed is larger than {MAX_BYTES} bytes")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise FeedError(f"the feed is larger than {MAX_BYTES} bytes")
            chunks.append(chunk)
        return 200, b"".join(chunks), response.headers


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the feed did not answer in time"
    if isinstance(exc, httpx.HTTPError):
        return f"the feed could not be reached ({type(exc).__name__})"
    return str(exc)


def _import(session: Session, feed: Feed, entries: list[FeedEntry]) -> int:
    """Add the entries not seen before (by guid in this feed, by link anywhere); flushes."""
    known_guids = set(session.scalars(select(LibraryItem.guid).where(LibraryItem.feed_id == feed.id)))
    added = 0
    seen_links: set[str] = set()
    for entry in entries:
        try:
            link = clean_url(entry.link)
        except Refused:
            continue
        guid = entry.guid[:2000]
        if guid in known_guids or link in seen_links:
            continue
        seen_links.add(link)
        if session.scalar(select(LibraryItem.id).where(LibraryItem.url == link)) is not None:
            continue
        title = _shorten(strip_html(entry.title), MAX_TITLE) or _shorten(link, MAX_TITLE)
        summary = _shorten(strip_html(entry.summary), MAX_SUMMARY)
        language = entry.language or _language(f"{title} {summary}")
        other = "en" if language == "nl" else "nl"
        item = LibraryItem(url=link, title={language: clean_text(title, "title", MAX_TITLE), other: ""},
                           summary={language: summary, other: ""}, topics=[feed.topic], channels=[],
                           feed_id=feed.id, guid=guid)
        if entry.published is not None and entry.published < datetime.now(UTC):
            item.created_at = entry.published  # newest first in the knowledge feed follows the source
        session.add(item)
        known_guids.add(guid)
        added += 1
    session.flush()
    return added


def _language(text: str) -> str:
    found = detect_language(tokens(text))
    return found if found in ("nl", "en") else "en"


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"
