"""The Teams tabs (`/tabs/personal`, `/tabs/team`, `/tabs/config`, `/tabs/coach`): HTML shells without personal data.

Each page is the same for everyone who opens it with the same `?locale=` and `?theme=`: its texts, in the
Teams language, and the labels its script needs (a JSON block, not executable, so the CSP allows it). The
script (plugin/static/js/tabs/) talks to Teams through teams-js and fetches the person's data from the JSON
API with the Teams SSO token, so nothing personal is ever in the HTML or in a cache.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask_babel import get_locale

bp = Blueprint("tabs", __name__, url_prefix="/tabs")

#: Teams themes (the `{theme}` placeholder of a tab's contentUrl); anything else falls back to the light one.
THEMES = ("default", "dark", "contrast")


def tab_theme() -> str:
    """The Teams theme from `?theme=`; the script follows later changes through teams-js."""
    theme = request.args.get("theme", "default")
    return theme if theme in THEMES else "default"


def _shell(tab: str) -> Response:
    theme = tab_theme()
    key = (tab, theme, str(get_locale()))
    # A shell is a pure function of tab, theme and language (no nonce, no person data: the script fetches those),
    # and rendering its ~150 translated strings costs more than the whole rest of the request.
    rendered = current_app.extensions.setdefault("tabs.shells", {})
    html = rendered.get(key)
    if html is None:
        html = rendered[key] = render_template(f"tabs/{tab}.html", tab=tab, theme=theme)
    response = make_response(html)
    # The shell depends only on the query string and the browser's languages; revalidate so a new release shows.
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Language")
    return response


@bp.get("/personal")
def personal() -> Response:
    """The personal tab "My programme": weeks, this week's missions, tip, badges, points, near-me ranking."""
    return _shell("personal")


@bp.get("/team")
def team() -> Response:
    """The channel tab: the team's progress for its leads (`?team=<Microsoft 365 group id>`, else the context)."""
    return _shell("team")


@bp.get("/coach")
def coach() -> Response:
    """The coach pages: cohorts and their set-up, the evidence queue, who is at risk, check-ins and recognitions."""
    return _shell("coach")


@bp.get("/share")
def share() -> Response:
    """The share page: compose a share with a personal note, the knowledge feed and success stories."""
    return _shell("share")


@bp.get("/config")
def config() -> Response:
    """The configuration page Teams shows when someone adds the channel tab."""
    return _shell("config")
