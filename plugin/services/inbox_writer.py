"""Group commit for the webhook inbox: concurrent deliveries in one process share one INSERT and one commit.

A commit costs about one disk flush (SQLite ``synchronous=FULL``; PostgreSQL ``synchronous_commit=on``), so a
commit per delivery caps intake at roughly one delivery per flush. Here the first delivery to arrive while no
commit is under way becomes the *leader*: it takes every delivery queued so far (its own included), inserts
their rows in one statement, and when that has committed releases them all. Deliveries that arrive meanwhile
queue up and go in the next commit, so a batch grows with the load and a lone delivery commits at once (no
timer, no writer thread, nothing to restart after a fork).

Guarantees: ``store`` returns only after the commit holding the delivery's rows succeeded, and raises
``InboxUnavailable`` when it did not, with none of its rows stored; a delivery shares the fate of no other one,
because a batch the database refuses is retried one delivery at a time. An identity already stored, or
delivered twice in one batch, is inserted once.

The process keeps one connection of its own for this, in AUTOCOMMIT mode: the multi-row INSERT … RETURNING is
its own transaction, so a batch costs one round trip (a pooled session would add a ping, BEGIN and COMMIT).
When the app's sessions are bound to a connection instead of an engine (the tests' rolled-back transaction),
the batch goes through a session on it. On SQLite the leaders of the web processes also take a file lock
(``lock_path``) around the write: a second writer would otherwise meet SQLite's busy handler, which polls with
sleeps of up to 100 ms, while the lock's waiter is woken the moment the other commit ends.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .inbox import LIFECYCLE_PREFIX, StoreResult, inbox_rows, insert_rows, insert_rows_autocommit

log = logging.getLogger(__name__)

#: The longest a leader waits for deliveries to join its commit (see ``InboxWriter._gather``).
DEFAULT_GATHER_SECONDS = 0.002
#: Called by a leader once per committed batch with the change and lifecycle items it added (to wake the jobs).
OnCommit = Callable[[int, int], None]


class InboxUnavailable(Exception):
    """The delivery's rows were not stored (the database refused or failed); the caller should answer 503."""


@dataclass(eq=False)
class _Delivery:
    """One webhook delivery waiting for its batch: its rows, then the outcome."""

    rows: dict[str, dict[str, Any]]
    received: int
    done: bool = False
    error: BaseException | None = None
    added: set[str] = field(default_factory=set)
    #: Set when the delivery is done, or when it is to lead the next commit (only its own thread is woken).
    turn: threading.Event = field(default_factory=threading.Event)


class InboxWriter:
    """Stores webhook deliveries with group commit (see the module docstring); one per process and app."""

    def __init__(self, sessions: Callable[[], sessionmaker[Session]], *, on_commit: OnCommit | None = None,
                 lock_path: str | None = None, gather_seconds: float = DEFAULT_GATHER_SECONDS) -> None:
        self._sessions = sessions
        self._gather_seconds = gather_seconds
        self._on_commit = on_commit
        self._lock_path = lock_path
        # Only the leader touches these. A descriptor or connection inherited over a fork is not ours: keyed by pid.
        self._lock_file: tuple[int, int] | None = None
        self._connection: tuple[int, Engine, Connection] | None = None
        self._lock = threading.Lock()
        self._queue: list[_Delivery] = []
        self._writing = False  # a leader is committing (or has been chosen)
        self._last_batch = 0  # deliveries in the last commit: how many the next leader may wait for
        self._expected = 0
        self._gathered = threading.Event()

    @property
    def waiting(self) -> int:
        """Deliveries queued for the next commit (the one under way holds the others)."""
        with self._lock:
            return len(self._queue)

    def store(self, items: Sequence[Mapping[str, Any]]) -> StoreResult:
        """Store the items durably (committed) and say how many were new; raises InboxUnavailable if not stored."""
        delivery = _Delivery(inbox_rows(items, received_at=datetime.now(UTC)), received=len(items))
        with self._lock:
            self._queue.append(delivery)
            leader = not self._writing
            self._writing = True
            if self._expected and len(self._queue) >= self._expected:
                self._gathered.set()
        if not leader:
            delivery.turn.wait()  # until its batch has committed, or it is its turn to lead
        if not delivery.done:
            self._lead(delivery)
        if delivery.error is not None:
            raise InboxUnavailable(str(delivery.error)) from delivery.error
        return StoreResult(received=delivery.received, stored=len(delivery.added))

    def _lead(self, own: _Delivery) -> None:
        """Commit everything queued (the leader's own delivery too), release those deliveries, hand the role on."""
        batch: list[_Delivery] = []
        self._gather()
        try:
            with self._exclusive():
                with self._lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        except BaseException as exc:
            if not isinstance(exc, SQLAlchemyError):
                log.exception("the inbox writer failed; the deliveries of this batch are refused with 503")
            with self._lock:
                if not batch and own in self._queue:  # failed before taking the batch
                    self._queue.remove(own)
                    batch = [own]
            for delivery in batch:
                if not delivery.done:
                    delivery.error, delivery.done = exc, True
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].turn.set()  # the longest waiting delivery leads the next commit
                else:
                    self._writing = False
            for delivery in batch:
                delivery.turn.set()
        self._report(batch)

    def _gather(self) -> None:
        """Wait a moment for the deliveries that are probably on their way, when the last commit had company."""
        # Without this, deliveries released together come back together, and the first of them commits alone
        # while the others wait a whole commit for the next: batches of 1 and n-1 instead of n. The wait ends as
        # soon as as many deliveries are queued as the last commit held, and never happens for a lone delivery.
        with self._lock:
            expected = self._last_batch if self._last_batch > len(self._queue) else 0
            self._expected = expected
            self._gathered.clear()
        if expected:
            self._gathered.wait(self._gather_seconds)
            with self._lock:
                self._expected = 0

    def _commit(self, batch: list[_Delivery]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for delivery in batch:
            for identity, row in delivery.rows.items():
                rows.setdefault(identity, row)
        try:
            added = self._insert(list(rows.values()))
        except SQLAlchemyError as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            # One delivery the database refuses (a value it cannot store) must not fail the others with it.
            log.warning("an inbox batch of %d deliveries failed (%s); storing them one by one", len(batch),
                        type(exc).__name__)
            for delivery in batch:
                self._commit([delivery])
            return
        for delivery in batch:  # a row two deliveries share is credited to the first
            delivery.added = added & delivery.rows.keys()
            added -= delivery.added
            delivery.done = True
        self._last_batch = len(batch)

    def _insert(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert and commit the rows; the identities added."""
        sessions = self._sessions()
        engine = sessions.kw.get("bind")
        if not isinstance(engine, Engine):  # bound to a connection (the tests' transaction): commit through a session
            with sessions() as session:
                added = insert_rows(session, rows)
                session.commit()
            return added
        connection = self._writer_connection(engine)
        try:
            return insert_rows_autocommit(connection, rows)
        except BaseException:
            self.close()  # whatever state it is in, it is not reused
            raise

    def _writer_connection(self, engine: Engine) -> Connection:
        """The process's own connection to the database, in AUTOCOMMIT mode (each INSERT commits itself)."""
        # Kept between batches: checking a connection out of the pool per batch costs a ping and a BEGIN round trip.
        if self._connection is None or self._connection[:2] != (os.getpid(), engine):
            self.close()
            if not event.contains(engine, "engine_disposed", self._engine_disposed):
                event.listen(engine, "engine_disposed", self._engine_disposed)
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._connection = (os.getpid(), engine, connection)
        return self._connection[2]

    def _engine_disposed(self, engine: Engine) -> None:
        if self._connection is not None and self._connection[1] is engine:
            self.close()

    def close(self) -> None:
        """Close the writer's own database connection (it is opened again when needed)."""
        held, self._connection = self._connection, None
        if held is not None and held[0] == os.getpid():
            held[2].invalidate()  # closes the driver's connection now, whatever the pool does later
            held[2].close()

    def _report(self, batch: list[_Delivery]) -> None:
        if self._on_commit is None:
            return
        lifecycle = sum(1 for d in batch for identity in d.added
                        if d.rows[identity]["change_type"].startswith(LIFECYCLE_PREFIX))
        changes = sum(len(d.added) for d in batch) - lifecycle
        if changes or lifecycle:
            self._on_commit(changes, lifecycle)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Hold the cross-process write lock when there is one (SQLite)."""
        if self._lock_path is None:
            yield
            return
        if self._lock_file is None or self._lock_file[0] != os.getpid():
            self._lock_file = (os.getpid(), os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600))
        fd = self._lock_file[1]
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
