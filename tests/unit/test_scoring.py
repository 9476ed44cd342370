"""Scoring: diminishing returns, daily caps and the anti-gaming rules."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.domain.events import ActivityEvent
from plugin.domain.ledger import ledger_of
from plugin.domain.scoring import DEFAULT_RULES, Action, ActionRule, ScoringRules, score_days

BASE = datetime(2025, 3, 3, 9, tzinfo=UTC)
ME = 1
_ids = count()


def ev(kind: str, minutes: float = 0, **kw) -> ActivityEvent:
    kw.setdefault("person_id", ME)
    return ActivityEvent(f"s:{next(_ids)}", kind=kind, occurred_at=BASE + timedelta(minutes=minutes), **kw)


def points(events: list[ActivityEvent], rules: ScoringRules = DEFAULT_RULES) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for _day, action, pts in score_days(ledger_of(events, rules).day_counts(rules), rules):
        totals[action] += pts
    return dict(totals)


@pytest.mark.parametrize(
    ("action", "counts"),
    [
        (Action.KNOWLEDGE_POST, [0, 10, 16, 19, 20, 20, 20]),
        (Action.POST, [0, 3, 4, 5, 5]),
        (Action.REPLY, [0, 3, 5, 7, 8, 10, 10, 10]),
        (Action.REACTION, [0, 1, 1, 2, 3, 3, 3]),
    ],
)
def test_diminishing_returns_and_daily_cap(action: str, counts: list[int]) -> None:
    rule = DEFAULT_RULES.actions[action]
    assert [rule.day_points(n) for n in range(len(counts))] == counts
    assert rule.day_points(10_000) == rule.daily_cap


@pytest.mark.parametrize(
    ("rule", "n", "expected"),
    [
        (ActionRule(base=5, decay=1, daily_cap=12), 2, 10),
        (ActionRule(base=5, decay=1, daily_cap=12), 3, 12),
        (ActionRule(base=10, decay=0.5, daily_cap=100), 2, 15),
        (ActionRule(base=10, decay=0.5, daily_cap=100), 50, 19),  # converges below the cap
        (ActionRule(base=0, decay=0.5, daily_cap=10), 5, 0),
    ],
)
def test_formula(rule: ActionRule, n: int, expected: int) -> None:
    assert rule.day_points(n) == expected


@pytest.mark.parametrize("kwargs", [{"base": -1}, {"decay": 0}, {"decay": 1.5}, {"daily_cap": -3}])
def test_invalid_rule(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        ActionRule(**{"base": 1, "decay": 0.5, "daily_cap": 3, **kwargs})


@given(
    base=st.integers(0, 50),
    decay=st.floats(0.05, 1.0),
    cap=st.integers(0, 200),
    n=st.integers(0, 2000),
)
def test_caps_never_exceeded_and_returns_diminish(base: int, decay: float, cap: int, n: int) -> None:
    rule = ActionRule(base=base, decay=decay, daily_cap=cap)
    assert 0 <= rule.day_points(n) <= cap
    assert rule.day_points(n) <= rule.day_points(n + 1)
    gains = [rule.day_points(k + 1) - rule.day_points(k) for k in range(min(n, 40))]
    assert all(g <= base for g in gains)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # self-directed actions earn nothing
        ([ev("reaction_given", target_author_id=ME)], {}),
        ([ev("reply", target_author_id=ME, own_words=30)], {}),
        ([ev("reaction_given", target_author_id=2)], {Action.REACTION: 1}),
        ([ev("reply", target_author_id=2, own_words=30)], {Action.REPLY: 3}),
        # duplicates earn once, whatever the copies say
        (
            [ev("post", knowledge_sharing=True, own_words=20, content_hash="h"), ev("post", 600, content_hash="h")],
            {Action.KNOWLEDGE_POST: 10},
        ),
        # broadcast: plain share points, never knowledge-sharing points
        ([ev("post", knowledge_sharing=True, broadcast=True)], {Action.POST: 3}),
        ([ev("post", knowledge_sharing=False, own_words=3)], {Action.POST: 3}),
        # received reactions and replies are not the participant's actions
        ([ev("reaction_received", from_person_id=2), ev("reply_received", from_person_id=2)], {}),
    ],
)
def test_credit_rules(events: list[ActivityEvent], expected: dict[str, int]) -> None:
    assert points(events) == expected


def test_daily_cap_resets_next_programme_day() -> None:
    posts = [ev("post", m, knowledge_sharing=True, own_words=30) for m in range(0, 60, 5)]
    next_day = [ev("post", 24 * 60 + m, knowledge_sharing=True, own_words=30) for m in range(0, 20, 5)]
    assert points(posts) == {Action.KNOWLEDGE_POST: 20}
    assert points(posts + next_day) == {Action.KNOWLEDGE_POST: 40}


def trivial(minutes: float, to: int = 2) -> ActivityEvent:
    return ev("reply", minutes, target_author_id=to, own_words=2)


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([0, 1, 2, 3, 4], {Action.REPLY: 10}),  # five quick "thanks!" replies: within the limit
        ([0, 1, 2, 3, 4, 5], {}),  # six in one ten-minute slot: a burst, no credit at all
        ([0, 1, 2, 11, 12, 13], {Action.REPLY: 10}),  # two slots of three
        ([0, 1, 2, 3, 4, 5, 30], {Action.REPLY: 3}),  # the burst earns nothing, the later one does
    ],
)
def test_burst_of_trivial_replies(minutes: list[int], expected: dict[str, int]) -> None:
    assert points([trivial(m, to=10 + i) for i, m in enumerate(minutes)]) == expected


def test_burst_rule_leaves_replies_with_own_words_alone() -> None:
    burst = [trivial(m) for m in range(6)]
    real = [ev("reply", 3, target_author_id=5, own_words=25)]
    assert points(burst + real) == {Action.REPLY: 3}


def test_rules_are_tunable() -> None:
    strict = ScoringRules(burst_replies=2, trivial_words=10)
    events = [ev("reply", m, target_author_id=2, own_words=8) for m in range(3)]
    assert points(events, strict) == {}
    assert points(events) == {Action.REPLY: 7}
