"""Evidence for self-reported missions: participants hand it in, coaches (and leads, for their team) review it.

A participant hands in a link, a note and (for network snapshots) figures while the mission is open; there is
at most one piece of evidence waiting for review per mission, and a rejected one can be handed in again.
Approval is what completes the mission: the engine turns approved evidence into events
(:func:`plugin.services.progress.cohort_events`). Every review is written to the audit log, and a piece of
evidence is reviewed once (a second review is a conflict, also when two reviewers click at the same time).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..domain.missions import MISSION_TYPES, Source, check_evidence_url
from ..domain.programme import Mission as ProgrammeMission
from ..domain.programme import Programme
from ..models import AuditEntry, Cohort, Enrolment, Evidence, Mission, Person, Team
from .intake import MAX_FIGURE
from .participation import require_active
from .people import Caller
from .programmes import programme_for
from .progress import cohort_calendar, person_state
from .refusal import Refused
from .retry import with_retry

STATUSES = ("pending", "approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected"}
MAX_URL = 2048
MAX_NOTE = 1000
#: Mission statuses in which evidence can still be handed in (the grace period included).
_OPEN = ("open", "due", "overdue")


# -- what a mission asks for ------------------------------------------------------------------------------------


def evidence_form(mission: ProgrammeMission) -> dict[str, Any] | None:
    """What the hand-in form of a self-reported mission asks for; None for missions that are not self-reported.

    A mission type with a `platform` param needs a link on that platform; one with `metrics` needs those figures
    (a link is then optional, e.g. to a screenshot).
    """
    kind = MISSION_TYPES[mission.type]
    if kind.source is not Source.EVIDENCE:
        return None
    platform = mission.params.get("platform") if "platform" in kind.schema else None
    metrics = list(mission.params.get("metrics", ())) if "metrics" in kind.schema else []
    return {"url": "required" if "platform" in kind.schema else "optional", "platform": platform,
            "figures": metrics}


def _url_key(url: str) -> str:
    """The same post however it was pasted: without scheme, "www.", fragment or trailing slash."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


# -- checking what was handed in ---------------------------------------------------------------------------------


def _text(value: object, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Refused("invalid", f"invalid_{field}", N_("This must be text."), field=field)
    # Control characters other than line breaks and tabs have no place in a note or a link.
    cleaned = "".join(ch for ch in value if ch in "\n\t" or ch.isprintable()).strip()
    if len(cleaned) > limit:
        raise Refused("invalid", f"invalid_{field}", N_("Keep this under %(max)s characters."), field=field,
                      max=limit)
    return cleaned or None


def _url(value: object, form: dict[str, Any]) -> str | None:
    url = _text(value, "url", MAX_URL)
    if url is None:
        if form["url"] == "required":
            raise Refused("invalid", "invalid_url", N_("Paste the link to your post."), field="url")
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        parts, host = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in url) \
            or parts.username or parts.password:
        raise Refused("invalid", "invalid_url", N_("Paste a complete web address that starts with https://."),
                      field="url")
    if form["platform"] is not None:
        problem = check_evidence_url(str(form["platform"]), url)
        if problem is not None:
            raise Refused("invalid", "invalid_url", problem, field="url")
    return url


def _figures(value: object, form: dict[str, Any]) -> dict[str, int] | None:
    wanted = form["figures"]
    if not wanted:
        if value not in (None, {}):
            raise Refused("invalid", "invalid_figures", N_("This mission asks for a link, not for figures."),
                          field="figures")
        return None
    if not isinstance(value, Mapping):
        raise Refused("invalid", "invalid_figures", N_("Fill in the figures the mission asks for."), field="figures")
    unknown = sorted(set(value) - set(wanted))
    if unknown:
        raise Refused("invalid", "invalid_figures", N_("This mission does not ask for %(name)s."),
                      field=f"figures.{unknown[0]}", name=unknown[0])
    figures = {}
    for name in wanted:
        figure = value.get(name)
        if isinstance(figure, bool) or not isinstance(figure, int) or not 0 <= figure <= MAX_FIGURE:
            raise Refused("invalid", "invalid_figures", N_("Fill in a whole number from 0 to %(max)s."),
                          field=f"figures.{name}", max=MAX_FIGURE)
        figures[name] = figure
    return figures


# -- handing in --------------------------------------------------------------------------------------------------


def submit(session: Session, person_id: int, body: object, *, locale: str, at: datetime | None = None,
           instance_path: str | Path | None = None) -> dict[str, Any]:
    """Hand in evidence for a self-reported mission of the person's active enrolment; commits.

    Refused when the input is wrong (nothing stored), when the mission is not open, already done or has evidence
    waiting for review, or when the link was handed in for another mission already (it would count twice).
    """
    if not isinstance(body, Mapping):
        raise Refused("invalid", "invalid_request", N_("Send the evidence as a JSON object."))
    unknown = sorted(set(body) - {"mission", "url", "note", "figures"})
    if unknown:
        raise Refused("invalid", "unknown_field", N_("There is no field called %(name)s."), field=unknown[0],
                      name=unknown[0])
    enrolment = require_active(session, person_id)
    cohort = enrolment.cohort
    programme = programme_for(cohort, instance_path)
    slug = body.get("mission")
    base = _programme_mission(programme, slug)
    mission = base.for_intake(enrolment.intake or {})
    form = evidence_form(mission)
    if form is None:
        raise Refused("invalid", "not_self_reported",
                      N_("This mission is completed by itself or by your coach; there is nothing to hand in."),
                      field="mission")
    url = _url(body.get("url"), form)
    note = _text(body.get("note"), "note", MAX_NOTE)
    figures = _figures(body.get("figures"), form)
    row = session.scalar(select(Mission).where(Mission.cohort_id == cohort.id, Mission.slug == mission.slug))
    if row is None:
        raise Refused("not_found", "unknown_mission", N_("Your programme has no mission %(name)s."), field="mission",
                      name=mission.slug)
    at = at or datetime.now(UTC)
    # Read everything the answer needs first: the request then holds no transaction after the commit.
    person = session.get(Person, person_id)
    team = session.get(Team, enrolment.team_id) if enrolment.team_id else None
    title = mission.title.get(locale)

    def work() -> Evidence:
        # One writer per enrolment at a time (PostgreSQL), so two quick clicks cannot both pass the checks.
        session.scalar(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())
        _check_open(session, cohort, enrolment, programme, mission.slug, at)
        _check_not_waiting(session, enrolment.id, row.id)
        if url is not None and form["platform"] is not None:
            _check_not_used(session, enrolment.id, row.id, url)
        evidence = Evidence(enrolment_id=enrolment.id, mission_id=row.id, url=url, note=note, figures=figures,
                            status="pending", submitted_at=at)
        session.add(evidence)
        session.commit()
        return evidence

    return _item(with_retry(session, work), person, team, mission.slug, title)


def _programme_mission(programme: Programme, slug: object) -> ProgrammeMission:
    if not isinstance(slug, str) or not slug:
        raise Refused("invalid", "invalid_mission", N_("Say which mission the evidence is for."), field="mission")
    try:
        return programme.mission(slug)
    except KeyError:
        raise Refused("invalid", "unknown_mission", N_("Your programme has no mission %(name)s."), field="mission",
                      name=slug) from None


def _check_open(session: Session, cohort: Cohort, enrolment: Enrolment, programme: Programme, slug: str,
                at: datetime) -> None:
    calendar = cohort_calendar(cohort)
    if cohort.frozen_at is not None or calendar.is_frozen(at):
        raise Refused("conflict", "cohort_finished", N_("The programme has ended; results no longer change."))
    state = next(m for m in person_state(session, cohort, enrolment, programme, at=at).missions if m.slug == slug)
    if state.status == "done":
        raise Refused("conflict", "mission_done", N_("This mission is already done."), field="mission")
    if state.status == "locked":
        raise Refused("conflict", "mission_not_open", N_("This mission opens in week %(week)s."), field="mission",
                      week=state.week)
    if state.status not in _OPEN:
        raise Refused("conflict", "mission_closed", N_("This mission has closed; evidence no longer counts."),
                      field="mission")


def _check_not_waiting(session: Session, enrolment_id: int, mission_id: int) -> None:
    waiting = session.scalar(select(Evidence.id).where(
        Evidence.enrolment_id == enrolment_id, Evidence.mission_id == mission_id, Evidence.status == "pending"))
    if waiting is not None:
        raise Refused("conflict", "evidence_pending",
                      N_("Your evidence for this mission is waiting for review. You can hand in again if it is "
                         "not approved."), field="mission")


def _check_not_used(session: Session, enrolment_id: int, mission_id: int, url: str) -> None:
    key = _url_key(url)
    used = session.scalars(select(Evidence.url).where(
        Evidence.enrolment_id == enrolment_id, Evidence.mission_id != mission_id, Evidence.url.is_not(None),
        Evidence.status != "rejected"))
    if any(_url_key(other) == key for other in used):
        raise Refused("conflict", "url_used",
                      N_("You already handed in this link for another mission. Share something new for this one."),
                      field="url")


# -- the personal tab ----------------------------------------------------------------------------------------------


def add_to_missions(session: Session, enrolment: Enrolment, programme: Programme, missions: list[dict[str, Any]],
                    *, frozen: bool) -> None:
    """Give each mission of the personal tab its hand-in form, its latest evidence and whether it can be handed in."""
    latest: dict[str, dict[str, Any]] = {}
    for evidence, slug in session.execute(
        select(Evidence, Mission.slug).join(Mission, Evidence.mission_id == Mission.id)
        .where(Evidence.enrolment_id == enrolment.id).order_by(Evidence.submitted_at, Evidence.id)
    ):
        latest[slug] = _own_item(evidence)
    intake = enrolment.intake or {}
    for entry in missions:
        form = evidence_form(programme.mission(entry["slug"]).for_intake(intake))
        last = latest.get(entry["slug"])
        entry["form"] = form
        entry["evidence"] = last
        entry["can_submit"] = (form is not None and not frozen and entry["status"] in _OPEN
                               and (last is None or last["status"] != "pending"))


def _own_item(evidence: Evidence) -> dict[str, Any]:
    return {"id": evidence.id, "url": evidence.url, "note": evidence.note, "figures": evidence.figures,
            "status": evidence.status, "submitted_at": evidence.submitted_at.isoformat(),
            "review_note": evidence.review_note,
            "reviewed_at": evidence.reviewed_at.isoformat() if evidence.reviewed_at else None}


def _item(evidence: Evidence, person: Person | None, team: Team | None, slug: str, title: str) -> dict[str, Any]:
    return {
        "id": evidence.id,
        "person": {"id": person.id, "name": person.display_name} if person is not None else None,
        "team": {"id": team.id, "name": team.display_name} if team is not None else None,
        "mission": {"slug": slug, "title": title},
        **{key: value for key, value in _own_item(evidence).items() if key != "id"},
    }


# -- reviewing -----------------------------------------------------------------------------------------------------


def may_review(caller: Caller, enrolment: Enrolment) -> bool:
    """Coaches and admins review everyone's evidence, a lead that of their own team's members; nobody their own."""
    if enrolment.person_id == caller.person_id:
        return False
    return caller.has("coach") or (enrolment.team_id is not None and enrolment.team_id in caller.lead_team_ids)


def list_for_cohort(session: Session, caller: Caller, cohort_id: int, status: str | None, *, locale: str,
                    instance_path: str | Path | None = None) -> list[dict[str, Any]]:
    """Evidence of a cohort's participants with `status` that the caller may review: waiting ones oldest first,
    reviewed ones newest first."""
    status = status or "pending"
    if status not in STATUSES:
        raise Refused("invalid", "invalid_status", N_("Status must be pending, approved or rejected."),
                      field="status")
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise Refused("not_found", "not_found", N_("There is no such cohort."))
    query = (
        select(Evidence, Enrolment, Person, Team, Mission.slug)
        .join(Enrolment, Evidence.enrolment_id == Enrolment.id).join(Person, Person.id == Enrolment.person_id)
        .join(Mission, Evidence.mission_id == Mission.id).outerjoin(Team, Team.id == Enrolment.team_id)
        .where(Enrolment.cohort_id == cohort.id, Enrolment.status == "active", Evidence.status == status,
               Enrolment.person_id != caller.person_id)
    )
    if not caller.has("coach"):
        query = query.where(Enrolment.team_id.in_(sorted(caller.lead_team_ids)))
    order = (Evidence.submitted_at, Evidence.id) if status == "pending" else (Evidence.reviewed_at.desc(),
                                                                               Evidence.id.desc())
    rows = session.execute(query.order_by(*order)).all()
    programme = programme_for(cohort, instance_path)
    return [_item(evidence, person, team, slug, _title(programme, slug, enrolment.intake, locale))
            for evidence, enrolment, person, team, slug in rows]


def _title(programme: Programme, slug: str, intake: Mapping[str, object] | None, locale: str) -> str:
    try:
        return programme.mission(slug).for_intake(intake or {}).title.get(locale)
    except KeyError:
        return slug


@dataclass(frozen=True)
class Reviewed:
    """A review that was stored: the updated item, and the cohort to recompute when it was approved."""

    item: dict[str, Any]
    cohort_id: int
    approved: bool
    person_id: int  # whose evidence: the only participant the approval changes


def _review_body(body: object) -> tuple[str, str | None]:
    if not isinstance(body, Mapping):
        raise Refused("invalid", "invalid_request", N_("Send the review as a JSON object."))
    unknown = sorted(set(body) - {"decision", "note"})
    if unknown:
        raise Refused("invalid", "unknown_field", N_("There is no field called %(name)s."), field=unknown[0],
                      name=unknown[0])
    decision = body.get("decision")
    if not isinstance(decision, str) or decision not in DECISIONS:
        raise Refused("invalid", "invalid_decision", N_("Choose approve or reject."), field="decision")
    note = _text(body.get("note"), "note", MAX_NOTE)
    if decision == "reject" and note is None:
        raise Refused("invalid", "note_required",
                      N_("Tell the participant why, so they can do better next time."), field="note")
    return str(decision), note


def review(session: Session, caller: Caller, evidence_id: int, body: object, *, locale: str,
           at: datetime | None = None, instance_path: str | Path | None = None) -> Reviewed:
    """Approve or reject evidence that waits for review; audited; commits. Approval completes the mission when
    the cohort is recomputed (the caller enqueues that)."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None:
        raise Refused("not_found", "not_found", N_("There is no such evidence."))
    enrolment = session.get(Enrolment, evidence.enrolment_id)
    if not may_review(caller, enrolment):
        if enrolment.person_id == caller.person_id:
            raise Refused("forbidden", "forbidden", N_("You cannot review your own evidence."))
        raise Refused("forbidden", "forbidden", N_("You can only review evidence of the teams you lead."))
    decision, note = _review_body(body)
    status = DECISIONS[decision]
    cohort = enrolment.cohort
    if enrolment.status != "active":
        raise Refused("conflict", "not_taking_part", N_("This person no longer takes part in the programme."))
    at = at or datetime.now(UTC)
    if cohort.frozen_at is not None or cohort_calendar(cohort).is_frozen(at):
        raise Refused("conflict", "cohort_finished", N_("The programme has ended; results no longer change."))
    mission_slug = session.scalar(select(Mission.slug).where(Mission.id == evidence.mission_id))
    # Read everything the answer needs first: the request then holds no transaction after the commit (the
    # recomputation the caller queues may run in this process at once).
    person = session.get(Person, enrolment.person_id)
    team = session.get(Team, enrolment.team_id) if enrolment.team_id else None
    title = _title(programme_for(cohort, instance_path), mission_slug, enrolment.intake, locale)
    cohort_id, person_id = cohort.id, enrolment.person_id

    def work() -> None:
        done = session.execute(
            update(Evidence).where(Evidence.id == evidence_id, Evidence.status == "pending")
            .values(status=status, reviewer_id=caller.person_id, review_note=note, reviewed_at=at)
        )
        if done.rowcount != 1:
            session.rollback()
            raise Refused("conflict", "already_reviewed", N_("This evidence has been reviewed already."))
        session.add(AuditEntry(actor_id=caller.person_id, action=f"evidence.{decision}",
                               target_type="evidence", target_id=str(evidence_id), created_at=at,
                               details={"cohort_id": cohort_id, "person_id": person_id,
                                        "mission": mission_slug, "decision": status}))
        session.commit()

    with_retry(session, work)
    # The ORM update kept `evidence` in step with the row, so the answer needs no further query.
    return Reviewed(_item(evidence, person, team, mission_slug, title), cohort_id, status == "approved", person_id)
