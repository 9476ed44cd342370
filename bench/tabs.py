"""Tab page server time with the demo data: the HTML shell of each tab and the one JSON call behind it.

Usage: python bench/tabs.py [--requests N] [--database-url URL]

Seeds the demo organisation into a fresh SQLite file (or into --database-url, whose tables are dropped and migrated
again), then times requests through the WSGI app in-process (server time: routing, authentication with a
sandbox-minted Teams SSO token, services, rendering — no network). Prints p50/p95 per route, the CPU time of a
request (this thread's, so it holds on a busy machine where wall times wait for a core) and the SQL statements a
request runs. Budget (DESIGN.md §5): tab page server time p95 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ["AMBASSADOR_DEMO"] = "1"
os.environ["API_RATE_LIMIT"] = "1000000 per minute"  # the limit is still checked; only its ceiling is out of reach
for _name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "REDIS_URL"):
    os.environ.pop(_name, None)

from sqlalchemy import event, text  # noqa: E402

from plugin import create_app  # noqa: E402
from plugin.db import Base, get_session, make_engine  # noqa: E402
from plugin.services import migrations  # noqa: E402
from plugin.services.demo import demo_oid, seed_demo  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Seed the demo, warm up, then time each route N times and print p50/p95 in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url", default=None, help="a database of its own: its tables are dropped")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='ambassador-bench-tabs-')) / 'ambassador.db'}"
    if args.database_url:
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        engine.dispose()
    os.environ["DATABASE_URL"] = url
    app = create_app()
    migrations.upgrade(url, "head")
    with app.app_context():
        seed_demo(get_session())
        if get_session().get_bind().dialect.name == "postgresql":
            # Statistics, as autovacuum would gather within a minute: without them the planner takes every table
            # for a row or so and picks nested loops that rescan the points ledger.
            get_session().execute(text("ANALYZE"))
            get_session().commit()
    authority = app.extensions["sandbox"].authority
    client = app.test_client()
    participant = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Daan Jansen'))}"}
    lead = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Sanne de Vries'))}"}
    routes = [
        ("GET /tabs/personal (shell)", "/tabs/personal?locale=nl&theme=default", {}),
        ("GET /tabs/team (shell)", "/tabs/team?locale=en&theme=dark", {}),
        ("GET /api/me/programme (participant)", "/api/me/programme", participant),
        ("GET /api/me/programme (lead)", "/api/me/programme", lead),
    ]
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    with app.app_context():
        engine = get_session().get_bind().engine
    print(f"{'route':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU p50':>8} {'SQL':>4}")
    for label, path, headers in routes:
        for _ in range(20):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (label, response.status_code, response.get_data(as_text=True)[:200])
        event.listen(engine, "before_cursor_execute", count)
        statements = 0
        client.get(path, headers=headers)
        per_request = statements
        event.remove(engine, "before_cursor_execute", count)
        times, cpu = [], []
        for _ in range(args.requests):
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        print(f"{label:40} {statistics.median(times):8.2f} {percentile(times, 0.95):8.2f} {max(times):8.2f} "
              f"{statistics.median(cpu):8.2f} {per_request:4}")
    print(f"({url.split(':', 1)[0]}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"n={args.requests} per route)")


if __name__ == "__main__":
    main()
