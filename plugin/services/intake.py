"""The intake survey: which networks someone uses, their network size today, expertise and goals.

The answers are stored on the enrolment and choose the mission variants of the programme (see the `when`
conditions in the programme file): `platforms` ("linkedin", "x", "other") and `expertise` (topics) are what
the programme reads. The network sizes are the baseline the impact report compares the end of the
programme with, so they can be corrected during the first week only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import Enrolment
from .participation import require_active
from .progress import cohort_calendar
from .refusal import Refused

PLATFORMS = ("linkedin", "x", "other")
GOALS = ("visibility", "network", "expertise", "clients", "informed")
MAX_TOPICS = 5
MAX_TOPIC_LENGTH = 40
#: More than any personal network; catches typos such as an extra zero or two.
MAX_FIGURE = 10_000_000
#: Baseline figures can still be corrected during the participant's first this-many programme weeks.
BASELINE_EDITABLE_WEEKS = 1
_KEYS = ("platforms", "connections", "followers", "expertise", "goals")


@dataclass(frozen=True)
class IntakeView:
    """The intake answers as the form shows them, and whether the baseline figures can still change."""

    cohort_id: int
    needed: bool
    skipped: bool
    completed_at: str | None
    platforms: list[str]
    expertise: list[str]
    goals: list[str]
    connections: int | None
    followers: int | None
    baseline_locked: bool
    platform_choices: list[str]
    goal_choices: list[str]


def _baseline_locked(enrolment: Enrolment, at: datetime) -> bool:
    if enrolment.baseline_connections is None and enrolment.baseline_followers is None:
        return False
    calendar = cohort_calendar(enrolment.cohort)
    joined = enrolment.consented_at or enrolment.enrolled_at
    first_week = max(calendar.week_of(joined), 1) if joined else 1  # late joiners get their own first week
    return calendar.week_of(at) >= first_week + BASELINE_EDITABLE_WEEKS


def intake_view(enrolment: Enrolment, *, at: datetime | None = None) -> IntakeView:
    """What the intake form shows for this enrolment."""
    answers = dict(enrolment.intake or {})
    skipped = bool(answers.get("skipped")) and enrolment.intake_completed_at is None
    return IntakeView(
        cohort_id=enrolment.cohort_id,
        needed=enrolment.intake_completed_at is None and not skipped,
        skipped=skipped,
        completed_at=enrolment.intake_completed_at.isoformat() if enrolment.intake_completed_at else None,
        platforms=[p for p in answers.get("platforms", []) if p in PLATFORMS],
        expertise=[str(t) for t in answers.get("expertise", [])],
        goals=[g for g in answers.get("goals", []) if g in GOALS],
        connections=enrolment.baseline_connections,
        followers=enrolment.baseline_followers,
        baseline_locked=_baseline_locked(enrolment, at or datetime.now(UTC)),
        platform_choices=list(PLATFORMS),
        goal_choices=list(GOALS),
    )


def _choices(value: object, allowed: tuple[str, ...], field: str, msgid: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
        raise Refused("invalid", f"invalid_{field}", msgid, field=field)
    return [v for v in allowed if v in set(value)]


def _figure(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIGURE:
        raise Refused("invalid", f"invalid_{field}", N_("Fill in a whole number from 0 to %(max)s, or leave it empty."),
                      field=field, max=MAX_FIGURE)
    return value


def _topics(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refused("invalid", "invalid_expertise", N_("Expertise topics must be a list of words."),
                      field="expertise")
    topics: list[str] = []
    for raw in value:
        topic = " ".join(raw.split()).lstrip("#").strip()
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_LENGTH:
            raise Refused("invalid", "invalid_expertise", N_("Keep each topic under %(max)s characters."),
                          field="expertise", max=MAX_TOPIC_LENGTH)
        if topic.casefold() not in {t.casefold() for t in topics}:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise Refused("invalid", "invalid_expertise", N_("Choose at most %(max)s topics."), field="expertise",
                      max=MAX_TOPICS)
    return topics


def _clean(answers: object) -> dict[str, Any]:
    if not isinstance(answers, Mapping):
        raise Refused("invalid", "invalid_request", N_("Send the intake answers as a JSON object."))
    unknown = sorted(set(answers) - set(_KEYS) - {"skip"})
    if unknown:
        raise Refused("invalid", "unknown_field", N_("The intake has no question called %(name)s."),
                      field=unknown[0], name=unknown[0])
    return {
        "platforms": _choices(answers.get("platforms"), PLATFORMS, "platforms",
                              N_("Choose the networks you use from the list.")),
        "goals": _choices(answers.get("goals"), GOALS, "goals", N_("Choose your goals from the list.")),
        "expertise": _topics(answers.get("expertise")),
        "connections": _figure(answers.get("connections"), "connections"),
        "followers": _figure(answers.get("followers"), "followers"),
    }


def save_intake(session: Session, person_id: int, answers: object, *, at: datetime | None = None) -> IntakeView:
    """Store the intake answers (or `{"skip": true}`) of the person's active enrolment; commits.

    Figures left out keep their stored value; once the baseline is locked, a different figure is refused.
    """
    enrolment = require_active(session, person_id)
    at = at or datetime.now(UTC)
    if isinstance(answers, Mapping) and answers.get("skip") is True:
        if set(answers) != {"skip"}:
            raise Refused("invalid", "invalid_request", N_("Skip the intake or answer it, not both."))
        if enrolment.intake_completed_at is None:
            enrolment.intake = {**(enrolment.intake or {}), "skipped": True}
        view = intake_view(enrolment, at=at)
        session.commit()
        return view
    clean = _clean(answers)
    if isinstance(answers, Mapping) and "skip" in answers:
        raise Refused("invalid", "invalid_request", N_("Skip the intake or answer it, not both."))
    locked = _baseline_locked(enrolment, at)
    figures = {"connections": "baseline_connections", "followers": "baseline_followers"}
    for field, column in figures.items():
        if field not in answers:  # type: ignore[operator]
            continue
        if locked and clean[field] != getattr(enrolment, column):
            raise Refused("conflict", "baseline_locked",
                          N_("Your starting figures are recorded and can no longer change; the programme compares "
                             "the end with them."), field=field)
    for field, column in figures.items():
        if field in answers:  # type: ignore[operator]
            setattr(enrolment, column, clean[field])
    enrolment.intake = {"platforms": clean["platforms"], "expertise": clean["expertise"], "goals": clean["goals"]}
    enrolment.intake_completed_at = at
    view = intake_view(enrolment, at=at)  # before the commit: the request then holds no open transaction
    session.commit()
    return view
