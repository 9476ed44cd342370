"""Cohort calendar: week opening, due dates, statuses across DST, late joiners, freeze."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugin.domain.calendar import CohortCalendar, MissionStatus

AMS = ZoneInfo("Europe/Amsterdam")
# Monday 17 March 2025; DST starts Sunday 30 March (day 13), inside week 2.
SPRING = CohortCalendar(date(2025, 3, 17), "Europe/Amsterdam", grace_days=3, due_soon_days=2)
# Monday 13 October 2025; DST ends Sunday 26 October (day 13), inside week 2.
AUTUMN = CohortCalendar(date(2025, 10, 13), "Europe/Amsterdam", grace_days=3, due_soon_days=2)


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=AMS, fold=fold)


@pytest.mark.parametrize(
    ("calendar", "week", "opens_utc"),
    [
        (SPRING, 1, datetime(2025, 3, 17, 7, tzinfo=UTC)),  # CET: 08:00 local = 07:00 UTC
        (SPRING, 2, datetime(2025, 3, 24, 7, tzinfo=UTC)),
        (SPRING, 3, datetime(2025, 3, 31, 6, tzinfo=UTC)),  # CEST after the change: 06:00 UTC
        (SPRING, 8, datetime(2025, 5, 5, 6, tzinfo=UTC)),
        (AUTUMN, 2, datetime(2025, 10, 20, 6, tzinfo=UTC)),
        (AUTUMN, 3, datetime(2025, 10, 27, 7, tzinfo=UTC)),  # back to CET
    ],
)
def test_week_opens_at_local_eight(calendar: CohortCalendar, week: int, opens_utc: datetime) -> None:
    window = calendar.windows()[week - 1]
    assert window.opens_at == opens_utc
    assert window.opens_at.astimezone(AMS).hour == 8
    assert window.due_at == calendar.day_start(7 * week)


@pytest.mark.parametrize(
    ("calendar", "day", "hours"),
    [(SPRING, 12, 23), (SPRING, 13, 24), (SPRING, 0, 24), (AUTUMN, 12, 25), (AUTUMN, 13, 24)],
)
def test_programme_day_length_follows_dst(calendar: CohortCalendar, day: int, hours: int) -> None:
    bounds = calendar.day_bounds
    assert bounds[day + 1] - bounds[day] == hours * 3600


@pytest.mark.parametrize(
    ("at", "done", "expected"),
    [
        (local(2025, 3, 24, 7, 59), False, MissionStatus.DUE),  # week 1: due soon, last minute
        (local(2025, 3, 17, 7, 59), False, MissionStatus.LOCKED),
        (local(2025, 3, 17, 8, 0), False, MissionStatus.OPEN),
        (local(2025, 3, 22, 7, 59), False, MissionStatus.OPEN),
        (local(2025, 3, 22, 8, 0), False, MissionStatus.DUE),
        (local(2025, 3, 24, 8, 0), False, MissionStatus.OVERDUE),
        (local(2025, 3, 27, 7, 59), False, MissionStatus.OVERDUE),
        (local(2025, 3, 27, 8, 0), False, MissionStatus.MISSED),
        (local(2025, 3, 27, 8, 0), True, MissionStatus.DONE),
        (local(2025, 3, 10, 8, 0), True, MissionStatus.DONE),
    ],
)
def test_week_one_statuses(at: datetime, done: bool, expected: MissionStatus) -> None:
    assert SPRING.status(SPRING.windows()[0], done=done, at=at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # week 2 runs across the spring DST change; due Monday 31 March 08:00 CEST
        (local(2025, 3, 24, 7, 59), MissionStatus.LOCKED),
        (local(2025, 3, 24, 8, 0), MissionStatus.OPEN),
        (local(2025, 3, 29, 7, 59), MissionStatus.OPEN),
        (local(2025, 3, 29, 8, 0), MissionStatus.DUE),
        (local(2025, 3, 30, 2, 30), MissionStatus.DUE),  # a wall time that does not exist (DST gap)
        (local(2025, 3, 31, 7, 59), MissionStatus.DUE),
        (datetime(2025, 3, 31, 6, 0, tzinfo=UTC), MissionStatus.OVERDUE),  # 08:00 CEST
        (datetime(2025, 3, 31, 5, 59, tzinfo=UTC), MissionStatus.DUE),
        (local(2025, 4, 3, 8, 0), MissionStatus.MISSED),
    ],
)
def test_statuses_across_spring_dst(at: datetime, expected: MissionStatus) -> None:
    assert SPRING.status(SPRING.windows()[1], done=False, at=at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2025, 10, 27, 6, 59, tzinfo=UTC), MissionStatus.DUE),  # 07:59 CET
        (datetime(2025, 10, 27, 7, 0, tzinfo=UTC), MissionStatus.OVERDUE),  # 08:00 CET
        (local(2025, 10, 26, 2, 30, fold=1), MissionStatus.DUE),  # the repeated hour
    ],
)
def test_statuses_across_autumn_dst(at: datetime, expected: MissionStatus) -> None:
    assert AUTUMN.status(AUTUMN.windows()[1], done=False, at=at) is expected


@pytest.mark.parametrize(
    ("enrolled_at", "due_weeks"),
    [
        (None, (1, 2, 3, 4, 5, 6, 7, 8)),
        (local(2025, 3, 1, 12), (1, 2, 3, 4, 5, 6, 7, 8)),  # before kickoff
        (local(2025, 3, 17, 8), (1, 2, 3, 4, 5, 6, 7, 8)),  # at kickoff
        (local(2025, 3, 25, 9), (3, 2, 3, 4, 5, 6, 7, 8)),  # week 2: week 1 due end of week 3
        (local(2025, 4, 8, 12), (5, 6, 7, 4, 5, 6, 7, 8)),  # week 4: one extra week per missed week
        (local(2025, 5, 1, 12), (8, 8, 8, 8, 8, 8, 7, 8)),  # week 7: capped at the programme end
        (local(2025, 5, 20, 12), (8, 8, 8, 8, 8, 8, 8, 8)),  # after the end
    ],
)
def test_late_joiner_catch_up_due_weeks(enrolled_at: datetime | None, due_weeks: tuple[int, ...]) -> None:
    assert SPRING.due_weeks(enrolled_at) == due_weeks


def test_late_joiner_windows_keep_opening_and_extend_closing() -> None:
    regular, late = SPRING.windows(), SPRING.windows(local(2025, 4, 8, 12))
    assert late[0].opens_at == regular[0].opens_at
    assert late[0].due_at == regular[4].due_at
    assert late[0].closes_at == regular[4].due_at + timedelta(days=3)
    assert late[0].end_day == 7 * 5 + 3
    assert SPRING.status(late[0], done=False, at=local(2025, 4, 9, 12)) is MissionStatus.OPEN


def test_freeze_after_week_eight_and_grace() -> None:
    frozen_at = SPRING.frozen_at
    assert frozen_at == local(2025, 5, 15, 8)  # 8 weeks + 3 days after kickoff, 08:00 local
    assert not SPRING.is_frozen(frozen_at - timedelta(seconds=1))
    assert SPRING.is_frozen(frozen_at)
    assert SPRING.day_index(frozen_at) is None
    assert SPRING.day_index(frozen_at - timedelta(seconds=1)) == SPRING.days - 1
    later = frozen_at + timedelta(days=200)
    for window in SPRING.windows():
        assert SPRING.status(window, done=False, at=later) is SPRING.status(window, done=False, at=frozen_at)
        assert SPRING.status(window, done=False, at=later) is MissionStatus.MISSED


@pytest.mark.parametrize(
    ("at", "week"),
    [
        (local(2025, 3, 17, 7, 59), 0),
        (local(2025, 3, 17, 8), 1),
        (local(2025, 3, 31, 7, 59), 2),
        (local(2025, 5, 12, 7, 59), 8),
        (local(2025, 5, 12, 8), 9),
        (local(2025, 9, 1), 9),
    ],
)
def test_week_of(at: datetime, week: int) -> None:
    assert SPRING.week_of(at) == week


@pytest.mark.parametrize("kwargs", [{"weeks": 0}, {"grace_days": -1}, {"due_soon_days": -2}])
def test_invalid_settings_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        CohortCalendar(date(2025, 1, 6), **kwargs)
