"""The programme engine: streams activity events into per-participant ledgers, snapshots state.

State is a function of the *set* of events applied: each participant's `Ledger` only keeps
commutative aggregates (see ledger.py), repeats of an `event_id` are ignored, and everything that
depends on more than one event (caps, duplicates, bursts, missions, badges, risk) is derived at
snapshot time. So replaying a log twice, or in any order, gives the same snapshots.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from .badges import evaluate_badges
from .calendar import CohortCalendar, MissionStatus, Window
from .events import ActivityEvent
from .ledger import Ledger
from .missions import MISSION_TYPES, Context, Progress, Scope, Source, norm_topic, url_platform
from .programme import Mission, Programme
from .risk import Risk, RiskInput, active_weeks, assess_risk, current_streak, longest_streak
from .scoring import DEFAULT_RULES, ScoringRules, score_days


@dataclass(frozen=True, slots=True)
class PlannedMission:
    """A mission as one participant gets it: variant chosen, params personalised, window set."""

    week: int
    mission: Mission
    params: Mapping[str, object]
    window: Window
    scope: Scope


@dataclass(frozen=True, slots=True)
class MissionState:
    """A participant's standing on one mission."""

    slug: str
    week: int
    type: str
    source: Source
    optional: bool
    points: int
    variant: str | None
    status: MissionStatus
    progress: Progress
    due_at: datetime
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class PersonState:
    """Everything the tabs, coaches and rankings need about one participant."""

    person_id: int
    points: int
    action_points: int
    mission_points: int
    missions: tuple[MissionState, ...]
    badges: frozenset[str]
    active_weeks: tuple[int, ...]
    streak: int
    longest_streak: int
    risk: Risk
    posts: int
    knowledge_posts: int
    personal_posts: int
    external_shares: int
    top_topic_posts: int
    distinct_colleagues: int
    busiest_thread: int
    reactions_received: int
    replies_received: int
    required_done: int
    required_total: int
    last_scoring_day: int | None  # for the ranking tie-break: earlier is better
    day_points: tuple[tuple[int, str, int], ...]  # (programme day, action, points), capped
    frozen: bool


@dataclass(frozen=True, slots=True)
class Enrolment:
    """When a participant joined, their intake answers and the resulting mission plan."""

    enrolled_at: datetime | None
    intake: Mapping[str, object]
    plan: tuple[PlannedMission, ...]


class ProgrammeEngine:
    """Runs one cohort of a programme; feed it events with `apply`/`apply_many`, read `snapshot`."""

    def __init__(
        self,
        programme: Programme,
        calendar: CohortCalendar,
        *,
        rules: ScoringRules = DEFAULT_RULES,
        places: Mapping[str, str] | None = None,
    ) -> None:
        if len(programme.weeks) != calendar.weeks:
            raise ValueError(f"programme has {len(programme.weeks)} weeks, calendar {calendar.weeks}")
        self.programme = programme
        self.calendar = calendar
        self.rules = rules
        self.places: Mapping[str, str] = MappingProxyType(dict(places or {}))
        self._bounds = calendar.day_bounds
        self._ledgers: dict[int, Ledger] = {}
        self._enrolments: dict[int, Enrolment] = {}
        self._default = self._enrolment(None, {})

    def enrol(
        self, person_id: int, *, enrolled_at: datetime | None = None, intake: Mapping[str, object] | None = None
    ) -> None:
        """Register a participant's enrolment time and intake answers (any time, before or after events).

        Participants never enrolled get the defaults: enrolled at kickoff, no intake answers.
        """
        self._enrolments[person_id] = self._enrolment(enrolled_at, dict(intake or {}))

    def _enrolment(self, enrolled_at: datetime | None, intake: Mapping[str, object]) -> Enrolment:
        windows = self.calendar.windows(enrolled_at)
        context = Context(intake=intake, places=self.places)
        plan = []
        for week in self.programme.weeks:
            window = windows[week.number - 1]
            for base in week.missions:
                mission = base.for_intake(intake)
                kind = MISSION_TYPES[mission.type]
                first = 0 if kind.whole_programme else window.first_day
                plan.append(
                    PlannedMission(
                        week=week.number,
                        mission=mission,
                        params=kind.personalise(mission.params, context),
                        window=window,
                        scope=Scope(mission.slug, first, window.end_day),
                    )
                )
        return Enrolment(enrolled_at, MappingProxyType(dict(intake)), tuple(plan))

    def apply(self, event: ActivityEvent) -> bool:
        """Fold one event in; False if it was a repeat or falls outside kickoff..freeze."""
        return self.apply_many((event,)) == 1

    def apply_many(self, events: Iterable[ActivityEvent]) -> int:
        """Fold a stream of events in; returns how many were new and inside the programme."""
        bounds = self._bounds
        first, end = bounds[0], bounds[-1]
        ledgers = self._ledgers
        days, rules = self.calendar.days, self.rules
        added = 0
        for event in events:
            ts = event.occurred_at.timestamp()
            if not first <= ts < end:
                continue  # before kickoff or after the freeze: the cohort does not see it
            ledger = ledgers.get(event.person_id)
            if ledger is None:
                ledger = ledgers[event.person_id] = Ledger(days)
            day = bisect_right(bounds, ts) - 1
            added += ledger.add(event, ts, day, ts - bounds[day], rules)
        return added

    def people(self) -> list[int]:
        """Participants with activity or an enrolment, sorted."""
        return sorted(self._ledgers.keys() | self._enrolments.keys())

    def snapshot(self, person_id: int, *, at: datetime) -> PersonState:
        """State of one participant as seen at `at` (statuses and risk), from all applied events."""
        ledger = self._ledgers.get(person_id) or Ledger(self.calendar.days)
        enrolment = self._enrolments.get(person_id, self._default)
        cal, rules = self.calendar, self.rules
        today = self._today(at)

        missions = tuple(self._mission_state(ledger, planned, at) for planned in enrolment.plan)
        required = [m for m in missions if not m.optional]
        required_done = sum(1 for m in required if m.status is MissionStatus.DONE)

        records = ledger.records()
        own = [r for r in records if not r.broadcast]
        knowledge = [r for r in own if r.knowledge_sharing]
        topics = Counter(t for r in knowledge for t in {norm_topic(t) for t in r.topics})
        day_actions = list(ledger.activity)
        for r in records:
            day_actions[r.day] += 1
        active_days = sum(1 << d for d, n in enumerate(day_actions) if n)
        weeks = active_weeks(active_days, cal.weeks)

        day_points = score_days(ledger.day_counts(rules), rules)
        action_points = sum(points for _day, _action, points in day_points)
        mission_points = sum(m.points for m in missions if m.status is MissionStatus.DONE)
        evidence = list(ledger.evidence_records(None))
        checkins = ledger.checkin_days(None)
        scoring_days = [d for d, _a, _p in day_points] + [r.day for r in evidence]
        scoring_days += [d for d in range(cal.days) if checkins >> d & 1]

        state = PersonState(
            person_id=person_id,
            points=action_points + mission_points,
            action_points=action_points,
            mission_points=mission_points,
            missions=missions,
            badges=frozenset(),
            active_weeks=weeks,
            streak=current_streak(weeks, min(cal.week_of(at), cal.weeks)),
            longest_streak=longest_streak(weeks),
            risk=self._risk(enrolment, today, tuple(day_actions), required),
            posts=len(records),
            knowledge_posts=len(knowledge),
            personal_posts=sum(1 for r in own if r.own_words >= rules.personal_note_words),
            external_shares=len({r.url for r in evidence if r.url and url_platform(r.url)}),
            top_topic_posts=max(topics.values(), default=0),
            distinct_colleagues=len(ledger.colleagues),
            busiest_thread=max(map(len, ledger.threads.values()), default=0),
            reactions_received=ledger.reactions_received,
            replies_received=ledger.replies_received,
            required_done=required_done,
            required_total=len(required),
            last_scoring_day=max(scoring_days, default=None),
            day_points=day_points,
            frozen=cal.is_frozen(at),
        )
        return replace(state, badges=frozenset(evaluate_badges(state)))

    def _risk(
        self, enrolment: Enrolment, today: int, day_actions: tuple[int, ...], required: list[MissionState]
    ) -> Risk:
        kickoff = 0  # late joiners are judged from their own first day
        if enrolment.enrolled_at is not None:
            kickoff = min(max(self._today(enrolment.enrolled_at), 0), self.calendar.days - 1)
        return assess_risk(
            RiskInput(
                today=max(today, 0),
                kickoff_day=kickoff,
                day_actions=day_actions,
                missed=sum(1 for m in required if m.status is MissionStatus.MISSED),
                overdue=sum(1 for m in required if m.status is MissionStatus.OVERDUE),
            )
        )

    def _today(self, at: datetime) -> int:
        """Programme day of `at`: -1 before kickoff, `days` once frozen."""
        return bisect_right(self._bounds, at.timestamp()) - 1

    def _mission_state(self, ledger: Ledger, planned: PlannedMission, at: datetime) -> MissionState:
        mission = planned.mission
        kind = MISSION_TYPES[mission.type]
        progress = kind.measure(ledger, planned.params, planned.scope)
        return MissionState(
            slug=mission.slug,
            week=planned.week,
            type=mission.type,
            source=kind.source,
            optional=mission.optional,
            points=mission.points,
            variant=mission.variant,
            status=self.calendar.status(planned.window, done=progress.done, at=at),
            progress=progress,
            due_at=planned.window.due_at,
            closes_at=planned.window.closes_at,
        )
