"""Mission types: a registry (like CTFd's CHALLENGE_CLASSES) of how progress is measured.

Each type declares a params schema (checked by the programme loader) and counts progress from a
participant's `Ledger` within a `Scope` (the mission's window). `progress(events, params)` does the
same for a plain list of one participant's events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar
from urllib.parse import urlsplit

from .events import ActivityEvent
from .ledger import Ledger, PostRecord, ledger_of
from .messages import N_


class Source(StrEnum):
    """Who establishes that a mission is done."""

    AUTO = "auto"  # detected from Teams / Viva Engage activity
    EVIDENCE = "evidence"  # self-reported with evidence, approved by a coach or lead
    COACH = "coach"  # confirmed by the coach


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a participant is with one mission."""

    current: int
    target: int
    done: bool

    @classmethod
    def of(cls, current: int, target: int) -> Progress:
        """Progress with `done` derived from current >= target."""
        return cls(current, target, current >= target)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which part of the ledger counts: programme days [first_day, end_day) and the mission slug."""

    slug: str | None = None
    first_day: int = 0
    end_day: int = 1 << 30

    def has(self, day: int) -> bool:
        """True if `day` lies in the scope."""
        return self.first_day <= day < self.end_day

    @property
    def mask(self) -> int:
        """The scope's days as a bitmask (unbounded scopes give a negative, infinite mask)."""
        mask = -1 << self.first_day
        return mask & ((1 << self.end_day) - 1) if self.end_day < 4096 else mask


@dataclass(frozen=True, slots=True)
class Context:
    """What personalises a mission's params: intake answers and the cohort's place aliases."""

    intake: Mapping[str, object] = field(default_factory=dict)
    places: Mapping[str, str] = field(default_factory=dict)


_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Param:
    """Schema of one mission parameter: "int", "str", "bool" or "strs" (a list of strings)."""

    kind: str
    default: object = _REQUIRED
    minimum: int | None = None
    choices: tuple[str, ...] = ()


class ParamError(ValueError):
    """A mission's params do not fit its type's schema; `key` names the param (None: the table)."""

    def __init__(self, key: str | None, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _check_int(key: str, spec: Param, value: object) -> object:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParamError(key, f"expected an integer, got {value!r}")
    if spec.minimum is not None and value < spec.minimum:
        raise ParamError(key, f"must be at least {spec.minimum}, got {value}")
    return value


def _check_bool(key: str, spec: Param, value: object) -> object:
    if not isinstance(value, bool):
        raise ParamError(key, f"expected true or false, got {value!r}")
    return value


def _check_str(key: str, spec: Param, value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ParamError(key, f"expected a non-empty string, got {value!r}")
    if spec.choices and value not in spec.choices:
        raise ParamError(key, f"unknown value {value!r}; expected one of {', '.join(spec.choices)}")
    return value


def _check_strs(key: str, spec: Param, value: object) -> object:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ParamError(key, f"expected a list of non-empty strings, got {value!r}")
    return tuple(value)


# Param kinds: each checks a raw TOML value and returns it normalised (lists become tuples).
PARAM_KINDS: dict[str, Callable[[str, Param, object], object]] = {
    "int": _check_int,
    "bool": _check_bool,
    "str": _check_str,
    "strs": _check_strs,
}


def _int(params: Mapping[str, object], key: str) -> int:
    value = params[key]
    assert isinstance(value, int)
    return value


def _strs(params: Mapping[str, object], key: str) -> tuple[str, ...]:
    value = params[key]
    assert isinstance(value, tuple)
    return value


def norm_topic(topic: str) -> str:
    """Topic or hashtag in comparable form: "#Lean " -> "lean"."""
    return topic.strip().lstrip("#").casefold()


class MissionType:
    """Base of all mission types; subclasses set the class attributes and `count`."""

    slug: ClassVar[str]
    source: ClassVar[Source] = Source.AUTO
    schema: ClassVar[Mapping[str, Param]]
    target: ClassVar[str]  # the param holding the number to reach
    whole_programme: ClassVar[bool] = False  # counts from kickoff, not from the week's opening

    def validate(self, params: Mapping[str, object]) -> Mapping[str, object]:
        """Params with defaults filled in; raises ParamError naming the offending key."""
        unknown = sorted(set(params) - set(self.schema))
        if unknown:
            raise ParamError(unknown[0], f"unknown param; expected one of {', '.join(sorted(self.schema))}")
        clean: dict[str, object] = {}
        for key, spec in self.schema.items():
            if key in params:
                clean[key] = PARAM_KINDS[spec.kind](key, spec, params[key])
            elif spec.default is _REQUIRED:
                raise ParamError(None, f"missing required param {key!r}")
            else:
                clean[key] = spec.default
        return MappingProxyType(clean)

    def personalise(self, params: Mapping[str, object], context: Context) -> Mapping[str, object]:
        """Params for one participant (default: unchanged)."""
        return params

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Progress count within `scope`."""
        raise NotImplementedError

    def measure(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> Progress:
        """Progress of a participant (their ledger) within `scope`."""
        return Progress.of(self.count(ledger, params, scope), _int(params, self.target))

    def progress(self, events: Iterable[ActivityEvent], params: Mapping[str, object]) -> Progress:
        """Progress from one participant's events, any time, any mission slug."""
        return self.measure(ledger_of(events), self.validate(params), Scope())


MISSION_TYPES: dict[str, MissionType] = {}


def register(cls: type[MissionType]) -> type[MissionType]:
    """Class decorator: add a mission type to the registry under its slug."""
    MISSION_TYPES[cls.slug] = cls()
    return cls


def _posts(ledger: Ledger, scope: Scope) -> Iterable[PostRecord]:
    return (rec for rec in ledger.records() if not rec.broadcast and scope.has(rec.day))


@register
class PostWithNote(MissionType):
    """Knowledge-sharing posts with the author's own words (not a broadcast)."""

    slug = "post_with_note"
    schema = MappingProxyType({"posts": Param("int", 1, 1), "min_words": Param("int", 0, 0)})
    target = "posts"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct qualifying posts."""
        words = _int(params, "min_words")
        return sum(1 for r in _posts(ledger, scope) if r.knowledge_sharing and r.own_words >= words)


@register
class ReplyToColleagues(MissionType):
    """Replies (with some own words) to N distinct colleagues."""

    slug = "reply_to_colleagues"
    schema = MappingProxyType({"colleagues": Param("int", 1, 1)})
    target = "colleagues"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct colleagues replied to."""
        mask = scope.mask
        return sum(1 for days in ledger.colleagues.values() if days & mask)


@register
class ReactToPosts(MissionType):
    """Reactions to N posts of others."""

    slug = "react_to_posts"
    schema = MappingProxyType({"posts": Param("int", 1, 1)})
    target = "posts"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Reactions given in scope."""
        return sum(ledger.reactions[scope.first_day : scope.end_day])


@register
class PostInPlace(MissionType):
    """Posts in a given channel or community (`place`: an id or a cohort alias)."""

    slug = "post_in_place"
    schema = MappingProxyType({"place": Param("str"), "posts": Param("int", 1, 1)})
    target = "posts"

    def personalise(self, params: Mapping[str, object], context: Context) -> Mapping[str, object]:
        """Resolve a place alias ("programme-community") to the cohort's channel id."""
        place = str(params["place"])
        return MappingProxyType({**params, "place": context.places.get(place, place)})

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct posts in the place."""
        return sum(1 for r in _posts(ledger, scope) if r.place_id == params["place"])


@register
class PostOnTopic(MissionType):
    """Knowledge-sharing posts on an expertise topic (default: the intake's `expertise`)."""

    slug = "post_on_topic"
    schema = MappingProxyType({"topics": Param("strs", ()), "posts": Param("int", 1, 1)})
    target = "posts"

    def personalise(self, params: Mapping[str, object], context: Context) -> Mapping[str, object]:
        """Fill empty `topics` from the participant's expertise topics."""
        if params["topics"]:
            return params
        expertise = context.intake.get("expertise", ())
        if isinstance(expertise, str):
            topics: tuple[str, ...] = (expertise,)
        else:
            topics = tuple(t for t in expertise if isinstance(t, str)) if isinstance(expertise, Iterable) else ()
        return MappingProxyType({**params, "topics": topics})

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct knowledge-sharing posts on one of the topics (any topic if none given)."""
        wanted = {norm_topic(t) for t in _strs(params, "topics")}
        return sum(
            1
            for r in _posts(ledger, scope)
            if r.knowledge_sharing and r.topics and (not wanted or wanted & {norm_topic(t) for t in r.topics})
        )


@register
class LongFormPost(MissionType):
    """Posts of at least `min_words` own words (an article or blog)."""

    slug = "long_form_post"
    schema = MappingProxyType({"min_words": Param("int", 300, 1), "posts": Param("int", 1, 1)})
    target = "posts"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct long posts."""
        words = _int(params, "min_words")
        return sum(1 for r in _posts(ledger, scope) if r.own_words >= words)


@register
class UseTopicTag(MissionType):
    """Use N distinct topic tags (hashtags) in posts; `tags` limits which ones count."""

    slug = "use_topic_tag"
    schema = MappingProxyType({"tags": Param("strs", ()), "distinct": Param("int", 1, 1)})
    target = "distinct"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct tags used."""
        allowed = {norm_topic(t) for t in _strs(params, "tags")}
        used = {norm_topic(t) for r in _posts(ledger, scope) for t in r.topics}
        return len(used & allowed if allowed else used)


@register
class ActiveWeeks(MissionType):
    """Active in M distinct programme weeks, counted from kickoff."""

    slug = "active_weeks"
    schema = MappingProxyType({"weeks": Param("int", 1, 1)})
    target = "weeks"
    whole_programme = True

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Weeks with at least one active day in scope."""
        days = ledger.active_days() & scope.mask
        return sum(1 for week in range((ledger.days + 6) // 7) if (days >> (7 * week)) & 0x7F)


PLATFORM_HOSTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"linkedin": ("linkedin.com", "lnkd.in"), "x": ("x.com", "twitter.com")}
)


def url_platform(url: str) -> str | None:
    """The platform an http(s) URL belongs to, by host ("www.linkedin.com" -> "linkedin")."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return None
    for platform, domains in PLATFORM_HOSTS.items():
        if any(host == d or host.endswith("." + d) for d in domains):
            return platform
    return None


def check_evidence_url(platform: str, url: str) -> str | None:
    """None if `url` is a post link on `platform` ("any" = any known); else an N_ msgid."""
    found = url_platform(url)
    if found is None:
        return N_("This is not a LinkedIn or X link")
    if platform != "any" and found != platform:
        return N_("This link is not on the platform the mission asks for")
    return None


@register
class ExternalPost(MissionType):
    """A LinkedIn or X post, self-reported with its URL and approved by a coach or lead."""

    slug = "external_post"
    source = Source.EVIDENCE
    schema = MappingProxyType(
        {"platform": Param("str", "any", choices=("any", *PLATFORM_HOSTS)), "posts": Param("int", 1, 1)}
    )
    target = "posts"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Distinct approved URLs on the platform."""
        platform = str(params["platform"])
        return len(
            {
                r.url
                for r in ledger.evidence_records(scope.slug)
                if scope.has(r.day) and r.url and check_evidence_url(platform, r.url) is None
            }
        )


@register
class NetworkSnapshot(MissionType):
    """Self-reported network size (connections, followers), approved by a coach or lead."""

    slug = "network_snapshot"
    source = Source.EVIDENCE
    schema = MappingProxyType({"metrics": Param("strs", ("connections",)), "snapshots": Param("int", 1, 1)})
    target = "snapshots"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Approved snapshots that report every required metric."""
        needed = set(_strs(params, "metrics"))
        return sum(
            1
            for r in ledger.evidence_records(scope.slug)
            if scope.has(r.day) and needed <= {name for name, value in r.metrics if value >= 0}
        )


@register
class Checkin(MissionType):
    """A conversation with the coach, confirmed by the coach."""

    slug = "checkin"
    source = Source.COACH
    schema = MappingProxyType({"checkins": Param("int", 1, 1)})
    target = "checkins"

    def count(self, ledger: Ledger, params: Mapping[str, object], scope: Scope) -> int:
        """Days with a confirmed check-in."""
        return (ledger.checkin_days(scope.slug) & scope.mask).bit_count()


def progress(type_slug: str, events: Iterable[ActivityEvent], params: Mapping[str, object]) -> Progress:
    """Progress of one participant's `events` on a mission of type `type_slug`."""
    return MISSION_TYPES[type_slug].progress(events, params)
