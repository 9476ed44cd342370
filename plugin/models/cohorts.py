"""Cohorts: a group of participants running the 8-week programme from a start date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .types import JSONDoc, UTCDateTime


class Cohort(Base):
    """One run of a programme (by id and version) from a start date in the organisation's time zone."""

    __tablename__ = "cohort"
    __table_args__ = (
        CheckConstraint("weeks BETWEEN 1 AND 52", name="weeks"),
        CheckConstraint("grace_days >= 0", name="grace_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer, default=8)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    grace_days: Mapped[int] = mapped_column(Integer, default=3)
    programme_id: Mapped[str] = mapped_column(String(64))
    programme_version: Mapped[str] = mapped_column(String(32))
    #: Weeks of history before the start that count as the baseline in the impact report.
    baseline_weeks: Mapped[int] = mapped_column(Integer, default=8)
    #: The channel (Graph id) or community (Yammer group id) that the programme's "programme-community" means.
    programme_place: Mapped[str | None] = mapped_column(String(128))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the cohort ended; results no longer change after this.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="cohort", cascade="all, delete-orphan")


class CohortTeam(Base):
    """A Teams team taking part in a cohort."""

    __tablename__ = "cohort_team"
    __table_args__ = (UniqueConstraint("cohort_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))


class CohortCommunity(Base):
    """A Viva Engage community whose posts count for a cohort."""

    __tablename__ = "cohort_community"
    __table_args__ = (UniqueConstraint("cohort_id", "community_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id", ondelete="CASCADE"))


class Enrolment(Base):
    """A person's opt-in participation in a cohort, with intake answers and self-reported network sizes."""

    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("cohort_id", "person_id"),
        CheckConstraint("status IN ('invited', 'active', 'withdrawn')", name="status"),
        CheckConstraint("ranking_visibility IN ('off', 'pseudonymous', 'named')", name="ranking_visibility"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohort.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="invited")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Opt-in: when and to which version of the consent text the person agreed.
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    intake: Mapped[dict | None] = mapped_column(JSONDoc)
    intake_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    baseline_connections: Mapped[int | None] = mapped_column(Integer)
    baseline_followers: Mapped[int | None] = mapped_column(Integer)
    final_connections: Mapped[int | None] = mapped_column(Integer)
    final_followers: Mapped[int | None] = mapped_column(Integer)
    ranking_visibility: Mapped[str] = mapped_column(String(16), default="off")
    #: Notification types the person switched off, e.g. ["nudge"].
    muted_notifications: Mapped[list | None] = mapped_column(JSONDoc)

    cohort: Mapped[Cohort] = relationship(back_populates="enrolments")


class CheckIn(Base):
    """A coach's check-in note with a participant (coaching beyond the tool)."""

    __tablename__ = "check_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    #: The coach-confirmed mission this check-in completes, if any.
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("mission.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskAssessment(Base):
    """The latest 48-hour-effect risk of a participant, with reasons (message ids and parameters)."""

    __tablename__ = "risk_assessment"

    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float]
    reasons: Mapped[list] = mapped_column(JSONDoc)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
