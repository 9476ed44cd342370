"""Activity: one row per post, reply or reaction seen in Teams or Viva Engage, with derived features only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime

SOURCES = ("teams", "yammer", "external")
KINDS = ("post", "reply", "reaction")


class Activity(Base):
    """A post, reply or reaction; never the message text, only what the classifier derived from it."""

    __tablename__ = "activity"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint("source IN ('teams', 'yammer', 'external')", name="source"),
        CheckConstraint("kind IN ('post', 'reply', 'reaction')", name="kind"),
        CheckConstraint("own_words >= 0", name="own_words"),
        # The impact report counts a cohort's rows per week from these two alone (index-only scans on PostgreSQL:
        # the INCLUDE columns are what its two big queries read). Elsewhere they are plain two-column indexes.
        Index("ix_activity_author_occurred", "author_id", "occurred_at",
              postgresql_include=["kind", "deleted_at", "knowledge_sharing"]),
        Index("ix_activity_target_occurred", "target_author_id", "occurred_at",
              postgresql_include=["kind", "deleted_at", "author_id", "author_oid"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    #: The remote identity: a Graph message id, `<message id>/<reply id>`, `<message>:<user>:<reaction>`, …
    external_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    author_oid: Mapped[str] = mapped_column(String(64), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    #: Whose post this reply or reaction is on (for "replies/reactions received" and "colleagues reached").
    target_author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id", ondelete="SET NULL"))
    thread_external_id: Mapped[str | None] = mapped_column(String(255), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Derived features (see plugin.domain.classify.PostFeatures); zero/false for reactions.
    knowledge_sharing: Mapped[bool] = mapped_column(Boolean, default=False)
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    own_words: Mapped[int] = mapped_column(Integer, default=0)
    language: Mapped[str] = mapped_column(String(3), default="und")
    links: Mapped[int] = mapped_column(Integer, default=0)
    files: Mapped[int] = mapped_column(Integer, default=0)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    topics: Mapped[list] = mapped_column(JSONDoc, default=list)
    #: A hash of the normalised own words, to spot duplicate posts without keeping the text.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    reaction_type: Mapped[str | None] = mapped_column(String(32))
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
