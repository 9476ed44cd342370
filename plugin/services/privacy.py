"""A person's rights over their data: export everything Ambassador holds about them, and erase it.

**Export** (:func:`export_person`) is one JSON document: the person, their roles and team memberships, every
enrolment with its consent, intake, settings, mission progress, evidence, check-in notes and risk, their points,
badges, recognitions and nominations (given and received), the activity rows they wrote (the derived features:
message text is never stored), the notifications sent to them, the audit entries by or about them, the
composer's share requests of the last day, and whether a sign-in token cache exists (never the tokens).

**Erase** (:func:`erase_person`) removes what identifies the person and keeps what the anonymous figures are made
of. The person row stays as a nameless placeholder: name, e-mail, UPN and language are cleared and the Entra
object id is replaced by a random ``erased:…`` value, so the same account signing in again is a new person who
is not enrolled, and nothing links the placeholder to the account any more. Their activity keeps its counts
under that placeholder (the author's object id is replaced there too, also inside reaction ids), so team and
cohort totals in reports do not change. Deleted: token cache, roles, team memberships, notification log,
risk assessments, the Viva Engage sign-in state, the composer's recent share requests. Cleared: intake answers,
notification and ranking choices, evidence links and notes, check-in notes, the messages of recognitions and the
reasons of nominations and awards (given or received), and their unprocessed notifications' message content.
One audit entry records the erasure (when, and whether the person or an admin asked), without anything of the
person in it. Erasing an erased person changes nothing.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from ..domain.messages import N_
from ..models import (
    Activity,
    AuditEntry,
    Award,
    Badge,
    Channel,
    CheckIn,
    Cohort,
    Community,
    Enrolment,
    Evidence,
    InboxItem,
    Mission,
    MissionProgress,
    Nomination,
    NotificationLog,
    Person,
    PointsEntry,
    Recognition,
    RiskAssessment,
    RoleAssignment,
    ShareRequest,
    SuccessStory,
    SyncState,
    Team,
    TeamMembership,
    TokenCache,
)
from .audit import record_audit
from .recognition import RECOGNISED_ACTIVITY
from .refusal import Refused
from .roles import RoleError, find_person

#: The format of the export document; raise it when its shape changes.
EXPORT_FORMAT = "ambassador-export/1"
ERASED_PREFIX = "erased:"
#: The ``SyncState`` kind that records whether a person's delegated Viva Engage token works (see services.delegated).
_YAMMER_USER = "yammer_user"
#: Pending inbox payload keys that may carry message text or the author's name (the worker re-reads from Graph).
_CONTENT_KEYS = ("content", "encryptedContent")


class UnknownPerson(LookupError):
    """Nobody with that e-mail address, UPN or object id is known."""


def resolve_person(session: Session, who: str) -> Person:
    """A person by Entra object id, UPN or e-mail address (as `flask roles` finds them)."""
    try:
        return find_person(session, who.strip())
    except RoleError as exc:
        raise UnknownPerson(str(exc)) from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _names(session: Session, ids: set[int | None]) -> dict[int, str | None]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return dict(session.execute(select(Person.id, Person.display_name).where(Person.id.in_(wanted))).all())


# -- export ---------------------------------------------------------------------------------------------------------


def export_for(session: Session, person_id: int, *, requested_by: str, at: datetime | None = None) -> dict[str, Any]:
    """The person's export, with an audit entry that it was made ("self" or "admin"); commits."""
    at = at or datetime.now(UTC)
    document = export_person(session, person_id, at=at)
    record_audit(session, person_id if requested_by == "self" else None, "privacy.export", ("person", person_id),
                 {"requested_by": requested_by}, at=at)
    session.commit()
    return document


def export_person(session: Session, person_id: int, *, at: datetime | None = None) -> dict[str, Any]:
    """Everything Ambassador holds about the person, as one JSON-ready document; reads only."""
    person = session.get(Person, person_id)
    if person is None:
        raise UnknownPerson(f"person {person_id} does not exist")
    at = at or datetime.now(UTC)
    enrolments = list(session.scalars(select(Enrolment).where(Enrolment.person_id == person.id)
                                      .order_by(Enrolment.id)))
    return {
        "format": EXPORT_FORMAT,
        "generated_at": at.isoformat(),
        "person": {
            "id": person.id, "entra_oid": person.entra_oid, "display_name": person.display_name, "upn": person.upn,
            "email": person.email, "preferred_locale": person.preferred_locale,
            "created_at": _iso(person.created_at), "updated_at": _iso(person.updated_at),
            "erased_at": _iso(person.erased_at),
        },
        "roles": _roles(session, person.id),
        "team_memberships": _memberships(session, person.id),
        "enrolments": [_enrolment(session, enrolment) for enrolment in enrolments],
        "points": _points(session, person.id),
        "awards": _awards(session, person.id),
        "recognitions": _recognitions(session, person.id),
        "nominations": _nominations(session, person.id),
        "success_stories": _stories(session, person.id),
        "activity": _activity(session, person),
        "notifications": _notifications(session, person.id),
        "shares": _shares(session, person.id),
        "audit": _audit(session, person.id),
        "sign_in": _sign_in(session, person.id),
    }


def _roles(session: Session, person_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(RoleAssignment, Team.display_name).outerjoin(Team, Team.id == RoleAssignment.team_id)
                           .where(RoleAssignment.person_id == person_id).order_by(RoleAssignment.id)).all()
    return [{"role": r.role, "team": team, "granted_at": _iso(r.created_at)} for r, team in rows]


def _memberships(session: Session, person_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(TeamMembership, Team.display_name).join(Team, Team.id == TeamMembership.team_id)
                           .where(TeamMembership.person_id == person_id).order_by(TeamMembership.id)).all()
    return [{"team": team, "owner": m.is_owner, "read_from_teams_at": _iso(m.refreshed_at)} for m, team in rows]


def _enrolment(session: Session, enrolment: Enrolment) -> dict[str, Any]:
    cohort = session.get(Cohort, enrolment.cohort_id)
    team = session.get(Team, enrolment.team_id) if enrolment.team_id is not None else None
    progress = session.execute(
        select(MissionProgress, Mission.slug, Mission.week).join(Mission, Mission.id == MissionProgress.mission_id)
        .where(MissionProgress.enrolment_id == enrolment.id).order_by(Mission.week, Mission.slug)).all()
    evidence = list(session.scalars(select(Evidence).where(Evidence.enrolment_id == enrolment.id)
                                    .order_by(Evidence.id)))
    checkins = list(session.scalars(select(CheckIn).where(CheckIn.enrolment_id == enrolment.id).order_by(CheckIn.id)))
    missions = dict(session.execute(select(Mission.id, Mission.slug)
                                    .where(Mission.cohort_id == enrolment.cohort_id)).all())
    names = _names(session, {e.reviewer_id for e in evidence} | {c.coach_id for c in checkins})
    risk = session.get(RiskAssessment, enrolment.id)
    return {
        "cohort": {"id": cohort.id, "name": cohort.name,
                   "start_date": cohort.start_date.isoformat()} if cohort else None,
        "team": team.display_name if team else None,
        "status": enrolment.status, "enrolled_at": _iso(enrolment.enrolled_at),
        "consent": {"given_at": _iso(enrolment.consented_at), "version": enrolment.consent_version},
        "intake": {"answers": enrolment.intake, "completed_at": _iso(enrolment.intake_completed_at),
                   "connections": enrolment.baseline_connections, "followers": enrolment.baseline_followers,
                   "final_connections": enrolment.final_connections,
                   "final_followers": enrolment.final_followers},
        "settings": {"ranking_visibility": enrolment.ranking_visibility,
                     "muted_notifications": enrolment.muted_notifications},
        "mission_progress": [{"mission": slug, "week": week, "current": p.current, "target": p.target,
                              "completed_at": _iso(p.completed_at)} for p, slug, week in progress],
        "evidence": [{"mission": missions.get(e.mission_id), "url": e.url, "note": e.note, "figures": e.figures,
                      "status": e.status, "submitted_at": _iso(e.submitted_at),
                      "reviewed_by": names.get(e.reviewer_id) if e.reviewer_id else None,
                      "review_note": e.review_note, "reviewed_at": _iso(e.reviewed_at)} for e in evidence],
        "check_ins": [{"at": _iso(c.created_at), "coach": names.get(c.coach_id) if c.coach_id else None,
                       "mission": missions.get(c.mission_id) if c.mission_id else None, "note": c.note}
                      for c in checkins],
        "risk": {"score": risk.score, "reasons": risk.reasons, "computed_at": _iso(risk.computed_at)} if risk else None,
    }


def _points(session: Session, person_id: int) -> list[dict[str, Any]]:
    entries: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in session.scalars(select(PointsEntry).where(PointsEntry.person_id == person_id)
                                 .order_by(PointsEntry.id)):
        entries[entry.cohort_id].append({"amount": entry.amount, "reason": entry.reason, "for": entry.source_key,
                                         "at": _iso(entry.created_at)})
    return [{"cohort_id": cohort_id, "total": sum(e["amount"] for e in rows), "entries": rows}
            for cohort_id, rows in sorted(entries.items())]


def _awards(session: Session, person_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(Award, Badge.slug).join(Badge, Badge.id == Award.badge_id)
                           .where(Award.person_id == person_id).order_by(Award.id)).all()
    names = _names(session, {a.awarded_by_id for a, _slug in rows})
    return [{"badge": slug, "cohort_id": a.cohort_id, "assertion_id": a.public_id, "awarded_at": _iso(a.awarded_at),
             "awarded_by": names.get(a.awarded_by_id) if a.awarded_by_id else None, "reason": a.reason,
             "public": a.public, "revoked_at": _iso(a.revoked_at), "revoke_reason": a.revoke_reason}
            for a, slug in rows]


def _recognitions(session: Session, person_id: int) -> dict[str, list[dict[str, Any]]]:
    rows = list(session.scalars(select(Recognition).where(or_(Recognition.to_person_id == person_id,
                                                              Recognition.from_person_id == person_id))
                                .order_by(Recognition.id)))
    names = _names(session, {r.from_person_id for r in rows} | {r.to_person_id for r in rows})

    def item(r: Recognition) -> dict[str, Any]:
        return {"cohort_id": r.cohort_id, "kind": r.kind, "message": r.message, "at": _iso(r.created_at),
                "from": names.get(r.from_person_id) if r.from_person_id else None, "to": names.get(r.to_person_id),
                "posted_to_channel": r.post_to_channel}

    return {"received": [item(r) for r in rows if r.to_person_id == person_id],
            "given": [item(r) for r in rows if r.from_person_id == person_id]}


def _nominations(session: Session, person_id: int) -> dict[str, list[dict[str, Any]]]:
    rows = list(session.scalars(select(Nomination).where(or_(Nomination.nominee_id == person_id,
                                                             Nomination.nominator_id == person_id))
                                .order_by(Nomination.id)))
    names = _names(session, {n.nominee_id for n in rows} | {n.nominator_id for n in rows} |
                   {n.decided_by_id for n in rows})

    def item(n: Nomination) -> dict[str, Any]:
        return {"cohort_id": n.cohort_id, "reason": n.reason, "status": n.status, "at": _iso(n.created_at),
                "nominee": names.get(n.nominee_id), "nominated_by": names.get(n.nominator_id) if n.nominator_id
                else None, "decided_by": names.get(n.decided_by_id) if n.decided_by_id else None,
                "decided_at": _iso(n.decided_at)}

    return {"received": [item(n) for n in rows if n.nominee_id == person_id],
            "made": [item(n) for n in rows if n.nominator_id == person_id]}


def _activity(session: Session, person: Person) -> dict[str, Any]:
    channel, community, team = aliased(Channel), aliased(Community), aliased(Team)
    rows = session.execute(
        select(Activity, team.display_name, channel.display_name, community.display_name)
        .outerjoin(team, team.id == Activity.team_id).outerjoin(channel, channel.id == Activity.channel_id)
        .outerjoin(community, community.id == Activity.community_id)
        .where(or_(Activity.author_id == person.id, Activity.author_oid == person.entra_oid))
        .order_by(Activity.occurred_at, Activity.id)
    ).all()
    received = dict(session.execute(
        select(Activity.kind, func.count()).where(Activity.target_author_id == person.id,
                                                  or_(Activity.author_id.is_(None), Activity.author_id != person.id),
                                                  Activity.deleted_at.is_(None))
        .group_by(Activity.kind)).all())
    return {
        "note": "Message text is never stored: these are the features derived from it.",
        "written": [{
            "source": a.source, "id": a.external_id, "kind": a.kind, "team": team_name, "channel": channel_name,
            "community": community_name, "occurred_at": _iso(a.occurred_at), "edited_at": _iso(a.edited_at),
            "deleted_at": _iso(a.deleted_at), "knowledge_sharing": a.knowledge_sharing, "broadcast": a.broadcast,
            "own_words": a.own_words, "language": a.language, "links": a.links, "files": a.files,
            "mentions": a.mentions, "is_question": a.is_question, "topics": a.topics, "content_hash": a.content_hash,
            "reaction": a.reaction_type, "stored_at": _iso(a.ingested_at),
        } for a, team_name, channel_name, community_name in rows],
        "received": {"replies": int(received.get("reply", 0)), "reactions": int(received.get("reaction", 0))},
    }


def _notifications(session: Session, person_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(NotificationLog).where(NotificationLog.person_id == person_id)
                           .order_by(NotificationLog.id))
    return [{"type": n.activity_type, "locale": n.locale, "parameters": n.parameters, "status": n.status,
             "created_at": _iso(n.created_at), "sent_at": _iso(n.sent_at)} for n in rows]


def _shares(session: Session, person_id: int) -> list[dict[str, Any]]:
    """The composer's recent posts by idempotency key (kept a day, so a repeated request does not post twice)."""
    rows = session.scalars(select(ShareRequest).where(ShareRequest.person_id == person_id).order_by(ShareRequest.id))
    return [{"key": r.idempotency_key, "status": r.status, "answer": r.answer, "created_at": _iso(r.created_at)}
            for r in rows]


def _audit(session: Session, person_id: int) -> dict[str, list[dict[str, Any]]]:
    def item(e: AuditEntry) -> dict[str, Any]:
        return {"at": _iso(e.created_at), "action": e.action, "target": {"type": e.target_type, "id": e.target_id},
                "details": e.details}

    by = session.scalars(select(AuditEntry).where(AuditEntry.actor_id == person_id).order_by(AuditEntry.id))
    about = session.scalars(select(AuditEntry).where(AuditEntry.target_type == "person",
                                                     AuditEntry.target_id == str(person_id)).order_by(AuditEntry.id))
    return {"by_you": [item(e) for e in by], "about_you": [item(e) for e in about]}


def _sign_in(session: Session, person_id: int) -> dict[str, Any]:
    cache_updated = session.scalar(select(TokenCache.updated_at).where(TokenCache.person_id == person_id))
    yammer = session.execute(select(SyncState.status, SyncState.checked_at).where(
        SyncState.kind == _YAMMER_USER, SyncState.key == str(person_id))).first()
    return {
        "token_cache": {"stored": cache_updated is not None, "updated_at": _iso(cache_updated),
                        "note": "Encrypted sign-in tokens for reading Teams and Viva Engage on your behalf; "
                                "never exported."},
        "viva_engage": {"status": yammer.status, "checked_at": _iso(yammer.checked_at)} if yammer else None,
    }


# -- erase ----------------------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_confirmation(person: Person, confirm: object) -> None:
    """Refused (nothing changes) unless `confirm` is the person's display name, e-mail address or UPN."""
    expected = {_normalise(v) for v in (person.display_name, person.email, person.upn) if v}
    if not isinstance(confirm, str) or not confirm.strip() or _normalise(confirm) not in expected:
        raise Refused("invalid", "confirmation_mismatch",
                      N_("To erase your data, type your name or e-mail address exactly as it is shown."),
                      field="confirm")


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: False for `erased` when the person had been erased before (nothing changed)."""

    erased: bool
    person_id: int
    counts: dict[str, int] = field(default_factory=dict)


def erase_confirmed(session: Session, person_id: int, confirm: object) -> Erasure:
    """The person's own erasure, once `confirm` matches their name or e-mail (Refused otherwise); commits."""
    person = session.get(Person, person_id)
    if person is None:
        raise UnknownPerson(f"person {person_id} does not exist")
    check_confirmation(person, confirm)
    return erase_person(session, person_id, requested_by="self")


def erase_person(session: Session, person_id: int, *, requested_by: str,
                 at: datetime | None = None) -> Erasure:
    """Erase the person's personal data, keep anonymous aggregates (see the module docstring); commits.

    `requested_by` goes into the audit entry: "self" (the person, from the app) or "admin" (the command line).
    """
    person = session.get(Person, person_id)
    if person is None:
        raise UnknownPerson(f"person {person_id} does not exist")
    if person.erased_at is not None:
        return Erasure(False, person.id)
    at = at or datetime.now(UTC)
    old_oid, pseudonym = person.entra_oid, f"{ERASED_PREFIX}{uuid.uuid4().hex}"
    enrolments = select(Enrolment.id).where(Enrolment.person_id == person.id).scalar_subquery()
    counts: dict[str, int] = {}

    def run(name: str, statement: Any) -> None:
        counts[name] = counts.get(name, 0) + max(session.execute(
            statement.execution_options(synchronize_session=False)).rowcount, 0)

    counts["activity"] = _pseudonymise_activity(session, person.id, old_oid, pseudonym)
    counts["inbox"] = _drop_pending_content(session, old_oid)
    run("token_cache", delete(TokenCache).where(TokenCache.person_id == person.id))
    run("roles", delete(RoleAssignment).where(RoleAssignment.person_id == person.id))
    run("team_memberships", delete(TeamMembership).where(TeamMembership.person_id == person.id))
    run("notifications", delete(NotificationLog).where(NotificationLog.person_id == person.id))
    run("risk", delete(RiskAssessment).where(RiskAssessment.enrolment_id.in_(enrolments)))
    run("shares", delete(ShareRequest).where(ShareRequest.person_id == person.id))
    run("sign_in_state", delete(SyncState).where(SyncState.kind == _YAMMER_USER, SyncState.key == str(person.id)))
    # The enrolment stays (active or not) with its team and self-reported network figures: the reports count it.
    run("enrolments", update(Enrolment).where(Enrolment.person_id == person.id).values(
        intake=None, muted_notifications=None, ranking_visibility="off"))
    run("evidence", update(Evidence).where(Evidence.enrolment_id.in_(enrolments)).values(
        url=None, note=None, review_note=None))
    run("check_ins", update(CheckIn).where(CheckIn.enrolment_id.in_(enrolments)).values(note=""))
    run("recognitions", update(Recognition).where(Recognition.to_person_id == person.id).values(
        message="", channel_message_id=None))
    run("recognitions", update(Recognition).where(Recognition.from_person_id == person.id).values(message=""))
    run("nominations", update(Nomination).where(or_(Nomination.nominee_id == person.id,
                                                    Nomination.nominator_id == person.id)).values(reason=""))
    counts["audit"] = _scrub_award_reasons(session, person.id)
    counts["notifications"] += _scrub_sender_names(session, person.id)
    run("awards", update(Award).where(Award.person_id == person.id).values(
        public=False, reason=None, revoke_reason=None))
    run("success_stories", delete(SuccessStory).where(SuccessStory.person_id == person.id))
    person.entra_oid, person.erased_at = pseudonym, at
    person.display_name = person.upn = person.email = person.preferred_locale = None
    record_audit(session, None, "privacy.erase", "person", {"requested_by": requested_by}, at=at)
    session.commit()
    return Erasure(True, person.id, {name: n for name, n in counts.items() if n})


def _stories(session: Session, person_id: int) -> list[dict[str, Any]]:
    """The success stories the person logged."""
    return [{"id": s.id, "cohort_id": s.cohort_id, "type": s.type, "text": s.text, "link": s.link,
             "shareable": s.shareable, "featured": s.featured, "created_at": _iso(s.created_at)}
            for s in session.scalars(select(SuccessStory).where(SuccessStory.person_id == person_id)
                                     .order_by(SuccessStory.id))]


def _pseudonymise_activity(session: Session, person_id: int, old_oid: str, pseudonym: str) -> int:
    """Replace the author's object id by the placeholder's, also in the ids of their reactions; counts stay."""
    mine = or_(Activity.author_id == person_id, Activity.author_oid == old_oid)
    # A reaction's id is "<message id>:<reacting user>:<type>" (see services.ingest): the user part goes too.
    for row_id, external_id in session.execute(select(Activity.id, Activity.external_id).where(
            mine, Activity.kind == "reaction")).all():
        message, _user, kind = external_id.rsplit(":", 2) if external_id.count(":") >= 2 else (external_id, "", "")
        if kind:
            session.execute(update(Activity).where(Activity.id == row_id)
                            .values(external_id=f"{message}:{pseudonym}:{kind}"[:255])
                            .execution_options(synchronize_session=False))
    result = session.execute(update(Activity).where(mine).values(author_oid=pseudonym)
                             .execution_options(synchronize_session=False))
    return max(result.rowcount, 0)


def _drop_pending_content(session: Session, old_oid: str) -> int:
    """Unprocessed notifications carrying the person's messages lose their content (the worker re-reads Graph)."""
    dropped = 0
    for item in session.scalars(select(InboxItem).where(InboxItem.status == "pending",
                                                        cast(InboxItem.payload, String).contains(old_oid))):
        payload = dict(item.payload or {})
        if any(key in payload for key in _CONTENT_KEYS):
            item.payload = {key: value for key, value in payload.items() if key not in _CONTENT_KEYS}
            dropped += 1
    return dropped


def _scrub_sender_names(session: Session, person_id: int) -> int:
    """Recognitions the person gave: the recipient's notification forgets the name it was sent with."""
    scrubbed = 0
    for row in session.scalars(select(NotificationLog).where(NotificationLog.activity_type == RECOGNISED_ACTIVITY)):
        parameters = dict(row.parameters or {})
        if parameters.get("from_person_id") == person_id and "template" in parameters:
            parameters.pop("template")  # a queued one is then sent as from "your team lead"
            row.parameters = parameters
            scrubbed += 1
    return scrubbed


def _scrub_award_reasons(session: Session, person_id: int) -> int:
    """Audit entries of the person's awards keep the action, not the free-text reason a lead wrote about them."""
    public_ids = set(session.scalars(select(Award.public_id).where(Award.person_id == person_id)))
    if not public_ids:
        return 0
    scrubbed = 0
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.target_type == "award",
                                                          AuditEntry.target_id.in_(sorted(public_ids)))):
        details = dict(entry.details or {})
        if "reason" in details:
            details.pop("reason")
            entry.details = details
            scrubbed += 1
    return scrubbed
