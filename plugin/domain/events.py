"""Activity events: the one input of the programme engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Kind(StrEnum):
    """What happened; `person_id` is always the participant whose state the event changes."""

    POST = "post"
    REPLY = "reply"
    REACTION_GIVEN = "reaction_given"
    REACTION_RECEIVED = "reaction_received"
    REPLY_RECEIVED = "reply_received"
    EVIDENCE_APPROVED = "evidence_approved"
    CHECKIN = "checkin"


KINDS: frozenset[str] = frozenset(Kind)
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    """One fact from the activity log.

    `event_id` is unique per fact ("<source>:<external id>"); replaying an id is a no-op.
    `target_author_id` is whose post a reply/reaction went to; `from_person_id` is who replied or
    reacted on a *_received event. For evidence and check-ins `occurred_at` is the submission or
    meeting time (not the review time), `mission_slug` names the mission, `url` and `metrics`
    (("connections", 250), …) carry the approved evidence.
    """

    event_id: str
    person_id: int
    kind: str
    occurred_at: datetime
    place_id: str | None = None
    target_author_id: int | None = None
    from_person_id: int | None = None
    thread_id: str | None = None
    knowledge_sharing: bool = False
    broadcast: bool = False
    own_words: int = 0
    topics: tuple[str, ...] = ()
    content_hash: str | None = None
    mission_slug: str | None = None
    url: str | None = None
    metrics: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.occurred_at.utcoffset() != _ZERO:
            raise ValueError("occurred_at must be an aware UTC datetime")
