"""Inbox processing time per notification: the burst of tests/reliability/test_burst.py, timed without the test.

Usage: python bench/inbox_batch.py [--notifications 5000] [--people 12] [--limit 100] [--database-url URL]
                                   [--implementation path/to/inbox.py]

A fresh database gets the burst test's cohort and conversation (``tests.reliability.test_burst``); all
notifications are stored at once, then ``process_pending`` drains the inbox in batches of --limit, progress judged
at a fixed moment inside the programme. Printed: the wall time per 1,000 notifications as the history grows, and
seconds and milliseconds per notification overall. --implementation loads another copy of
``plugin/services/inbox.py`` (e.g. the one before batching) in place of the current one, for a before/after.

SQLite in a temporary folder unless --database-url names one (its tables are dropped and created again). Not a
test: figures go in the report.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import plugin.models  # noqa: E402,F401 - registers every table
from plugin.db import Base, make_engine  # noqa: E402
from plugin.services import inbox as current_inbox  # noqa: E402
from plugin.services.progress import recompute_people  # noqa: E402
from tests.integration.ingest_fixtures import setup_cohort  # noqa: E402
from tests.reliability.test_burst import AT, conversation, notification, resource  # noqa: E402


def implementation(path: str | None) -> ModuleType:
    """The inbox module to time: the current one, or a copy loaded from `path` as part of plugin.services."""
    if path is None:
        return current_inbox
    spec = importlib.util.spec_from_file_location("plugin.services._inbox_timed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--limit", type=int, default=100, help="items per claimed batch (the job uses 100)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--implementation", default=None, help="another inbox.py to time instead")
    args = parser.parse_args()
    inbox = implementation(args.implementation)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='ambassador-inbox-')) / 'inbox.db'}"
    engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    inbox.recompute_people = lambda s, cohort_id, people, **kw: recompute_people(s, cohort_id, people, at=AT)
    with Session(engine, expire_on_commit=False) as session:
        _cohort, people = setup_cohort(session, args.people)
        session.commit()
        messages = conversation([p.entra_oid for p in people], args.notifications, random.Random(20_000))
        by_resource: dict[str, Any] = {resource(m): m for m in messages}
        for start in range(0, len(messages), 500):
            inbox.store_notifications(session, [notification(m) for m in messages[start:start + 500]])
        print(f"{engine.dialect.name}, {args.notifications} notifications, {args.people} people, "
              f"batches of {args.limit}, {args.implementation or 'current inbox.py'}")
        done, mark, started = 0, 0, time.perf_counter()
        lap = started
        while True:
            result = inbox.process_pending(session, by_resource.get, limit=args.limit)
            done += result.done
            if done - mark >= 1000 or not result.claimed:
                now = time.perf_counter()
                if done > mark:
                    print(f"  items {mark:>6}-{done:<6} {(now - lap) / (done - mark) * 1000:7.2f} ms/notification")
                mark, lap = done, now
            if not result.claimed:
                break
        took = time.perf_counter() - started
    assert done == len(messages), (done, len(messages))
    print(f"total {took:.1f} s, {took / done * 1000:.2f} ms/notification")
    engine.dispose()


if __name__ == "__main__":
    main()
