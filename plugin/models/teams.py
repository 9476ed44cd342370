"""Where work happens: Teams teams and channels, and Viva Engage communities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .types import UTCDateTime


class Team(Base):
    """A Microsoft Teams team (its Microsoft 365 group id)."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    graph_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    channels: Mapped[list[Channel]] = relationship(back_populates="team", cascade="all, delete-orphan")


class Channel(Base):
    """A channel of a team, e.g. `19:…@thread.tacv2`."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    graph_id: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))

    team: Mapped[Team] = relationship(back_populates="channels")


class TeamMembership(Base):
    """A person's membership of a team; owners are the team's leads (refreshed from Graph)."""

    __tablename__ = "team_membership"
    __table_args__ = (UniqueConstraint("team_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When the membership was last read from Graph; a stale value is re-read before it grants a role.
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Community(Base):
    """A Viva Engage (Yammer) community, by its Yammer group id."""

    __tablename__ = "community"

    id: Mapped[int] = mapped_column(primary_key=True)
    yammer_group_id: Mapped[str] = mapped_column(String(32), unique=True)
    network_id: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
