"""Opt-in participation: an invited person consents to take part (and can withdraw) before anything counts.

Only `active` enrolments are replayed by the engine, ranked, shown to leads or ingested for a cohort; an
`invited` person has given no consent yet and a `withdrawn` one took it back. Both see the consent text in the
personal tab and can (re)join with one click while their cohort runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import AuditEntry, Cohort, Enrolment
from .refusal import Refused

#: The version of the consent text in the personal tab; raise it whenever that text changes in substance.
CONSENT_VERSION = "1"


@dataclass(frozen=True)
class Invitation:
    """An enrolment waiting for the person's consent: what the consent screen shows."""

    enrolment_id: int
    cohort: dict
    status: str
    version: str


class ConsentNeeded(LookupError):
    """The person was invited (or withdrew) and has not consented: nothing of theirs counts yet."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__("consent needed")
        self.invitation = invitation


def _open_enrolment(session: Session, person_id: int, statuses: tuple[str, ...]) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).join(Cohort)
        .where(Enrolment.person_id == person_id, Enrolment.status.in_(statuses), Cohort.frozen_at.is_(None))
        .order_by(Cohort.start_date.desc(), Enrolment.id.desc()).limit(1)
    )


def invitation(session: Session, person_id: int) -> Invitation | None:
    """The running cohort this person was invited to (or withdrew from) and has not consented to, if any."""
    enrolment = _open_enrolment(session, person_id, ("invited", "withdrawn"))
    if enrolment is None:
        return None
    cohort = enrolment.cohort
    return Invitation(
        enrolment_id=enrolment.id,
        cohort={"id": cohort.id, "name": cohort.name, "start_date": cohort.start_date.isoformat(),
                "weeks": cohort.weeks},
        status=enrolment.status,
        version=CONSENT_VERSION,
    )


def ask_again_after(session: Session, enrolment: Enrolment) -> None:
    """Raise ConsentNeeded when the person's programme has ended and they are invited to a running one."""
    if enrolment.cohort.frozen_at is None:
        return
    waiting = invitation(session, enrolment.person_id)
    if waiting is not None:
        raise ConsentNeeded(waiting)


def require_active(session: Session, person_id: int) -> Enrolment:
    """The person's active enrolment (most recent cohort); ConsentNeeded or Refused(not_found) otherwise."""
    enrolment = session.scalar(
        select(Enrolment).join(Cohort).where(Enrolment.person_id == person_id, Enrolment.status == "active")
        .order_by(Cohort.start_date.desc(), Enrolment.id.desc()).limit(1)
    )
    if enrolment is not None:
        ask_again_after(session, enrolment)
        return enrolment
    waiting = invitation(session, person_id)
    if waiting is not None:
        raise ConsentNeeded(waiting)
    raise Refused("not_found", "not_enrolled", N_("You are not taking part in a programme yet."))


def give_consent(session: Session, person_id: int, version: object, *, at: datetime | None = None) -> Enrolment:
    """Take part: the invited (or withdrawn) enrolment becomes active, with the consent time and version; commits."""
    if not isinstance(version, str) or not version.strip():
        raise Refused("invalid", "invalid_version", N_("Say which version of the consent text you agree to."),
                      field="version")
    active = session.scalar(
        select(Enrolment).join(Cohort).where(Enrolment.person_id == person_id, Enrolment.status == "active",
                                             Cohort.frozen_at.is_(None)).limit(1)
    )
    enrolment = _open_enrolment(session, person_id, ("invited", "withdrawn"))
    if enrolment is None:
        if active is not None:
            return active  # consenting twice changes nothing
        raise Refused("not_found", "not_invited", N_("You have not been invited to a programme."))
    if version != CONSENT_VERSION:
        raise Refused("conflict", "consent_outdated",
                      N_("The consent text has changed since you opened it. Read it again, then confirm."),
                      field="version")
    at = at or datetime.now(UTC)
    previous = enrolment.status
    enrolment.status, enrolment.consented_at, enrolment.consent_version = "active", at, CONSENT_VERSION
    session.add(AuditEntry(actor_id=person_id, action="enrolment.consent", target_type="enrolment",
                           target_id=str(enrolment.id),
                           details={"cohort_id": enrolment.cohort_id, "version": CONSENT_VERSION, "from": previous}))
    session.commit()
    return enrolment


def withdraw(session: Session, person_id: int, *, at: datetime | None = None) -> Enrolment:
    """Stop taking part: nothing of the person's counts from now on and they leave every ranking; commits."""
    enrolment = session.scalar(
        select(Enrolment).join(Cohort).where(Enrolment.person_id == person_id, Enrolment.status == "active",
                                             Cohort.frozen_at.is_(None))
        .order_by(Cohort.start_date.desc()).limit(1)
    )
    if enrolment is None:
        raise Refused("not_found", "not_enrolled", N_("You are not taking part in a running programme."))
    enrolment.status, enrolment.ranking_visibility = "withdrawn", "off"
    session.add(AuditEntry(actor_id=person_id, action="enrolment.withdraw", target_type="enrolment",
                           target_id=str(enrolment.id), details={"cohort_id": enrolment.cohort_id},
                           created_at=at or datetime.now(UTC)))
    session.commit()
    return enrolment
