"""Cohort calendar: when weeks open, when missions are due, and when the cohort freezes.

Rules (all in the organisation's local time, so DST changes move nothing):

* A *programme day* runs from 08:00 to 08:00 local time; day 0 starts at 08:00 on the cohort start
  date. Week n (1..8) is days 7(n-1) .. 7n-1: it opens at start + 7(n-1) days, 08:00, and its
  missions are due when the next week opens (start + 7n days, 08:00). Around a DST change a
  programme day is 23 or 25 hours long.
* A mission is *due* (status) from `due_soon_days` before its due time; *overdue* from the due time
  until `grace_days` later (its closing time); *missed* after that unless done.
* Late joiners: a participant who enrols in week w > 1 catches up on the weeks that already
  started. Catch-up week j (1 <= j < w) is due at the end of week min(8, w + j): one extra week of
  work per week, the oldest first, never later than the end of the programme. Weeks >= w keep
  their regular due dates.
* The cohort *freezes* when week 8 closes (end of week 8 + grace): events after that are ignored
  and statuses are evaluated as at the freeze time, so they no longer change.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class MissionStatus(StrEnum):
    """Where a mission stands for one participant at one moment."""

    LOCKED = "locked"
    OPEN = "open"
    DUE = "due"
    OVERDUE = "overdue"
    MISSED = "missed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Window:
    """The period in which a week's missions count, as times and as programme-day indexes."""

    week: int
    opens_at: datetime
    due_soon_at: datetime
    due_at: datetime
    closes_at: datetime
    first_day: int
    end_day: int  # exclusive: the programme day on which the mission closes


@dataclass(frozen=True, slots=True)
class CohortCalendar:
    """Calendar settings of one cohort; all methods are pure."""

    start: date
    timezone: str = "Europe/Amsterdam"
    grace_days: int = 3
    due_soon_days: int = 2
    weeks: int = 8
    open_hour: int = 8
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _bounds: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _frozen_at: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weeks < 1 or self.grace_days < 0 or self.due_soon_days < 0:
            raise ValueError("weeks must be >= 1, grace_days and due_soon_days >= 0")
        object.__setattr__(self, "_tz", ZoneInfo(self.timezone))
        bounds = tuple(self.day_start(i).timestamp() for i in range(self.days + 1))
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_frozen_at", self.day_start(self.days))

    @property
    def days(self) -> int:
        """Number of programme days from kickoff to the freeze."""
        return 7 * self.weeks + self.grace_days

    @property
    def day_bounds(self) -> tuple[float, ...]:
        """UTC timestamps of the start of days 0..days (the last one is the freeze)."""
        return self._bounds

    @property
    def starts_at(self) -> datetime:
        """Kickoff: week 1 opens."""
        return self.day_start(0)

    @property
    def frozen_at(self) -> datetime:
        """The moment the cohort freezes (week 8 closes)."""
        return self._frozen_at

    def day_start(self, day: int) -> datetime:
        """Local 08:00 (open_hour) of programme day `day` as an aware datetime."""
        local = self.start + timedelta(days=day)
        return datetime.combine(local, time(self.open_hour), tzinfo=self._tz)

    def day_index(self, at: datetime) -> int | None:
        """Programme day containing `at`, or None before kickoff or after the freeze."""
        ts = at.timestamp()
        if ts < self._bounds[0] or ts >= self._bounds[-1]:
            return None
        return bisect_right(self._bounds, ts) - 1

    def week_of(self, at: datetime) -> int:
        """Programme week containing `at`: 0 before kickoff, weeks + 1 after week 8 ended."""
        if at.timestamp() < self._bounds[0]:
            return 0
        day = self.day_index(at)
        return self.weeks + 1 if day is None or day >= 7 * self.weeks else day // 7 + 1

    def is_frozen(self, at: datetime) -> bool:
        """True once the cohort ended (after week 8 plus the grace period)."""
        return at >= self.frozen_at

    def due_weeks(self, enrolled_at: datetime | None = None) -> tuple[int, ...]:
        """For each week 1..8, the week at whose end its missions are due (late-joiner rule)."""
        joined = 1 if enrolled_at is None else min(max(self.week_of(enrolled_at), 1), self.weeks)
        return tuple(min(self.weeks, joined + week) if week < joined else week for week in range(1, self.weeks + 1))

    def windows(self, enrolled_at: datetime | None = None) -> tuple[Window, ...]:
        """The mission window of every week for a participant enrolled at `enrolled_at`."""
        return tuple(self._window(week, due_week) for week, due_week in enumerate(self.due_weeks(enrolled_at), 1))

    def _window(self, week: int, due_week: int) -> Window:
        first, due = 7 * (week - 1), 7 * due_week
        return Window(
            week=week,
            opens_at=self.day_start(first),
            due_soon_at=self.day_start(max(first, due - self.due_soon_days)),
            due_at=self.day_start(due),
            closes_at=self.day_start(due + self.grace_days),
            first_day=first,
            end_day=due + self.grace_days,
        )

    def status(self, window: Window, *, done: bool, at: datetime) -> MissionStatus:
        """Status of a mission in `window` at `at` (evaluated at the freeze time once frozen)."""
        if done:
            return MissionStatus.DONE
        at = min(at, self.frozen_at)
        if at < window.opens_at:
            return MissionStatus.LOCKED
        if at >= window.closes_at:
            return MissionStatus.MISSED
        if at >= window.due_at:
            return MissionStatus.OVERDUE
        return MissionStatus.DUE if at >= window.due_soon_at else MissionStatus.OPEN
