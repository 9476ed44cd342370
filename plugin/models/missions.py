"""Missions of a cohort (copied from its programme), progress and evidence for self-reported ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime


class Mission(Base):
    """A mission of a cohort's programme in a given week (texts stay in the programme file)."""

    __tablename__ = "mission"
    __table_args__ = (
        UniqueConstraint("cohort_id", "slug"),
        CheckConstraint("week >= 1", name="week"),
        CheckConstraint("points >= 0", name="points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(64))
    week: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    points: Mapped[int] = mapped_column(Integer, default=0)
    optional: Mapped[bool] = mapped_column(Boolean, default=False)


class MissionProgress(Base):
    """How far a participant is with a mission; one row per enrolment and mission."""

    __tablename__ = "mission_progress"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "mission_id"),
        CheckConstraint("current >= 0 AND target >= 1", name="counts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"))
    current: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[int] = mapped_column(Integer, default=1)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Evidence(Base):
    """Proof submitted for a self-reported mission (e.g. a LinkedIn post URL), reviewed by a coach or lead."""

    __tablename__ = "evidence"
    __table_args__ = (CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("mission.id", ondelete="CASCADE"))
    url: Mapped[str | None] = mapped_column(String(2048))
    note: Mapped[str | None] = mapped_column(Text)
    #: Numbers for network snapshots, e.g. {"connections": 512, "followers": 130}.
    figures: Mapped[dict | None] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
