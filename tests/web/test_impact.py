"""The impact report through its API, exports and CLI, on a generated cohort whose true effect is known."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.web.impact_world import DAAN, ESTHER, EXPECTED, GERRIT, SANNE, build_impact_world


@pytest.fixture
def world(app, client, authority):
    """The generated cohort (see tests/web/impact_world.py)."""
    return build_impact_world(app, client, authority)


def report(world, name=ESTHER, query="?locale=en"):
    response = world.get(f"/api/cohorts/{world.cohort_id}/impact{query}", name)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def figures(data):
    return {f["key"]: f for f in data["figures"]}


def test_the_report_recovers_the_generated_effect_exactly(world):
    data = report(world)

    assert data["people"] == 17 and not data["suppressed"]
    assert data["periods"]["baseline"]["weeks"] == list(range(-8, 0))
    assert data["periods"]["programme"]["weeks"] == list(range(1, 9))
    assert data["periods"]["last"]["weeks"] == [7, 8]
    found = figures(data)
    for key, (baseline, programme, last, change) in EXPECTED.items():
        figure = found[key]
        assert (figure["baseline"], figure["programme"], figure["last"], figure["change"]) == (
            baseline, programme, last, change), key
        assert figure["people"] == 17
        assert figure["definition"]
    assert found["posts"]["statement"] == "Posts ×4.0 compared with the baseline"
    assert found["activity"]["statement"] == "Activity ×3.0 compared with the baseline"
    assert found["active_share"]["statement"] == "Active participants +0% compared with the baseline"
    assert found["connections"]["statement"] == "Connections +12% from intake to the end"
    assert found["followers"]["statement"] == "Followers +44% from intake to the end"
    assert (found["connections"]["baseline"], found["connections"]["programme"], found["connections"]["people"]) == (
        100.0, 112.0, 5)
    # Results so far: revoked awards and withdrawn people do not count.
    assert {key: found[key]["programme"] for key in
            ("missions_completed", "external_posts", "badges", "badge_holders", "ambassadors")} == {
        "missions_completed": 3.0, "external_posts": 1.0, "badges": 5.0, "badge_holders": 4.0, "ambassadors": 4.0}
    assert "Posts ×4.0 compared with the baseline" in data["statements"]


def test_the_weekly_curve_counts_active_participants_per_week(world):
    weekly = report(world)["weekly"]

    assert [w["week"] for w in weekly] == [*range(-8, 0), *range(1, 9)]
    assert {w["active"] for w in weekly} == {17}
    assert [w["posts_per_person"] for w in weekly] == [1.0] * 8 + [4.0] * 8
    assert [w["period"] for w in weekly] == ["baseline"] * 8 + ["programme"] * 6 + ["last"] * 2


def test_small_teams_are_suppressed_and_cannot_be_recovered_by_subtraction(world):
    teams = {t["name"]: t for t in report(world)["teams"]}

    assert teams["Tiny"]["suppressed"] and teams["Tiny"]["people"] == 4
    assert teams["Tiny"]["ambassadors"] is None
    assert all(f["programme"] is None and f["statement"] is None for f in teams["Tiny"]["figures"])
    # Tiny alone hidden: cohort total minus the others would reveal it, so the smallest shown team goes too.
    assert teams["North"]["suppressed"] and teams["North"]["ambassadors"] is None
    assert not teams["South"]["suppressed"]
    assert (teams["South"]["people"], teams["South"]["ambassadors"], teams["South"]["activity_change"]) == (7, 2.0, 3.0)


def test_a_lead_sees_their_small_team_without_numbers(world):
    data = report(world, SANNE, f"?team={world.teams['Tiny']}&locale=en")

    assert data["team"] == {"id": world.teams["Tiny"], "name": "Tiny"}
    assert data["suppressed"] and data["people"] == 4
    assert data["weekly"] == [] and data["statements"] == []
    assert all(f["suppressed"] and f["baseline"] is None and f["programme"] is None for f in data["figures"])


def test_a_team_report_has_the_teams_own_figures(world):
    data = report(world, ESTHER, f"?team={world.teams['South']}&locale=en")

    assert data["people"] == 7 and not data["suppressed"]
    assert figures(data)["posts"]["change"] == 4.0
    assert figures(data)["ambassadors"]["programme"] == 2.0
    assert [t["name"] for t in data["teams"]] == ["South"]


def test_dutch_labels_and_numbers(world):
    found = figures(report(world, ESTHER, "?locale=nl"))

    assert found["posts"]["statement"] == "Posts ×4,0 ten opzichte van de nulmeting"
    assert found["posts"]["change_text"] == "×4,0"


#: (caller, query, status) for the report and both exports.
ACCESS = [
    (ESTHER, "", 200),              # the cohort's coach
    (GERRIT, "", 200),              # an admin
    (ESTHER, "?team={South}", 200),
    (SANNE, "?team={Tiny}", 200),   # a lead, for their own team
    (SANNE, "", 403),               # … but not the whole cohort
    (SANNE, "?team={South}", 403),  # … nor another team
    (DAAN, "", 403),                # an employee
    (DAAN, "?team={Tiny}", 403),
    (None, "", 401),
    (ESTHER, "?team=banana", 400),
    (ESTHER, "?team=999999", 404),  # not a team of this cohort
]


def test_who_may_read_the_report_and_its_exports(world):
    for suffix in ("", ".csv", ".json"):
        for name, query, status in ACCESS:
            path = f"/api/cohorts/{world.cohort_id}/impact{suffix}{query.format(**world.teams)}"
            response = world.get(path, name)
            assert response.status_code == status, (path, name)
            if status != 200:
                assert set(response.get_json()) == {"error", "message"}


def test_an_unknown_cohort_is_not_found(world):
    response = world.get("/api/cohorts/987654/impact", ESTHER)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_the_json_export_is_what_the_api_shows(world):
    shown = report(world)
    response = world.get(f"/api/cohorts/{world.cohort_id}/impact.json?locale=en", ESTHER)

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="impact-cohort-{world.cohort_id}-')
    saved = json.loads(response.data)
    shown.pop("generated_at"), saved.pop("generated_at")
    assert saved == shown


def test_the_csv_export_is_what_the_api_shows(world):
    shown = report(world)
    response = world.get(f"/api/cohorts/{world.cohort_id}/impact.csv?locale=en", ESTHER)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    figure_rows = [r for r in rows if r["section"] == "figure"]
    assert [r["key"] for r in figure_rows] == [f["key"] for f in shown["figures"]]
    for row, figure in zip(figure_rows, shown["figures"], strict=True):
        for column in ("baseline", "programme", "last", "change"):
            assert row[column] == ("" if figure[column] is None else str(figure[column])), (figure["key"], column)
        assert (row["label"], row["statement"] or None, int(row["people"])) == (
            figure["label"], figure["statement"], figure["people"])
    team_rows = {(r["team"], r["key"]): r for r in rows if r["section"] == "team"}
    for team in shown["teams"]:
        ambassadors = team_rows[(team["name"], "ambassadors")]["programme"]
        assert ambassadors == ("" if team["ambassadors"] is None else str(team["ambassadors"]))
    weeks = [r for r in rows if r["section"] == "week"]
    assert [(int(r["week"]), int(r["active"]), float(r["posts_per_person"])) for r in weeks] == [
        (w["week"], w["active"], w["posts_per_person"]) for w in shown["weekly"]]


def test_the_cli_prints_the_same_figures(world, runner):
    shown = report(world)

    as_json = runner.invoke(args=["report", "cohort", str(world.cohort_id), "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    printed = json.loads(as_json.output)
    shown.pop("generated_at"), printed.pop("generated_at")
    assert printed == shown

    as_csv = runner.invoke(args=["report", "cohort", str(world.cohort_id), "--format", "csv"])
    assert as_csv.exit_code == 0
    posts = next(r for r in csv.DictReader(io.StringIO(as_csv.output)) if r["key"] == "posts")
    assert (posts["baseline"], posts["programme"], posts["change"]) == ("1.0", "4.0", "4.0")

    as_text = runner.invoke(args=["report", "cohort", str(world.cohort_id), "--locale", "nl"])
    assert as_text.exit_code == 0
    assert "Posts ×4,0 ten opzichte van de nulmeting" in as_text.output
    assert "Tiny (4)" in as_text.output


@pytest.mark.parametrize("args", [["987654"], ["{cohort}", "--team", "987654"], ["{cohort}", "--format", "xml"]])
def test_the_cli_refuses_bad_input_in_one_line(world, runner, args):
    result = runner.invoke(args=["report", "cohort", *(a.format(cohort=world.cohort_id) for a in args)])

    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "Traceback" not in result.output
