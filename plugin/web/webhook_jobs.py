"""Queueing the inbox jobs after webhook commits: soon after each commit, but not once per commit.

Under load the inbox commits hundreds of batches a second; a job per batch would cost the intake a queue round
trip each time and flood the worker with jobs that find nothing left to do. Each web process instead has one
background thread that queues a job at most once per ``interval`` per job name, always *after* being asked, so a
job that starts after that moment sees every item committed before it: nothing waits longer than ``interval``
for its job, and the minute sweep catches anything a dying process did not queue. With an immediate queue (the
tests) the job is called at once, in the request.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.1  # seconds


class JobWaker:
    """Queues named jobs from a background thread, coalescing requests that come within one interval."""

    def __init__(self, queue: Callable[[str], object], *, immediate: Callable[[], bool],
                 interval: float = DEFAULT_INTERVAL) -> None:
        self._queue, self._immediate, self._interval = queue, immediate, interval
        self._lock = threading.Lock()
        self._asked = threading.Event()
        self._pending: set[str] = set()
        self._thread: tuple[int, threading.Thread] | None = None  # per process: threads do not survive a fork

    def wake(self, job: str) -> None:
        """Have `job` queued soon (now, with an immediate queue); never raises."""
        if self._immediate():
            self._call(job)
            return
        with self._lock:
            self._pending.add(job)
            if self._thread is None or self._thread[0] != os.getpid() or not self._thread[1].is_alive():
                thread = threading.Thread(target=self._run, name="inbox-job-waker", daemon=True)
                self._thread = (os.getpid(), thread)
                thread.start()
        self._asked.set()

    def _run(self) -> None:
        pause = threading.Event()  # never set: a sleep
        while True:
            self._asked.wait()
            self._asked.clear()
            with self._lock:
                jobs, self._pending = self._pending, set()
            for job in sorted(jobs):
                self._call(job)
            pause.wait(self._interval)

    def _call(self, job: str) -> None:
        try:
            self._queue(job)
        except Exception:  # noqa: BLE001 - the items are stored; the periodic sweep picks them up anyway
            log.warning("could not queue %s; the periodic sweep will process the items", job, exc_info=True)
