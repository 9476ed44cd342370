"""The coach pages' API: cohorts (create, teams and communities, enrolment), programme files, the at-risk list,
check-in notes and the week in figures. Coaches see the cohorts they run; admins see every cohort.

Registers on :data:`plugin.web.api.bp` (refusals are answered by the handler :mod:`plugin.web.api_me` adds), so
import it before that blueprint is registered on an app (``plugin.web.register_blueprints`` does).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from ..db import get_session
from ..domain.programme import ProgrammeError
from ..services import checkins, coach, cohorts_admin, nominations, recognition
from ..services.programmes import UnknownProgramme, programme_for
from .api import bp, get_locale_name
from .api_me import ERROR_CONTENT, recompute_later
from .auth import current_caller, requires

#: Where the impact report lives once it exists; the coach page links to it only then.
REPORT_PATH = "/tabs/coach/report"

_ERRORS = {"400": {"description": "Invalid input (the offending `field` is named); nothing changed",
                   "content": ERROR_CONTENT},
           "404": {"description": "No such cohort", "content": ERROR_CONTENT},
           "409": {"description": "The cohort has ended, or the change conflicts with what is stored",
                   "content": ERROR_CONTENT}}
_OBJECT = {"application/json": {"schema": {"type": "object"}}}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _risk_json(row: coach.AtRisk) -> dict[str, Any]:
    data = asdict(row)
    data["reasons"] = [_(r["message"], **r["params"]) for r in row.reasons]
    return data


def report_url() -> str | None:
    """The impact report's page, if this app has one."""
    return REPORT_PATH if any(r.rule == REPORT_PATH for r in current_app.url_map.iter_rules()) else None


def cohort_detail(cohort_id: int) -> dict[str, Any]:
    """Everything the coach page shows about one cohort (the caller must coach it)."""
    session, caller, locale = get_session(), current_caller(), get_locale_name()
    cohort = coach.coached_cohort(session, caller, cohort_id)
    try:
        programme = programme_for(cohort, current_app.instance_path)
        title = programme.title.get(locale)
    except UnknownProgramme:
        title = f"{cohort.programme_id} {cohort.programme_version}"
    return {
        "id": cohort.id, "name": cohort.name, "start_date": cohort.start_date.isoformat(),
        "timezone": cohort.timezone, "weeks": cohort.weeks, "grace_days": cohort.grace_days,
        "frozen": cohort.frozen_at is not None,
        "programme": {"key": f"{cohort.programme_id}@{cohort.programme_version}", "title": title},
        **cohorts_admin.places(session, cohort),
        "enrolments": cohorts_admin.enrolments(session, cohort),
        "summary": asdict(coach.week_summary(session, cohort)),
        "at_risk": [_risk_json(r) for r in coach.at_risk(session, cohort)],
        "checkins": [asdict(c) for c in checkins.recent_checkins(session, cohort, locale=locale,
                                                                  instance_path=current_app.instance_path)],
        "coach_missions": checkins.coach_missions(session, cohort, locale=locale,
                                                  instance_path=current_app.instance_path),
        "nominations": nominations.open_nominations(session, cohort),
        "recognitions": recognition.recent(session, cohort),
    }


@bp.get("/coach")
@requires("coach", summary="The coach page in one request: the caller's cohorts, one cohort in detail (?cohort=), "
                           "programmes and set-up options", responses={"200": {"description": "The coach page",
                                                                              "content": _OBJECT}})
def coach_page():
    """The caller's cohorts and, for the chosen one (else the running, else the newest), its week, queue, risks
    and notes."""
    session, caller = get_session(), current_caller()
    cohorts = coach.cohort_list(session, caller)
    wanted = request.args.get("cohort", type=int)
    running = [c["id"] for c in cohorts if 1 <= c["week"] <= c["weeks"]]
    chosen = wanted if wanted is not None else next(iter(running or [c["id"] for c in cohorts]), None)
    return jsonify(
        cohorts=cohorts,
        cohort=cohort_detail(chosen) if chosen is not None else None,
        programmes=[asdict(p) for p in cohorts_admin.available_programmes(current_app.instance_path)],
        options=cohorts_admin.setup_options(session),
        report_url=report_url(),
        is_admin=coach.is_admin(caller),
    )


@bp.post("/cohorts")
@requires("coach", summary="Create a cohort: {name, start_date, timezone, programme: \"<id>@<version>\", "
                           "grace_days}", responses={"201": {"description": "The cohort", "content": _OBJECT},
                                                     **_ERRORS})
def create_cohort():
    """Create a cohort (the caller becomes its coach); its missions are copied from the programme."""
    cohort = cohorts_admin.create_cohort(get_session(), current_caller(), _body(),
                                         instance_path=current_app.instance_path)
    return jsonify(cohort_detail(cohort.id)), 201


@bp.put("/cohorts/<int:cohort_id>/places")
@requires("coach", summary="Set a cohort's Teams teams and Viva Engage communities: {team_ids, community_ids}",
          responses={"200": {"description": "The ids now set", "content": _OBJECT}, **_ERRORS})
def put_places(cohort_id: int):
    """Make the cohort's teams and communities exactly the ones sent."""
    session, caller, body = get_session(), current_caller(), _body()
    cohort = coach.coached_cohort(session, caller, cohort_id)
    return jsonify(cohorts_admin.set_places(session, caller, cohort, body.get("team_ids", []),
                                            body.get("community_ids", [])))


@bp.post("/cohorts/<int:cohort_id>/enrolments")
@requires("coach", summary="Invite every member of the cohort's teams who is not enrolled yet (status invited)",
          responses={"200": {"description": "How many were invited, and everyone enrolled", "content": _OBJECT},
                     **_ERRORS})
def enrol_members(cohort_id: int):
    """Enrol the members of the cohort's teams as "invited" (they opt in themselves)."""
    session, caller = get_session(), current_caller()
    cohort = coach.coached_cohort(session, caller, cohort_id)
    added = cohorts_admin.enrol_team_members(session, caller, cohort)
    return jsonify(invited=added, enrolments=cohorts_admin.enrolments(session, cohort))


@bp.get("/cohorts/<int:cohort_id>/at-risk")
@requires("coach", summary="Participants the 48-hour-effect detector flags, with reasons and last activity",
          responses={"200": {"description": "The at-risk list", "content": _OBJECT}, **_ERRORS})
def cohort_at_risk(cohort_id: int):
    """The at-risk list, highest risk first, reasons in the caller's language."""
    session = get_session()
    cohort = coach.coached_cohort(session, current_caller(), cohort_id)
    return jsonify(items=[_risk_json(r) for r in coach.at_risk(session, cohort)])


@bp.get("/cohorts/<int:cohort_id>/checkins")
@requires("coach", summary="The cohort's latest check-in notes",
          responses={"200": {"description": "Check-in notes, newest first", "content": _OBJECT}, **_ERRORS})
def list_checkins(cohort_id: int):
    """Check-in notes of the cohort, newest first."""
    session = get_session()
    cohort = coach.coached_cohort(session, current_caller(), cohort_id)
    return jsonify(items=[asdict(c) for c in checkins.recent_checkins(
        session, cohort, locale=get_locale_name(), instance_path=current_app.instance_path)])


@bp.post("/cohorts/<int:cohort_id>/checkins")
@requires("coach", summary="Write a check-in note: {enrolment_id, note, mission_id?}; a coach mission named "
                           "here counts as done", responses={"201": {"description": "The note", "content": _OBJECT},
                                                             **_ERRORS})
def add_checkin(cohort_id: int):
    """Store the note; when it confirms a mission, the cohort is recomputed so the mission shows as done."""
    session, caller = get_session(), current_caller()
    cohort = coach.coached_cohort(session, caller, cohort_id)
    checkin = checkins.add_checkin(session, caller, cohort, _body())
    if checkin.mission_id is not None:
        recompute_later(cohort.id)
    row = next(c for c in checkins.recent_checkins(session, cohort, locale=get_locale_name(),
                                                   instance_path=current_app.instance_path) if c.id == checkin.id)
    return jsonify(asdict(row)), 201


@bp.get("/programmes")
@requires("coach", summary="The programme files cohorts can run (shipped and loaded)",
          responses={"200": {"description": "Programmes", "content": _OBJECT}})
def list_programmes():
    """Every valid programme file."""
    return jsonify(items=[asdict(p) for p in cohorts_admin.available_programmes(current_app.instance_path)])


@bp.post("/programmes")
@requires("coach", summary="Load a programme file (TOML: multipart field `file`, or JSON {filename, content}); "
                           "invalid files are refused with file, line and field", responses={
    "201": {"description": "Loaded", "content": _OBJECT}, "200": {"description": "Already loaded, unchanged",
                                                                  "content": _OBJECT},
    "400": {"description": "`invalid_programme` with `file`, `line`, `field` and `detail`", "content": ERROR_CONTENT},
    "409": {"description": "`version_exists`: same id and version with other content", "content": ERROR_CONTENT}})
def load_programme():
    """Validate the uploaded programme file and keep it for new cohorts."""
    upload, body = request.files.get("file"), _body()
    if upload is not None and upload.filename:
        filename, data = upload.filename, upload.stream.read(cohorts_admin.PROGRAMME_MAX_BYTES + 1)
    elif isinstance(body.get("content"), str) and isinstance(body.get("filename"), str) and body["filename"]:
        filename, data = body["filename"], body["content"].encode("utf-8")
    else:
        return jsonify(error="invalid_field", field="file", message=_("Choose a programme file (.toml).")), 400
    try:
        loaded, created = cohorts_admin.load_programme_file(get_session(), current_caller(), filename, data,
                                                            current_app.instance_path)
    except ProgrammeError as exc:
        return jsonify(error="invalid_programme", message=_("The programme file has a problem."),
                       file=exc.file, line=exc.line, field=exc.field, detail=exc.message), 400
    return jsonify(asdict(loaded)), 201 if created else 200
