"""Programme engine: replay properties (idempotence, order independence, caps) and cohort rules."""

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.domain.calendar import CohortCalendar, MissionStatus
from plugin.domain.engine import PersonState, ProgrammeEngine
from plugin.domain.events import KINDS, ActivityEvent
from plugin.domain.programme import default_programme
from plugin.domain.scoring import DEFAULT_RULES

CAL = CohortCalendar(date(2025, 3, 17), "Europe/Amsterdam", grace_days=3)  # DST change in week 2
START = CAL.starts_at.astimezone(UTC)
PEOPLE = (1, 2, 3)
COMMUNITY = "19:community@thread.tacv2"


def new_engine() -> ProgrammeEngine:
    return ProgrammeEngine(default_programme(), CAL, places={"programme-community": COMMUNITY})


@st.composite
def event_logs(draw: st.DrawFn, max_events: int = 30) -> list[ActivityEvent]:
    """Event logs that make collisions likely: few people, hashes, threads, minutes; some replays."""
    n = draw(st.integers(0, max_events))
    log = []
    for i in range(n):
        kind = draw(st.sampled_from(sorted(KINDS)))
        day = draw(st.integers(-2, CAL.days + 2))  # a few fall outside the programme
        minute = draw(st.sampled_from((0, 1, 3, 7, 9, 30, 600, 1430)))
        log.append(
            ActivityEvent(
                event_id=f"p:{i}",
                person_id=draw(st.sampled_from(PEOPLE)),
                kind=kind,
                occurred_at=START + timedelta(days=day, minutes=minute),
                place_id=draw(st.sampled_from((None, COMMUNITY, "elsewhere"))),
                target_author_id=draw(st.sampled_from((None, *PEOPLE, 4))),
                from_person_id=draw(st.sampled_from((None, *PEOPLE, 5, 6))),
                thread_id=draw(st.sampled_from((None, "t1", "t2"))),
                knowledge_sharing=draw(st.booleans()),
                broadcast=draw(st.booleans()),
                own_words=draw(st.sampled_from((0, 2, 5, 12, 400))),
                topics=draw(st.sampled_from(((), ("lean",), ("#Lean", "esg")))),
                content_hash=draw(st.sampled_from((None, "a", "b"))),
                mission_slug=draw(st.sampled_from((None, "kickoff-checkin", "first-external", "starting-point"))),
                url=draw(st.sampled_from((None, "https://www.linkedin.com/posts/1", "https://x.com/a/status/2"))),
                metrics=draw(st.sampled_from(((), (("connections", 10), ("followers", 3))))),
            )
        )
    replays = draw(st.lists(st.sampled_from(log), max_size=5)) if log else []
    return log + replays


MOMENTS = (START + timedelta(days=3), START + timedelta(days=30, hours=5), CAL.frozen_at + timedelta(days=1))


def snapshots(eng: ProgrammeEngine) -> dict[tuple[int, datetime], PersonState]:
    return {(p, at): eng.snapshot(p, at=at) for p in PEOPLE for at in MOMENTS}


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(log=event_logs())
def test_applying_twice_equals_applying_once(log: list[ActivityEvent]) -> None:
    once = new_engine()
    once.apply_many(log)
    twice = new_engine()
    twice.apply_many(log)
    assert twice.apply_many(log) == 0
    assert snapshots(twice) == snapshots(once)


@PROPERTY
@given(data=st.data(), log=event_logs())
def test_any_arrival_order_gives_the_same_state(data: st.DataObject, log: list[ActivityEvent]) -> None:
    reference = new_engine()
    reference.apply_many(log)
    shuffled = new_engine()
    for event in data.draw(st.permutations(log)):
        shuffled.apply(event)
    assert snapshots(shuffled) == snapshots(reference)


@PROPERTY
@given(log=event_logs(max_events=60))
def test_daily_caps_are_never_exceeded(log: list[ActivityEvent]) -> None:
    eng = new_engine()
    eng.apply_many(log)
    for person in PEOPLE:
        state = eng.snapshot(person, at=CAL.frozen_at)
        for _day, action, points in state.day_points:
            assert 0 < points <= DEFAULT_RULES.actions[action].daily_cap
        assert state.action_points == sum(p for _d, _a, p in state.day_points)
        assert state.points == state.action_points + state.mission_points


@PROPERTY
@given(log=event_logs())
def test_apply_many_counts_new_events_inside_the_programme(log: list[ActivityEvent]) -> None:
    inside = {e.event_id for e in log if CAL.starts_at <= e.occurred_at < CAL.frozen_at}
    assert new_engine().apply_many(log) == len(inside)


_n = iter(range(10**9))


def ev(kind: str, day: float, person: int = 1, **kw) -> ActivityEvent:
    return ActivityEvent(f"e:{next(_n)}", person, kind, START + timedelta(days=day, hours=1), **kw)


def status(state: PersonState, slug: str) -> MissionStatus:
    return next(m.status for m in state.missions if m.slug == slug)


def test_events_outside_kickoff_and_freeze_are_ignored() -> None:
    eng = new_engine()
    assert not eng.apply(ActivityEvent("early", 1, "post", START - timedelta(seconds=1)))
    assert not eng.apply(ActivityEvent("late", 1, "post", CAL.frozen_at.astimezone(UTC)))
    assert eng.apply(ActivityEvent("first", 1, "post", START))
    assert not eng.apply(ActivityEvent("first", 1, "post", START))


def test_frozen_cohort_no_longer_changes() -> None:
    eng = new_engine()
    eng.apply_many([ev("post", 2, place_id=COMMUNITY, knowledge_sharing=True, own_words=30)])
    at_freeze = eng.snapshot(1, at=CAL.frozen_at)
    eng.apply(ev("post", CAL.days + 1, knowledge_sharing=True, own_words=30))
    later = eng.snapshot(1, at=CAL.frozen_at + timedelta(days=90))
    assert at_freeze.frozen and later.frozen
    assert later == at_freeze
    assert not eng.snapshot(1, at=CAL.frozen_at - timedelta(seconds=1)).frozen


def test_late_joiner_gets_catch_up_window() -> None:
    post = ev("post", 23, place_id=COMMUNITY, own_words=40)  # day 23 is in week 4
    on_time, late = new_engine(), new_engine()
    late.enrol(1, enrolled_at=START + timedelta(days=22))
    for eng in (on_time, late):
        eng.apply(post)
    at = START + timedelta(days=24)
    assert status(on_time.snapshot(1, at=at), "introduce-yourself") is MissionStatus.MISSED
    late_state = late.snapshot(1, at=at)
    assert status(late_state, "introduce-yourself") is MissionStatus.DONE
    assert status(late_state, "kickoff-checkin") is MissionStatus.OPEN  # due at the end of week 5
    assert not late_state.risk.reasons  # kickoff counts from enrolment for late joiners


def test_intake_picks_the_variant_and_evidence_must_match_its_platform() -> None:
    eng = new_engine()
    eng.enrol(1, intake={"platforms": ["linkedin"]})
    eng.enrol(2, intake={"platforms": ["linkedin"]})
    eng.apply(ev("evidence_approved", 15, mission_slug="first-external", url="https://www.linkedin.com/posts/a"))
    eng.apply(ev("evidence_approved", 15, person=2, mission_slug="first-external", url="https://x.com/a/status/1"))
    at = START + timedelta(days=16)
    mission = next(m for m in eng.snapshot(1, at=at).missions if m.slug == "first-external")
    assert (mission.variant, mission.status) == ("linkedin", MissionStatus.DONE)
    assert status(eng.snapshot(2, at=at), "first-external") is MissionStatus.OPEN


def test_enrolment_may_arrive_after_the_events() -> None:
    log = [ev("post", 1, place_id=COMMUNITY, own_words=20), ev("reply", 16, target_author_id=2, own_words=9)]
    before, after = new_engine(), new_engine()
    before.enrol(1, enrolled_at=START + timedelta(days=15), intake={"platforms": ["x"]})
    before.apply_many(log)
    after.apply_many(log)
    after.enrol(1, enrolled_at=START + timedelta(days=15), intake={"platforms": ["x"]})
    at = START + timedelta(days=20)
    assert before.snapshot(1, at=at) == after.snapshot(1, at=at)


def test_snapshot_of_a_full_good_week() -> None:
    eng = new_engine()
    eng.apply_many(
        [
            ev("checkin", 0.1, mission_slug="kickoff-checkin"),
            ev("post", 0.2, place_id=COMMUNITY, knowledge_sharing=True, own_words=30, topics=("lean",)),
            *(ev("reaction_given", 1 + i / 10, target_author_id=10 + i) for i in range(3)),
            ev("evidence_approved", 2, mission_slug="starting-point", metrics=(("connections", 300),)),
        ]
    )
    state = eng.snapshot(1, at=START + timedelta(days=3))
    statuses = {m.slug: m.status for m in state.missions if m.week == 1}
    assert statuses == {
        "kickoff-checkin": MissionStatus.DONE,
        "starting-point": MissionStatus.DONE,  # no intake says "x": the LinkedIn-only variant
        "introduce-yourself": MissionStatus.DONE,
        "first-likes": MissionStatus.DONE,
    }
    assert state.mission_points == 20 + 15 + 20 + 5
    assert state.action_points == 10 + 2  # one knowledge post; three reactions on one day (1, 1.9, 2.7 -> 2)
    assert state.points == state.action_points + state.mission_points
    assert {"first-share", "personal-touch"} <= state.badges
    assert state.active_weeks == (1,) and state.streak == 1
    assert state.required_total == sum(1 for _w, m in default_programme().missions() if not m.optional)
    assert state.last_scoring_day == 2
    assert status(state, "first-note") is MissionStatus.LOCKED


def test_unknown_person_has_an_empty_state() -> None:
    state = new_engine().snapshot(99, at=START + timedelta(days=10))
    assert (state.points, state.badges, state.active_weeks, state.last_scoring_day) == (0, frozenset(), (), None)
    assert state.risk.score > 0  # nothing done ten days in


def test_people_lists_active_and_enrolled() -> None:
    eng = new_engine()
    eng.enrol(5)
    eng.apply(ev("post", 1, person=3))
    assert eng.people() == [3, 5]


def test_programme_and_calendar_must_agree_on_weeks() -> None:
    with pytest.raises(ValueError, match="8 weeks, calendar 6"):
        ProgrammeEngine(default_programme(), CohortCalendar(date(2025, 1, 6), weeks=6))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "tweet"}, "unknown event kind"),
        ({"occurred_at": datetime(2025, 3, 20, 10)}, "aware UTC"),
    ],
)
def test_events_are_validated(kwargs: dict, message: str) -> None:
    base = {"event_id": "x", "person_id": 1, "kind": "post", "occurred_at": START}
    with pytest.raises(ValueError, match=message):
        ActivityEvent(**{**base, **kwargs})


DOMAIN = Path(__file__).resolve().parents[2] / "plugin" / "domain"
FORBIDDEN = {"flask", "sqlalchemy", "msal", "httpx", "requests", "msgraph", "huey", "redis", "jwt", "psycopg"}


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if node.level == 0 else []
            assert node.level <= 1, f"{path}: imports from outside plugin.domain"
        else:
            continue
        for name in names:
            if name == "plugin.domain" or name.startswith("plugin.domain."):
                continue
            assert name.split(".")[0] not in FORBIDDEN | {"plugin"}, f"{path} imports {name}"
