"""The organisation that runs Ambassador (one row per Entra tenant)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import UTCDateTime


class Organisation(Base):
    """Organisation-wide settings: language, time zone, privacy thresholds and retention."""

    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint("default_locale IN ('nl', 'en')", name="locale"),
        CheckConstraint("min_group_size >= 1", name="min_group_size"),
        CheckConstraint("activity_retention_days >= 0", name="retention"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_locale: Mapped[str] = mapped_column(String(5), default="nl")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    #: Reports suppress groups smaller than this, so no individual can be singled out.
    min_group_size: Mapped[int] = mapped_column(Integer, default=5)
    #: Activity rows older than this are deleted by the retention job (0 = keep for the programme only).
    activity_retention_days: Mapped[int] = mapped_column(Integer, default=365)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
