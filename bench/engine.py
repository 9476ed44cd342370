"""Engine replay benchmark: stream 1,000,000 activity events for ~10,000 people through the engine.

Usage: python bench/engine.py [--events N] [--people N] [--chunk N] [--tracemalloc]

Events are generated lazily in chunks (never the whole log in memory); the engine rate counts only
time inside `apply_many`. Peak memory is the process's max RSS (includes the interpreter); with
--tracemalloc the Python-heap peak is reported too (slower, so rates from that run are not budget
figures).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, timedelta
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.domain.calendar import CohortCalendar  # noqa: E402
from plugin.domain.engine import ProgrammeEngine  # noqa: E402
from plugin.domain.events import ActivityEvent  # noqa: E402
from plugin.domain.programme import default_programme  # noqa: E402

KINDS = (
    ("reaction_given", 34),
    ("reply", 20),
    ("post", 14),
    ("reaction_received", 16),
    ("reply_received", 14),
    ("evidence_approved", 1),
    ("checkin", 1),
)
TOPICS = ("lean", "cloud", "ai", "finance", "security", "hr", "sales", "data", "agile", "esg")
PLACES = tuple(f"19:channel-{i}@thread.tacv2" for i in range(200))
SLUGS = ("kickoff-checkin", "halfway-checkin", "closing-checkin", "starting-point", "first-external")


def generate(n: int, people: int, calendar: CohortCalendar, seed: int = 7) -> Iterator[ActivityEvent]:
    """A deterministic stream of `n` events; about 1 % repeat an earlier event id (replays)."""
    rnd = random.Random(seed)
    kinds = [k for k, weight in KINDS for _ in range(weight)]
    start = calendar.starts_at.astimezone(UTC)
    span = (calendar.frozen_at - calendar.starts_at).total_seconds() - 1
    recent: list[ActivityEvent] = []
    for i in range(n):
        if recent and rnd.random() < 0.01:
            yield rnd.choice(recent)
            continue
        person = rnd.randrange(people)
        kind = rnd.choice(kinds)
        other = rnd.randrange(people)
        at = start + timedelta(seconds=rnd.random() * span)
        words = rnd.choice((0, 2, 3, 8, 15, 40, 120, 350))
        event = ActivityEvent(
            event_id=f"graph:{i}",
            person_id=person,
            kind=kind,
            occurred_at=at,
            place_id=rnd.choice(PLACES) if kind == "post" else None,
            target_author_id=other if kind in ("reply", "reaction_given") else None,
            from_person_id=other if kind.endswith("_received") else None,
            thread_id=f"t:{person}:{rnd.randrange(40)}" if kind == "reply_received" else None,
            knowledge_sharing=kind == "post" and words >= 8,
            broadcast=kind == "post" and words == 0,
            own_words=words,
            topics=(rnd.choice(TOPICS),) if kind == "post" else (),
            content_hash=f"c:{person}:{rnd.randrange(60)}" if kind == "post" else None,
            mission_slug=rnd.choice(SLUGS) if kind in ("evidence_approved", "checkin") else None,
            url=f"https://www.linkedin.com/posts/p{person}-{i}" if kind == "evidence_approved" else None,
        )
        if i % 97 == 0:
            recent = [*recent[-63:], event]
        yield event


def main() -> None:
    """Run the replay and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()

    calendar = CohortCalendar(date(2025, 3, 3), "Europe/Amsterdam")  # spans the DST change of 30 March
    engine = ProgrammeEngine(default_programme(), calendar)
    stream = generate(args.events, args.people, calendar)
    applied = total = 0
    in_engine = 0.0
    wall = time.perf_counter()
    while chunk := list(islice(stream, args.chunk)):
        t = time.perf_counter()
        applied += engine.apply_many(chunk)
        in_engine += time.perf_counter() - t
        total += len(chunk)
    wall = time.perf_counter() - wall

    t = time.perf_counter()
    at = calendar.frozen_at
    people = engine.people()
    points = sum(engine.snapshot(pid, at=at).points for pid in people)
    snap = time.perf_counter() - t

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"events: {total:,} streamed, {applied:,} applied (rest: replays), {len(people):,} people")
    print(f"engine: {total / in_engine:,.0f} events/s ({in_engine:.2f} s in apply_many)")
    print(f"with generation: {total / wall:,.0f} events/s ({wall:.2f} s wall)")
    print(f"snapshots: {len(people) / snap:,.0f} people/s ({snap:.2f} s, {points:,} points in total)")
    print(f"peak RSS: {rss_mb:,.0f} MB")
    if args.tracemalloc:
        print(f"peak Python heap (tracemalloc): {tracemalloc.get_traced_memory()[1] / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
