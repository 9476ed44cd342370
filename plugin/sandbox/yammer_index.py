"""Sorted message ids per community and per thread over ``Scenario.community_messages``, kept up to date.

Yammer pages by message id (``older_than``/``newer_than``), and its ids grow with time, so each feed is an
ascending id list searched with ``bisect``: a page costs O(log n + limit) even for a million messages.
"""

from __future__ import annotations

import itertools
import threading
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass

from plugin.sandbox.scenario import Scenario


@dataclass(frozen=True)
class Page:
    """Ids of one page, newest first, and whether older ids remain in the requested range."""

    ids: list[int]
    older_available: bool


class CommunityIndex:
    """Feeds of a scenario's communities: all messages, thread starters, and each thread's messages."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._lock = threading.Lock()
        self._seen = 0
        self._all: dict[int, list[int]] = {}
        self._starters: dict[int, list[int]] = {}
        self._threads: dict[int, list[int]] = {}

    def refresh(self) -> None:
        """Take in messages added to the scenario since the last call (a full rebuild if any were removed)."""
        messages = self._scenario.community_messages
        # The scenario's lock guards its dicts against concurrent inserts while we iterate.
        with self._scenario._lock, self._lock:
            if len(messages) == self._seen:
                return
            if len(messages) < self._seen:
                self._seen = 0
                self._all.clear()
                self._starters.clear()
                self._threads.clear()
            for message in itertools.islice(messages.values(), self._seen, None):
                _add(self._all.setdefault(message.community_id, []), message.id)
                if message.replied_to_id is None:
                    _add(self._starters.setdefault(message.community_id, []), message.id)
                _add(self._threads.setdefault(message.thread_id, []), message.id)
            self._seen = len(messages)

    def page(
        self, group_id: int, *, starters_only: bool, older_than: int | None, newer_than: int | None, limit: int
    ) -> Page:
        """Up to ``limit`` ids with newer_than < id < older_than, newest first."""
        self.refresh()
        with self._lock:
            ids = (self._starters if starters_only else self._all).get(group_id, [])
            hi = bisect_left(ids, older_than) if older_than is not None else len(ids)
            lo = bisect_right(ids, newer_than) if newer_than is not None else 0
            lo = min(lo, hi)
            start = max(lo, hi - limit)
            return Page(ids[start:hi][::-1], start > lo)

    def remove(self, message_id: int) -> None:
        """Take a message out of the scenario and of every feed (KeyError when the scenario lacks it)."""
        messages = self._scenario.community_messages
        self.refresh()  # index everything first, so the count of indexed messages stays exact
        with self._scenario._lock, self._lock:
            message = messages.pop(message_id)
            for ids in (self._all.get(message.community_id), self._starters.get(message.community_id),
                        self._threads.get(message.thread_id)):
                if ids is not None:
                    at = bisect_left(ids, message_id)
                    if at < len(ids) and ids[at] == message_id:
                        del ids[at]
            self._seen -= 1

    def thread(self, thread_id: int) -> list[int]:
        """Every message id of a thread, ascending (the starter first)."""
        self.refresh()
        with self._lock:
            return list(self._threads.get(thread_id, ()))


def _add(ids: list[int], message_id: int) -> None:
    # Ids normally arrive in ascending order; insort keeps hand-built scenarios correct too.
    if not ids or ids[-1] < message_id:
        ids.append(message_id)
    else:
        insort(ids, message_id)
