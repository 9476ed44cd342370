"""The audit log of admin, coach and lead actions (and erasures): recording an entry, and reading the log.

An entry says who (``actor_id``; None for the system and the command line), what (``action``, dotted:
``role.grant``, ``evidence.approved``, ``privacy.erase``), to which record (``target_type``/``target_id``) and
when. Details hold ids and choices, never message text, tokens or the personal data of an erased person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from ..domain.messages import N_
from ..models import AuditEntry, Person
from .refusal import Refused

#: Entries per page of the admin API, unless it asks for another number (at most MAX_PER_PAGE).
PER_PAGE = 50
MAX_PER_PAGE = 200

Target = tuple[str, object] | str


def record_audit(session: Session, actor_id: int | None, action: str, target: Target,
                 details: Mapping[str, Any] | None = None, *, at: datetime | None = None) -> AuditEntry:
    """Add an entry to the caller's unit of work (no commit); `target` is ``(type, id)`` or just a type."""
    target_type, target_id = (target, None) if isinstance(target, str) else target
    entry = AuditEntry(actor_id=actor_id, action=action[:64], target_type=str(target_type)[:32],
                       target_id=None if target_id is None else str(target_id)[:64], details=dict(details or {}),
                       created_at=at or datetime.now(UTC))
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditPage:
    """One page of the log, newest first."""

    entries: list[dict[str, Any]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages the filtered log has (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def parse_since(raw: object) -> datetime | None:
    """A `since` filter: an ISO date (midnight UTC) or date-time; None when absent; Refused when unreadable."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    text = str(raw).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), UTC)
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise Refused("invalid", "invalid_since", N_("Give the date as YYYY-MM-DD (or an ISO date and time)."),
                      field="since") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_positive(raw: object, name: str, default: int, maximum: int | None = None) -> int:
    """A page number or page size from a query string; Refused unless it is a whole number from 1 (to maximum)."""
    if raw is None or raw == "":
        return default
    text = str(raw).strip()
    if not text.isdigit() or int(text) < 1 or (maximum is not None and int(text) > maximum):
        if maximum is None:
            raise Refused("invalid", f"invalid_{name}", N_("%(name)s must be a whole number from 1."),
                          field=name, name=name)
        raise Refused("invalid", f"invalid_{name}", N_("%(name)s must be a whole number from 1 to %(max)s."),
                      field=name, name=name, max=maximum)
    return int(text)


def list_audit(session: Session, *, since: datetime | None = None, action: str | None = None, page: int = 1,
               per_page: int = PER_PAGE) -> AuditPage:
    """The log newest first; `action` matches exactly or as a prefix (``role`` finds ``role.grant``); reads only."""
    query = select(AuditEntry)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if action:
        query = query.where(or_(AuditEntry.action == action, AuditEntry.action.like(f"{_escape(action)}.%",
                                                                                     escape="\\")))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    actor = aliased(Person)
    rows = session.execute(
        query.add_columns(actor.display_name, actor.erased_at).outerjoin(actor, actor.id == AuditEntry.actor_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return AuditPage([_entry(entry, name, erased) for entry, name, erased in rows], page, per_page, total)


def _entry(entry: AuditEntry, actor_name: str | None, actor_erased: datetime | None) -> dict[str, Any]:
    actor = None
    if entry.actor_id is not None:
        actor = {"id": entry.actor_id, "name": None if actor_erased else actor_name, "erased": actor_erased is not None}
    return {"id": entry.id, "at": entry.created_at.isoformat(), "actor": actor, "action": entry.action,
            "target": {"type": entry.target_type, "id": entry.target_id}, "details": entry.details or {}}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
