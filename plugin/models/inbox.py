"""The durable inbox of webhook notifications: stored before the 202, processed later by a job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime


class InboxItem(Base):
    """One change notification; `identity` is unique, so a redelivered notification is stored once."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'processing', 'done', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="graph")
    #: Hash of subscription id, change type, resource and resource data id/etag.
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_id: Mapped[str | None] = mapped_column(String(64))
    #: created / updated / deleted, or "lifecycle:<event>" for lifecycle notifications.
    change_type: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(1024))
    payload: Mapped[dict] = mapped_column(JSONDoc)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A worker owns a 'processing' item until then; the sweeper re-queues it afterwards.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
