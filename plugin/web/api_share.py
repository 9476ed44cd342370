"""The content library, the share composer, the knowledge feed and success stories.

Registers on :data:`plugin.web.api.bp` (refusals are answered by the handler :mod:`plugin.web.api_me` adds, missing
delegated consent by :mod:`plugin.web.consent`), so import it before that blueprint is registered on an app
(``plugin.web.register_blueprints`` does).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import get_session
from ..models import Channel, CohortCommunity, CohortTeam, Community, Feed, Team
from ..services import feeds, knowledge_feed, library, share, stories
from ..services.participation import require_active
from .api import bp, get_locale_name
from .api_me import ERROR_CONTENT
from .auth import current_caller, requires
from .errors import json_error
from .session_auth import request_bearer_token

log = logging.getLogger(__name__)

_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_ERRORS = {"400": {"description": "Invalid input (the offending `field` is named); nothing changed",
                   "content": ERROR_CONTENT},
           "403": {"description": "Not allowed for this caller", "content": ERROR_CONTENT},
           "404": {"description": "Not found", "content": ERROR_CONTENT},
           "409": {"description": "Conflicts with what is stored", "content": ERROR_CONTENT}}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# -- answers -----------------------------------------------------------------------------------------------------


def share_failed_response(exc: share.ShareFailed):
    """502 when Teams or Viva Engage did not take the post (nothing was posted)."""
    log.warning("share: %s answered %s", exc.service, exc.status)
    place = "Teams" if exc.service == "teams" else "Viva Engage"
    return json_error(502, "post_failed", _("%(place)s did not take the post. Nothing was posted; try again later.",
                                            place=place))


bp.register_error_handler(share.ShareFailed, share_failed_response)


# -- library -----------------------------------------------------------------------------------------------------


@bp.get("/library")
@requires("employee", summary="Library items that have not expired, newest first (?topic=…&page=&size=)",
          responses={"200": {"description": "Items", "content": _OBJECT}, **_ERRORS})
def list_library():
    """The shareable items anyone may pick in the composer."""
    page, size = knowledge_feed.page_args(request.args.get("page"), request.args.get("size"))
    topics = [t for t in request.args.getlist("topic") if t]
    items = library.current_items(get_session(), topics=topics, limit=size, offset=(page - 1) * size)
    return jsonify(items=[library.describe(i, get_locale_name()) for i in items], page=page, size=size)


@bp.post("/library")
@requires("coach", summary="Add a library item: {url, title: {en, nl}, summary: {en, nl}, topics, channels, "
                           "expires_at}", responses={"201": {"description": "Added", "content": _OBJECT}, **_ERRORS})
def add_library_item():
    """Add a shareable item (coaches and admins)."""
    item = library.create_item(get_session(), current_caller(), _body())
    return jsonify(library.describe(item, get_locale_name())), 201


@bp.patch("/library/<int:item_id>")
@requires("coach", summary="Change fields of a library item", responses={
    "200": {"description": "Changed", "content": _OBJECT}, **_ERRORS})
def change_library_item(item_id: int):
    """Change an item (coaches and admins)."""
    item = library.update_item(get_session(), current_caller(), item_id, _body())
    return jsonify(library.describe(item, get_locale_name()))


@bp.delete("/library/<int:item_id>")
@requires("coach", summary="Remove a library item", responses={"204": {"description": "Removed"}, **_ERRORS})
def delete_library_item(item_id: int):
    """Remove an item (coaches and admins)."""
    library.delete_item(get_session(), current_caller(), item_id)
    return "", 204


@bp.get("/library/feeds")
@requires("coach", summary="The RSS/Atom feeds the library imports from, with their last error",
          responses={"200": {"description": "Feeds", "content": _OBJECT}})
def list_feeds():
    """The registered feeds (coaches and admins)."""
    rows = get_session().scalars(select(Feed).order_by(Feed.topic, Feed.id))
    return jsonify(feeds=[feeds.describe_feed(f) for f in rows])


@bp.post("/library/feeds")
@requires("coach", summary="Register an RSS/Atom feed for a topic: {url, topic}; fetched by the periodic job",
          responses={"201": {"description": "Registered", "content": _OBJECT}, **_ERRORS})
def add_feed():
    """Register a feed (coaches and admins)."""
    return jsonify(feeds.describe_feed(feeds.add_feed(get_session(), current_caller(), _body()))), 201


# -- composer ----------------------------------------------------------------------------------------------------


def _feedback_answer(result: share.Feedback) -> dict[str, Any]:
    features = result.features
    return {
        "knowledge_sharing": features.knowledge_sharing, "broadcast": features.broadcast,
        "own_words": result.note_words, "min_words": share.MIN_NOTE_WORDS, "language": features.language,
        "genre": features.genre, "good": result.good,
        "hints": [{"code": h.code, "message": _(h.msgid, **h.params)} for h in result.hints],
        "prompts": [_(p) for p in result.prompts],
    }


@bp.post("/me/share/preview")
@requires("employee", summary="Live feedback on a share: {item_id | url, note} → own words, broadcast, hints and "
                              "prompts in the caller's language", responses={
    "200": {"description": "Feedback", "content": _OBJECT}, **_ERRORS})
def share_preview():
    """Classify the draft as it would be posted; nothing is stored."""
    session = get_session()
    draft = share.make_draft(session, _body(), get_locale_name())
    return jsonify(_feedback_answer(share.feedback(session, draft)))


@bp.post("/me/share")
@requires("employee", summary="Share: {item_id | url, note, target: {type: teams, team_id, channel_id} | "
                              "{type: yammer, community_id} | {type: copy, network: linkedin|x}, "
                              "idempotency_key?}; posts as the caller, or returns the text with a tracked link. "
                              "Idempotent with a key: send an `Idempotency-Key` header (or `idempotency_key` in the "
                              "body), 1-64 characters of A-Z a-z 0-9 . _ : -, new for each share and the same on a "
                              "retry. A repeat posts nothing and gets the first answer again, with "
                              "`Idempotent-Replayed: true`; keys are kept for a day", responses={
    **_ERRORS,
    "201": {"description": "Posted (credit arrives through ingestion), or the stored answer of the first request "
                           "with this key", "content": _OBJECT},
    "200": {"description": "Text to copy", "content": _OBJECT},
    "409": {"description": "`share_in_progress`: the first request with this key is still posting (try again in "
                           "a moment); `idempotency_key_reused`: the key was used for a different share",
            "content": ERROR_CONTENT},
    "502": {"description": "Teams or Viva Engage did not take the post (nothing was posted; the key may be used "
                           "again)", "content": ERROR_CONTENT}})
def share_post():
    """Post the share as the caller (delegated), or build the text to copy; a repeated key answers as the first."""
    session = get_session()
    shared = share.share(session, current_app._get_current_object(), current_caller(), _body(),
                         request_bearer_token(), get_locale_name(),
                         idempotency_key=request.headers.get("Idempotency-Key"))
    response = jsonify(shared.answer)
    if shared.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 201 if shared.answer["status"] == "posted" else 200


@bp.get("/me/share/targets")
@requires("employee", summary="Where the caller can share: the channels and communities of their programme",
          responses={"200": {"description": "Targets", "content": _OBJECT}, **_ERRORS})
def share_targets():
    """The Teams channels and Viva Engage communities of the caller's cohort."""
    session = get_session()
    enrolment = require_active(session, current_caller().person_id)
    channels = session.execute(select(Team, Channel).join(Channel, Channel.team_id == Team.id)
                               .join(CohortTeam, CohortTeam.team_id == Team.id)
                               .where(CohortTeam.cohort_id == enrolment.cohort_id)
                               .order_by(Team.display_name, Channel.display_name)).all()
    communities = session.scalars(select(Community).join(CohortCommunity).where(
        CohortCommunity.cohort_id == enrolment.cohort_id).order_by(Community.display_name))
    return jsonify(
        channels=[{"type": "teams", "team_id": t.graph_id, "channel_id": c.graph_id,
                   "name": f"{t.display_name} › {c.display_name}"} for t, c in channels],
        communities=[{"type": "yammer", "community_id": c.yammer_group_id, "name": c.display_name}
                     for c in communities],
        networks=list(share.NETWORKS))


# -- knowledge feed ----------------------------------------------------------------------------------------------


@bp.get("/me/feed")
@requires("employee", summary="The knowledge feed: library items and colleagues' knowledge-sharing posts on the "
                              "caller's topics, newest first (?page=&size=)", responses={
    "200": {"description": "One page", "content": _OBJECT}, **_ERRORS})
def my_feed():
    """One page of the caller's knowledge feed."""
    return jsonify(knowledge_feed.my_feed(get_session(), current_caller().person_id, locale=get_locale_name(),
                                          page=request.args.get("page"), size=request.args.get("size")))


# -- success stories ---------------------------------------------------------------------------------------------


@bp.post("/me/stories")
@requires("employee", summary="Log a success story: {type: client|press|network|recruitment|other, text, link?, "
                              "shareable}", responses={"201": {"description": "Logged", "content": _OBJECT},
                                                       **_ERRORS})
def add_story():
    """Log an outcome for the caller's programme."""
    return jsonify(stories.describe(stories.add_story(get_session(), current_caller(), _body()))), 201


@bp.get("/me/stories")
@requires("employee", summary="The caller's own success stories", responses={
    "200": {"description": "Stories", "content": _OBJECT}})
def list_my_stories():
    """The caller's stories, newest first."""
    return jsonify(stories=[stories.describe(s) for s in stories.my_stories(get_session(),
                                                                             current_caller().person_id)])


@bp.get("/cohorts/<int:cohort_id>/stories")
@requires("coach", summary="The success stories of a cohort the caller coaches", responses={
    "200": {"description": "Stories", "content": _OBJECT}, **_ERRORS})
def cohort_stories(cohort_id: int):
    """Every story of the cohort, with its author."""
    rows = stories.cohort_stories(get_session(), current_caller(), cohort_id)
    return jsonify(stories=[stories.describe(story, name or "") for story, name in rows])


@bp.post("/stories/<int:story_id>/feature")
@requires("coach", summary="Feature a shareable story ({featured: false} to undo)", responses={
    "200": {"description": "The story", "content": _OBJECT}, **_ERRORS})
def feature_story(story_id: int):
    """Feature (or un-feature) a story of a cohort the caller coaches."""
    story = stories.feature(get_session(), current_caller(), story_id, _body().get("featured", True))
    return jsonify(stories.describe(story))
