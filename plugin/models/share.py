"""Shares the composer posted, by the client's idempotency key, so a repeated request never posts twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime


class ShareRequest(Base):
    """One share posted (or being posted) in Teams or Viva Engage under a key the client chose."""

    __tablename__ = "share_request"
    __table_args__ = (
        UniqueConstraint("person_id", "idempotency_key"),
        CheckConstraint("status IN ('posting', 'posted')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    #: The client's key (``Idempotency-Key`` header or ``idempotency_key`` in the body), unique per person.
    idempotency_key: Mapped[str] = mapped_column(String(64))
    #: SHA-256 (hex) of what was shared where: the same key for another share is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: "posting" while the call to Teams or Viva Engage runs, "posted" once it answered.
    status: Mapped[str] = mapped_column(String(16), default="posting")
    #: The first request's answer (status, target, place, message id, web URL), given again to a repeat.
    answer: Mapped[dict | None] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
