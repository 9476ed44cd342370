"""People (Entra users) and the roles assigned to them inside Ambassador."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .types import UTCDateTime

ROLES = ("employee", "lead", "coach", "admin")


class Person(Base):
    """Someone in the tenant, known by their Entra object id; personal fields are erasable."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint("preferred_locale IN ('nl', 'en')", name="locale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entra_oid: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    upn: Mapped[str | None] = mapped_column(String(320))
    email: Mapped[str | None] = mapped_column(String(320))
    preferred_locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: Set when the person asked to be erased: personal fields are cleared, aggregates stay anonymous.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan", foreign_keys="RoleAssignment.person_id"
    )


class RoleAssignment(Base):
    """A role given in the app (coach, admin) or a team lead role, optionally scoped to a team."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "role", "team_id"),
        CheckConstraint("role IN ('lead', 'coach', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="roles", foreign_keys=[person_id])


class TokenCache(Base):
    """A person's MSAL token cache, encrypted at rest (used for on-behalf-of Graph and Yammer calls)."""

    __tablename__ = "token_cache"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
