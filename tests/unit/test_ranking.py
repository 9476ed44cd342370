"""Rankings: tie-break, near-me window, team averages, opt-in names and stable pseudonyms."""

import random

import pytest

from plugin.domain.ranking import (
    PSEUDONYM,
    Standing,
    board,
    near_me,
    pseudonym_numbers,
    rank,
    team_averages,
)


@pytest.mark.parametrize(
    ("standings", "order"),
    [
        ([Standing(1, 10), Standing(2, 30), Standing(3, 20)], [2, 3, 1]),
        # equal points: who reached the score first wins
        ([Standing(1, 50, reached_day=9), Standing(2, 50, reached_day=4)], [2, 1]),
        # equal points and day: lower person id
        ([Standing(7, 50, reached_day=4), Standing(3, 50, reached_day=4)], [3, 7]),
        # never scored sorts after any day
        ([Standing(1, 0), Standing(2, 0, reached_day=3)], [2, 1]),
        ([Standing(5, 0), Standing(4, 0)], [4, 5]),
    ],
)
def test_rank_tie_break(standings: list[Standing], order: list[int]) -> None:
    ranked = rank(standings)
    assert [r.standing.person_id for r in ranked] == order
    assert [r.position for r in ranked] == list(range(1, len(order) + 1))


def test_rank_ignores_input_order() -> None:
    standings = [Standing(i, i % 7 * 10, reached_day=i % 3) for i in range(50)]
    shuffled = standings[:]
    random.Random(3).shuffle(shuffled)
    assert rank(standings) == rank(shuffled)


RANKED = rank(Standing(i, 100 - i) for i in range(1, 11))  # person i is at position i


@pytest.mark.parametrize(
    ("person", "k", "ids"),
    [
        (5, 2, [3, 4, 5, 6, 7]),
        (1, 2, [1, 2, 3]),
        (10, 2, [8, 9, 10]),
        (5, 0, [5]),
        (42, 2, []),
    ],
)
def test_near_me(person: int, k: int, ids: list[int]) -> None:
    assert [r.standing.person_id for r in near_me(RANKED, person, k)] == ids


def test_team_averages_per_active_participant() -> None:
    standings = [
        Standing(1, 100, team_id="sales"),
        Standing(2, 50, team_id="sales"),
        Standing(3, 0, team_id="sales", active=False),  # inactive people do not dilute the average
        Standing(4, 90, team_id="finance"),
        Standing(5, 0, team_id="hr", active=False),
        Standing(6, 75, team_id="legal"),
        Standing(7, 75, team_id="it"),
        Standing(8, 500),  # no team
    ]
    rows = [(t.team_id, t.members, t.active, t.average) for t in team_averages(standings)]
    assert rows == [
        ("finance", 1, 1, 90.0),
        ("it", 1, 1, 75.0),
        ("legal", 1, 1, 75.0),
        ("sales", 3, 2, 75.0),
        ("hr", 1, 0, 0.0),
    ]


def test_board_shows_names_only_for_people_who_opted_in() -> None:
    ranked = rank([Standing(1, 30, opted_in=True), Standing(2, 20), Standing(3, 10, opted_in=True)])
    names = {1: "Anna", 2: "Bram", 3: "Chris"}
    numbers = pseudonym_numbers("cohort-1", [1, 2, 3])
    rows = board(ranked, names=names, numbers=numbers, viewer_id=2)
    assert [(r.position, r.name, r.is_viewer) for r in rows] == [
        (1, "Anna", False),
        (2, None, True),
        (3, "Chris", False),
    ]
    assert "Bram" not in repr(rows)
    assert PSEUDONYM % {"number": rows[1].number} == f"Ambassador #{numbers[2]}"


def test_pseudonyms_are_unique_and_stable_per_cohort() -> None:
    people = list(range(1, 400))
    numbers = pseudonym_numbers("cohort-1", people)
    assert len(set(numbers.values())) == len(people)
    assert all(1 <= n <= 999 for n in numbers.values())
    assert pseudonym_numbers("cohort-1", people) == numbers
    # people who joined earlier keep their number when others join
    more = pseudonym_numbers("cohort-1", [*people, *range(1000, 1050)])
    assert {p: more[p] for p in people} == numbers
    # another cohort, other numbers; and numbers do not follow enrolment order
    assert pseudonym_numbers("cohort-2", people) != numbers
    assert [numbers[p] for p in people[:10]] != sorted(numbers[p] for p in people[:10])


def test_pseudonym_space_grows_for_big_cohorts() -> None:
    numbers = pseudonym_numbers("big", list(range(3000)))
    assert len(set(numbers.values())) == 3000
    assert max(numbers.values()) <= 9999
