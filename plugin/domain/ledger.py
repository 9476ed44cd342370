"""Per-participant ledger: bounded aggregates of the event log.

Every field is a commutative aggregate (counts per day, bitmasks, sets, minima), so the ledger is a
function of the *set* of events it saw: arrival order and repeats (same `event_id`) change nothing.
Posts are kept one record per distinct content (the earliest copy by (occurred_at, event_id)), which
is what duplicate detection, topic counts and post missions need.

Memory per participant is bounded by their activity, not by the whole log: 8 bytes per event for
replay detection (a sorted array of 64-bit `hash(event_id)`; a collision among one participant's
events, probability about n^2 / 2^64, would drop an event), one record per distinct post, one
entry per colleague replied to, and fixed per-day counters.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, time
from typing import NamedTuple

from .events import ActivityEvent, Kind
from .scoring import DEFAULT_RULES, Action, ScoringRules

# Conversation Starter needs 5 distinct repliers on one post; more are never needed, so at most
# this many are remembered per thread (the count min(distinct, 5) is still order-independent).
THREAD_REPLIERS_TRACKED = 5


class PostRecord(NamedTuple):
    """The earliest copy of one distinct post."""

    occurred_at: float
    event_id: str
    day: int
    knowledge_sharing: bool
    broadcast: bool
    own_words: int
    topics: tuple[str, ...]
    place_id: str | None


class EvidenceRecord(NamedTuple):
    """The earliest approval of one piece of evidence (one URL, or one submission without URL)."""

    occurred_at: float
    event_id: str
    day: int
    url: str | None
    metrics: tuple[tuple[str, int], ...]


class Ledger:
    """Aggregated activity of one participant over the programme days 0..days-1."""

    __slots__ = (
        "_records",
        "activity",
        "checkins",
        "colleagues",
        "days",
        "evidence",
        "loose_posts",
        "posts",
        "reactions",
        "reactions_received",
        "replies",
        "replies_received",
        "seen",
        "threads",
        "trivial",
    )

    def __init__(self, days: int) -> None:
        self.days = days
        self.seen = array("q")  # sorted 64-bit hashes of event ids: 8 bytes per event
        self.posts: dict[str, tuple] = {}  # content_hash -> PostRecord-shaped tuple
        self.loose_posts: list[tuple] = []  # posts without a content hash
        self.replies = array("I", bytes(4 * days))  # non-trivial replies to others, per day
        self.reactions = array("I", bytes(4 * days))  # reactions to others' posts, per day
        self.activity = array("I", bytes(4 * days))  # replies, reactions, evidence (posts: records)
        self.trivial: dict[int, int] = {}  # (day, burst slot) -> trivial replies
        self.colleagues: dict[int, int] = {}  # colleague replied to -> bitmask of days
        self.threads: dict[str, tuple[int, ...]] = {}  # own thread -> some distinct repliers
        self.reactions_received = 0
        self.replies_received = 0
        self.evidence: dict[tuple[str, str], tuple] = {}  # (mission slug, url or id) -> record
        self.checkins: dict[str, int] = {}  # mission slug ("" = none) -> bitmask of days
        self._records: list[PostRecord] | None = None  # cache for snapshots; reset by every post

    def add(self, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> bool:
        """Fold `e` (on programme `day`, `second` seconds into it) in; False if already seen."""
        h = hash(e.event_id)
        seen = self.seen
        i = bisect_left(seen, h)
        if i != len(seen) and seen[i] == h:
            return False
        seen.insert(i, h)
        _HANDLERS[e.kind](self, e, ts, day, second, rules)
        return True

    def records(self) -> list[PostRecord]:
        """All distinct posts (earliest copies)."""
        if self._records is None:
            self._records = [PostRecord(*rec) for rec in (*self.posts.values(), *self.loose_posts)]
        return self._records

    def evidence_records(self, slug: str | None) -> Iterator[EvidenceRecord]:
        """Approved evidence for mission `slug` (None: any mission)."""
        for (mission, _key), rec in self.evidence.items():
            if slug is None or mission == slug:
                yield EvidenceRecord(*rec)

    def checkin_days(self, slug: str | None) -> int:
        """Bitmask of days with a check-in for mission `slug` (None: any check-in)."""
        if slug is not None:
            return self.checkins.get(slug, 0)
        mask = 0
        for days in self.checkins.values():
            mask |= days
        return mask

    def active_days(self) -> int:
        """Bitmask of days with at least one qualifying own action (self-directed ones excluded)."""
        mask = 0
        for day, n in enumerate(self.activity):
            if n:
                mask |= 1 << day
        for rec in self.records():
            mask |= 1 << rec.day
        return mask

    def day_counts(self, rules: ScoringRules) -> Iterator[tuple[int, str, int]]:
        """Credited actions as (day, action, count) rows, ready for `scoring.score_days`."""
        knowledge: dict[int, int] = {}
        plain: dict[int, int] = {}
        for rec in self.records():
            bucket = knowledge if rec.knowledge_sharing and not rec.broadcast else plain
            bucket[rec.day] = bucket.get(rec.day, 0) + 1
        replies = list(self.replies)
        slots = _slots_per_day(rules)
        for key, n in self.trivial.items():
            replies[key // slots] += rules.credited_trivial(n)
        for day, n in knowledge.items():
            yield day, Action.KNOWLEDGE_POST, n
        for day, n in plain.items():
            yield day, Action.POST, n
        for day, n in enumerate(replies):
            if n:
                yield day, Action.REPLY, n
        for day, n in enumerate(self.reactions):
            if n:
                yield day, Action.REACTION, n


def _slots_per_day(rules: ScoringRules) -> int:
    # DST days last up to 25 hours, hence the extra hour of slots
    return (25 * 60) // rules.burst_minutes + 1


def _post(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    led._records = None
    rec = (ts, e.event_id, day, e.knowledge_sharing, e.broadcast, e.own_words, e.topics, e.place_id)
    key = e.content_hash
    if key is None:
        led.loose_posts.append(rec)
        return
    old = led.posts.get(key)
    if old is None or (ts, e.event_id) < (old[0], old[1]):
        led.posts[key] = rec


def _reply(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    target = e.target_author_id
    if target == e.person_id:
        return
    led.activity[day] += 1
    if e.own_words < rules.trivial_words:
        key = day * _slots_per_day(rules) + int(second // (60 * rules.burst_minutes))
        led.trivial[key] = led.trivial.get(key, 0) + 1
        return
    led.replies[day] += 1
    if target is not None:
        led.colleagues[target] = led.colleagues.get(target, 0) | (1 << day)


def _reaction(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    if e.target_author_id == e.person_id:
        return
    led.reactions[day] += 1
    led.activity[day] += 1


def _reaction_in(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    if e.from_person_id != e.person_id:
        led.reactions_received += 1


def _reply_in(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    sender = e.from_person_id
    if sender == e.person_id:
        return
    led.replies_received += 1
    thread = e.thread_id
    if thread is None or sender is None:
        return
    known = led.threads.get(thread, ())
    if len(known) < THREAD_REPLIERS_TRACKED and sender not in known:
        led.threads[thread] = (*known, sender)


def _evidence(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    led.activity[day] += 1
    url = e.url.strip() if e.url else None
    key = (e.mission_slug or "", url or e.event_id)
    old = led.evidence.get(key)
    if old is None or (ts, e.event_id) < (old[0], old[1]):
        led.evidence[key] = (ts, e.event_id, day, url, e.metrics)


def _checkin(led: Ledger, e: ActivityEvent, ts: float, day: int, second: float, rules: ScoringRules) -> None:
    slug = e.mission_slug or ""
    led.checkins[slug] = led.checkins.get(slug, 0) | (1 << day)


_HANDLERS: dict[str, Callable[[Ledger, ActivityEvent, float, int, float, ScoringRules], None]] = {
    Kind.POST.value: _post,
    Kind.REPLY.value: _reply,
    Kind.REACTION_GIVEN.value: _reaction,
    Kind.REACTION_RECEIVED.value: _reaction_in,
    Kind.REPLY_RECEIVED.value: _reply_in,
    Kind.EVIDENCE_APPROVED.value: _evidence,
    Kind.CHECKIN.value: _checkin,
}


def ledger_of(events: Iterable[ActivityEvent], rules: ScoringRules = DEFAULT_RULES) -> Ledger:
    """A ledger of one participant's events, with programme days as UTC calendar days.

    For rule tests and one-off checks; the engine uses the cohort calendar instead.
    """
    items = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    if not items:
        return Ledger(1)
    first = datetime.combine(items[0].occurred_at.date(), time(), tzinfo=UTC).timestamp()
    days = int((items[-1].occurred_at.timestamp() - first) // 86400) + 1
    ledger = Ledger(days)
    for e in items:
        ts = e.occurred_at.timestamp()
        day = int((ts - first) // 86400)
        ledger.add(e, ts, day, ts - first - day * 86400, rules)
    return ledger
