"""Programme definition (weeks, missions, variants) as frozen data, loaded from a TOML file."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from .messages import LOCALES, Text
from .missions import MISSION_TYPES, ParamError

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "programmes" / "social-embassy.toml"
WEEKS = 8
MISSIONS_PER_WEEK = (3, 5)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _answers(intake: Mapping[str, object], key: str) -> frozenset[str]:
    value = intake.get(key)
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(v) for v in value) if isinstance(value, list | tuple | set | frozenset) else frozenset()


# Variant conditions: `when = { platforms = { lacks = ["x", "linkedin"] } }` (every value must pass);
# an intake answer is a string or a list of strings.
CONDITIONS: dict[str, Callable[[frozenset[str], str], bool]] = {
    "has": lambda answers, value: value in answers,
    "lacks": lambda answers, value: value not in answers,
    "is": lambda answers, value: answers == {value},
}


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on an intake answer."""

    field: str
    op: str
    value: str

    def matches(self, intake: Mapping[str, object]) -> bool:
        """True if the intake answer satisfies the condition."""
        return CONDITIONS[self.op](_answers(intake, self.field), self.value)


@dataclass(frozen=True, slots=True)
class Mission:
    """One mission; `variants` are tried in file order and the first match replaces it."""

    slug: str
    type: str
    params: Mapping[str, object]
    points: int
    optional: bool
    title: Text
    description: Text
    how: Text
    variants: tuple[Variant, ...] = ()
    variant: str | None = None

    def for_intake(self, intake: Mapping[str, object]) -> Mission:
        """The mission as this participant gets it (first matching variant, else itself)."""
        for variant in self.variants:
            if all(cond.matches(intake) for cond in variant.when):
                return variant.mission
        return self


@dataclass(frozen=True, slots=True)
class Variant:
    """An alternative version of a mission for participants whose intake matches `when`."""

    id: str
    when: tuple[Condition, ...]
    mission: Mission


@dataclass(frozen=True, slots=True)
class Week:
    """One programme week."""

    number: int
    title: Text
    description: Text
    tip: Text
    missions: tuple[Mission, ...]


@dataclass(frozen=True, slots=True)
class Programme:
    """A versioned programme of eight weeks."""

    id: str
    version: int
    title: Text
    description: Text
    weeks: tuple[Week, ...]

    def missions(self) -> Iterator[tuple[int, Mission]]:
        """(week number, mission) for every mission, in order."""
        for week in self.weeks:
            for mission in week.missions:
                yield week.number, mission

    def mission(self, slug: str) -> Mission:
        """The mission with `slug`; KeyError if there is none."""
        for _week, mission in self.missions():
            if mission.slug == slug:
                return mission
        raise KeyError(slug)


class ProgrammeError(ValueError):
    """An invalid programme file: `file:line: field: message`."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        self.file, self.line, self.field, self.message = file, line, field, message
        super().__init__(f"{file}:{line}: {field}: {message}" if field else f"{file}:{line}: {message}")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _key_path(raw: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in raw.split("."))


def line_index(text: str) -> dict[str, int]:
    """Map field paths ("weeks[2].missions[1].type") to the line where they are written."""
    lines: dict[str, int] = {}
    counters: dict[str, int] = {}
    current = ""
    in_string = False
    for number, line in enumerate(text.splitlines(), 1):
        quotes = line.count('"""') + line.count("'''")
        if in_string:
            in_string = quotes % 2 == 0
            continue
        header = _HEADER.match(line)
        if header:
            names = _key_path(header.group(2)).split(".")
            current = ""
            for i, name in enumerate(names):
                current = f"{current}.{name}" if current else name
                if header.group(1) == "[[" and i == len(names) - 1:
                    counters[current] = counters.get(current, 0) + 1
                    lines.setdefault(current, number)  # the array itself: its first table
                if current in counters:
                    current = f"{current}[{counters[current] - 1}]"
            lines.setdefault(current, number)
            continue
        key = _KEY.match(line)
        if key:
            path = _key_path(key.group(1))
            lines.setdefault(f"{current}.{path}" if current else path, number)
        in_string = quotes % 2 == 1
    return lines


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


class _Reader:
    """Walks the parsed TOML, turning every problem into a ProgrammeError with file and line."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = line_index(text)
        self.slugs: dict[str, str] = {}

    def fail(self, path: str, message: str) -> NoReturn:
        probe = path
        while probe and probe not in self.lines:
            probe = _parent(probe)
        raise ProgrammeError(self.name, self.lines.get(probe, 1), path, message)

    def table(self, value: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected a table, got {type(value).__name__}")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join(sorted((*required, *optional)))
                self.fail(f"{path}.{key}" if path else key, f"unknown key {key!r}; expected one of {allowed}")
        for key in required:
            if key not in value:
                self.fail(path, f"missing key {key!r}")
        return value

    def text(self, value: object, path: str) -> Text:
        table = self.table(value, path, LOCALES)
        for locale in LOCALES:
            if not isinstance(table[locale], str) or not table[locale].strip():
                self.fail(f"{path}.{locale}", "expected a non-empty string")
        return Text(en=table["en"].strip(), nl=table["nl"].strip())

    def integer(self, value: object, path: str, minimum: int = 0) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(path, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {value!r}")
        return value

    def slug(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not _SLUG.match(value):
            self.fail(path, f"expected a slug of lowercase letters, digits and dashes, got {value!r}")
        return value

    def array(self, value: object, path: str, sizes: tuple[int, int], what: str) -> list:
        low, high = sizes
        if not isinstance(value, list):
            self.fail(path, f"expected an array of {what}")
        if not low <= len(value) <= high:
            exact = f"exactly {low}" if low == high else f"{low} to {high}"
            self.fail(path, f"expected {exact} {what}, got {len(value)}")
        return value

    def programme(self, doc: dict) -> Programme:
        self.table(doc, "", ("id", "version", "title", "description", "weeks"))
        weeks = self.array(doc["weeks"], "weeks", (WEEKS, WEEKS), "weeks")
        return Programme(
            id=self.slug(doc["id"], "id"),
            version=self.integer(doc["version"], "version", 1),
            title=self.text(doc["title"], "title"),
            description=self.text(doc["description"], "description"),
            weeks=tuple(self.week(w, f"weeks[{i}]", i + 1) for i, w in enumerate(weeks)),
        )

    def week(self, value: object, path: str, number: int) -> Week:
        table = self.table(value, path, ("number", "title", "description", "tip", "missions"))
        if table["number"] != number:
            self.fail(f"{path}.number", f"expected {number}, got {table['number']!r}")
        items = self.array(table["missions"], f"{path}.missions", MISSIONS_PER_WEEK, "missions")
        missions = tuple(self.mission(m, f"{path}.missions[{i}]") for i, m in enumerate(items))
        if all(m.optional for m in missions):
            self.fail(f"{path}.missions", "every week needs at least one mission that is not optional")
        return Week(
            number=number,
            title=self.text(table["title"], f"{path}.title"),
            description=self.text(table["description"], f"{path}.description"),
            tip=self.text(table["tip"], f"{path}.tip"),
            missions=missions,
        )

    def mission(self, value: object, path: str) -> Mission:
        keys = ("slug", "type", "points", "optional", "title", "description", "how")
        table = self.table(value, path, keys, ("params", "variants"))
        slug = self.slug(table["slug"], f"{path}.slug")
        if slug in self.slugs:
            self.fail(f"{path}.slug", f"duplicate mission slug {slug!r} (first used at {self.slugs[slug]})")
        self.slugs[slug] = path
        base = Mission(
            slug=slug,
            type=self.mission_type(table["type"], f"{path}.type"),
            params=MappingProxyType({}),
            points=self.integer(table["points"], f"{path}.points"),
            optional=self.boolean(table["optional"], f"{path}.optional"),
            title=self.text(table["title"], f"{path}.title"),
            description=self.text(table["description"], f"{path}.description"),
            how=self.text(table["how"], f"{path}.how"),
        )
        raw = table.get("params", {})
        base = replace(base, params=self.params(base.type, raw, f"{path}.params"))
        variants = table.get("variants", [])
        if not isinstance(variants, list):
            self.fail(f"{path}.variants", "expected an array of tables ([[weeks.missions.variants]])")
        return replace(
            base, variants=tuple(self.variant(v, f"{path}.variants[{i}]", base, raw) for i, v in enumerate(variants))
        )

    def mission_type(self, value: object, path: str) -> str:
        if not isinstance(value, str) or value not in MISSION_TYPES:
            expected = ", ".join(sorted(MISSION_TYPES))
            self.fail(path, f"unknown mission type {value!r}; expected one of {expected}")
        return value

    def params(self, type_slug: str, raw: object, path: str) -> Mapping[str, object]:
        if not isinstance(raw, dict):
            self.fail(path, "expected a table")
        try:
            return MISSION_TYPES[type_slug].validate(raw)
        except ParamError as exc:
            self.fail(f"{path}.{exc.key}" if exc.key else path, f"{type_slug}: {exc.message}")

    def variant(self, value: object, path: str, base: Mission, base_params: dict) -> Variant:
        overrides = ("type", "params", "points", "title", "description", "how")
        table = self.table(value, path, ("id", "when"), overrides)
        variant_id = self.slug(table["id"], f"{path}.id")
        when = self.conditions(table["when"], f"{path}.when")
        type_slug = self.mission_type(table["type"], f"{path}.type") if "type" in table else base.type
        raw = table.get("params", {})
        if not isinstance(raw, dict):
            self.fail(f"{path}.params", "expected a table")
        # a variant of the same type refines the base params; a different type starts afresh
        merged = {**base_params, **raw} if type_slug == base.type else raw
        mission = replace(
            base,
            type=type_slug,
            params=self.params(type_slug, merged, f"{path}.params"),
            points=self.integer(table["points"], f"{path}.points") if "points" in table else base.points,
            title=self.text(table["title"], f"{path}.title") if "title" in table else base.title,
            description=(
                self.text(table["description"], f"{path}.description") if "description" in table else base.description
            ),
            how=self.text(table["how"], f"{path}.how") if "how" in table else base.how,
            variant=variant_id,
        )
        return Variant(id=variant_id, when=when, mission=mission)

    def conditions(self, value: object, path: str) -> tuple[Condition, ...]:
        if not isinstance(value, dict) or not value:
            self.fail(path, 'expected a table like { platforms = { lacks = "x" } }')
        found = []
        for field_name, tests in value.items():
            if not isinstance(tests, dict) or not tests:
                self.fail(f"{path}.{field_name}", 'expected a table like { lacks = "x" }')
            for op, expected in tests.items():
                if op not in CONDITIONS:
                    ops = ", ".join(sorted(CONDITIONS))
                    self.fail(f"{path}.{field_name}.{op}", f"unknown condition {op!r}; expected one of {ops}")
                values = expected if isinstance(expected, list) else [expected]
                if not values or not all(isinstance(v, str) and v for v in values):
                    self.fail(f"{path}.{field_name}.{op}", f"expected a string or strings, got {expected!r}")
                found.extend(Condition(field_name, op, v) for v in values)
        return tuple(found)


def parse_programme(text: str, name: str = "<programme>") -> Programme:
    """Parse and validate programme TOML `text`; `name` appears in error messages."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ProgrammeError(name, int(match.group(1)) if match else 1, "", f"invalid TOML: {exc}") from exc
    return _Reader(name, text).programme(doc)


def load_programme(path: str | Path) -> Programme:
    """Load and validate a programme file; raises ProgrammeError naming file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgrammeError(path.name, 1, "", f"cannot read the programme file: {exc}") from exc
    return parse_programme(text, path.name)


@cache
def default_programme() -> Programme:
    """The built-in "social-embassy" programme."""
    return load_programme(DEFAULT_PATH)
