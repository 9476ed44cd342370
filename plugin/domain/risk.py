"""Streaks and the 48-hour-effect detector.

A week is *active* when the participant took at least one qualifying action in that programme week
(a post, a reply or reaction to someone else, approved evidence). The streak counts consecutive
active weeks up to now; the current week does not break it until it is over.

Risk is ``1 - prod(1 - weight)`` over the reasons that apply (a noisy-or: each reason adds to the
risk, none alone makes it 1). Reasons carry N_-marked English msgids with named placeholders; the
web layer translates them. Times are relative to the participant's own kickoff (the cohort start,
or the enrolment day for late joiners).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .messages import N_


def active_weeks(active_days: int, weeks: int = 8) -> tuple[int, ...]:
    """Week numbers (1-based) with at least one active day, from a bitmask of programme days."""
    return tuple(w + 1 for w in range(weeks) if (active_days >> (7 * w)) & 0x7F)


def current_streak(weeks: Sequence[int], current_week: int) -> int:
    """Consecutive active weeks ending at `current_week` (or the week before, if this one is still quiet)."""
    active = set(weeks)
    week = current_week if current_week in active else current_week - 1
    streak = 0
    while week in active:
        streak += 1
        week -= 1
    return streak


def longest_streak(weeks: Sequence[int]) -> int:
    """Most consecutive active weeks."""
    active = set(weeks)
    return max((current_streak(weeks, w) for w in active if w + 1 not in active), default=0)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for concern: an N_ msgid, its placeholder values and its weight."""

    msgid: str
    params: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class Risk:
    """Risk score in 0..1 with the reasons behind it (heaviest first)."""

    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class RiskInput:
    """What the detector looks at: programme days, and actions per programme day."""

    today: int  # the current programme day (clamped to the programme)
    kickoff_day: int  # the participant's first programme day
    day_actions: tuple[int, ...]  # qualifying actions per programme day
    missed: int = 0  # required missions missed
    overdue: int = 0  # required missions overdue

    def actions(self, first: int, end: int) -> int:
        """Qualifying actions on programme days [first, end)."""
        return sum(self.day_actions[max(first, 0) : max(end, 0)])

    @property
    def last_active(self) -> int | None:
        """Last programme day up to today with an action."""
        for day in range(min(self.today, len(self.day_actions) - 1), self.kickoff_day - 1, -1):
            if self.day_actions[day]:
                return day
        return None


INACTIVE_DAYS = 7
KICKOFF_HOURS = 48


def _never_started(r: RiskInput) -> Reason | None:
    if r.today - r.kickoff_day >= 3 and r.last_active is None:
        return Reason(N_("No activity since the programme started"), weight=0.6)
    return None


def _inactive(r: RiskInput) -> Reason | None:
    last = r.last_active
    if last is None or r.today - last < INACTIVE_DAYS:
        return None
    days = r.today - last
    return Reason(N_("No activity for %(days)d days"), MappingProxyType({"days": days}), min(0.7, 0.05 * days))


def _only_first_48_hours(r: RiskInput) -> Reason | None:
    start = r.kickoff_day + KICKOFF_HOURS // 24  # programme days are 24 h (23/25 around DST)
    if r.today - r.kickoff_day < 5 or not r.actions(r.kickoff_day, start):
        return None
    if r.actions(start, r.today + 1):
        return None
    return Reason(
        N_("Only active in the first %(hours)d hours after kickoff"),
        MappingProxyType({"hours": KICKOFF_HOURS}),
        0.5,
    )


def _dropped_after_kickoff_week(r: RiskInput) -> Reason | None:
    kick = r.kickoff_day
    full_weeks = (r.today - kick) // 7 - 1  # complete weeks after the kickoff week
    first = r.actions(kick, kick + 7)
    if full_weeks < 1 or not first or not r.actions(kick + KICKOFF_HOURS // 24, r.today + 1):
        return None  # too early, never started, or the 48-hour rule already says it
    later = r.actions(kick + 7, kick + 7 * (full_weeks + 1)) / full_weeks
    if later >= first / 2:
        return None
    percent = round(100 * (1 - later / first))
    return Reason(
        N_("Activity dropped by %(percent)d%% after the kickoff week"),
        MappingProxyType({"percent": percent}),
        0.3,
    )


def _missed(r: RiskInput) -> Reason | None:
    if not r.missed:
        return None
    return Reason(N_("Missed missions: %(count)d"), MappingProxyType({"count": r.missed}), min(0.5, 0.15 * r.missed))


def _overdue(r: RiskInput) -> Reason | None:
    if not r.overdue:
        return None
    return Reason(N_("Overdue missions: %(count)d"), MappingProxyType({"count": r.overdue}), min(0.3, 0.1 * r.overdue))


RISK_RULES: list[Callable[[RiskInput], Reason | None]] = [
    _never_started,
    _inactive,
    _only_first_48_hours,
    _dropped_after_kickoff_week,
    _missed,
    _overdue,
]


def assess_risk(facts: RiskInput) -> Risk:
    """Risk score and reasons for one participant."""
    reasons = [reason for rule in RISK_RULES if (reason := rule(facts)) is not None]
    calm = 1.0
    for reason in reasons:
        calm *= 1 - reason.weight
    reasons.sort(key=lambda reason: -reason.weight)
    return Risk(score=round(1 - calm, 3), reasons=tuple(reasons))
