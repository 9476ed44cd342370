"""When an activity-feed notification may go out: kinds, mutes, quiet hours, the weekly cap, reminders, batches.

Choices (and why):

* **Kinds.** Each activity type of the app manifest belongs to one of the kinds a participant can mute in their
  settings (:data:`SETTING_OF`); the coach digest is a coach's working tool and cannot be muted there.
* **Quiet hours.** Nothing is sent between 20:00 and 08:00 in the cohort's time zone: a notification that
  becomes due then waits until 08:00 (it is not dropped, unless it no longer makes sense by then: a reminder
  whose due time passed). Weekends are not quiet by default, because the programme calendar runs seven days a
  week and a week's "due soon" can start on a Saturday; :class:`QuietHours` can include them.
* **Weekly cap.** At most :data:`WEEKLY_CAP` notifications a person in any 7 days. Answers to the person's own
  action or someone else's (evidence approved or rejected, recognised by a lead), the once-only "cohort
  finished" and the coach digest do not count and are never capped: they are expected, rare and personal.
  The programme's own rhythm (week unlocked, due soon, nudge) comes first; badge news fills what is left.
* **Reminders.** A week's unlock goes out on the first programme day of that week (the week opens at the
  cohort's local 08:00), never for a week that opened before the person joined. "Due soon" starts when the
  calendar says a week's missions are due soon and stops at the due time; one per week. A nudge goes to someone
  the 48-hour-effect detector saw go quiet (:data:`QUIET_REASONS`), at most once a programme week.
* **Idempotence.** Every notification has a key; a key without its ``:person=…`` part names the event, and the
  event gives the Graph ``chainId``: sending the same event to a person again replaces the earlier
  notification in their feed instead of adding a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from .calendar import CohortCalendar, Window
from .messages import N_

T = TypeVar("T")

#: Activity types (declared in the app manifest) by the setting a participant mutes them with (None: not mutable).
SETTING_OF: dict[str, str | None] = {
    "missionWeekUnlocked": "week_unlocked",
    "missionDueSoon": "mission_due",
    "evidenceApproved": "evidence_reviewed",
    "evidenceRejected": "evidence_reviewed",
    "badgeEarned": "badge_earned",
    "recognisedByLead": "recognised",
    "inactivityNudge": "nudge",
    "cohortFinished": "cohort_finished",
    "coachDigest": None,
}
#: Types that never count towards the weekly cap and are never held back by it.
UNCAPPED = frozenset({"evidenceApproved", "evidenceRejected", "recognisedByLead", "cohortFinished", "coachDigest"})
WEEKLY_CAP = 3
CAP_WINDOW = timedelta(days=7)
#: Recipients per sendActivityNotificationToRecipients call (Graph's limit).
BATCH_SIZE = 100
#: Graph shows the first 150 characters of previewText; longer text is cut with an ellipsis.
PREVIEW_LIMIT = 150
#: How long after a week opens its unlock may still go out (a worker that was down longer skips it).
UNLOCK_WINDOW = timedelta(days=1)
#: Badges earned and evidence reviewed this long ago still get their notification (when none was sent yet).
EVENT_WINDOW = timedelta(days=7)
#: How long after the cohort ends the "finished" notification may still go out.
FINISHED_WINDOW = timedelta(days=7)
#: The 48-hour-effect detector's reasons (plugin/domain/risk.py) that mean someone went quiet.
QUIET_REASONS = frozenset({
    N_("No activity since the programme started"),
    N_("No activity for %(days)d days"),
    N_("Only active in the first %(hours)d hours after kickoff"),
    N_("Activity dropped by %(percent)d%% after the kickoff week"),
})
MUTED = "muted"
CAPPED = "weekly cap"


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours (and weekend days) in which nothing is sent."""

    starts: time = time(20)
    ends: time = time(8)
    weekend: bool = False

    def is_quiet(self, at: datetime, timezone: str) -> bool:
        """True when `at` falls in quiet hours in `timezone`."""
        local = at.astimezone(ZoneInfo(timezone))
        if self.weekend and local.weekday() >= 5:
            return True
        return local.time() >= self.starts or local.time() < self.ends

    def next_send_time(self, at: datetime, timezone: str) -> datetime:
        """`at` itself outside quiet hours, else the moment quiet hours end (as an aware local datetime)."""
        zone = ZoneInfo(timezone)
        local = at.astimezone(zone)
        if not self.is_quiet(at, timezone):
            return local
        day = local.date() if local.time() < self.ends else local.date() + timedelta(days=1)
        while self.weekend and day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, self.ends, tzinfo=zone)


def is_muted(activity_type: str, muted: Iterable[str] | None) -> bool:
    """True when the person switched this kind of notification off in their settings."""
    setting = SETTING_OF.get(activity_type)
    return setting is not None and setting in set(muted or ())


def counts_towards_cap(activity_type: str) -> bool:
    """True for the types the weekly cap limits."""
    return activity_type not in UNCAPPED


def refusal(activity_type: str, *, muted: Iterable[str] | None, sent_recently: int) -> str | None:
    """Why this notification must not be sent (:data:`MUTED`, :data:`CAPPED`), or None when it may.

    `sent_recently` is how many capped notifications the person got (or has queued) in the last 7 days.
    """
    if activity_type not in SETTING_OF:
        raise ValueError(f"{activity_type!r} is not an activity type of the app manifest")
    if is_muted(activity_type, muted):
        return MUTED
    if counts_towards_cap(activity_type) and sent_recently >= WEEKLY_CAP:
        return CAPPED
    return None


def unlocked_week(calendar: CohortCalendar, now: datetime, joined: datetime | None = None) -> int | None:
    """The week whose unlock is due at `now`: opened less than :data:`UNLOCK_WINDOW` ago, after `joined`."""
    week = calendar.week_of(now)
    if not 1 <= week <= calendar.weeks:
        return None
    opens_at = calendar.day_start(7 * (week - 1))
    if now - opens_at >= UNLOCK_WINDOW or (joined is not None and joined > opens_at):
        return None
    return week


def due_soon_window(windows: Sequence[Window], now: datetime) -> Window | None:
    """The earliest week whose missions are due soon at `now` (from due-soon time until the due time)."""
    return next((w for w in sorted(windows, key=lambda w: w.due_at) if w.due_soon_at <= now < w.due_at), None)


def finished_recently(ended_at: datetime, now: datetime) -> bool:
    """True from the moment the cohort ended for :data:`FINISHED_WINDOW`."""
    return ended_at <= now < ended_at + FINISHED_WINDOW


def went_quiet(reasons: Iterable[str]) -> bool:
    """True when the detector's reasons (msgids) say the person went quiet: the cue for a nudge."""
    return any(reason in QUIET_REASONS for reason in reasons)


def event_key(idempotency_key: str) -> str:
    """The event a notification key belongs to: the key without its ``:person=…`` part."""
    return ":".join(part for part in idempotency_key.split(":") if not part.startswith("person="))


def chain_id(event: str) -> int:
    """A stable positive Int64 for an event (Graph's ``chainId``: a resend replaces, it does not add)."""
    return int.from_bytes(hashlib.sha256(event.encode()).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def batches(items: Sequence[T], size: int = BATCH_SIZE) -> list[list[T]]:
    """`items` in order, in lists of at most `size`."""
    if size < 1:
        raise ValueError("size must be at least 1")
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def clip(text: str, limit: int = PREVIEW_LIMIT) -> str:
    """`text` cut to at most `limit` characters (ending in an ellipsis when it was cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
