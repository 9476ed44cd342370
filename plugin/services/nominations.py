"""Nominations: any participant proposes a colleague as an ambassador, with a reason; the colleague's team lead
(or the group's coach) confirms it, which recognises them with the Ambassador badge, or declines it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..domain.messages import N_
from ..models import AuditEntry, Cohort, Enrolment, Nomination, Person, Recognition, Team
from .coach import Forbidden, NotFound
from .people import Caller
from .recognition import AMBASSADOR, MESSAGE_MAX, RecognitionError, colleagues, may_lead, recognise, team_cohort

DECISIONS = {"confirm": "confirmed", "decline": "declined"}


@dataclass(frozen=True)
class Decision:
    """What deciding did: the nomination, whether it changed now, and the recognition a confirmation made."""

    nomination: Nomination
    changed: bool
    recognition: Recognition | None


def _participant(session: Session, cohort_id: int, person_id: int) -> Enrolment | None:
    return session.scalar(select(Enrolment).where(Enrolment.cohort_id == cohort_id, Enrolment.person_id == person_id,
                                                  Enrolment.status == "active"))


def nominate_view(session: Session, caller: Caller, team_id: int) -> dict[str, Any]:
    """For a participant on the team tab: the colleagues they can nominate and their own nominations."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(N_("This team does not take part in Ambassador yet."))
    cohort = team_cohort(session, team_id)
    mine = _participant(session, cohort.id, caller.person_id) if cohort else None
    if cohort is None or mine is None or mine.team_id != team_id or cohort.frozen_at is not None:
        raise Forbidden(N_("Only colleagues who take part in the programme can nominate."))
    nominee = aliased(Person)
    own = session.execute(
        select(Nomination, nominee.display_name).join(nominee, nominee.id == Nomination.nominee_id)
        .where(Nomination.cohort_id == cohort.id, Nomination.nominator_id == caller.person_id)
        .order_by(Nomination.created_at.desc())
    ).all()
    return {
        "cohort": {"id": cohort.id},
        "colleagues": [{"id": c["id"], "name": c["name"]} for c in colleagues(session, cohort, team_id,
                                                                              exclude=caller.person_id)],
        "mine": [{"id": n.id, "nominee": name, "status": n.status, "created_at": n.created_at.isoformat()}
                 for n, name in own],
    }


def nominate(session: Session, caller: Caller, cohort_id: int, fields: dict[str, Any], *,
             at: datetime | None = None) -> tuple[Nomination, bool]:
    """A participant proposes a colleague of the same cohort; (nomination, newly made). Commits.

    Proposing the same colleague again while the first proposal is still open answers that one.
    """
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(N_("This group does not exist."))
    if _participant(session, cohort.id, caller.person_id) is None:
        raise Forbidden(N_("Only colleagues who take part in the programme can nominate."))
    nominee_id, reason = fields.get("nominee_id"), fields.get("reason")
    if isinstance(nominee_id, bool) or not isinstance(nominee_id, int) or \
            _participant(session, cohort.id, nominee_id) is None:
        raise RecognitionError("invalid_field", N_("Choose a colleague who takes part in the programme."), "nominee_id")
    if nominee_id == caller.person_id:
        raise RecognitionError("invalid_field", N_("You cannot nominate yourself."), "nominee_id")
    if not isinstance(reason, str) or not reason.strip():
        raise RecognitionError("invalid_field", N_("Tell the lead why this colleague deserves it."), "reason")
    if len(reason.strip()) > MESSAGE_MAX:
        raise RecognitionError("invalid_field", N_("The reason can be at most %(limit)s characters."), "reason",
                               limit=MESSAGE_MAX)
    if cohort.frozen_at is not None:
        raise RecognitionError("frozen", N_("This group has ended; nominations are closed."))
    existing = session.scalar(select(Nomination).where(
        Nomination.cohort_id == cohort.id, Nomination.nominator_id == caller.person_id,
        Nomination.nominee_id == nominee_id, Nomination.status == "open"))
    if existing is not None:
        return existing, False
    nomination = Nomination(cohort_id=cohort.id, nominator_id=caller.person_id, nominee_id=nominee_id,
                            reason=reason.strip(), created_at=at or datetime.now(UTC))
    session.add(nomination)
    session.flush()
    session.add(AuditEntry(actor_id=caller.person_id, action="nomination.create", target_type="nomination",
                           target_id=str(nomination.id), details={"nominee": nominee_id}))
    session.commit()
    return nomination, True


def open_nominations(session: Session, cohort: Cohort, *, team_id: int | None = None) -> list[dict[str, Any]]:
    """Open nominations in the cohort (of one team's members, when given), oldest first."""
    nominee, nominator = aliased(Person), aliased(Person)
    query = (
        select(Nomination, nominee.display_name, nominator.display_name, Team.id, Team.display_name)
        .join(nominee, nominee.id == Nomination.nominee_id)
        .outerjoin(nominator, nominator.id == Nomination.nominator_id)
        .join(Enrolment, (Enrolment.person_id == Nomination.nominee_id) & (Enrolment.cohort_id == Nomination.cohort_id))
        .outerjoin(Team, Team.id == Enrolment.team_id)
        .where(Nomination.cohort_id == cohort.id, Nomination.status == "open")
        .order_by(Nomination.created_at, Nomination.id)
    )
    if team_id is not None:
        query = query.where(Enrolment.team_id == team_id)
    return [{"id": n.id, "nominee": {"id": n.nominee_id, "name": nominee_name},
             "nominator": {"id": n.nominator_id, "name": nominator_name}, "team": {"id": tid, "name": team},
             "reason": n.reason, "created_at": n.created_at.isoformat()}
            for n, nominee_name, nominator_name, tid, team in session.execute(query)]


def decide(session: Session, caller: Caller, nomination_id: int, fields: dict[str, Any], *,
           at: datetime | None = None) -> Decision:
    """The nominee's lead (or the coach) confirms or declines; a confirmation recognises the nominee. Commits.

    Deciding the same way again changes nothing; deciding the other way after a decision is a conflict.
    """
    at = at or datetime.now(UTC)
    nomination = session.get(Nomination, nomination_id)
    if nomination is None:
        raise NotFound(N_("This nomination does not exist."))
    cohort = session.get(Cohort, nomination.cohort_id)
    enrolment = _participant(session, nomination.cohort_id, nomination.nominee_id)
    team_id = enrolment.team_id if enrolment else None
    if cohort is None or team_id is None or not may_lead(caller, team_id, cohort):
        raise Forbidden(N_("Only the team lead or the group's coach can decide on a nomination."))
    decision = fields.get("decision")
    if decision not in DECISIONS:
        raise RecognitionError("invalid_field", N_("Choose to confirm or decline."), "decision")
    status = DECISIONS[decision]
    if nomination.status != "open":
        if nomination.status == status:
            return Decision(nomination, False, None)
        raise RecognitionError("already_decided", N_("Someone already decided on this nomination."))
    recognition = None
    if decision == "confirm":
        try:
            recognition = recognise(session, caller, team_id, {
                "person_id": nomination.nominee_id, "kind": AMBASSADOR, "message": fields.get("message"),
                "post_to_channel": fields.get("post_to_channel", False)}, at=at, nomination_id=nomination.id
            ).recognition
        except RecognitionError as exc:
            if exc.code != "already_ambassador":
                raise
            session.rollback()  # the colleague is an ambassador already: the nomination is confirmed all the same
    nomination.status, nomination.decided_by_id, nomination.decided_at = status, caller.person_id, at
    session.add(AuditEntry(actor_id=caller.person_id, action=f"nomination.{decision}", target_type="nomination",
                           target_id=str(nomination.id),
                           details={"nominee": nomination.nominee_id,
                                    "recognition": recognition.id if recognition else None}))
    session.commit()
    return Decision(nomination, True, recognition)
