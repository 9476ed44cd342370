"""Plain pages for people: the programme overview (the tabs of issue 7 build on the same services)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from ..db import get_session
from ..services import overview

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Overview of the organisation's cohorts and teams (demo only: it has no sign-in of its own)."""
    if not (current_app.config["AMBASSADOR_DEMO"] or current_app.config["TESTING"]):
        abort(404)
    data = overview.organisation_overview(get_session())
    return render_template("overview.html", overview=data)
