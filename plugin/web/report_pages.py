"""The impact report page in the tab (`/tabs/coach/report?cohort=<id>[&team=<id>]`): an HTML shell, no data.

Like the other tabs (see :mod:`plugin.web.tabs`), the page holds only texts in the Teams language; its script
(static/js/tabs/report.js) fetches `GET /api/cohorts/<id>/impact` with the Teams SSO token and draws the charts
and tables, so the coach, admin or lead sees only what the API lets them see.
"""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template

from .tabs import tab_theme

bp = Blueprint("report_pages", __name__, url_prefix="/tabs/coach")


@bp.get("/report")
def report() -> Response:
    """The impact report of a cohort or team: before vs during the programme, as charts and tables."""
    response = make_response(render_template("tabs/report.html", tab="report", theme=tab_theme()))
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    return response
