"""Recognition and nominations: a lead recognises a colleague (Ambassador badge or kudos, optionally posted as an
Adaptive Card in the team channel), a coach withdraws a badge, participants nominate, leads decide.

Registers on :data:`plugin.web.api.bp` (refusals are answered by the handler :mod:`plugin.web.api_me` adds), so
import it before that blueprint is registered on an app (``plugin.web.register_blueprints`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..adapters.graph import GraphClient, GraphError
from ..db import get_session
from ..domain.badges import BADGES
from ..domain.cards import RecognitionTexts
from ..domain.messages import N_
from ..models import Person, Recognition, Team
from ..services import coach, nominations, recognition
from .api import bp
from .api_me import ERROR_CONTENT
from .auth import current_caller, requires

log = logging.getLogger(__name__)

_OBJECT = {"application/json": {"schema": {"type": "object"}}}
_ERRORS = {"400": {"description": "Invalid input (the offending `field` is named); nothing changed",
                   "content": ERROR_CONTENT},
           "404": {"description": "Not found", "content": ERROR_CONTENT},
           "409": {"description": "Conflicts with what is stored (already an ambassador, decided, ended)",
                   "content": ERROR_CONTENT}}
#: Graph calls made while a lead waits: a couple of retries, then the lead may try again from the tab.
GRAPH_RETRIES = 2


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def card_texts(recognition_row: Recognition) -> Callable[[str], RecognitionTexts]:
    """The card's words for a recognition, in whichever language the team uses."""
    session = get_session()
    to = session.get(Person, recognition_row.to_person_id)
    by = session.get(Person, recognition_row.from_person_id) if recognition_row.from_person_id else None

    def texts(language: str) -> RecognitionTexts:
        with force_locale(language):
            badge = BADGES["ambassador"] if recognition_row.kind == "ambassador" else None
            title = (_("%(name)s is an Ambassador", name=to.display_name) if badge
                     else _("Kudos for %(name)s", name=to.display_name))
            return RecognitionTexts(
                title=title, message=recognition_row.message,
                by=_("Recognised by %(name)s", name=by.display_name if by else _("their team lead")),
                badge=badge.name.get(language) if badge else None,
                badge_text=badge.description.get(language) if badge else None, language=language)

    return texts


def _post(recognition_row: Recognition, channel_id: object) -> dict[str, Any]:
    """Post the card in the team channel now; what happened, for the answer (never raises for Graph trouble)."""
    session = get_session()
    channel = recognition.channel_for(session, recognition.team_of(session, recognition_row), channel_id)
    try:
        with GraphClient.from_app(current_app._get_current_object(), max_retries=GRAPH_RETRIES) as graph:
            recognition.post_to_channel(session, graph, recognition_row, channel, card_texts(recognition_row))
    except GraphError as exc:
        session.rollback()
        log.warning("recognition %s: posting in the channel failed (%s %s)", recognition_row.id, exc.status, exc.code)
        return {"status": "failed", "channel": channel.display_name,
                "message": _("The recognition is saved, but posting it in the channel did not work. Try again "
                             "later.")}
    return {"status": "posted", "channel": channel.display_name, "message_id": recognition_row.channel_message_id}


@bp.get("/teams/<int:team_id>/recognitions")
@requires("lead", summary="The team tab's recognition data: colleagues, recent recognitions, open nominations "
                          "(leads of the team, the group's coach, admins)",
          responses={"200": {"description": "The recognition board", "content": _OBJECT}, **_ERRORS})
def team_recognitions(team_id: int):
    """Everything the lead's recognition cards show, in one request."""
    return jsonify(recognition.board(get_session(), current_caller(), team_id))


@bp.post("/teams/<int:team_id>/recognitions")
@requires("lead", summary="Recognise a colleague: {person_id, kind: ambassador|kudos, message, post_to_channel, "
                          "channel_id?}; the same recognition again answers the stored one",
          responses={"201": {"description": "Recognised", "content": _OBJECT},
                     "200": {"description": "Recognised already (a repeat), nothing changed", "content": _OBJECT},
                     **_ERRORS})
def recognise(team_id: int):
    """Store the recognition (awarding the badge once), notify the colleague, optionally post in the channel."""
    body = _body()
    outcome = recognition.recognise(get_session(), current_caller(), team_id, body)
    posted = _post(outcome.recognition, body.get("channel_id")) if outcome.recognition.post_to_channel \
        and outcome.created else None
    answer = recognition.describe(get_session(), outcome.recognition)
    answer["awarded"], answer["created"] = outcome.awarded, outcome.created
    if posted is not None:
        answer["channel_post"] = posted
    return jsonify(answer), 201 if outcome.created else 200


@bp.post("/recognitions/<int:recognition_id>/channel-post")
@requires("lead", summary="Post a recognition in the team channel (again, after a failure): {channel_id?}; "
                          "a recognition is posted once", responses={"200": {"description": "What happened",
                                                                            "content": _OBJECT}, **_ERRORS})
def post_recognition(recognition_id: int):
    """Post (or report the earlier post of) a recognition's card in its team's channel."""
    row = recognition.postable(get_session(), current_caller(), recognition_id)
    if row.channel_message_id:
        return jsonify(status="posted", message_id=row.channel_message_id)
    return jsonify(_post(row, _body().get("channel_id")))


@bp.post("/recognitions/<int:recognition_id>/revoke")
@requires("coach", summary="Withdraw the badge a recognition awarded, with a reason: {reason} (the group's coach)",
          responses={"200": {"description": "The recognition with its award withdrawn", "content": _OBJECT},
                     **_ERRORS})
def revoke(recognition_id: int):
    """Withdraw the Ambassador badge (audited); withdrawing again changes nothing."""
    row, changed = recognition.revoke(get_session(), current_caller(), recognition_id, _body().get("reason"))
    answer = recognition.describe(get_session(), row)
    answer["changed"] = changed
    return jsonify(answer)


@bp.get("/teams/by-graph-id/<graph_id>/nominate")
@requires("employee", summary="For a participant on the team tab: colleagues to nominate and their own nominations",
          responses={"200": {"description": "Colleagues and nominations", "content": _OBJECT}, **_ERRORS})
def nominate_view(graph_id: str):
    """Whom the caller can nominate in this team (they must take part in the team's group)."""
    session = get_session()
    team_id = session.scalar(select(Team.id).where(func.lower(Team.graph_id) == graph_id.strip().lower()))
    if team_id is None:
        raise coach.NotFound(N_("This team does not take part in Ambassador yet."))
    return jsonify(nominations.nominate_view(session, current_caller(), team_id))


@bp.post("/cohorts/<int:cohort_id>/nominations")
@requires("employee", summary="Nominate a colleague as an ambassador: {nominee_id, reason} (participants)",
          responses={"201": {"description": "Nominated", "content": _OBJECT},
                     "200": {"description": "Nominated already; the open nomination", "content": _OBJECT},
                     **_ERRORS})
def nominate(cohort_id: int):
    """Store the nomination for the nominee's lead to decide on."""
    row, created = nominations.nominate(get_session(), current_caller(), cohort_id, _body())
    return jsonify(id=row.id, status=row.status, nominee_id=row.nominee_id), 201 if created else 200


@bp.get("/cohorts/<int:cohort_id>/nominations")
@requires("coach", summary="Open nominations of a cohort (the group's coach)",
          responses={"200": {"description": "Open nominations", "content": _OBJECT}, **_ERRORS})
def cohort_nominations(cohort_id: int):
    """Nominations waiting for a decision."""
    session = get_session()
    cohort = coach.coached_cohort(session, current_caller(), cohort_id)
    return jsonify(items=nominations.open_nominations(session, cohort))


@bp.get("/cohorts/<int:cohort_id>/recognitions")
@requires("coach", summary="Recent recognitions of a cohort, with their badges' state (the group's coach)",
          responses={"200": {"description": "Recognitions, newest first", "content": _OBJECT}, **_ERRORS})
def cohort_recognitions(cohort_id: int):
    """The cohort's latest recognitions."""
    session = get_session()
    cohort = coach.coached_cohort(session, current_caller(), cohort_id)
    return jsonify(items=recognition.recent(session, cohort))


@bp.post("/nominations/<int:nomination_id>/decision")
@requires("lead", summary="Confirm (recognise as ambassador) or decline a nomination: {decision: confirm|decline, "
                          "message?, post_to_channel?, channel_id?}",
          responses={"200": {"description": "The decision", "content": _OBJECT}, **_ERRORS})
def decide(nomination_id: int):
    """Confirm or decline; confirming recognises the nominee (the lead's message goes with the badge)."""
    body = _body()
    decision = nominations.decide(get_session(), current_caller(), nomination_id, body)
    answer: dict[str, Any] = {"id": decision.nomination.id, "status": decision.nomination.status,
                              "changed": decision.changed, "recognition": None}
    if decision.recognition is not None:
        if decision.recognition.post_to_channel:
            answer["channel_post"] = _post(decision.recognition, body.get("channel_id"))
        answer["recognition"] = recognition.describe(get_session(), decision.recognition)
    return jsonify(answer)
