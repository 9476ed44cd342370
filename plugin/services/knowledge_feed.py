"""The participant's knowledge feed: new library items and colleagues' knowledge-sharing posts on the topics they
follow (their intake's expertise topics), newest first, paged.

No message text is stored, so a colleague's post shows its author, time, topics and place, with deep links that
open it in Teams or Viva Engage to react or reply (which is what the networking missions count).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import Activity, Channel, Community, Enrolment, Person, Team
from .library import current_items, describe
from .participation import require_active
from .refusal import Refused

PAGE_SIZE, MAX_PAGE_SIZE = 20, 50
#: How many of the cohort's newest knowledge-sharing posts are looked at (topics are filtered in Python).
POST_WINDOW = 1000


def topic_key(topic: str) -> str:
    """A topic compared loosely: case, '#', spaces, hyphens and underscores do not matter."""
    return "".join(ch for ch in topic.casefold() if ch not in " #-_")


def followed_topics(enrolment: Enrolment) -> list[str]:
    """The expertise topics of the person's intake."""
    return [str(t) for t in ((enrolment.intake or {}).get("expertise") or []) if str(t).strip()]


def page_args(page: object, size: object) -> tuple[int, int]:
    """(page, size) from query arguments (1-based, at most MAX_PAGE_SIZE); Refused otherwise."""
    try:
        page_number, page_size = int(str(page or 1)), int(str(size or PAGE_SIZE))
    except ValueError:
        raise Refused("invalid", "invalid_page", N_("Page and size must be whole numbers."), field="page") from None
    if page_number < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Refused("invalid", "invalid_page", N_("Page and size must be whole numbers."), field="page")
    return page_number, page_size


def my_feed(session: Session, person_id: int, *, locale: str, page: object = 1, size: object = PAGE_SIZE,
            now: datetime | None = None) -> dict[str, Any]:
    """One page of the caller's knowledge feed; Refused/ConsentNeeded when they are not taking part."""
    page_number, page_size = page_args(page, size)
    enrolment = require_active(session, person_id)
    topics = followed_topics(enrolment)
    answer: dict[str, Any] = {"topics": topics, "page": page_number, "size": page_size, "entries": [],
                              "has_more": False}
    if not topics:
        return answer
    keys = {topic_key(t) for t in topics}
    wanted = page_number * page_size + 1
    items = [i for i in current_items(session, now=now, limit=POST_WINDOW)
             if keys & {topic_key(str(t)) for t in i.topics or ()}][:wanted]
    posts = _colleague_posts(session, enrolment, keys, wanted)
    entries = [{"kind": "item", "at": i.created_at, **describe(i, locale)} for i in items]
    entries += posts
    entries.sort(key=lambda e: e["at"] or datetime.min.replace(tzinfo=UTC), reverse=True)
    start = (page_number - 1) * page_size
    answer["has_more"] = len(entries) > start + page_size
    answer["entries"] = [{**e, "at": e["at"].isoformat() if e["at"] else None}
                         for e in entries[start:start + page_size]]
    return answer


def _colleague_posts(session: Session, enrolment: Enrolment, keys: set[str], wanted: int) -> list[dict[str, Any]]:
    colleagues = select(Enrolment.person_id).where(Enrolment.cohort_id == enrolment.cohort_id,
                                                   Enrolment.status == "active",
                                                   Enrolment.person_id != enrolment.person_id)
    rows = session.execute(
        select(Activity, Person.display_name).join(Person, Person.id == Activity.author_id)
        .where(Activity.kind == "post", Activity.knowledge_sharing.is_(True), Activity.deleted_at.is_(None),
               Activity.author_id.in_(colleagues))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(POST_WINDOW)).all()
    chosen = [(a, name) for a, name in rows if keys & {topic_key(str(t)) for t in a.topics or ()}][:wanted]
    places = _places(session, [a for a, _ in chosen])
    return [{"kind": "post", "at": a.occurred_at, "id": a.id, "source": a.source,
             "author": {"id": a.author_id, "name": name}, "topics": list(a.topics or ()),
             **places.get(a.id, {"place": None, "link": None})} for a, name in chosen]


def _places(session: Session, posts: Iterable[Activity]) -> dict[int, dict[str, Any]]:
    posts = list(posts)
    channels = {c.id: (c, t) for c, t in session.execute(select(Channel, Team).join(Team).where(
        Channel.id.in_({p.channel_id for p in posts if p.channel_id})))}
    communities = {c.id: c for c in session.scalars(select(Community).where(
        Community.id.in_({p.community_id for p in posts if p.community_id})))}
    found: dict[int, dict[str, Any]] = {}
    for post in posts:
        if post.source == "teams" and post.channel_id in channels:
            channel, team = channels[post.channel_id]
            link = (f"https://teams.microsoft.com/l/message/{quote(channel.graph_id, safe='')}/{post.external_id}"
                    f"?groupId={quote(team.graph_id, safe='')}&parentMessageId={post.external_id}")
            found[post.id] = {"place": f"{team.display_name} › {channel.display_name}", "link": link}
        elif post.source == "yammer" and post.community_id in communities:
            found[post.id] = {"place": communities[post.community_id].display_name,
                              "link": f"https://www.yammer.com/messages/{quote(post.external_id, safe='')}"}
    return found
