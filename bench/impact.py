"""Impact report benchmark: a cohort of 1,000 people with a year of activity on PostgreSQL (budget ≤ 500 ms).

Usage: python bench/impact.py [--database-url URL] [--people N] [--colleagues N] [--baseline-weeks N] [--runs N]
                              [--reuse] [--revision REV]

Fills its own database (default ``postgresql+psycopg://postgres@127.0.0.1:5432/impact_bench``; it drops every
table there and builds the schema with the Alembic migrations, up to ``--revision``, default head) with a year of
activity around one cohort: ``--people`` participants in 20 teams,
8 programme weeks that are all over and 44 weeks of history before them, and ``--colleagues`` other people who
react, reply and post themselves (activity the report must skip). Participants post about once a week before the
start and three times a week during the programme; colleagues answer their posts. Rows go in with COPY.

The cohort's report compares ``--baseline-weeks`` before the start (8, the default of a cohort; 44 takes the
whole year) with the programme. With ``--reuse`` the data already there is timed, after moving the schema up or
down to ``--revision`` (only between revisions that keep the tables: ``0003_library`` is the schema before the
report's covering indexes of ``0004_activity_report_indexes``, so the two can be timed on the same rows).

Then it times, after one warm-up, ``--runs`` times each:
* the service, ``services.impact.impact_report`` (all SQL and the rules), and
* the API request a coach's tab makes, ``GET /api/cohorts/<id>/impact`` through the Flask test client with a
  Teams SSO token from the sandbox authority (token check, report, JSON).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import plugin.models  # noqa: E402,F401 - registers every table
from plugin import create_app  # noqa: E402
from plugin.db import Base, make_engine  # noqa: E402
from plugin.models import Activity, Cohort, Enrolment, Person, RoleAssignment, Team  # noqa: E402
from plugin.services import impact, migrations  # noqa: E402
from plugin.services.demo import demo_oid  # noqa: E402
from plugin.services.progress import cohort_calendar  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/impact_bench"
COACH = "Esther Koster"
TEAMS = 20
WEEKS, HISTORY_WEEKS = 8, 44
COLUMNS = ("source", "external_id", "kind", "author_oid", "author_id", "target_author_id", "team_id",
           "thread_external_id", "occurred_at", "knowledge_sharing", "broadcast", "own_words", "language", "links",
           "files", "mentions", "is_question", "topics", "ingested_at")


def poisson(rnd: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth), small means only."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


def build(url: str, people: int, colleagues: int, revision: str) -> int:
    """Drop the schema and migrate to `revision`, then generate the cohort and its year of activity; returns its id."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrations.upgrade(url, revision)
    rnd = random.Random(20261201)
    started = time.perf_counter()
    with Session(engine) as session:
        coach = Person(entra_oid=demo_oid(COACH), display_name=COACH, preferred_locale="nl")
        session.add(coach)
        session.flush()
        session.add(RoleAssignment(person_id=coach.id, role="coach"))
        teams = [Team(graph_id=str(uuid.uuid4()), display_name=f"Team {n + 1}") for n in range(TEAMS)]
        session.add_all(teams)
        today = datetime.now(UTC).date()
        cohort = Cohort(name="Benchmark", start_date=today - timedelta(days=7 * WEEKS + 3), weeks=WEEKS,
                        baseline_weeks=HISTORY_WEEKS, programme_id="social-embassy", programme_version="1",
                        created_by_id=coach.id)
        session.add(cohort)
        session.flush()
        participants = [Person(entra_oid=str(uuid.uuid4()), display_name=f"P{n}") for n in range(people)]
        others = [Person(entra_oid=str(uuid.uuid4()), display_name=f"C{n}") for n in range(colleagues)]
        session.add_all(participants + others)
        session.flush()
        for n, person in enumerate(participants):
            reported = rnd.random() < 0.7
            session.add(Enrolment(
                cohort_id=cohort.id, person_id=person.id, team_id=teams[n % TEAMS].id, status="active",
                baseline_connections=rnd.randint(100, 900) if reported else None,
                final_connections=rnd.randint(110, 1000) if reported else None,
                baseline_followers=rnd.randint(20, 300) if reported else None,
                final_followers=rnd.randint(30, 400) if reported else None,
            ))
        session.commit()
        people_rows = [(p.id, p.entra_oid) for p in participants]
        other_rows = [(p.id, p.entra_oid) for p in others]
        cohort_id = cohort.id
        calendar = cohort_calendar(cohort)
    rows = _activity(rnd, calendar, people_rows, other_rows)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY activity ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
        count = connection.execute(select(func.count()).select_from(Activity)).scalar_one()
    print(f"generated {count:,} activity rows for {people:,} participants and {colleagues:,} colleagues "
          f"in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    return cohort_id


def _activity(rnd, calendar, participants, others):
    """Posts, replies and reactions over 52 weeks; yields COPY rows."""
    now = datetime.now(UTC)
    counter = 0
    everyone = participants + others

    def row(kind, author, at, target=None, thread=None, knowledge=False):
        nonlocal counter
        counter += 1
        external = f"b{counter}"
        return ("teams", external, kind, author[1], author[0], target, None, thread or external, at, knowledge,
                False, 30 if kind == "post" else 5, "nl", 0, 0, 0, False, "[]", now)

    for week in [*range(-HISTORY_WEEKS, 0), *range(1, WEEKS + 1)]:
        first = calendar.day_start(7 * (week - 1) if week > 0 else 7 * week)
        programme = week > 0
        for person in participants:
            for _ in range(poisson(rnd, 3.0 if programme else 1.0)):
                at = first + timedelta(seconds=rnd.random() * 6 * 86400)
                post = row("post", person, at, knowledge=rnd.random() < (0.7 if programme else 0.3))
                yield post
                for _ in range(poisson(rnd, 3.0 if programme else 1.5)):
                    reactor = rnd.choice(everyone)
                    yield row("reaction", reactor, at + timedelta(minutes=rnd.randint(1, 600)), target=person[0],
                              thread=post[1])
                for _ in range(poisson(rnd, 1.0 if programme else 0.5)):
                    replier = rnd.choice(everyone)
                    yield row("reply", replier, at + timedelta(minutes=rnd.randint(5, 900)), target=person[0],
                              thread=post[1])
            for _ in range(poisson(rnd, 1.5 if programme else 0.7)):
                target = rnd.choice(others)
                yield row("reply", person, first + timedelta(seconds=rnd.random() * 6 * 86400), target=target[0])
        for person in others:  # the rest of the organisation, which the report must skip
            if rnd.random() < 0.5:
                at = first + timedelta(seconds=rnd.random() * 6 * 86400)
                post = row("post", person, at)
                yield post
                for _ in range(poisson(rnd, 1.0)):
                    yield row("reaction", rnd.choice(others), at + timedelta(minutes=30), target=person[0],
                              thread=post[1])


def move_to(url: str, revision: str) -> str:
    """Upgrade or downgrade the database to `revision`; returns the revision id it is at."""
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    target = script.get_revision(revision).revision
    current = migrations.current(url)
    if current is None:
        raise SystemExit("this database has no Alembic revision: run without --reuse first")
    if target != current:
        below = {r.revision for r in script.iterate_revisions(current, "base")}
        (migrations.downgrade if target in below else migrations.upgrade)(url, target)
    return target


def timings(label: str, call, runs: int, *, backend_pid: int | None = None) -> list[float]:
    """Run `call` once to warm up, then `runs` times; print wall times in ms (and CPU time used, when known).

    On a shared machine the wall time includes waiting for a core. The CPU time of this process plus that of
    the PostgreSQL backend (read from /proc, when the server runs here) is what the report costs on an idle one.
    """
    call()
    times, cpu = [], []
    for _ in range(runs):
        started, client_cpu, server_cpu = time.perf_counter(), time.process_time(), _backend_cpu(backend_pid)
        call()
        times.append((time.perf_counter() - started) * 1000)
        if server_cpu is not None:
            cpu.append((time.process_time() - client_cpu + _backend_cpu(backend_pid) - server_cpu) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
    line = f"{label}: wall median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"
    if cpu:
        line += f"; CPU (client + PostgreSQL backend) median {statistics.median(cpu):.0f} ms, max {max(cpu):.0f} ms"
    print(f"{line} ({runs} runs; load average {os.getloadavg()[0]:.1f})")
    return times


def _backend_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a local process, or None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Generate (unless --reuse) and time the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--colleagues", type=int, default=2000)
    parser.add_argument("--baseline-weeks", type=int, default=8, help="Weeks before the start the report compares.")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="Time the data already in the database.")
    parser.add_argument("--revision", default="head",
                        help="Schema revision to time (with --reuse, the database is migrated up or down to it).")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("the budget is for PostgreSQL: give a postgresql+psycopg:// URL")
    if args.reuse:
        move_to(args.database_url, args.revision)
    else:
        build(args.database_url, args.people, args.colleagues, args.revision)
    setup = make_engine(args.database_url)
    with Session(setup) as session:
        cohort = session.scalar(select(Cohort).where(Cohort.name == "Benchmark"))
        if cohort is None:
            parser.error("no benchmark data in this database yet: run without --reuse first")
        cohort.baseline_weeks, cohort_id = args.baseline_weeks, cohort.id
        session.commit()
    with setup.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE activity"))  # index-only scans need the visibility map
        covering = connection.execute(text(
            "SELECT string_agg(indexname, ', ' ORDER BY indexname) FROM pg_indexes "
            "WHERE tablename = 'activity' AND indexdef LIKE '%INCLUDE%'")).scalar_one()
    setup.dispose()
    print(f"revision {migrations.current(args.database_url)}; covering indexes on activity: {covering or 'none'}; "
          f"baseline weeks: {args.baseline_weeks}")

    app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": args.database_url})
    engine = app.extensions["db.engine"]
    with Session(engine) as session:
        cohort = session.get(Cohort, cohort_id)
        result = impact.impact_report(session, cohort)
        posts = result.group.figure("posts")
        print(f"cohort {cohort_id}: {result.group.people} participants, weeks {result.periods['baseline'].weeks[0]}"
              f"..{result.periods['programme'].weeks[-1]}; posts {posts.baseline} → {posts.programme} "
              f"per person/week (×{posts.change})")
        session.commit()

        def service() -> None:
            session.expire_all()
            impact.impact_report(session, session.get(Cohort, cohort_id))
            session.commit()

        timings("service impact_report()", service, args.runs)
        # The same without parallel workers: then the backend does all the work, so its CPU time is all of it.
        session.execute(text("SET max_parallel_workers_per_gather = 0"))
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        timings("service impact_report(), no parallel workers", service, args.runs, backend_pid=pid)
        session.rollback()

    token = app.extensions["sandbox"].authority.mint_sso_token(demo_oid(COACH))
    client = app.test_client()

    def request() -> None:
        response = client.get(f"/api/cohorts/{cohort_id}/impact?locale=nl",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.get_json()

    timings("GET /api/cohorts/<id>/impact", request, args.runs)
    engine.dispose()


if __name__ == "__main__":
    main()
