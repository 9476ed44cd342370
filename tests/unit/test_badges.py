"""Badges: the registry, each rule at its threshold, manual badges and revocation."""

from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from itertools import count

import pytest

from plugin.domain.badges import BADGES, badges_to_revoke, evaluate_badges
from plugin.domain.calendar import CohortCalendar
from plugin.domain.engine import ProgrammeEngine
from plugin.domain.events import ActivityEvent
from plugin.domain.programme import default_programme


@dataclass(frozen=True)
class Facts:
    posts: int = 0
    external_shares: int = 0
    personal_posts: int = 0
    busiest_thread: int = 0
    distinct_colleagues: int = 0
    top_topic_posts: int = 0
    longest_streak: int = 0
    required_done: int = 0
    required_total: int = 20


NONE = Facts()


def test_registry_has_every_badge_in_both_languages() -> None:
    assert set(BADGES) == {
        "first-share",
        "personal-touch",
        "conversation-starter",
        "connector",
        "expert-voice",
        "steady",
        "programme-graduate",
        "ambassador",
    }
    for badge in BADGES.values():
        for text in (badge.name, badge.description, badge.criteria):
            assert text.en.strip() and text.nl.strip() and text.en != text.nl, badge.slug


@pytest.mark.parametrize(
    ("facts", "earned"),
    [
        (NONE, set()),
        (replace(NONE, posts=1), {"first-share"}),
        (replace(NONE, external_shares=1), {"first-share"}),
        (replace(NONE, personal_posts=1), {"personal-touch"}),
        (replace(NONE, busiest_thread=4), set()),
        (replace(NONE, busiest_thread=5), {"conversation-starter"}),
        (replace(NONE, distinct_colleagues=9), set()),
        (replace(NONE, distinct_colleagues=10), {"connector"}),
        (replace(NONE, top_topic_posts=4), set()),
        (replace(NONE, top_topic_posts=5), {"expert-voice"}),
        (replace(NONE, longest_streak=3), set()),
        (replace(NONE, longest_streak=4), {"steady"}),
        (replace(NONE, required_done=15), set()),
        (replace(NONE, required_done=16), {"programme-graduate"}),  # 80 % of 20
        (replace(NONE, required_done=0, required_total=0), set()),
        (Facts(1, 1, 1, 5, 10, 5, 8, 20, 20), set(BADGES) - {"ambassador"}),
    ],
)
def test_badge_rules(facts: Facts, earned: set[str]) -> None:
    assert evaluate_badges(facts) == earned


def test_ambassador_is_manual_only() -> None:
    assert BADGES["ambassador"].manual
    assert not any(b.manual for slug, b in BADGES.items() if slug != "ambassador")
    assert "ambassador" not in evaluate_badges(Facts(99, 99, 99, 99, 99, 99, 99, 20, 20))


def test_revocation_helper_keeps_manual_and_still_earned_badges() -> None:
    awarded = {"first-share", "connector", "ambassador", "retired-badge"}
    assert badges_to_revoke(awarded, {"first-share"}) == {"connector"}
    assert badges_to_revoke(awarded, awarded) == set()


def test_evaluation_is_idempotent() -> None:
    facts = replace(NONE, posts=3, longest_streak=4)
    assert evaluate_badges(facts) == evaluate_badges(facts) | evaluate_badges(facts)


_ids = count()
CAL = CohortCalendar(date(2025, 9, 1), "Europe/Amsterdam")
START = CAL.starts_at.astimezone(UTC)


def received(thread: str, sender: int, hours: int = 1) -> ActivityEvent:
    return ActivityEvent(
        f"b:{next(_ids)}",
        1,
        "reply_received",
        START + timedelta(hours=hours),
        thread_id=thread,
        from_person_id=sender,
    )


@pytest.mark.parametrize(
    ("events", "earned"),
    [
        ([received("p1", s) for s in (2, 3, 4, 5, 6)], True),
        ([received("p1", s) for s in (2, 3, 4, 5, 5, 5)], False),  # distinct repliers only
        ([received("p1", s) for s in (2, 3, 4, 5, 1)], False),  # own replies do not count
        ([received("p1", s) for s in (2, 3, 4)] + [received("p2", s) for s in (5, 6)], False),  # one post
        ([received("p1", s, h) for h, s in enumerate(range(2, 30))], True),
    ],
)
def test_conversation_starter_from_events(events: list[ActivityEvent], earned: bool) -> None:
    engine = ProgrammeEngine(default_programme(), CAL)
    engine.apply_many(events)
    state = engine.snapshot(1, at=START + timedelta(days=2))
    assert ("conversation-starter" in state.badges) is earned
