"""Streaks and the 48-hour-effect detector."""

from datetime import UTC, date, timedelta

import pytest

from plugin.domain.calendar import CohortCalendar
from plugin.domain.engine import ProgrammeEngine
from plugin.domain.events import ActivityEvent
from plugin.domain.messages import N_
from plugin.domain.programme import default_programme
from plugin.domain.risk import RiskInput, active_weeks, assess_risk, current_streak, longest_streak


@pytest.mark.parametrize(
    ("days", "weeks"),
    [
        ([], ()),
        ([0, 1, 6], (1,)),
        ([6, 7], (1, 2)),
        ([0, 14, 21, 55], (1, 3, 4, 8)),
        ([56, 58], ()),  # grace days after week 8 are no programme week
    ],
)
def test_active_weeks_from_days(days: list[int], weeks: tuple[int, ...]) -> None:
    assert active_weeks(sum(1 << d for d in days)) == weeks


@pytest.mark.parametrize(
    ("weeks", "now", "streak", "longest"),
    [
        ((), 3, 0, 0),
        ((1, 2, 3), 3, 3, 3),
        ((1, 2, 3), 4, 3, 3),  # week 4 is still running: the streak is not broken yet
        ((1, 2, 3), 5, 0, 3),  # week 4 passed without activity
        ((1, 2, 4, 5, 6, 7), 7, 4, 4),
        ((1, 3, 5, 7), 8, 1, 1),
        ((2,), 2, 1, 1),
    ],
)
def test_streaks(weeks: tuple[int, ...], now: int, streak: int, longest: int) -> None:
    assert current_streak(weeks, now) == streak
    assert longest_streak(weeks) == longest


def facts(today: int, active: dict[int, int], kickoff: int = 0, **kw: int) -> RiskInput:
    actions = [0] * 59
    for day, n in active.items():
        actions[day] = n
    return RiskInput(today=today, kickoff_day=kickoff, day_actions=tuple(actions), **kw)


NEVER = N_("No activity since the programme started")
INACTIVE = N_("No activity for %(days)d days")
FIRST_48 = N_("Only active in the first %(hours)d hours after kickoff")
DROPPED = N_("Activity dropped by %(percent)d%% after the kickoff week")
MISSED = N_("Missed missions: %(count)d")
OVERDUE = N_("Overdue missions: %(count)d")


@pytest.mark.parametrize(
    ("risk_input", "reasons"),
    [
        (facts(1, {}), {}),  # too early to tell
        (facts(3, {}), {NEVER: {}}),
        (facts(10, dict.fromkeys(range(11), 2)), {}),  # steady
        (facts(4, {0: 5, 1: 3}), {}),  # the 48-hour rule waits a few days
        (facts(5, {0: 5, 1: 3}), {FIRST_48: {"hours": 48}}),
        (facts(9, {0: 5, 1: 3}), {FIRST_48: {"hours": 48}, INACTIVE: {"days": 8}}),
        (facts(9, {0: 5, 1: 3, 2: 1}), {INACTIVE: {"days": 7}}),
        (facts(14, {0: 6, 3: 4, 8: 1, 13: 1}), {DROPPED: {"percent": 80}}),
        (facts(14, {0: 6, 3: 4, 8: 3, 10: 3}), {}),  # 6 of 10: less than half is the threshold
        (facts(30, {5: 1, 12: 1}), {INACTIVE: {"days": 18}, DROPPED: {"percent": 67}}),
        (facts(10, dict.fromkeys(range(11), 1), missed=2, overdue=1), {MISSED: {"count": 2}, OVERDUE: {"count": 1}}),
        (facts(25, {21: 4, 22: 2}, kickoff=21), {}),  # late joiner: kicked off on day 21
        (facts(26, {21: 4, 22: 2}, kickoff=21), {FIRST_48: {"hours": 48}}),
    ],
)
def test_risk_reasons(risk_input: RiskInput, reasons: dict[str, dict[str, int]]) -> None:
    risk = assess_risk(risk_input)
    assert {r.msgid: dict(r.params) for r in risk.reasons} == reasons
    assert 0 <= risk.score <= 1
    assert (risk.score > 0) is bool(reasons)


def test_reason_msgids_format_with_their_params() -> None:
    risk = assess_risk(facts(30, {5: 1, 12: 1}, missed=3, overdue=2))
    for reason in risk.reasons:
        assert reason.msgid % dict(reason.params)
    assert [r.weight for r in risk.reasons] == sorted((r.weight for r in risk.reasons), reverse=True)


def test_more_reasons_mean_more_risk() -> None:
    quiet = assess_risk(facts(20, {0: 3})).score
    worse = assess_risk(facts(20, {0: 3}, missed=3, overdue=2)).score
    assert 0 < quiet < worse < 1


def test_engine_flags_the_48_hour_effect() -> None:
    cal = CohortCalendar(date(2025, 9, 1), "Europe/Amsterdam")
    start = cal.starts_at.astimezone(UTC)
    engine = ProgrammeEngine(default_programme(), cal)
    for i, hours in enumerate((1, 5, 30, 40)):
        engine.apply(ActivityEvent(f"k:{i}", 7, "reaction_given", start + timedelta(hours=hours), target_author_id=8))
    at_day_3 = engine.snapshot(7, at=start + timedelta(days=3))
    at_day_6 = engine.snapshot(7, at=start + timedelta(days=6))
    assert FIRST_48 not in {r.msgid for r in at_day_3.risk.reasons}
    assert FIRST_48 in {r.msgid for r in at_day_6.risk.reasons}
    assert at_day_6.risk.score > at_day_3.risk.score
    assert at_day_6.active_weeks == (1,) and at_day_6.streak == 1
