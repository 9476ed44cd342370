"""Four workers claiming from one inbox while the webhook keeps storing: every item claimed once, nobody fails.

On SQLite a claim used to read its candidates first and then write: when another connection had written in
between, the write was refused at once ("database is locked"), whatever the busy timeout. The claim now takes the
write lock when its transaction begins, so the workers wait their turn. PostgreSQL claims with SKIP LOCKED. Same
assertions on both (CI runs this file on both).
"""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from plugin.models import InboxItem
from plugin.services.inbox import claim_batch, store_notifications
from tests.reliability.test_burst import notification

WORKERS = 4
ITEMS = 600
PER_DELIVERY = 20
WAIT = 120  # seconds: a deadline for the threads to finish, never a measurement


def message(n: int) -> dict[str, object]:
    return {"id": str(1_800_000_000_000 + n), "replyToId": None}


def test_four_workers_claiming_while_the_webhook_stores_each_claim_an_item_exactly_once(own_database):
    _url, engine = own_database
    with Session(engine) as session:  # half the items are waiting when the workers start
        store_notifications(session, [notification(message(n)) for n in range(ITEMS // 2)])
    claimed: dict[str, list[int]] = {f"w{n}": [] for n in range(WORKERS)}
    errors: list[BaseException] = []
    stored = threading.Event()
    start = threading.Barrier(WORKERS + 1)

    def webhook(engine: Engine) -> None:
        try:
            with Session(engine) as session:
                start.wait()
                for first in range(ITEMS // 2, ITEMS, PER_DELIVERY):
                    store_notifications(session, [notification(message(n))
                                                  for n in range(first, first + PER_DELIVERY)])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            stored.set()

    def worker(name: str) -> None:
        try:
            with Session(engine) as session:
                start.wait()
                while True:
                    done_storing = stored.is_set()
                    items = claim_batch(session, 7, worker_id=name, lease_seconds=600)
                    claimed[name] += [item.id for item in items]
                    if not items and done_storing:
                        return
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=webhook, args=(engine,))]
    threads += [threading.Thread(target=worker, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)

    assert errors == []
    every_claim = Counter(item_id for ids in claimed.values() for item_id in ids)
    assert len(every_claim) == ITEMS and set(every_claim.values()) == {1}  # each item once, by one worker
    assert sum(1 for ids in claimed.values() if ids) > 1  # they really worked side by side
    with Session(engine) as session:
        statuses = dict(session.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all())
        attempts = set(session.scalars(select(InboxItem.attempts)))
    assert statuses == {"processing": ITEMS} and attempts == {1}
