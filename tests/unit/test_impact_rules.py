"""The impact report's rules: rates over periods, suppression of small groups, and when a statement is made."""

from __future__ import annotations

import pytest

from plugin.domain.impact import (
    MIN_BASELINE_EVENTS,
    GroupCounts,
    Network,
    WeekCounts,
    build_figures,
    make_periods,
    statement,
    team_breakdown,
    total,
)

PERIODS = make_periods(8, 8)


def group(people: int, baseline_posts: int = 1, programme_posts: int = 4, **fields) -> GroupCounts:
    """`people` who each post `baseline_posts` a week before the start and `programme_posts` during it."""
    weeks = {week: WeekCounts(posts=people * (baseline_posts if week < 0 else programme_posts), active=people)
             for week in PERIODS.all_weeks}
    return GroupCounts(people, weeks, **fields)


def test_periods_of_a_running_and_a_finished_cohort():
    assert make_periods(8, 3) == make_periods(8, 3, last_weeks=2)
    running = make_periods(8, 3)
    assert running.baseline == tuple(range(-8, 0))
    assert running.programme == (1, 2, 3)
    assert running.last == (2, 3)
    assert make_periods(4, 0).programme == () and make_periods(4, 0).last == ()
    assert make_periods(8, 0, baseline_weeks_over=3).baseline == (-8, -7, -6)


def test_a_known_effect_is_recovered_exactly():
    posts = build_figures(group(10), PERIODS).figure("posts")

    assert (posts.baseline, posts.programme, posts.last, posts.change) == (1.0, 4.0, 4.0, 4.0)
    assert posts.people == 10 and not posts.suppressed
    assert posts.statement is not None
    assert (posts.statement.kind, posts.statement.ratio) == ("times", 4.0)


def test_a_group_below_the_minimum_is_suppressed_entirely():
    figures = build_figures(group(4), PERIODS)

    assert figures.suppressed and figures.weekly == ()
    assert all(f.suppressed and f.baseline is None and f.programme is None and f.statement is None
               for f in figures.figures)
    assert all(f.people == 4 for f in figures.figures if f.unit != "average")


def test_the_minimum_is_the_organisations_setting():
    assert not build_figures(group(4), PERIODS, min_group=3).suppressed
    assert build_figures(group(6), PERIODS, min_group=10).suppressed


def test_no_statement_on_a_zero_baseline():
    posts = build_figures(group(10, baseline_posts=0), PERIODS).figure("posts")

    assert posts.baseline == 0.0 and posts.programme == 4.0
    assert posts.change is None and posts.statement is None


def test_no_statement_when_the_baseline_rests_on_too_few_events():
    few = MIN_BASELINE_EVENTS - 1
    weeks = {week: WeekCounts(posts=(few if week == -1 else 0) if week < 0 else 40, active=5)
             for week in PERIODS.all_weeks}
    posts = build_figures(GroupCounts(5, weeks), PERIODS).figure("posts")

    assert posts.change is not None  # the numbers are shown …
    assert posts.statement is None  # … but "×36" on nine posts would overclaim


def test_no_statement_before_a_programme_week_is_over():
    posts = build_figures(group(10), make_periods(8, 0)).figure("posts")

    assert posts.baseline == 1.0 and posts.programme is None and posts.statement is None


@pytest.mark.parametrize(("ratio", "kind", "shown"), [
    (5.83, "times", 5.8), (2.0, "times", 2.0), (1.5, "percent", 50), (1.12, "percent", 12), (0.8, "percent", -20),
])
def test_statements_read_as_a_factor_or_a_percentage(ratio, kind, shown):
    said = statement(ratio, network=False)
    assert said.kind == kind
    assert (said.ratio if kind == "times" else said.percent) == shown


def test_network_growth_needs_enough_people_who_reported_both_numbers():
    reported = build_figures(group(10, connections=Network(5, 500, 560), followers=Network(4, 200, 288)), PERIODS)

    connections, followers = reported.figure("connections"), reported.figure("followers")
    assert (connections.baseline, connections.programme, connections.change, connections.people) == (
        100.0, 112.0, 1.12, 5)
    assert connections.statement is not None and connections.statement.percent == 12
    assert followers.suppressed and followers.programme is None and followers.people == 4


def test_responses_per_post_divide_by_posts_of_the_same_weeks():
    weeks = {week: WeekCounts(posts=10, received=10 if week < 0 else 35, active=10) for week in PERIODS.all_weeks}
    figure = build_figures(GroupCounts(10, weeks), PERIODS).figure("responses_per_post")

    assert (figure.baseline, figure.programme, figure.change) == (1.0, 3.5, 3.5)


def test_one_hidden_team_hides_the_smallest_shown_team_as_well():
    teams = {1: group(4), 2: group(6), 3: group(9)}
    rows = {row.key: row for row in team_breakdown(teams, PERIODS)}

    assert rows[1].suppressed  # too small
    assert rows[2].suppressed  # else total − team 3 − team 2 gives team 1 away
    assert not rows[3].suppressed
    assert rows[2].figures.figure("posts").programme is None
    assert rows[3].figures.figure("posts").change == 4.0


def test_two_hidden_teams_need_no_extra_suppression():
    rows = {row.key: row for row in team_breakdown({1: group(3), 2: group(4), 3: group(6)}, PERIODS)}

    assert rows[1].suppressed and rows[2].suppressed and not rows[3].suppressed


def test_a_team_without_participants_is_shown_empty():
    rows = {row.key: row for row in team_breakdown({1: GroupCounts(0), 2: group(5), 3: group(7)}, PERIODS)}

    assert not rows[1].suppressed and rows[1].people == 0
    assert not rows[2].suppressed and not rows[3].suppressed


def test_the_cohort_is_the_sum_of_its_teams():
    cohort = total([group(5, ambassadors=1), group(7, ambassadors=2)])

    assert cohort.people == 12 and cohort.ambassadors == 3
    assert cohort.weeks[1].posts == 48
    assert build_figures(cohort, PERIODS).figure("posts").programme == 4.0
