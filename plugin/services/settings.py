"""A participant's own settings: language, whether and how they appear in rankings, muted notifications.

The language is the person's (it also applies outside a programme); ranking visibility and muted
notifications belong to their active enrolment. Rankings are off unless the person chooses otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import Cohort, Enrolment, Person
from .refusal import Refused

#: "auto" follows Teams (then the browser); "nl" and "en" are the person's own choice.
LANGUAGES = ("auto", "nl", "en")
RANKING_VISIBILITY = ("off", "pseudonymous", "named")
#: The activity-feed notifications a participant can switch off, one by one.
NOTIFICATION_TYPES = ("week_unlocked", "mission_due", "evidence_reviewed", "badge_earned", "recognised", "nudge",
                      "cohort_finished")
_KEYS = ("locale", "ranking_visibility", "muted_notifications")


@dataclass(frozen=True)
class MySettings:
    """What the settings form shows; the enrolment parts are None for someone not taking part."""

    locale: str
    ranking_visibility: str | None
    muted_notifications: list[str] | None
    notification_types: list[str]
    enrolled: bool


def _active(session: Session, person_id: int) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).join(Cohort).where(Enrolment.person_id == person_id, Enrolment.status == "active")
        .order_by(Cohort.start_date.desc(), Enrolment.id.desc()).limit(1)
    )


def settings_of(person: Person, enrolment: Enrolment | None) -> MySettings:
    """The settings view of a person and their active enrolment (if any)."""
    muted = None
    if enrolment is not None:
        muted = [t for t in NOTIFICATION_TYPES if t in set(enrolment.muted_notifications or ())]
    return MySettings(
        locale=person.preferred_locale or "auto",
        ranking_visibility=enrolment.ranking_visibility if enrolment is not None else None,
        muted_notifications=muted,
        notification_types=list(NOTIFICATION_TYPES),
        enrolled=enrolment is not None,
    )


def my_settings(session: Session, person_id: int) -> MySettings:
    """The person's current settings."""
    return settings_of(session.get(Person, person_id), _active(session, person_id))


def _clean(changes: object) -> dict[str, Any]:
    if not isinstance(changes, Mapping) or not changes:
        raise Refused("invalid", "invalid_request",
                      N_("Send the settings to change as a JSON object, e.g. {\"locale\": \"en\"}."))
    unknown = sorted(set(changes) - set(_KEYS))
    if unknown:
        raise Refused("invalid", "unknown_setting", N_("There is no setting called %(name)s."), field=unknown[0],
                      name=unknown[0])
    clean: dict[str, Any] = {}
    if "locale" in changes:
        if changes["locale"] not in LANGUAGES:
            raise Refused("invalid", "invalid_locale", N_("Choose automatic, Dutch or English."), field="locale")
        clean["locale"] = changes["locale"]
    if "ranking_visibility" in changes:
        if changes["ranking_visibility"] not in RANKING_VISIBILITY:
            raise Refused("invalid", "invalid_ranking_visibility",
                          N_("Choose whether you appear in rankings: off, without your name, or with your name."),
                          field="ranking_visibility")
        clean["ranking_visibility"] = changes["ranking_visibility"]
    if "muted_notifications" in changes:
        muted = changes["muted_notifications"]
        if not isinstance(muted, list) or not all(isinstance(m, str) and m in NOTIFICATION_TYPES for m in muted):
            raise Refused("invalid", "invalid_muted_notifications",
                          N_("Muted notifications must be a list of known notification types."),
                          field="muted_notifications")
        clean["muted_notifications"] = [t for t in NOTIFICATION_TYPES if t in set(muted)]
    return clean


def update_settings(session: Session, person_id: int, changes: object) -> MySettings:
    """Change some of the person's settings (the others stay as they are); commits."""
    clean = _clean(changes)
    person = session.get(Person, person_id)
    enrolment = _active(session, person_id)
    if enrolment is None and clean.keys() - {"locale"}:
        raise Refused("not_found", "not_enrolled",
                      N_("Rankings and notifications can be set once you take part in a programme."))
    if "locale" in clean:
        person.preferred_locale = None if clean["locale"] == "auto" else clean["locale"]
    if enrolment is not None:
        if "ranking_visibility" in clean:
            enrolment.ranking_visibility = clean["ranking_visibility"]
        if "muted_notifications" in clean:
            enrolment.muted_notifications = clean["muted_notifications"]
    session.commit()
    return settings_of(person, enrolment)
