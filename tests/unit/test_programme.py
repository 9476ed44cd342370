"""Programme file: the default programme, variants, and loader errors with file, line and field."""

from pathlib import Path

import pytest

from plugin.domain.messages import Text
from plugin.domain.missions import MISSION_TYPES
from plugin.domain.programme import (
    DEFAULT_PATH,
    ProgrammeError,
    default_programme,
    line_index,
    load_programme,
    parse_programme,
)


def texts_of(programme) -> list[tuple[str, Text]]:
    found = [("title", programme.title), ("description", programme.description)]
    for week in programme.weeks:
        found += [(f"week {week.number} {k}", getattr(week, k)) for k in ("title", "description", "tip")]
        for mission in week.missions:
            for m in (mission, *(v.mission for v in mission.variants)):
                found += [(f"{m.slug}/{m.variant} {k}", getattr(m, k)) for k in ("title", "description", "how")]
    return found


def test_default_programme_has_eight_weeks_of_three_to_five_missions() -> None:
    programme = default_programme()
    assert programme.id == "social-embassy"
    assert programme.version >= 1
    assert [w.number for w in programme.weeks] == list(range(1, 9))
    for week in programme.weeks:
        assert 3 <= len(week.missions) <= 5, week.number
        assert any(not m.optional for m in week.missions)
        assert any(m.optional for w in programme.weeks for m in w.missions)


def test_default_programme_texts_are_complete_in_english_and_dutch() -> None:
    for where, text in texts_of(default_programme()):
        assert text.en.strip() and text.nl.strip(), where
        assert text.en != text.nl, where


def test_default_programme_uses_registered_types_and_unique_slugs() -> None:
    missions = [m for _week, m in default_programme().missions()]
    assert len({m.slug for m in missions}) == len(missions)
    assert {m.type for m in missions} <= set(MISSION_TYPES)
    assert {m.type for m in missions} == set(MISSION_TYPES)  # the default programme shows every type


@pytest.mark.parametrize(
    ("intake", "type_", "params", "variant"),
    [
        ({"platforms": ["x", "linkedin"]}, "external_post", {"platform": "x", "posts": 1}, None),
        ({"platforms": ["x"]}, "external_post", {"platform": "x", "posts": 1}, None),
        ({"platforms": ["linkedin"]}, "external_post", {"platform": "linkedin", "posts": 1}, "linkedin"),
        ({"platforms": "linkedin"}, "external_post", {"platform": "linkedin", "posts": 1}, "linkedin"),
        ({"platforms": []}, "post_in_place", {"place": "programme-community", "posts": 1}, "internal-only"),
        ({}, "post_in_place", {"place": "programme-community", "posts": 1}, "internal-only"),
    ],
)
def test_variants_are_chosen_by_intake(intake: dict, type_: str, params: dict, variant: str | None) -> None:
    mission = default_programme().mission("first-external").for_intake(intake)
    assert (mission.type, dict(mission.params), mission.variant) == (type_, params, variant)
    assert mission.slug == "first-external"


def test_variant_keeps_base_texts_it_does_not_override() -> None:
    base = default_programme().mission("starting-point")
    variant = base.for_intake({"platforms": ["linkedin"]})
    assert variant.params["metrics"] == ("connections",)
    assert variant.title == base.title
    assert variant.description != base.description


def test_default_file_lines_are_indexed() -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    lines = text.splitlines()
    index = line_index(text)
    assert lines[index["weeks[2].missions[1].type"] - 1] == 'type = "external_post"'
    assert lines[index["weeks[7].missions[4].params"] - 1] == "params = { weeks = 6 }"
    assert lines[index["weeks[2].missions[1].variants[1]"] - 1] == "[[weeks.missions.variants]]"


# A minimal valid programme; each case below breaks one thing, marked with "# <-" on its line.
T = '{ en = "Text", nl = "Tekst" }'


def mission_toml(week: int, i: int) -> str:
    return (
        f'[[weeks.missions]]\nslug = "m{week}-{i}"\ntype = "react_to_posts"\npoints = 5\noptional = false\n'
        f"params = {{ posts = 2 }}\ntitle = {T}\ndescription = {T}\nhow = {T}\n\n"
    )


def programme_toml() -> str:
    text = f'id = "test"\nversion = 1\ntitle = {T}\ndescription = {T}\n\n'
    for week in range(1, 9):
        text += f"[[weeks]]\nnumber = {week}\ntitle = {T}\ndescription = {T}\ntip = {T}\n\n"
        text += "".join(mission_toml(week, i) for i in range(3))
    return text


def nth_replace(text: str, old: str, new: str, n: int) -> str:
    start = -1
    for _ in range(n + 1):
        start = text.index(old, start + 1)
    return text[:start] + new + text[start + len(old) :]


def week_eight(text: str, change) -> str:
    """Apply `change` to week 8 and mark its first mission header."""
    cut = text.index("[[weeks]]\nnumber = 8")
    tail = change(text[cut:]).replace("[[weeks.missions]]", "[[weeks.missions]]  # <-", 1)
    return text[:cut] + tail


def test_minimal_programme_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "social.toml"
    path.write_text(programme_toml(), encoding="utf-8")
    assert len(load_programme(path).weeks) == 8


LOADER_ERRORS = [
    (
        lambda t: nth_replace(t, 'type = "react_to_posts"', 'type = "tweet"  # <-', 7),
        "weeks[2].missions[1].type",
        "unknown mission type 'tweet'; expected one of active_weeks, checkin, external_post",
    ),
    (
        lambda t: nth_replace(t, "params = { posts = 2 }", "params = { posts = 0 }  # <-", 5),
        "weeks[1].missions[2].params.posts",
        "react_to_posts: must be at least 1, got 0",
    ),
    (
        lambda t: nth_replace(t, "params = { posts = 2 }", 'params = { posts = 2, place = "x" }  # <-', 0),
        "weeks[0].missions[0].params.place",
        "unknown param; expected one of posts",
    ),
    (
        lambda t: nth_replace(t, f"how = {T}", 'how = { en = "How", nl = "" }  # <-', 4),
        "weeks[1].missions[1].how.nl",
        "expected a non-empty string",
    ),
    (
        lambda t: nth_replace(t, f"tip = {T}", 'tip = { en = "Tip" }  # <-', 3),
        "weeks[3].tip",
        "missing key 'nl'",
    ),
    (
        lambda t: nth_replace(t, f"tip = {T}", f"tip = {T}\ntitel = {T}  # <-", 0),
        "weeks[0].titel",
        "unknown key 'titel'; expected one of description, missions, number, tip, title",
    ),
    (
        lambda t: nth_replace(t, 'slug = "m2-1"', 'slug = "m1-0"  # <-', 0),
        "weeks[1].missions[1].slug",
        "duplicate mission slug 'm1-0' (first used at weeks[0].missions[0])",
    ),
    (
        lambda t: nth_replace(t, "number = 5", "number = 6  # <-", 0),
        "weeks[4].number",
        "expected 5, got 6",
    ),
    (
        lambda t: nth_replace(t, "points = 5", 'points = "five"  # <-', 10),
        "weeks[3].missions[1].points",
        "expected an integer >= 0, got 'five'",
    ),
    (
        lambda t: week_eight(t, lambda tail: tail.replace("optional = false", "optional = true")),
        "weeks[7].missions",
        "every week needs at least one mission that is not optional",
    ),
    (
        lambda t: week_eight(t, lambda tail: tail + mission_toml(8, 3) + mission_toml(8, 4) + mission_toml(8, 5)),
        "weeks[7].missions",
        "expected 3 to 5 missions, got 6",
    ),
    (
        lambda t: t[: t.index("[[weeks]]\nnumber = 8")].replace("[[weeks]]", "[[weeks]]  # <-", 1),
        "weeks",
        "expected exactly 8 weeks, got 7",
    ),
    (
        lambda t: nth_replace(t, "how = " + T + "\n", "how = " + T + "\n" + VARIANT_BAD_OP, 9),
        "weeks[3].missions[0].variants[0].when.platforms.missing",
        "unknown condition 'missing'; expected one of has, is, lacks",
    ),
    (
        lambda t: nth_replace(t, "how = " + T + "\n", "how = " + T + "\n" + VARIANT_BAD_PARAM, 2),
        "weeks[0].missions[2].variants[0].params.place",
        "post_in_place: expected a non-empty string, got 3",
    ),
    (
        lambda t: nth_replace(t, "version = 1", "version = 0  # <-", 0),
        "version",
        "expected an integer >= 1, got 0",
    ),
]
VARIANT_BAD_OP = '\n[[weeks.missions.variants]]\nid = "v"\nwhen = { platforms = { missing = "x" } }  # <-\n'
VARIANT_BAD_PARAM = (
    '\n[[weeks.missions.variants]]\nid = "v"\nwhen = { platforms = { lacks = "x" } }\n'
    'type = "post_in_place"\nparams = { place = 3 }  # <-\n'
)


@pytest.mark.parametrize(("breaker", "field", "message"), LOADER_ERRORS)
def test_loader_error_names_file_line_and_field(tmp_path: Path, breaker, field: str, message: str) -> None:
    text = breaker(programme_toml())
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "# <-" in row)
    path = tmp_path / "social.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError) as caught:
        load_programme(path)
    err = caught.value
    assert (err.file, err.line, err.field) == ("social.toml", line, field)
    assert message in err.message
    assert str(err).startswith(f"social.toml:{line}: {field}: ")


@pytest.mark.parametrize(
    "style",
    [
        "[weeks.missions.params]\nposts = 0  # <-\n",  # a sub-table of the last mission
        "params.posts = 0  # <-\n",  # a dotted key
    ],
)
def test_locator_follows_sub_tables_and_dotted_keys(tmp_path: Path, style: str) -> None:
    text = nth_replace(programme_toml(), "params = { posts = 2 }\n", "", 4)
    text = nth_replace(text, f"how = {T}\n", f"how = {T}\n{style}", 4)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "# <-" in row)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(text, "social.toml")
    assert (caught.value.line, caught.value.field) == (line, "weeks[1].missions[1].params.posts")


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(programme_toml().replace("points = 5", "points = = 5", 1), encoding="utf-8")
    with pytest.raises(ProgrammeError, match=r"^broken\.toml:\d+: invalid TOML") as caught:
        load_programme(path)
    assert "points = = 5" in path.read_text().splitlines()[caught.value.line - 1]


def test_missing_file_is_a_programme_error(tmp_path: Path) -> None:
    with pytest.raises(ProgrammeError, match=r"^nope\.toml:1: cannot read"):
        load_programme(tmp_path / "nope.toml")


def test_parse_programme_uses_given_name() -> None:
    with pytest.raises(ProgrammeError, match=r"^inline:5: weeks: expected an array of weeks"):
        parse_programme(f'id = "x"\nversion = 1\ntitle = {T}\ndescription = {T}\nweeks = 3\n', "inline")
