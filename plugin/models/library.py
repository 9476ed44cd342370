"""The content library (items to share, feeds they are imported from) and participants' success stories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime

STORY_TYPES = ("client", "press", "network", "recruitment", "other")


class Feed(Base):
    """An RSS 2.0 or Atom feed of a trusted source, imported into the library for one topic."""

    __tablename__ = "feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    topic: Mapped[str] = mapped_column(String(64))
    #: Validators of the last full answer, sent back as If-None-Match / If-Modified-Since.
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why the last fetch failed (None when it worked).
    error: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LibraryItem(Base):
    """Something worth sharing: a link with a short title and summary in nl and en, topics and suggested places."""

    __tablename__ = "library_item"
    __table_args__ = (UniqueConstraint("url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[dict] = mapped_column(JSONDoc)  # {"en": …, "nl": …}
    summary: Mapped[dict] = mapped_column(JSONDoc)  # {"en": …, "nl": …}
    topics: Mapped[list] = mapped_column(JSONDoc, default=list)
    #: Suggested places: [{"type": "teams", "team_id", "channel_id"} | {"type": "yammer", "community_id"}].
    channels: Mapped[list] = mapped_column(JSONDoc, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feed.id", ondelete="SET NULL"), index=True)
    #: The feed entry's guid/id (or its link), so a re-import never adds it twice.
    guid: Mapped[str | None] = mapped_column(String(2000))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SuccessStory(Base):
    """An outcome a participant reports (a client conversation started by a post, press pick-up, …)."""

    __tablename__ = "success_story"
    __table_args__ = (
        CheckConstraint("type IN ('client', 'press', 'network', 'recruitment', 'other')", name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2000))
    #: The participant allows the story to be shown (to the cohort, in the impact report).
    shareable: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    featured_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
