"""Activity-feed notifications in Teams: plan them, log each one once, send them through Graph.

Planners write one NotificationLog row per person and notification, under a key that names it (``week_unlocked:
cohort=3:week=2:person=17``), so planning again never logs it twice: :func:`plan_scheduled` follows the programme
calendar (week unlocked at the cohort's local 08:00, due soon, nudges from the 48-hour-effect detector, cohort
finished, the coach's weekly digest) and :func:`detect_events` compares badges earned and evidence reviewed with
the log. Recognitions log their own row through :func:`plugin.services.recognition.notify_recognised`. A row is
"queued", or "skipped" with the reason (muted, the weekly cap: plugin/domain/notify_rules.py).

:func:`deliver` sends queued rows whose recipient is outside quiet hours. Rows with the same payload travel
together: up to 100 recipients a ``sendActivityNotificationToRecipients`` call, a single one through
``/users/{id}/teamwork/sendActivityNotification``. Never twice: the row is committed before the call and marked
"sent" after it; a worker that dies in between leaves it queued, and the next run sends it again with the same
``chainId`` (derived from the event), which makes Teams replace the first copy rather than add a second. Rows are
locked while their call runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers do not send the same row;
on SQLite, which has no row locks, the same chainId keeps a rare overlap invisible to the recipient. Throttling
(429 once the Graph client's own Retry-After retries are spent) and outages leave the rows queued and say when to
try again; a refusal (4xx) marks the row "failed" with Graph's answer.

Texts: Teams renders the manifest's template in the recipient's Teams language; the template parameters
(mission and badge names, dates) and the preview text are ours, in the language stored on the row.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_datetime
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..adapters.graph import GraphError
from ..db import begin_write
from ..domain import notify_rules as rules
from ..domain.badges import BADGES
from ..domain.calendar import CohortCalendar
from ..domain.programme import Programme
from ..models import (
    Award,
    Badge,
    Cohort,
    Enrolment,
    Evidence,
    Mission,
    MissionProgress,
    NotificationLog,
    Organisation,
    Person,
    Recognition,
    RiskAssessment,
)
from .coach import week_summary
from .manifest import MANIFESTS_DIR, TEMPLATE_NAME
from .programmes import programme_for
from .progress import cohort_calendar
from .upsert import insert_ignore

#: The personal tab (missions, badges, recognitions) and the coach page, by the manifest tab they open.
PERSONAL_TAB = "/tabs/personal"
COACH_TAB = "/tabs/coach"
QUIET_HOURS = rules.QuietHours()
#: A row that Graph kept throttling or could not reach this many times is given up ("failed").
MAX_ATTEMPTS = 8
#: When Graph was unreachable and said nothing about when to come back.
DEFAULT_RETRY = 60.0
#: Row types logged by other services, by the manifest activity type they send.
ALIASES = {"recognised": "recognisedByLead"}
DEFAULT_TIMEZONE = "Europe/Amsterdam"
_KEY_CHUNK = 500
log = logging.getLogger(__name__)


class ActivitySender(Protocol):
    """What sending needs of the Graph client (plugin.adapters.graph.GraphClient)."""

    def send_activity_notification(self, user_id: str, payload: Mapping[str, Any]) -> None:
        """POST /users/{id}/teamwork/sendActivityNotification."""

    def send_activity_notification_to_recipients(self, user_ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """POST /teamwork/sendActivityNotificationToRecipients."""


@dataclass(frozen=True)
class Intent:
    """A notification a planner wants logged: who, which type, the template parameters and where it leads."""

    key: str
    person_id: int
    activity_type: str
    locale: str
    cohort_id: int
    template: Mapping[str, str]
    tab: str
    sub: str
    expires_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: Logged as skipped with this reason (e.g. badges folded into one notification).
    skip: str | None = None

    def row(self, now: datetime, reason: str | None) -> dict[str, Any]:
        """The NotificationLog row: queued, or skipped with `reason`."""
        parameters = {"cohort_id": self.cohort_id, "template": dict(self.template), "tab": self.tab,
                      "sub": self.sub, "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                      **self.extra}
        return {"idempotency_key": self.key, "person_id": self.person_id, "activity_type": self.activity_type,
                "locale": self.locale, "parameters": parameters, "status": "skipped" if reason else "queued",
                "error": reason, "attempts": 0, "created_at": now}


@dataclass(frozen=True)
class Payload:
    """One sendActivityNotification body (everything but the recipients)."""

    activity_type: str
    template: tuple[tuple[str, str], ...]
    preview: str
    topic: str
    web_url: str
    chain_id: int
    app_id: str

    def body(self) -> dict[str, Any]:
        """The JSON Graph takes."""
        return {
            "topic": {"source": "text", "value": self.topic, "webUrl": self.web_url},
            "activityType": self.activity_type,
            "previewText": {"content": self.preview},
            "templateParameters": [{"name": name, "value": value} for name, value in self.template],
            "chainId": self.chain_id,
            "teamsAppId": self.app_id,
        }


@dataclass
class Delivery:
    """What one delivery run did; `retry_after` (seconds) is set when Graph throttled or was unreachable."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0
    waiting: int = 0
    calls: int = 0
    retry_after: float | None = None


class _TryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


# -- planning ---------------------------------------------------------------------------------------------------
def plan_scheduled(session: Session, *, now: datetime | None = None, instance_path: str | Path | None = None) -> int:
    """Log what the programme calendar says is due now: week unlocks, due soon, nudges, cohort finished and the
    coach digest; commits. Returns how many notifications were queued."""
    now = now or datetime.now(UTC)
    org_locale = _org_locale(session)
    intents: list[Intent] = []
    for cohort in session.scalars(select(Cohort).where(Cohort.start_date <= (now + timedelta(days=1)).date())):
        intents += _cohort_intents(session, cohort, now, org_locale, instance_path)
    queued = _log(session, intents, now)
    session.commit()
    return queued


def detect_events(session: Session, *, now: datetime | None = None, instance_path: str | Path | None = None) -> int:
    """Log notifications for badges earned and evidence reviewed lately that have none yet; commits.
    Returns how many were queued."""
    now = now or datetime.now(UTC)
    org_locale = _org_locale(session)
    programmes: dict[int, Programme] = {}
    intents = _badge_intents(session, now, org_locale) + _evidence_intents(session, now, org_locale, programmes,
                                                                           instance_path)
    queued = _log(session, intents, now)
    session.commit()
    return queued


@dataclass(frozen=True)
class _CohortFacts:
    """What planning one cohort reads once: its calendar, programme, required missions and what is done."""

    cohort: Cohort
    calendar: CohortCalendar
    programme: Programme
    missions: list[Mission]
    done: set[tuple[int, int]]
    ended_at: datetime

    def open_missions(self, enrolment: Enrolment, week: int) -> list[Mission]:
        """The required missions of `week` the participant has not completed."""
        return [m for m in self.missions if m.week == week and (enrolment.id, m.id) not in self.done]

    def title(self, mission: Mission, enrolment: Enrolment, locale: str) -> str:
        """The mission's title as this participant gets it (their intake's variant), in `locale`."""
        return _mission_title(self.programme, mission.slug, enrolment.intake, locale)

    def intent(self, kind: str, detail: str, person: Person, locale: str, activity_type: str,
               template: dict[str, str], sub: str, expires_at: datetime) -> Intent:
        """A participant's notification keyed ``kind:cohort=…:[detail:]person=…``."""
        key = ":".join(part for part in (kind, f"cohort={self.cohort.id}", detail, f"person={person.id}") if part)
        return Intent(key, person.id, activity_type, locale, self.cohort.id, template, PERSONAL_TAB, sub,
                      expires_at)


def _cohort_intents(session: Session, cohort: Cohort, now: datetime, org_locale: str,
                    instance_path: str | Path | None) -> list[Intent]:
    calendar = cohort_calendar(cohort)
    ended_at = cohort.frozen_at or calendar.frozen_at
    if now < calendar.starts_at or now >= ended_at + rules.FINISHED_WINDOW:
        return []
    missions = [m for m in session.scalars(select(Mission).where(Mission.cohort_id == cohort.id)
                                           .order_by(Mission.week, Mission.id)) if not m.optional]
    done = set(session.execute(
        select(MissionProgress.enrolment_id, MissionProgress.mission_id).join(Enrolment)
        .where(Enrolment.cohort_id == cohort.id, MissionProgress.completed_at.is_not(None),
               MissionProgress.completed_at <= now)
    ).tuples())
    facts = _CohortFacts(cohort, calendar, programme_for(cohort, instance_path), missions, done, ended_at)
    risks = {r.enrolment_id: r for r in session.scalars(
        select(RiskAssessment).join(Enrolment).where(Enrolment.cohort_id == cohort.id))}
    participants = session.execute(
        select(Enrolment, Person).join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", Person.erased_at.is_(None))
        .order_by(Enrolment.id)
    ).tuples()
    week = calendar.week_of(now)
    running = now < ended_at and 1 <= week <= calendar.weeks
    intents: list[Intent] = []
    for enrolment, person in participants:
        locale = person.preferred_locale or org_locale
        if running:
            intents += _programme_intents(facts, enrolment, person, locale, risks.get(enrolment.id), now)
        if rules.finished_recently(ended_at, now):
            intents.append(facts.intent("cohort_finished", "", person, locale, "cohortFinished",
                                        {"cohortName": cohort.name}, "results", ended_at + rules.FINISHED_WINDOW))
    digest = _digest_intent(session, cohort, calendar, now, org_locale) if running else None
    return intents + ([digest] if digest else [])


def _programme_intents(facts: _CohortFacts, enrolment: Enrolment, person: Person, locale: str,
                       risk: RiskAssessment | None, now: datetime) -> list[Intent]:
    """The week's unlock, the due-soon reminder and a nudge, as far as they are due for this participant now."""
    calendar, intents = facts.calendar, []
    unlocked = rules.unlocked_week(calendar, now, enrolment.enrolled_at)
    first = [m for m in facts.missions if m.week == unlocked]
    if unlocked and first:
        intents.append(facts.intent("week_unlocked", f"week={unlocked}", person, locale, "missionWeekUnlocked",
                                    {"week": str(unlocked), "missionTitle": facts.title(first[0], enrolment, locale)},
                                    f"week:{unlocked}", calendar.day_start(7 * (unlocked - 1)) + rules.UNLOCK_WINDOW))
    window = rules.due_soon_window(calendar.windows(enrolment.enrolled_at), now)
    waiting = facts.open_missions(enrolment, window.week) if window else []
    if window and waiting:
        intents.append(facts.intent("mission_due", f"week={window.week}", person, locale, "missionDueSoon",
                                    {"missionTitle": facts.title(waiting[0], enrolment, locale),
                                     "dueDate": _format_due(window.due_at, facts.cohort.timezone, locale)},
                                    f"mission:{waiting[0].slug}", window.due_at))
    week = calendar.week_of(now)
    this_week = facts.open_missions(enrolment, week)
    if risk is not None and this_week and rules.went_quiet(str(r.get("message")) for r in risk.reasons or ()):
        intents.append(facts.intent("nudge", f"week={week}", person, locale, "inactivityNudge",
                                    {"missionTitle": facts.title(this_week[0], enrolment, locale)},
                                    f"mission:{this_week[0].slug}", calendar.day_start(7 * week)))
    return intents


def _digest_intent(session: Session, cohort: Cohort, calendar: CohortCalendar, now: datetime,
                   org_locale: str) -> Intent | None:
    """The coach's weekly digest, on the first day of weeks 2..8 (week 1 has nothing to sum up yet)."""
    week = rules.unlocked_week(calendar, now)
    coach = session.get(Person, cohort.created_by_id) if cohort.created_by_id else None
    if week is None or week < 2 or coach is None or coach.erased_at is not None:
        return None
    summary = week_summary(session, cohort, at=now)
    return Intent(f"coach_digest:cohort={cohort.id}:week={week}:person={coach.id}", coach.id, "coachDigest",
                  coach.preferred_locale or org_locale, cohort.id,
                  {"cohortName": cohort.name, "week": str(week), "atRisk": str(summary.at_risk),
                   "toReview": str(summary.evidence_pending)},
                  COACH_TAB, f"cohort:{cohort.id}", calendar.day_start(7 * week))


def _badge_intents(session: Session, now: datetime, org_locale: str) -> list[Intent]:
    """One notification per person for the badges earned lately (the first named, the rest counted)."""
    rows = session.execute(
        select(Award, Badge.slug, Person)
        .join(Badge, Badge.id == Award.badge_id)
        .join(Person, Person.id == Award.person_id)
        .join(Enrolment, (Enrolment.cohort_id == Award.cohort_id) & (Enrolment.person_id == Award.person_id))
        .where(Award.revoked_at.is_(None), Award.awarded_at >= now - rules.EVENT_WINDOW, Award.awarded_at <= now,
               Enrolment.status == "active", Person.erased_at.is_(None))
        .order_by(Award.awarded_at, Award.id)
    ).all()
    # The Ambassador badge (manual) is announced by the recognition that gave it.
    rows = [(award, slug, person) for award, slug, person in rows if slug in BADGES and not BADGES[slug].manual]
    keys = {award.id: f"badge_earned:award={award.id}:person={person.id}" for award, _slug, person in rows}
    logged = _logged(session, keys.values())
    fresh: dict[tuple[int, int], list[tuple[Award, str, Person]]] = defaultdict(list)
    for award, slug, person in rows:
        if keys[award.id] not in logged:
            fresh[(award.cohort_id, person.id)].append((award, slug, person))
    intents = []
    for (cohort_id, _person_id), earned in fresh.items():
        for index, (award, slug, person) in enumerate(earned):
            locale = person.preferred_locale or org_locale
            intents.append(Intent(keys[award.id], person.id, "badgeEarned", locale, cohort_id,
                                  {"badgeName": BADGES[slug].name.get(locale)}, PERSONAL_TAB, f"badge:{slug}",
                                  extra={"more": len(earned) - 1}, skip="combined" if index else None))
    return intents


def _evidence_intents(session: Session, now: datetime, org_locale: str, programmes: dict[int, Programme],
                      instance_path: str | Path | None) -> list[Intent]:
    """One notification per evidence approved or rejected lately."""
    rows = session.execute(
        select(Evidence, Enrolment, Person, Mission.slug)
        .join(Enrolment, Enrolment.id == Evidence.enrolment_id)
        .join(Person, Person.id == Enrolment.person_id)
        .join(Mission, Mission.id == Evidence.mission_id)
        .where(Evidence.status.in_(("approved", "rejected")), Evidence.reviewed_at >= now - rules.EVENT_WINDOW,
               Evidence.reviewed_at <= now, Enrolment.status == "active", Person.erased_at.is_(None))
        .order_by(Evidence.reviewed_at, Evidence.id)
    ).all()
    keys = {evidence.id: f"evidence_reviewed:evidence={evidence.id}:person={person.id}"
            for evidence, _e, person, _s in rows}
    logged = _logged(session, keys.values())
    intents = []
    for evidence, enrolment, person, slug in rows:
        if keys[evidence.id] in logged:
            continue
        if enrolment.cohort_id not in programmes:
            programmes[enrolment.cohort_id] = programme_for(enrolment.cohort, instance_path)
        locale = person.preferred_locale or org_locale
        activity_type = "evidenceApproved" if evidence.status == "approved" else "evidenceRejected"
        title = _mission_title(programmes[enrolment.cohort_id], slug, enrolment.intake, locale)
        intents.append(Intent(keys[evidence.id], person.id, activity_type, locale, enrolment.cohort_id,
                              {"missionTitle": title}, PERSONAL_TAB, f"mission:{slug}"))
    return intents


def _log(session: Session, intents: Sequence[Intent], now: datetime) -> int:
    """Log the intents not logged yet, in order: queued, or skipped (muted, over the cap); returns how many queued."""
    logged = _logged(session, (i.key for i in intents))
    fresh = list({i.key: i for i in reversed(intents) if i.key not in logged}.values())[::-1]
    if not fresh:
        return 0
    people = sorted({i.person_id for i in fresh})
    capped = [t for t in rules.SETTING_OF if rules.counts_towards_cap(t)]
    recent: Counter[int] = Counter(dict(session.execute(
        select(NotificationLog.person_id, func.count()).where(
            NotificationLog.person_id.in_(people), NotificationLog.activity_type.in_(capped),
            NotificationLog.status.in_(("queued", "sent")), NotificationLog.created_at > now - rules.CAP_WINDOW)
        .group_by(NotificationLog.person_id)
    ).all()))
    muted = _muted(session, {(i.cohort_id, i.person_id) for i in fresh})
    rows = []
    for intent in fresh:
        reason = intent.skip or rules.refusal(intent.activity_type, muted=muted.get((intent.cohort_id,
                                                                                     intent.person_id)),
                                              sent_recently=recent[intent.person_id])
        if reason is None and rules.counts_towards_cap(intent.activity_type):
            recent[intent.person_id] += 1
        rows.append(intent.row(now, reason))
    insert_ignore(session, NotificationLog, rows)
    return sum(1 for row in rows if row["status"] == "queued")


# -- delivery ---------------------------------------------------------------------------------------------------
def queued_count(session: Session) -> int:
    """How many notifications wait to be sent."""
    return session.scalar(select(func.count()).select_from(NotificationLog)
                          .where(NotificationLog.status == "queued")) or 0


def deliver(session: Session, graph: ActivitySender, *, app_id: str, now: datetime | None = None,
            limit: int = 2000) -> Delivery:
    """Send queued notifications whose recipients are outside quiet hours, batched; commits after every call.

    `app_id` is the Teams app id (the manifest's ``id``), which the deep links open.
    """
    now = now or datetime.now(UTC)
    result = Delivery()
    begin_write(session)  # SQLite: reads that are then written must hold the write lock (see db.begin_write)
    rows = list(session.scalars(select(NotificationLog).where(NotificationLog.status == "queued")
                                .order_by(NotificationLog.id).limit(limit)))
    context = _Context.load(session, rows)
    groups: dict[Payload, list[tuple[int, str]]] = defaultdict(list)
    for row in rows:
        try:
            outcome = _prepare(row, context, now, app_id)
        except (KeyError, TypeError, ValueError) as exc:  # a malformed row must not hold up every other one
            log.warning("notification %s cannot be prepared: %r", row.id, exc)
            row.status, row.error = "failed", f"cannot be prepared: {exc!r}"[:500]
            result.failed += 1
            continue
        if outcome is None:
            result.waiting += 1
        elif isinstance(outcome, str):
            row.status, row.error = "skipped", outcome
            result.skipped += 1
        else:
            groups[outcome[0]].append((row.id, outcome[1]))
    session.commit()
    try:
        for payload, members in groups.items():
            for chunk in rules.batches(members):
                _send(session, graph, payload, dict(chunk), now, result)
    except _TryLater as later:
        result.retry_after = later.seconds
    return result


def _send(session: Session, graph: ActivitySender, payload: Payload, users: dict[int, str], now: datetime,
          result: Delivery) -> None:
    """One Graph call for rows `users` (row id → user id) that are still queued; a refused batch goes one by one."""
    # On SQLite, where rows cannot be locked, the database's write lock keeps a second worker from sending the same
    # rows, and lets this one mark them sent afterwards; PostgreSQL locks the rows (FOR UPDATE SKIP LOCKED).
    begin_write(session)
    rows = list(session.scalars(select(NotificationLog).where(
        NotificationLog.id.in_(sorted(users)), NotificationLog.status == "queued")
        .order_by(NotificationLog.id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)))  # what another worker wrote, not what this session remembers
    if not rows:
        session.commit()
        return
    body = payload.body()
    try:
        if len(rows) == 1:
            graph.send_activity_notification(users[rows[0].id], body)
        else:
            graph.send_activity_notification_to_recipients([users[row.id] for row in rows], body)
    except (GraphError, httpx.TransportError) as exc:
        result.calls += 1
        retryable = not isinstance(exc, GraphError) or exc.retryable
        if not retryable and len(rows) > 1:
            session.commit()  # release the rows: each is tried on its own, so one refusal stops no one else
            for row_id in [row.id for row in rows]:
                _send(session, graph, payload, {row_id: users[row_id]}, now, result)
            return
        for row in rows:
            row.attempts += 1
            row.error = _describe(exc)
            if not retryable or row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                result.failed += 1
        session.commit()
        if retryable:
            wait = exc.retry_after if isinstance(exc, GraphError) else None
            raise _TryLater(wait if wait is not None else DEFAULT_RETRY) from exc
        return
    result.calls += 1
    for row in rows:
        row.status, row.sent_at, row.error = "sent", now, None
        row.attempts += 1
    result.sent += len(rows)
    session.commit()


@dataclass
class _Context:
    """What preparing a batch of rows reads, loaded once."""

    people: dict[int, Person]
    cohorts: dict[int, Cohort]
    muted: dict[tuple[int, int], list[str]]
    recognitions: dict[int, Recognition]
    revoked: set[int]
    timezone: str

    @classmethod
    def load(cls, session: Session, rows: Sequence[NotificationLog]) -> _Context:
        """Load the people, cohorts, mutes and recognitions `rows` refer to."""
        person_ids = {row.person_id for row in rows if row.person_id is not None}
        pairs = {(int(row.parameters.get("cohort_id") or 0), row.person_id) for row in rows if row.person_id}
        recognition_ids = {int(row.parameters["recognition_id"]) for row in rows
                           if row.parameters.get("recognition_id") is not None}
        recognitions = _by_id(session, Recognition, recognition_ids)
        revoked = set(session.scalars(select(Recognition.id).join(Award, Award.id == Recognition.award_id).where(
            Recognition.id.in_(recognition_ids), Award.revoked_at.is_not(None)))) if recognition_ids else set()
        people = _by_id(session, Person, person_ids | {r.from_person_id for r in recognitions.values()
                                                         if r.from_person_id})
        return cls(people, _by_id(session, Cohort, {c for c, _p in pairs}), _muted(session, pairs), recognitions,
                   revoked, session.scalar(select(Organisation.timezone).limit(1)) or DEFAULT_TIMEZONE)


def _prepare(row: NotificationLog, context: _Context, now: datetime, app_id: str) -> tuple[Payload, str] | str | None:
    """(payload, user id) to send now; a reason to skip the row; or None while its recipient has quiet hours."""
    person = context.people.get(row.person_id or 0)
    if person is None or person.erased_at is not None:
        return "recipient gone"
    activity_type = ALIASES.get(row.activity_type, row.activity_type)
    if activity_type not in rules.SETTING_OF:
        return f"unknown activity type {row.activity_type}"
    parameters = dict(row.parameters or {})
    cohort_id = int(parameters.get("cohort_id") or 0)
    if rules.is_muted(activity_type, context.muted.get((cohort_id, person.id))):
        return rules.MUTED
    expires = parameters.get("expires_at")
    if expires and now >= datetime.fromisoformat(expires):
        return "expired"
    cohort = context.cohorts.get(cohort_id)
    if QUIET_HOURS.is_quiet(now, cohort.timezone if cohort else context.timezone):
        return None
    if activity_type == "recognisedByLead" and "template" not in parameters:  # logged by the recognition service
        recognition = context.recognitions.get(int(parameters.get("recognition_id") or 0))
        if recognition is None or recognition.id in context.revoked:
            return "recognition withdrawn"
        lead = context.people.get(recognition.from_person_id or 0)
        with force_locale(row.locale):
            name = lead.display_name if lead is not None and lead.display_name else _("Your team lead")
        parameters |= {"template": {"leadName": name}, "tab": PERSONAL_TAB, "sub": f"recognition:{recognition.id}"}
    template: dict[str, str] = parameters["template"]
    with force_locale(row.locale):
        preview = rules.clip(_preview(activity_type, template, parameters))
    entity, label = _tab(parameters["tab"], row.locale)
    payload = Payload(activity_type, tuple(sorted(template.items())), preview, label,
                      deep_link(app_id, entity, label, parameters.get("sub")),
                      rules.chain_id(rules.event_key(row.idempotency_key)), app_id)
    return payload, person.entra_oid


def _preview(activity_type: str, template: Mapping[str, str], parameters: Mapping[str, Any]) -> str:
    """The preview text (ours, not the manifest's template) in the current locale."""
    mission = template.get("missionTitle", "")
    if activity_type == "missionWeekUnlocked":
        return _("Week %(week)s is open. Start with: %(mission)s", week=template["week"], mission=mission)
    if activity_type == "missionDueSoon":
        return _("%(mission)s is due %(date)s. A few minutes is enough to finish it.", mission=mission,
                 date=template["dueDate"])
    if activity_type == "evidenceApproved":
        return _("Your evidence for %(mission)s was approved, so the mission counts. Well done!", mission=mission)
    if activity_type == "evidenceRejected":
        return _("Your evidence for %(mission)s was not approved yet. Read the note and try again.",
                 mission=mission)
    if activity_type == "badgeEarned":
        more = int(parameters.get("more") or 0)
        if more:
            return ngettext("You earned the %(badge)s badge and %(num)d other badge.",
                            "You earned the %(badge)s badge and %(num)d other badges.", more,
                            badge=template["badgeName"])
        return _("You earned the %(badge)s badge. Keep sharing what you know!", badge=template["badgeName"])
    if activity_type == "recognisedByLead":
        if parameters.get("kind") == "kudos":
            return _("%(lead)s sent you a kudos for sharing what you know.", lead=template["leadName"])
        return _("%(lead)s recognised you as an ambassador. Thank you for sharing what you know!",
                 lead=template["leadName"])
    if activity_type == "inactivityNudge":
        return _("It has been quiet for a while. This week's mission takes only a few minutes: %(mission)s",
                 mission=mission)
    if activity_type == "cohortFinished":
        return _("%(cohort)s has finished. Thank you for taking part! See your badges and what you achieved.",
                 cohort=template["cohortName"])
    at_risk = ngettext("%(num)d participant at risk", "%(num)d participants at risk", int(template["atRisk"]))
    to_review = ngettext("%(num)d piece of evidence to review", "%(num)d pieces of evidence to review",
                         int(template["toReview"]))
    return _("Week %(week)s of %(cohort)s: %(at_risk)s, %(to_review)s.", week=template["week"],
             cohort=template["cohortName"], at_risk=at_risk, to_review=to_review)


# -- links and texts --------------------------------------------------------------------------------------------
def deep_link(app_id: str, entity_id: str, label: str, sub_entity: str | None = None) -> str:
    """A Teams deep link that opens the app's static tab `entity_id` (at `sub_entity`, which the tab receives)."""
    query = {"label": label}
    if sub_entity:
        query["context"] = json.dumps({"subEntityId": sub_entity}, separators=(",", ":"))
    path = f"{quote(app_id)}/{quote(entity_id)}"
    return f"https://teams.microsoft.com/l/entity/{path}?{urlencode(query, quote_via=quote)}"


@cache
def _static_tabs() -> dict[str, tuple[str, dict[str, str]]]:
    """The manifest's static tabs by page path: (entity id, name by language), as Teams shows them."""
    manifest = json.loads((MANIFESTS_DIR / TEMPLATE_NAME).read_text(encoding="utf-8"))
    translations: dict[str, dict[str, Any]] = {}
    for extra in (manifest.get("localizationInfo") or {}).get("additionalLanguages") or ():
        translations[str(extra["languageTag"]).split("-")[0].lower()] = json.loads(
            (MANIFESTS_DIR / extra["file"]).read_text(encoding="utf-8"))
    tabs = {}
    for index, tab in enumerate(manifest.get("staticTabs") or ()):
        path = "/" + str(tab.get("contentUrl", "")).split("}", 1)[-1].lstrip("/").split("?", 1)[0]
        names = {"en": str(tab.get("name", tab["entityId"]))}
        names |= {lang: str(doc[f"staticTabs[{index}].name"]) for lang, doc in translations.items()
                  if f"staticTabs[{index}].name" in doc}
        tabs[path] = (str(tab["entityId"]), names)
    return tabs


def _tab(path: str, locale: str) -> tuple[str, str]:
    """(entity id, label in `locale`) of the static tab that shows page `path`."""
    entity, names = _static_tabs()[path]
    return entity, names.get(locale, names["en"])


def _format_due(due_at: datetime, timezone: str, locale: str) -> str:
    """A due moment as people read it in `locale`, in the cohort's time zone (e.g. "maandag 14 september, 08:00")."""
    return format_datetime(due_at, "EEEE d MMMM, HH:mm", tzinfo=ZoneInfo(timezone), locale=locale)


def _mission_title(programme: Programme, slug: str, intake: Mapping[str, object] | None, locale: str) -> str:
    try:
        return programme.mission(slug).for_intake(intake or {}).title.get(locale)
    except KeyError:
        return slug


# -- queries ----------------------------------------------------------------------------------------------------
def _org_locale(session: Session) -> str:
    return session.scalar(select(Organisation.default_locale).limit(1)) or "nl"


def _logged(session: Session, keys: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _KEY_CHUNK):
        found |= set(session.scalars(select(NotificationLog.idempotency_key).where(
            NotificationLog.idempotency_key.in_(wanted[start:start + _KEY_CHUNK]))))
    return found


def _muted(session: Session, pairs: Iterable[tuple[int, int | None]]) -> dict[tuple[int, int], list[str]]:
    """Muted notification kinds by (cohort id, person id)."""
    by_cohort: dict[int, set[int]] = defaultdict(set)
    for cohort_id, person_id in pairs:
        if person_id is not None:
            by_cohort[cohort_id].add(person_id)
    muted = {}
    for cohort_id, people in by_cohort.items():
        for person_id, kinds in session.execute(select(Enrolment.person_id, Enrolment.muted_notifications).where(
                Enrolment.cohort_id == cohort_id, Enrolment.person_id.in_(sorted(people)))):
            muted[(cohort_id, person_id)] = list(kinds or ())
    return muted


def _by_id(session: Session, model: type, ids: Iterable[int]) -> dict[int, Any]:
    wanted = sorted(set(ids))
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(wanted)))} if wanted else {}


def _describe(error: Exception) -> str:
    if isinstance(error, GraphError):
        return f"{error.status} {error.code}: {error.message}"[:500]
    return f"{type(error).__name__}: {error}"[:500]
