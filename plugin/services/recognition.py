"""Recognition (tip 4, create ambassadors): a lead recognises a colleague of their team with the Ambassador
badge or a kudos; the award is idempotent and a coach can revoke it with a reason. Every action is audited.

Recognising is safe to repeat: the same recognition sent again (same lead, colleague, kind and words) answers
the one already stored, and the Ambassador badge is awarded at most once per person and cohort (a unique
constraint on the award). The recognised person hears about it through :func:`notify_recognised`, the one place
the activity-feed notifications hook into.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..adapters.graph import GraphClient, GraphError
from ..domain.cards import RecognitionTexts, card_message, recognition_card
from ..domain.messages import N_
from ..models import (
    AuditEntry,
    Award,
    Badge,
    Channel,
    Cohort,
    Enrolment,
    NotificationLog,
    Organisation,
    Person,
    Recognition,
    Team,
)
from .coach import Forbidden, NotFound, may_coach
from .cohorts_admin import CohortError
from .people import Caller
from .programmes import ensure_badges
from .teams import current_cohort
from .upsert import insert_ignore

KINDS = ("ambassador", "kudos")
AMBASSADOR = "ambassador"
MESSAGE_MAX = 1000
#: The activity type the notifications work sends for a recognition (declared in the app manifest).
RECOGNISED_ACTIVITY = "recognised"
RECENT = 20


class RecognitionError(CohortError):
    """Bad input or a conflict for a recognition (same shape as CohortError: code, N_ msgid, field, params)."""


@dataclass(frozen=True)
class Outcome:
    """What recognising did: the recognition, whether it is new, and whether it awarded the badge now."""

    recognition: Recognition
    created: bool
    awarded: bool


def team_cohort(session: Session, team_id: int) -> Cohort | None:
    """The team's current cohort (the one its team tab shows)."""
    return current_cohort(session, team_id)


def may_lead(caller: Caller, team_id: int, cohort: Cohort) -> bool:
    """True when `caller` leads `team_id`, coaches `cohort`, or is an admin."""
    return team_id in caller.lead_team_ids or may_coach(caller, cohort)


def led_team(session: Session, caller: Caller, team_id: int) -> tuple[Team, Cohort]:
    """The team and its cohort, if `caller` may recognise there; NotFound or Forbidden otherwise."""
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(N_("This team does not take part in Ambassador yet."))
    cohort = team_cohort(session, team_id)
    if cohort is None:
        if team_id in caller.lead_team_ids or caller.has("coach"):
            raise NotFound(N_("This team is not in a programme yet."))
        raise Forbidden(N_("You can only recognise colleagues in the teams you lead."))
    if not may_lead(caller, team_id, cohort):
        raise Forbidden(N_("You can only recognise colleagues in the teams you lead."))
    return team, cohort


def colleagues(session: Session, cohort: Cohort, team_id: int, *, exclude: int | None = None) -> list[dict[str, Any]]:
    """The team's active participants in the cohort, with whether each is an ambassador already."""
    ambassadors = set(session.scalars(
        select(Award.person_id).join(Badge)
        .where(Award.cohort_id == cohort.id, Badge.slug == AMBASSADOR, Award.revoked_at.is_(None))
    ))
    rows = session.execute(
        select(Person.id, Person.display_name).join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.team_id == team_id, Enrolment.status == "active",
               Person.erased_at.is_(None))
        .order_by(Person.display_name)
    ).all()
    return [{"id": pid, "name": name, "ambassador": pid in ambassadors} for pid, name in rows if pid != exclude]


def board(session: Session, caller: Caller, team_id: int) -> dict[str, Any]:
    """Everything the team tab's recognition cards need, in one read."""
    from .nominations import open_nominations  # nominations builds on this module, so import it late

    team, cohort = led_team(session, caller, team_id)
    return {
        "team": {"id": team.id, "name": team.display_name, "locale": team.locale},
        "cohort": {"id": cohort.id, "name": cohort.name, "frozen": cohort.frozen_at is not None},
        "colleagues": colleagues(session, cohort, team.id, exclude=caller.person_id),
        "recent": recent(session, cohort, team_id=team.id),
        "nominations": open_nominations(session, cohort, team_id=team.id),
        "channels": [{"id": c.graph_id, "name": c.display_name} for c in
                     sorted(team.channels, key=lambda c: c.id)],
        "can_revoke": may_coach(caller, cohort),
    }


def recognise(session: Session, caller: Caller, team_id: int, fields: dict[str, Any], *,
              at: datetime | None = None, nomination_id: int | None = None) -> Outcome:
    """Recognise a colleague of the team (badge or kudos), audited and notified; commits.

    Raises NotFound/Forbidden for the team, RecognitionError for bad input or when the badge cannot be given.
    """
    at = at or datetime.now(UTC)
    team, cohort = led_team(session, caller, team_id)
    person_id, kind, message = fields.get("person_id"), fields.get("kind"), fields.get("message")
    post = fields.get("post_to_channel", False)
    if kind not in KINDS:
        raise RecognitionError("invalid_field", N_("Choose the Ambassador badge or a kudos."), "kind")
    if isinstance(person_id, bool) or not isinstance(person_id, int):
        raise RecognitionError("invalid_field", N_("Choose a colleague of your team."), "person_id")
    if person_id == caller.person_id:
        raise RecognitionError("invalid_field", N_("You cannot recognise yourself."), "person_id")
    if not isinstance(message, str) or not message.strip():
        raise RecognitionError("invalid_field", N_("Write a few words about what they did."), "message")
    if len(message.strip()) > MESSAGE_MAX:
        raise RecognitionError("invalid_field", N_("The message can be at most %(limit)s characters."), "message",
                               limit=MESSAGE_MAX)
    if not isinstance(post, bool):
        raise RecognitionError("invalid_field", N_("Say yes or no to posting in the channel."), "post_to_channel")
    if cohort.frozen_at is not None:
        raise RecognitionError("frozen", N_("This group has ended; recognitions are closed."))
    if person_id not in {c["id"] for c in colleagues(session, cohort, team.id)}:
        raise RecognitionError("invalid_field", N_("Choose a colleague of your team."), "person_id")
    if post:
        channel_for(session, team.id, fields.get("channel_id"))  # a wrong channel is refused before anything is stored
    message = message.strip()

    repeat = session.scalar(select(Recognition).where(
        Recognition.cohort_id == cohort.id, Recognition.from_person_id == caller.person_id,
        Recognition.to_person_id == person_id, Recognition.kind == kind, Recognition.message == message))
    if repeat is not None:
        return Outcome(repeat, created=False, awarded=False)

    award = _award(session, caller, cohort, person_id, message, at) if kind == AMBASSADOR else None
    recognition = Recognition(cohort_id=cohort.id, from_person_id=caller.person_id, to_person_id=person_id,
                              kind=kind, message=message, award_id=award.id if award else None,
                              post_to_channel=post, created_at=at)
    session.add(recognition)
    session.flush()
    session.add(AuditEntry(actor_id=caller.person_id, action="recognition.create", target_type="recognition",
                           target_id=str(recognition.id),
                           details={"kind": kind, "person": person_id, "team": team.id, "award": award.public_id
                                    if award else None, "nomination": nomination_id}))
    notify_recognised(session, recognition)
    session.commit()
    return Outcome(recognition, created=True, awarded=award is not None)


def _award(session: Session, caller: Caller, cohort: Cohort, person_id: int, reason: str, at: datetime) -> Award:
    """Award the Ambassador badge once; a coach (not a lead) may restore one a coach revoked."""
    badge = ensure_badges(session)[AMBASSADOR]
    query = select(Award).where(Award.person_id == person_id, Award.badge_id == badge.id,
                                Award.cohort_id == cohort.id)
    award = session.scalar(query)
    if award is None:
        # ON CONFLICT DO NOTHING: two leads recognising at the same moment still give one award.
        public_id = str(uuid.uuid4())
        insert_ignore(session, Award, [{"public_id": public_id, "person_id": person_id, "badge_id": badge.id,
                                        "cohort_id": cohort.id, "awarded_at": at, "awarded_by_id": caller.person_id,
                                        "reason": reason}])
        award = session.scalar(query)
        if award is None or award.public_id != public_id:  # someone else's award got there first
            raise RecognitionError("already_ambassador", N_("%(name)s is an ambassador already; send a kudos "
                                                            "instead."), "person_id", name=_name(session, person_id))
        session.add(AuditEntry(actor_id=caller.person_id, action="award.grant", target_type="award",
                               target_id=award.public_id, details={"badge": AMBASSADOR, "person": person_id}))
        return award
    if award.revoked_at is None:
        raise RecognitionError("already_ambassador", N_("%(name)s is an ambassador already; send a kudos instead."),
                               "person_id", name=_name(session, person_id))
    if award.revoked_by_id is not None and not may_coach(caller, cohort):
        raise RecognitionError("award_revoked", N_("A coach withdrew this badge; ask them before you award it "
                                                   "again."), "person_id")
    award.revoked_at = award.revoked_by_id = award.revoke_reason = None
    award.awarded_at, award.awarded_by_id, award.reason = at, caller.person_id, reason
    session.add(AuditEntry(actor_id=caller.person_id, action="award.restore", target_type="award",
                           target_id=award.public_id, details={"badge": AMBASSADOR, "person": person_id}))
    return award


def _name(session: Session, person_id: int) -> str:
    return session.scalar(select(Person.display_name).where(Person.id == person_id)) or ""


def notify_recognised(session: Session, recognition: Recognition) -> NotificationLog | None:
    """Queue the "you were recognised" activity-feed notification (idempotent by key; the sender is separate).

    This is the single hook for the notifications work: it records a NotificationLog row with status "queued"
    in the recipient's language; a sender job picks queued rows up. Calling it twice queues one notification.
    """
    person = session.get(Person, recognition.to_person_id)
    if person is None or person.erased_at is not None:
        return None
    key = f"{RECOGNISED_ACTIVITY}:recognition={recognition.id}:person={person.id}"
    locale = person.preferred_locale or session.scalar(select(Organisation.default_locale).limit(1)) or "nl"
    insert_ignore(session, NotificationLog, [{
        "idempotency_key": key, "person_id": person.id, "activity_type": RECOGNISED_ACTIVITY, "locale": locale,
        "parameters": {"recognition_id": recognition.id, "kind": recognition.kind,
                       "cohort_id": recognition.cohort_id, "from_person_id": recognition.from_person_id},
        "status": "queued",
    }])
    return session.scalar(select(NotificationLog).where(NotificationLog.idempotency_key == key))


def revoke(session: Session, caller: Caller, recognition_id: int, reason: object, *,
           at: datetime | None = None) -> tuple[Recognition, bool]:
    """A coach withdraws the badge a recognition awarded, with a reason; (recognition, changed now). Commits."""
    recognition = session.get(Recognition, recognition_id)
    if recognition is None:
        raise NotFound(N_("This recognition does not exist."))
    cohort = session.get(Cohort, recognition.cohort_id)
    if cohort is None or not may_coach(caller, cohort):
        raise Forbidden(N_("Only the group's coach can withdraw a badge."))
    if not isinstance(reason, str) or not reason.strip():
        raise RecognitionError("invalid_field", N_("Give a reason; the audit log keeps it."), "reason")
    if len(reason.strip()) > MESSAGE_MAX:
        raise RecognitionError("invalid_field", N_("The reason can be at most %(limit)s characters."), "reason",
                               limit=MESSAGE_MAX)
    award = session.get(Award, recognition.award_id) if recognition.award_id else None
    if award is None:
        raise RecognitionError("nothing_to_revoke", N_("A kudos awards no badge, so there is nothing to withdraw."))
    if award.revoked_at is not None:
        return recognition, False
    award.revoked_at, award.revoked_by_id, award.revoke_reason = at or datetime.now(UTC), caller.person_id, \
        reason.strip()
    session.add(AuditEntry(actor_id=caller.person_id, action="award.revoke", target_type="award",
                           target_id=award.public_id,
                           details={"badge": AMBASSADOR, "recognition": recognition.id, "reason": reason.strip()}))
    session.commit()
    return recognition, True


def recent(session: Session, cohort: Cohort, *, team_id: int | None = None, limit: int = RECENT) -> list[dict]:
    """The cohort's (or one team's) latest recognitions, newest first, with the award's state."""
    to, by = aliased(Person), aliased(Person)
    query = (
        select(Recognition, to.display_name, by.display_name, Award.revoked_at, Award.revoke_reason, Team.display_name)
        .join(to, to.id == Recognition.to_person_id).outerjoin(by, by.id == Recognition.from_person_id)
        .outerjoin(Award, Award.id == Recognition.award_id)
        .outerjoin(Enrolment, (Enrolment.person_id == Recognition.to_person_id)
                   & (Enrolment.cohort_id == Recognition.cohort_id))
        .outerjoin(Team, Team.id == Enrolment.team_id)
        .where(Recognition.cohort_id == cohort.id)
        .order_by(Recognition.created_at.desc(), Recognition.id.desc()).limit(limit)
    )
    if team_id is not None:
        query = query.where(Enrolment.team_id == team_id)
    return [recognition_json(r, to_name, by_name, revoked_at, revoke_reason, team)
            for r, to_name, by_name, revoked_at, revoke_reason, team in session.execute(query)]


def recognition_json(r: Recognition, to_name: str | None, by_name: str | None, revoked_at: datetime | None = None,
                     revoke_reason: str | None = None, team: str | None = None) -> dict[str, Any]:
    """A recognition as the API shows it."""
    return {"id": r.id, "kind": r.kind, "message": r.message, "person": {"id": r.to_person_id, "name": to_name},
            "by": {"id": r.from_person_id, "name": by_name}, "team": team, "created_at": r.created_at.isoformat(),
            "award": None if r.award_id is None else {"revoked": revoked_at is not None,
                                                      "revoke_reason": revoke_reason},
            "posted": r.channel_message_id is not None}


def describe(session: Session, recognition: Recognition) -> dict[str, Any]:
    """One recognition as the API shows it."""
    award = session.get(Award, recognition.award_id) if recognition.award_id else None
    team = session.scalar(select(Team.display_name).join(Enrolment, Enrolment.team_id == Team.id).where(
        Enrolment.person_id == recognition.to_person_id, Enrolment.cohort_id == recognition.cohort_id))
    return recognition_json(recognition, _name(session, recognition.to_person_id),
                            _name(session, recognition.from_person_id) if recognition.from_person_id else None,
                            award.revoked_at if award else None, award.revoke_reason if award else None, team)


# -- posting to the team channel --------------------------------------------------------------------------------
def team_of(session: Session, recognition: Recognition) -> int | None:
    """The team the recognised person takes part with in the recognition's cohort."""
    return session.scalar(select(Enrolment.team_id).where(Enrolment.person_id == recognition.to_person_id,
                                                          Enrolment.cohort_id == recognition.cohort_id))


def postable(session: Session, caller: Caller, recognition_id: int) -> Recognition:
    """The recognition, if `caller` may post it in the channel: who made it, or the group's coach."""
    recognition = session.get(Recognition, recognition_id)
    if recognition is None:
        raise NotFound(N_("This recognition does not exist."))
    cohort = session.get(Cohort, recognition.cohort_id)
    if recognition.from_person_id != caller.person_id and (cohort is None or not may_coach(caller, cohort)):
        raise Forbidden(N_("Only the lead who gave the recognition, or the coach, can post it."))
    return recognition


def channel_for(session: Session, team_id: int | None, channel_graph_id: object) -> Channel:
    """The team's channel with this Graph id, else the team's first (General) channel."""
    channels = sorted(session.scalars(select(Channel).where(Channel.team_id == team_id)), key=lambda c: c.id)
    if not channels:
        raise RecognitionError("no_channel", N_("This team has no channel Ambassador knows of."))
    chosen = next((c for c in channels if c.graph_id == channel_graph_id), None)
    if channel_graph_id and chosen is None:
        raise RecognitionError("invalid_field", N_("That channel is not one of this team's channels."), "channel_id")
    return chosen or channels[0]


def post_to_channel(session: Session, graph: GraphClient, recognition: Recognition, channel: Channel,
                    texts: Callable[[str], RecognitionTexts]) -> bool:
    """Post the recognition's card in `channel` once (in the team's language); True when posted now. Commits.

    `texts(language)` gives the card's words in that language. A recognition already posted is not posted again.
    Raises GraphError when Microsoft Graph refuses or cannot be reached (the recognition itself stays).
    """
    if recognition.channel_message_id:
        return False
    team = session.get(Team, channel.team_id)
    card = recognition_card(texts(team.locale if team else "nl"))
    created = graph.post_channel_message(team.graph_id, channel.graph_id,
                                         card_message(card, uuid.uuid4().hex, summary=card["body"][0]["text"]))
    message_id = str(created.get("id") or "")
    if not message_id:
        raise GraphError(502, "BadResponse", "the posted message has no id")
    recognition.channel_message_id = message_id
    recognition.post_to_channel = True
    session.add(AuditEntry(actor_id=recognition.from_person_id, action="recognition.channel_post",
                           target_type="recognition", target_id=str(recognition.id),
                           details={"channel": channel.graph_id, "message": message_id}))
    session.commit()
    return True
