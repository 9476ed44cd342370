"""Badges (definitions mirrored from the badge registry) and awards, which are revocable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import UTCDateTime


class Badge(Base):
    """A badge class; names and criteria texts live in the registry, keyed by slug."""

    __tablename__ = "badge"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    #: Awarded by people (lead, coach) rather than by rules, like the Ambassador badge.
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Award(Base):
    """A badge awarded to a person in a cohort; at most one per person, badge and cohort."""

    __tablename__ = "award"
    __table_args__ = (UniqueConstraint("person_id", "badge_id", "cohort_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public, unguessable id used in Open Badges assertion and verification URLs.
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    badge_id: Mapped[int] = mapped_column(ForeignKey("badge.id", ondelete="CASCADE"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"), index=True)
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    #: The participant chooses per badge whether the assertion may be shown publicly.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
