"""Where each remote feed was last read (delta links, Yammer ids) and the Graph subscriptions we hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, utcnow
from .types import UTCDateTime


class SyncState(Base):
    """The resume point of one feed (a Graph channel delta link or the newest Yammer message id), or whether a
    person's delegated Yammer token still works (``yammer_user``, keyed by person id)."""

    __tablename__ = "sync_state"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        CheckConstraint("kind IN ('channel_delta', 'yammer_group', 'yammer_user')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    #: e.g. "<team id>/<channel id>" or a Yammer group id.
    key: Mapped[str] = mapped_column(String(255))
    #: Saved only after the page it came with was processed, so nothing is skipped after a crash.
    delta_link: Mapped[str | None] = mapped_column(Text)
    newest_id: Mapped[str | None] = mapped_column(String(64))
    backfilled_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Yammer: "ok", "needs_sign_in" or "no_access" (a person); "ok", "no_reader" or "failed" (a community).
    status: Mapped[str | None] = mapped_column(String(32))
    #: When that status was established (a person's token tried; a community's recent posts re-read).
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GraphSubscription(Base):
    """A Graph change-notification subscription on a channel's messages."""

    __tablename__ = "graph_subscription"
    __table_args__ = (CheckConstraint("status IN ('active', 'removed', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(64), unique=True)
    resource: Mapped[str] = mapped_column(String(1024))
    change_type: Mapped[str] = mapped_column(String(64), default="created,updated,deleted")
    include_resource_data: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    renewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
