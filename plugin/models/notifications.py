"""The notification log: every activity-feed send is recorded once, so a retry never notifies twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime


class NotificationLog(Base):
    """One activity-feed notification to one person, keyed by an idempotency key."""

    __tablename__ = "notification_log"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'skipped', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. "week_unlocked:cohort=3:week=2:person=17"; the same key is never sent twice.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    activity_type: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(5))
    parameters: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
