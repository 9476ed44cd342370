"""Rankings: team averages, a "near me" window and opt-in individual boards.

Privacy: only participants who opted in appear by name; everyone else is shown under a stable
pseudonym ("Ambassador #12"), the same for a person throughout a cohort.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .messages import N_

PSEUDONYM = N_("Ambassador #%(number)d")


@dataclass(frozen=True, slots=True)
class Standing:
    """One participant's score; `reached_day` is the last programme day on which they scored."""

    person_id: int
    points: int
    reached_day: int | None = None
    team_id: str | None = None
    opted_in: bool = False
    active: bool = True


@dataclass(frozen=True, slots=True)
class Ranked:
    """A standing with its 1-based position."""

    position: int
    standing: Standing


def _order(s: Standing) -> tuple[int, int, int]:
    never = 1 << 30
    return (-s.points, never if s.reached_day is None else s.reached_day, s.person_id)


def rank(standings: Iterable[Standing]) -> tuple[Ranked, ...]:
    """Order participants; positions are 1..n without gaps.

    Tie-break: points descending, then whoever reached that score first (the earlier
    `reached_day`; never scored goes last), then the lower person id, so no two share a position.
    """
    return tuple(Ranked(i, s) for i, s in enumerate(sorted(standings, key=_order), 1))


def near_me(ranked: Sequence[Ranked], person_id: int, k: int = 2) -> tuple[Ranked, ...]:
    """Up to `k` places above and below `person_id` (empty if they are not ranked)."""
    for i, row in enumerate(ranked):
        if row.standing.person_id == person_id:
            return tuple(ranked[max(0, i - k) : i + k + 1])
    return ()


@dataclass(frozen=True, slots=True)
class TeamAverage:
    """A team's average points per active participant."""

    team_id: str
    members: int
    active: int
    average: float


def team_averages(standings: Iterable[Standing]) -> tuple[TeamAverage, ...]:
    """Average points per active participant per team, best first (ties: team id)."""
    members: dict[str, int] = {}
    active: dict[str, list[int]] = {}
    for s in standings:
        if s.team_id is None:
            continue
        members[s.team_id] = members.get(s.team_id, 0) + 1
        points = active.setdefault(s.team_id, [])
        if s.active:
            points.append(s.points)
    rows = (
        TeamAverage(team, members[team], len(pts), round(sum(pts) / len(pts), 1) if pts else 0.0)
        for team, pts in active.items()
    )
    return tuple(sorted(rows, key=lambda t: (-t.average, t.team_id)))


def pseudonym_numbers(cohort_key: str, person_ids: Sequence[int]) -> dict[int, int]:
    """Stable pseudonym numbers per person per cohort.

    Each number comes from a hash of (cohort, person), so it does not reveal enrolment order;
    collisions move on to the next free number, in the order given (pass enrolment order), so
    people who joined earlier keep theirs when others join.
    """
    space = 999
    while space < 2 * len(person_ids):
        space = space * 10 + 9
    taken: dict[int, int] = {}
    used: set[int] = set()
    for pid in person_ids:
        if pid in taken:
            continue
        digest = hashlib.sha256(f"{cohort_key}:{pid}".encode()).digest()
        slot = int.from_bytes(digest[:8], "big") % space
        while slot + 1 in used:
            slot = (slot + 1) % space
        used.add(slot + 1)
        taken[pid] = slot + 1
    return taken


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One line of an individual board; `name` is None unless the person opted in."""

    position: int
    points: int
    number: int
    name: str | None
    is_viewer: bool


def board(
    ranked: Iterable[Ranked], *, names: Mapping[int, str], numbers: Mapping[int, int], viewer_id: int | None = None
) -> tuple[BoardRow, ...]:
    """Rows for display: names only for opted-in people, the pseudonym number for everyone."""
    return tuple(
        BoardRow(
            position=r.position,
            points=r.standing.points,
            number=numbers[r.standing.person_id],
            name=names.get(r.standing.person_id) if r.standing.opted_in else None,
            is_viewer=r.standing.person_id == viewer_id,
        )
        for r in ranked
    )
