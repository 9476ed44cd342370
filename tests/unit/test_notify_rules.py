"""Notification rules: kinds and mutes, quiet hours (across DST), the weekly cap, reminders, chains and batches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from plugin.domain import notify_rules as rules
from plugin.domain.calendar import CohortCalendar
from plugin.domain.risk import RiskInput, assess_risk
from plugin.services.manifest import activity_types
from plugin.services.settings import NOTIFICATION_TYPES

AMS = ZoneInfo("Europe/Amsterdam")
CALENDAR = CohortCalendar(date(2026, 9, 7), "Europe/Amsterdam")  # Monday 7 September 2026


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMS)


def test_every_manifest_type_has_one_setting_and_every_setting_a_type() -> None:
    assert set(rules.SETTING_OF) == set(activity_types())
    assert {kind for kind in rules.SETTING_OF.values() if kind} == set(NOTIFICATION_TYPES)
    assert rules.SETTING_OF["coachDigest"] is None  # a coach's working tool, not a participant's setting


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (local(2026, 9, 14, 8, 0), False),
        (local(2026, 9, 14, 19, 59), False),
        (local(2026, 9, 14, 20, 0), True),
        (local(2026, 9, 15, 3, 0), True),
        (local(2026, 9, 15, 7, 59), True),
        (local(2026, 9, 19, 11, 0), False),  # Saturday: the programme runs seven days a week
        (local(2026, 10, 25, 7, 30), True),  # the night DST ends
        (local(2026, 3, 29, 8, 0), False),  # the morning DST starts
    ],
)
def test_quiet_hours_are_local_evenings_and_nights(moment: datetime, quiet: bool) -> None:
    assert rules.QuietHours().is_quiet(moment.astimezone(UTC), "Europe/Amsterdam") is quiet


def test_quiet_hours_end_at_eight_the_next_morning_or_after_the_weekend() -> None:
    evening = local(2026, 9, 18, 21, 0).astimezone(UTC)  # a Friday
    assert rules.QuietHours().next_send_time(evening, "Europe/Amsterdam") == local(2026, 9, 19, 8, 0)
    assert rules.QuietHours(weekend=True).next_send_time(evening, "Europe/Amsterdam") == local(2026, 9, 21, 8, 0)
    early = local(2026, 9, 16, 6, 0).astimezone(UTC)
    assert rules.QuietHours().next_send_time(early, "Europe/Amsterdam") == local(2026, 9, 16, 8, 0)
    noon = local(2026, 9, 16, 12, 0)
    assert rules.QuietHours().next_send_time(noon, "Europe/Amsterdam") == noon
    # In another time zone it is another hour.
    assert not rules.QuietHours().is_quiet(local(2026, 9, 16, 21, 0), "America/New_York")


def test_muted_kinds_are_refused_whatever_the_count() -> None:
    assert rules.refusal("badgeEarned", muted=["badge_earned"], sent_recently=0) == rules.MUTED
    assert rules.refusal("evidenceRejected", muted=["evidence_reviewed"], sent_recently=0) == rules.MUTED
    assert rules.refusal("evidenceApproved", muted=["nudge"], sent_recently=0) is None
    assert rules.refusal("coachDigest", muted=list(NOTIFICATION_TYPES), sent_recently=9) is None


@pytest.mark.parametrize("activity_type", ["missionWeekUnlocked", "missionDueSoon", "badgeEarned", "inactivityNudge"])
def test_the_programmes_own_notifications_stop_at_three_a_week(activity_type: str) -> None:
    assert rules.refusal(activity_type, muted=None, sent_recently=rules.WEEKLY_CAP - 1) is None
    assert rules.refusal(activity_type, muted=None, sent_recently=rules.WEEKLY_CAP) == rules.CAPPED


@pytest.mark.parametrize("activity_type",
                         ["evidenceApproved", "evidenceRejected", "recognisedByLead", "cohortFinished", "coachDigest"])
def test_answers_recognition_and_once_only_news_are_never_capped(activity_type: str) -> None:
    assert not rules.counts_towards_cap(activity_type)
    assert rules.refusal(activity_type, muted=[], sent_recently=50) is None


def test_an_unknown_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not an activity type"):
        rules.refusal("missionDue", muted=[], sent_recently=0)


def test_a_week_unlocks_on_its_first_programme_day_for_those_who_were_there() -> None:
    opens = local(2026, 9, 14, 8, 0)
    assert rules.unlocked_week(CALENDAR, opens - timedelta(minutes=1)) is None  # still week 1, day 7
    assert rules.unlocked_week(CALENDAR, opens) == 2
    assert rules.unlocked_week(CALENDAR, opens + timedelta(hours=23, minutes=59)) == 2
    assert rules.unlocked_week(CALENDAR, opens + timedelta(days=1)) is None
    assert rules.unlocked_week(CALENDAR, local(2026, 9, 7, 9, 0)) == 1
    assert rules.unlocked_week(CALENDAR, local(2026, 9, 7, 7, 0)) is None  # before kickoff
    assert rules.unlocked_week(CALENDAR, local(2026, 11, 2, 9, 0)) is None  # after week 8
    # Someone who joined after the week opened hears about the next one.
    assert rules.unlocked_week(CALENDAR, opens + timedelta(hours=2), joined=opens + timedelta(hours=1)) is None
    assert rules.unlocked_week(CALENDAR, opens + timedelta(hours=2), joined=opens - timedelta(days=2)) == 2


def test_due_soon_runs_from_the_calendars_due_soon_time_to_the_due_time() -> None:
    windows = CALENDAR.windows()
    week2 = windows[1]
    assert rules.due_soon_window(windows, week2.due_soon_at - timedelta(seconds=1)) is None
    assert rules.due_soon_window(windows, week2.due_soon_at) == week2
    assert rules.due_soon_window(windows, week2.due_at - timedelta(seconds=1)) == week2
    assert rules.due_soon_window(windows, week2.due_at) is None
    assert week2.due_soon_at == local(2026, 9, 19, 8, 0)  # two days before week 3 opens


def test_cohort_finished_is_news_for_a_week() -> None:
    ended = CALENDAR.frozen_at
    assert not rules.finished_recently(ended, ended - timedelta(seconds=1))
    assert rules.finished_recently(ended, ended)
    assert not rules.finished_recently(ended, ended + rules.FINISHED_WINDOW)


def test_a_nudge_follows_the_detectors_quiet_spell_reasons_only() -> None:
    never = assess_risk(RiskInput(today=10, kickoff_day=0, day_actions=(0,) * 20))
    faded = assess_risk(RiskInput(today=12, kickoff_day=0, day_actions=(2, 1) + (0,) * 18))
    dropped = assess_risk(RiskInput(today=16, kickoff_day=0, day_actions=(4, 4, 4, 4, 4, 4, 4, 0, 0, 1) + (0,) * 10))
    behind = assess_risk(RiskInput(today=16, kickoff_day=0, day_actions=(1,) * 20, missed=2, overdue=1))
    for risk in (never, faded, dropped):
        assert risk.reasons and rules.went_quiet(r.msgid for r in risk.reasons)
    assert {r.msgid for r in behind.reasons} and not rules.went_quiet(r.msgid for r in behind.reasons)
    seen = {r.msgid for risk in (never, faded, dropped) for r in risk.reasons}
    assert rules.QUIET_REASONS <= seen  # every quiet reason is one the detector really gives


def test_an_event_gives_one_chain_for_everyone_it_reaches() -> None:
    key = "week_unlocked:cohort=3:week=2:person=17"
    assert rules.event_key(key) == "week_unlocked:cohort=3:week=2"
    assert rules.chain_id(rules.event_key(key)) == rules.chain_id(rules.event_key(key.replace("=17", "=18")))
    assert rules.chain_id("week_unlocked:cohort=3:week=2") != rules.chain_id("week_unlocked:cohort=3:week=3")
    assert 0 <= rules.chain_id("cohort_finished:cohort=3") < 2**63


def test_batches_hold_at_most_one_hundred() -> None:
    assert [len(b) for b in rules.batches(list(range(150)))] == [100, 50]
    assert rules.batches(list(range(100))) == [list(range(100))]
    assert rules.batches([]) == []
    with pytest.raises(ValueError):
        rules.batches([1], 0)


def test_previews_are_cut_at_150_characters() -> None:
    assert rules.clip("short  and\nsweet") == "short and sweet"
    cut = rules.clip("word " * 60)
    assert len(cut) <= 150 and cut.endswith("…")
    assert len(rules.clip("x" * 150)) == 150
