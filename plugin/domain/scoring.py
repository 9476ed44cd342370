"""Points per action, with daily caps, diminishing returns and anti-gaming rules.

Formula: within one programme day (08:00-08:00 local), the k-th credited action of a kind earns
``base * decay**(k-1)`` points; the day's total for that kind is the running sum rounded down,
capped at ``daily_cap``::

    day_points(n) = min(daily_cap, floor(base * (1 - decay**n) / (1 - decay)))   # decay < 1
    day_points(n) = min(daily_cap, base * n)                                   # decay == 1

Because a day's points depend only on *how many* credited actions it holds, the total is the same
in whatever order events arrive. Credit rules (applied in `ledger.py`):

* no credit for reacting or replying to your own post;
* duplicate posts (same `content_hash`) earn once: only the earliest copy (occurred_at, event_id);
* broadcast posts (a verbatim corporate re-share, "zendmast") earn plain share points, never
  knowledge-sharing ("expertise") points, and never count for missions or expertise badges;
* trivial replies (fewer than `trivial_words` own words) earn nothing in a `burst_minutes` slot
  of a programme day that holds more than `burst_replies` of them (a burst).

Mission points are added once per completed mission, uncapped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType


class Action(StrEnum):
    """Kinds of credited actions that earn points."""

    KNOWLEDGE_POST = "knowledge_post"
    POST = "post"
    REPLY = "reply"
    REACTION = "reaction"


@dataclass(frozen=True, slots=True)
class ActionRule:
    """Points for one action kind: first action's points, decay per further action, daily cap."""

    base: int
    decay: float
    daily_cap: int
    table: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.daily_cap < 0 or not 0 < self.decay <= 1:
            raise ValueError("base and daily_cap must be >= 0 and 0 < decay <= 1")
        # with decay < 1 the sum stays strictly below base / (1 - decay), however many actions
        limit = Fraction(self.base) / (1 - Fraction(self.decay)) if self.decay < 1 else None
        ceiling = self.daily_cap if limit is None else min(self.daily_cap, math.ceil(limit) - 1)
        table = [0]
        while table[-1] < ceiling and len(table) < 1000:
            n = len(table)
            if self.decay == 1:
                raw = self.base * n
            else:
                # the epsilon keeps exact totals (10.0) from flooring to 9 through float error
                raw = int(self.base * (1 - self.decay**n) / (1 - self.decay) + 1e-9)
            table.append(min(ceiling, raw))
        object.__setattr__(self, "table", tuple(table))

    def day_points(self, count: int) -> int:
        """Points for `count` credited actions of this kind on one day."""
        return self.table[min(count, len(self.table) - 1)]


DEFAULT_ACTIONS: Mapping[str, ActionRule] = MappingProxyType(
    {
        Action.KNOWLEDGE_POST: ActionRule(base=10, decay=0.6, daily_cap=20),
        Action.POST: ActionRule(base=3, decay=0.5, daily_cap=5),
        Action.REPLY: ActionRule(base=3, decay=0.8, daily_cap=10),
        Action.REACTION: ActionRule(base=1, decay=0.9, daily_cap=3),
    }
)


@dataclass(frozen=True, slots=True)
class ScoringRules:
    """All tunable numbers of scoring and anti-gaming in one place."""

    actions: Mapping[str, ActionRule] = field(default_factory=lambda: DEFAULT_ACTIONS)
    trivial_words: int = 4
    burst_replies: int = 5
    burst_minutes: int = 10
    personal_note_words: int = 10

    def credited_trivial(self, count: int) -> int:
        """Credited trivial replies in one burst slot: all of them, or none if it is a burst."""
        return count if count <= self.burst_replies else 0


DEFAULT_RULES = ScoringRules()


def score_days(
    counts: Iterable[tuple[int, str, int]], rules: ScoringRules = DEFAULT_RULES
) -> tuple[tuple[int, str, int], ...]:
    """(day, action, points) for each (day, action, credited count); zero-point rows dropped."""
    actions = rules.actions
    rows = ((day, action, actions[action].day_points(n)) for day, action, n in counts)
    return tuple(sorted(row for row in rows if row[2]))
