"""Typed `make_*` factories: the smallest valid row, with any field overridden by keyword."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from plugin.models import Activity, Award, Badge, Channel, Cohort, Enrolment, Mission, Person, Team

_seq = itertools.count(1)


def _add(session: Session, row: Any) -> Any:
    session.add(row)
    session.flush()
    return row


def make_person(session: Session, **overrides: Any) -> Person:
    """A person with a fresh Entra object id."""
    n = next(_seq)
    fields = {"entra_oid": str(uuid.uuid4()), "display_name": f"Person {n}", "upn": f"person{n}@example.test",
              "preferred_locale": "nl"}
    return _add(session, Person(**(fields | overrides)))


def make_team(session: Session, **overrides: Any) -> Team:
    """A Teams team with one channel."""
    n = next(_seq)
    team = Team(**({"graph_id": str(uuid.uuid4()), "display_name": f"Team {n}"} | overrides))
    team.channels = [Channel(graph_id=f"19:{uuid.uuid4().hex}@thread.tacv2", display_name="General")]
    return _add(session, team)


def make_cohort(session: Session, **overrides: Any) -> Cohort:
    """A cohort of the default programme."""
    fields = {"name": f"Cohort {next(_seq)}", "start_date": date(2026, 9, 7), "programme_id": "social-embassy",
              "programme_version": "1"}
    return _add(session, Cohort(**(fields | overrides)))


def make_enrolment(session: Session, *, cohort: Cohort, person: Person, **overrides: Any) -> Enrolment:
    """An active, consented enrolment."""
    fields = {"cohort_id": cohort.id, "person_id": person.id, "status": "active",
              "consented_at": datetime(2026, 9, 1, tzinfo=UTC), "consent_version": "1"}
    return _add(session, Enrolment(**(fields | overrides)))


def make_mission(session: Session, *, cohort: Cohort, **overrides: Any) -> Mission:
    """A week-1 mission."""
    fields = {"cohort_id": cohort.id, "slug": f"mission-{next(_seq)}", "week": 1, "type": "post_with_note",
              "params": {}, "points": 10}
    return _add(session, Mission(**(fields | overrides)))


def make_activity(session: Session, *, author: Person, **overrides: Any) -> Activity:
    """A Teams channel post by `author`."""
    fields = {"source": "teams", "external_id": str(next(_seq) + 1606515483514), "kind": "post",
              "author_oid": author.entra_oid, "author_id": author.id,
              "occurred_at": datetime(2026, 9, 8, 10, tzinfo=UTC)}
    return _add(session, Activity(**(fields | overrides)))


def make_badge(session: Session, **overrides: Any) -> Badge:
    """A badge class."""
    return _add(session, Badge(**({"slug": f"badge-{next(_seq)}"} | overrides)))


def make_award(session: Session, *, person: Person, badge: Badge, cohort: Cohort, **overrides: Any) -> Award:
    """An award of `badge` to `person` in `cohort`."""
    fields = {"public_id": str(uuid.uuid4()), "person_id": person.id, "badge_id": badge.id, "cohort_id": cohort.id}
    return _add(session, Award(**(fields | overrides)))
