"""The impact report's rules: periods, rates, suppression of small groups and statements like the article's.

The article proves its programme with before/after figures ("activity ×6", "+44 % followers"). This module turns
counted activity into such figures for one group of participants (a cohort or a team); the service counts, this
module decides what may be shown and said.

Periods (weeks of 7 days from the cohort's kickoff, in its time zone):

* *baseline*: the ``baseline_weeks`` weeks before the start (history backfilled when the cohort was set up);
* *programme*: the programme weeks that are over (a running week counts once it has ended);
* *last weeks*: the last :data:`LAST_WEEKS` of those, to see whether the effect lasts (the 48-hour effect).

Privacy: a figure that rests on fewer than ``min_group`` people (the organisation's setting, 5 by default) is
*suppressed*: it has no values, only its definition and why it is hidden. In a breakdown by team, when exactly
one group is suppressed, the smallest shown group is suppressed too, so nobody can subtract the shown teams from
the cohort's total and recover the hidden one.

A statement ("Activity ×5.8 compared with the baseline") is made only when the numbers *support* it:

* the figure is not suppressed (at least ``min_group`` people are behind it);
* the baseline is not zero and rests on at least :data:`MIN_BASELINE_EVENTS` events (posts, replies, …; for the
  network figures: ``min_group`` people who reported both numbers), so one stray post cannot make "×40";
* at least one programme week is over.

From a ratio of :data:`TIMES_FROM` on the change reads as a factor ("×5.8"), below it as a percentage ("+50 %",
"−20 %"), as the article does ("zesvoudigde", "50 procent meer").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal

from .messages import N_

MIN_GROUP = 5
LAST_WEEKS = 2
MIN_BASELINE_EVENTS = 10
TIMES_FROM = 2.0
#: Decimals kept in the report's values (exports and API); the page rounds further for display.
DECIMALS = 3

Period = Literal["baseline", "programme", "last"]
PERIODS: tuple[Period, ...] = ("baseline", "programme", "last")


@dataclass(frozen=True, slots=True)
class WeekCounts:
    """What one group did in one week; `active` and `reached` count distinct people and pairs."""

    posts: int = 0
    knowledge_posts: int = 0
    replies: int = 0
    #: Participants with at least one post or reply.
    active: int = 0
    #: Replies and reactions colleagues gave on participants' messages.
    received: int = 0
    #: Distinct (participant, colleague) pairs: a colleague reached by a participant that week.
    reached: int = 0

    def __add__(self, other: WeekCounts) -> WeekCounts:
        return WeekCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class Network:
    """Self-reported network sizes of the people who gave both the intake and the final number."""

    people: int = 0
    before: int = 0
    after: int = 0

    def __add__(self, other: Network) -> Network:
        return Network(self.people + other.people, self.before + other.before, self.after + other.after)


@dataclass(frozen=True)
class GroupCounts:
    """Everything counted for one group of participants (a team, or the whole cohort)."""

    people: int
    weeks: Mapping[int, WeekCounts] = field(default_factory=dict)
    connections: Network = Network()
    followers: Network = Network()
    missions_completed: int = 0
    badges: int = 0
    badge_holders: int = 0
    ambassadors: int = 0
    external_posts: int = 0

    def __add__(self, other: GroupCounts) -> GroupCounts:
        weeks = dict(self.weeks)
        for week, counts in other.weeks.items():
            weeks[week] = weeks.get(week, WeekCounts()) + counts
        return GroupCounts(
            self.people + other.people, weeks, self.connections + other.connections,
            self.followers + other.followers, self.missions_completed + other.missions_completed,
            self.badges + other.badges, self.badge_holders + other.badge_holders,
            self.ambassadors + other.ambassadors, self.external_posts + other.external_posts,
        )


def total(groups: Iterable[GroupCounts]) -> GroupCounts:
    """The sum of `groups` (a cohort from its teams)."""
    result = GroupCounts(0)
    for group in groups:
        result = result + group
    return result


@dataclass(frozen=True, slots=True)
class Periods:
    """Week numbers of each period: baseline -B..-1, programme 1..n (weeks that are over), the last few."""

    baseline: tuple[int, ...]
    programme: tuple[int, ...]
    last: tuple[int, ...]

    def of(self, period: Period) -> tuple[int, ...]:
        """The weeks of `period`."""
        return getattr(self, period)

    @property
    def all_weeks(self) -> tuple[int, ...]:
        """Every week of the report in order."""
        return self.baseline + self.programme


def make_periods(baseline_weeks: int, programme_weeks_over: int, *, last_weeks: int = LAST_WEEKS,
                 baseline_weeks_over: int | None = None) -> Periods:
    """The periods for a cohort with `baseline_weeks` of history of which `programme_weeks_over` weeks ended.

    `baseline_weeks_over` is for a cohort that has not started yet: only baseline weeks that ended count.
    """
    over = baseline_weeks if baseline_weeks_over is None else min(baseline_weeks_over, baseline_weeks)
    baseline = tuple(range(-baseline_weeks, -baseline_weeks + over))
    programme = tuple(range(1, programme_weeks_over + 1))
    return Periods(baseline, programme, programme[-last_weeks:] if last_weeks > 0 else ())


@dataclass(frozen=True, slots=True)
class Statement:
    """A sentence like the article's: `msgid` with %(figure)s and %(ratio)s (a factor) or %(change)s (percent)."""

    msgid: str
    kind: Literal["times", "percent"]
    #: The factor rounded to one decimal (for "times") …
    ratio: float
    #: … or the change in whole percent, e.g. 50 or -20 (for "percent").
    percent: int


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the report, with its definition and the number of people behind it."""

    key: str
    label: str  # msgid
    definition: str  # msgid
    #: "per_person_week", "per_post", "share" (0..1), "average" (per person reporting) or "count".
    unit: str
    people: int
    suppressed: bool
    baseline: float | None = None
    programme: float | None = None
    last: float | None = None
    #: programme ÷ baseline (the final ÷ intake number for the network figures), when both exist.
    change: float | None = None
    statement: Statement | None = None


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One week of the activity curve: who was active, and posts per participant."""

    week: int
    period: Period
    active: int
    active_share: float
    posts_per_person: float
    knowledge_per_person: float
    replies_per_person: float


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """The figures of one group; `weekly` is empty when the group is suppressed."""

    people: int
    suppressed: bool
    figures: tuple[Figure, ...]
    weekly: tuple[WeekPoint, ...]

    def figure(self, key: str) -> Figure:
        """The figure with this key."""
        return next(f for f in self.figures if f.key == key)

    @property
    def statements(self) -> tuple[Statement, ...]:
        """The statements the numbers support, in the order of the figures."""
        return tuple(f.statement for f in self.figures if f.statement is not None)


STATEMENT_TIMES = N_("%(figure)s ×%(ratio)s compared with the baseline")
STATEMENT_PERCENT = N_("%(figure)s %(change)s compared with the baseline")
STATEMENT_NETWORK_TIMES = N_("%(figure)s ×%(ratio)s from intake to the end")
STATEMENT_NETWORK_PERCENT = N_("%(figure)s %(change)s from intake to the end")


@dataclass(frozen=True, slots=True)
class _Rate:
    """A per-week figure: numerator (and, for per-post figures, denominator) from the week counts."""

    key: str
    label: str
    definition: str
    unit: str
    numerator: tuple[str, ...]
    denominator: str | None = None  # None: per participant per week


_RATES = (
    _Rate("activity", N_("Activity"), N_("Posts and replies per participant per week."),
          "per_person_week", ("posts", "replies")),
    _Rate("posts", N_("Posts"),
          N_("New posts (not replies) in Teams channels and Viva Engage communities, per participant per week."),
          "per_person_week", ("posts",)),
    _Rate("knowledge_posts", N_("Knowledge-sharing posts"),
          N_("Posts that share knowledge in the author's own words, not a bare re-share of corporate content, "
             "per participant per week."),
          "per_person_week", ("knowledge_posts",)),
    _Rate("replies", N_("Replies given"), N_("Replies participants wrote in conversations, per participant per week."),
          "per_person_week", ("replies",)),
    _Rate("responses_per_post", N_("Reactions and replies received per post"),
          N_("Reactions and replies colleagues gave on participants' messages, divided by the participants' posts "
             "in the same weeks."),
          "per_post", ("received",), "posts"),
    _Rate("reach", N_("Colleagues reached"),
          N_("Different colleagues who reacted or replied to a participant in a week, per participant per week."),
          "per_person_week", ("reached",)),
)
#: Active participant-weeks over all participant-weeks: the average share of participants active in a week.
_ACTIVE = _Rate("active_share", N_("Active participants"),
                N_("Share of participants who posted or replied at least once in a week, averaged over the weeks."),
                "share", ("active",))
_NETWORK = (
    ("connections", N_("Connections"),
     N_("Average number of connections participants reported at the intake and at the end; only people who "
        "reported both count.")),
    ("followers", N_("Followers"),
     N_("Average number of followers participants reported at the intake and at the end; only people who "
        "reported both count.")),
)
_COUNTS = (
    ("missions_completed", N_("Missions completed"), N_("Missions participants completed so far, all together.")),
    ("external_posts", N_("External posts approved"),
     N_("LinkedIn or X posts participants handed in and a coach or lead approved.")),
    ("badges", N_("Badges awarded"), N_("Badges awarded in this group and not revoked.")),
    ("badge_holders", N_("Participants with a badge"), N_("Participants who hold at least one badge.")),
    ("ambassadors", N_("Ambassadors"), N_("Participants a lead or coach recognised as ambassador.")),
)


def build_figures(group: GroupCounts, periods: Periods, *, min_group: int = MIN_GROUP) -> GroupFigures:
    """Every figure of the report for `group` over `periods`; values are None when suppressed or unmeasured."""
    suppressed = group.people < min_group
    # Each period's weeks summed once; every rate is a ratio of these sums.
    sums = {period: _sum_weeks(group, periods.of(period)) for period in PERIODS}
    lengths = {period: len(periods.of(period)) for period in PERIODS}
    figures: list[Figure] = [_rate_figure(rate, group.people, sums, lengths, suppressed) for rate in _RATES]
    figures.insert(5, _rate_figure(_ACTIVE, group.people, sums, lengths, suppressed))
    figures.extend(_network_figure(key, label, definition, getattr(group, key), min_group)
                   for key, label, definition in _NETWORK)
    figures.extend(
        Figure(key, label, definition, "count", group.people, suppressed,
               programme=None if suppressed else float(getattr(group, key)))
        for key, label, definition in _COUNTS
    )
    weekly = () if suppressed else tuple(_week_point(group, week, periods) for week in periods.all_weeks)
    return GroupFigures(group.people, suppressed, tuple(figures), weekly)


def _sum_weeks(group: GroupCounts, weeks: Sequence[int]) -> WeekCounts:
    result = WeekCounts()
    for week in weeks:
        counts = group.weeks.get(week)
        if counts is not None:
            result = result + counts
    return result


def _count_of(counts: WeekCounts, names: Sequence[str]) -> int:
    return sum(getattr(counts, name) for name in names)


def _rate_value(rate: _Rate, people: int, counts: WeekCounts, weeks: int) -> float | None:
    if not weeks or people == 0:
        return None
    numerator = _count_of(counts, rate.numerator)
    if rate.denominator is None:
        return numerator / (people * weeks)
    denominator = getattr(counts, rate.denominator)
    return numerator / denominator if denominator else None


def _rate_figure(rate: _Rate, people: int, sums: Mapping[Period, WeekCounts], lengths: Mapping[Period, int],
                 suppressed: bool) -> Figure:
    if suppressed:
        return Figure(rate.key, rate.label, rate.definition, rate.unit, people, True)
    values = {period: _rate_value(rate, people, sums[period], lengths[period]) for period in PERIODS}
    # A per-post figure rests on the baseline's posts, a per-participant one on its own events.
    events = _count_of(sums["baseline"], (rate.denominator,) if rate.denominator else rate.numerator)
    change = _ratio(values["programme"], values["baseline"])
    supported = change is not None and events >= MIN_BASELINE_EVENTS
    return Figure(rate.key, rate.label, rate.definition, rate.unit, people, False,
                  *(_round(values[p]) for p in PERIODS), _round(change),
                  statement(change, network=False) if supported else None)


def _network_figure(key: str, label: str, definition: str, network: Network, min_group: int) -> Figure:
    if network.people < min_group:
        return Figure(key, label, definition, "average", network.people, True)
    before, after = network.before / network.people, network.after / network.people
    change = _ratio(after, before)
    return Figure(key, label, definition, "average", network.people, False, _round(before), _round(after), None,
                  _round(change), statement(change, network=True) if change is not None else None)


def _week_point(group: GroupCounts, week: int, periods: Periods) -> WeekPoint:
    counts = group.weeks.get(week, WeekCounts())
    people = group.people
    return WeekPoint(
        week, "baseline" if week < 0 else ("last" if week in periods.last else "programme"), counts.active,
        _round(counts.active / people), _round(counts.posts / people), _round(counts.knowledge_posts / people),
        _round(counts.replies / people),
    )


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def statement(ratio: float, *, network: bool) -> Statement:
    """The statement for a supported change `ratio` (new ÷ old): a factor from ×2 on, else a percentage."""
    if ratio >= TIMES_FROM:
        return Statement(STATEMENT_NETWORK_TIMES if network else STATEMENT_TIMES, "times", round(ratio, 1), 0)
    return Statement(STATEMENT_NETWORK_PERCENT if network else STATEMENT_PERCENT, "percent", round(ratio, 1),
                     round((ratio - 1) * 100))


@dataclass(frozen=True, slots=True)
class TeamFigures:
    """A team in the breakdown (the "oil stain" map of ambassadors across teams)."""

    key: int | None
    people: int
    suppressed: bool
    figures: GroupFigures


def team_breakdown(groups: Mapping[int | None, GroupCounts], periods: Periods, *,
                   min_group: int = MIN_GROUP) -> list[TeamFigures]:
    """Figures per team, with small teams suppressed and, when exactly one is, the smallest shown one as well."""
    hidden = {key for key, group in groups.items() if 0 < group.people < min_group}
    shown = sorted((group.people, str(key), key) for key, group in groups.items()
                   if key not in hidden and group.people > 0)
    if len(hidden) == 1 and shown:
        hidden.add(shown[0][2])  # else the cohort's total minus the shown teams gives the hidden one away
    result = []
    for key, group in groups.items():
        figures = build_figures(group, periods, min_group=min_group)
        if key in hidden and not figures.suppressed:
            figures = _suppress(figures)
        result.append(TeamFigures(key, group.people, key in hidden, figures))
    return result


def _suppress(figures: GroupFigures) -> GroupFigures:
    blank = tuple(Figure(f.key, f.label, f.definition, f.unit, f.people, True) for f in figures.figures)
    return GroupFigures(figures.people, True, blank, ())
