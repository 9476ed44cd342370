"""Success stories: outcomes participants report (a client conversation that started from a post, a mention in
the news); coaches of the cohort read them and feature the shareable ones, which the impact report can list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..models import Person, SuccessStory
from ..models.library import STORY_TYPES
from .coach import coached_cohort
from .library import clean_text, clean_url
from .participation import require_active
from .people import Caller
from .refusal import Refused

MAX_STORY = 1000


def _with_author():
    return select(SuccessStory, Person.display_name).join(Person, Person.id == SuccessStory.person_id)


def add_story(session: Session, caller: Caller, body: Mapping[str, Any]) -> SuccessStory:
    """Log an outcome for the caller's running programme; commits."""
    enrolment = require_active(session, caller.person_id)
    kind = body.get("type")
    if kind not in STORY_TYPES:
        raise Refused("invalid", "invalid_type", N_("Choose what kind of outcome it was."), field="type")
    text = clean_text(body.get("text"), "text", MAX_STORY, required=True)
    link = clean_url(body["link"], "link") if body.get("link") else None
    shareable = body.get("shareable", False)
    if not isinstance(shareable, bool):
        raise Refused("invalid", "invalid_shareable", N_("Say yes or no."), field="shareable")
    story = SuccessStory(person_id=caller.person_id, cohort_id=enrolment.cohort_id, type=kind, text=text, link=link,
                         shareable=shareable)
    session.add(story)
    session.commit()
    return story


def my_stories(session: Session, person_id: int) -> list[SuccessStory]:
    """The person's own stories, newest first."""
    return list(session.scalars(select(SuccessStory).where(SuccessStory.person_id == person_id)
                                .order_by(SuccessStory.created_at.desc(), SuccessStory.id.desc())))


def cohort_stories(session: Session, caller: Caller, cohort_id: int) -> list[tuple[SuccessStory, str | None]]:
    """Every story of a cohort the caller coaches, with its author's name, newest first."""
    cohort = coached_cohort(session, caller, cohort_id)
    return list(session.execute(_with_author()
                                .where(SuccessStory.cohort_id == cohort.id)
                                .order_by(SuccessStory.created_at.desc(), SuccessStory.id.desc())).tuples())


def feature(session: Session, caller: Caller, story_id: int, featured: object = True) -> SuccessStory:
    """Feature (or un-feature) a shareable story of a cohort the caller coaches; commits."""
    if not isinstance(featured, bool):
        raise Refused("invalid", "invalid_featured", N_("Say yes or no."), field="featured")
    story = session.get(SuccessStory, story_id)
    if story is None or story.cohort_id is None:
        raise Refused("not_found", "not_found", N_("This no longer exists."))
    coached_cohort(session, caller, story.cohort_id)
    if featured and not story.shareable:
        raise Refused("conflict", "not_shareable", N_("The participant did not allow this story to be shown."))
    story.featured = featured
    story.featured_by_id = caller.person_id if featured else None
    session.commit()
    return story


def describe(story: SuccessStory, author: str | None = None) -> dict[str, Any]:
    """A story for the API."""
    answer = {"id": story.id, "type": story.type, "text": story.text, "link": story.link,
              "shareable": story.shareable, "featured": story.featured, "cohort_id": story.cohort_id,
              "created_at": story.created_at.isoformat() if story.created_at else None}
    if author is not None:
        answer["person"] = {"id": story.person_id, "name": author}
    return answer


def featured_stories(session: Session, cohort_id: int) -> list[dict[str, Any]]:
    """The cohort's featured stories that their authors allowed to be shown (for the impact report), newest first."""
    rows = session.execute(_with_author().where(
        SuccessStory.cohort_id == cohort_id, SuccessStory.featured.is_(True), SuccessStory.shareable.is_(True),
        Person.erased_at.is_(None)).order_by(SuccessStory.created_at.desc(), SuccessStory.id.desc()))
    return [describe(story, name or "") for story, name in rows]
