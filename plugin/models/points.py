"""The append-only points ledger: a score is the sum of its entries, never a stored total."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import UTCDateTime


class PointsEntry(Base):
    """Points for one reason (an activity, a mission, a correction); `source_key` makes it idempotent."""

    __tablename__ = "points_entry"
    __table_args__ = (
        UniqueConstraint("cohort_id", "person_id", "source_key"),
        Index("ix_points_entry_cohort_person", "cohort_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    amount: Mapped[int] = mapped_column(Integer)
    #: What earned (or corrected) the points, e.g. "activity:teams:1606515483514" or "mission:42".
    source_key: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
