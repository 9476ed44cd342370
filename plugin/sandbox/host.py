"""The Teams host page (`/dev/host`): a minimal Teams web shell that frames a tab and answers teams-js.

The tab runs unchanged with the real @microsoft/teams-js; `static/host.js` plays the Teams side of its
window.postMessage protocol (initialize, getContext, SSO, the auth pop-up, theme changes, the config save flow).
This module renders the shell with the demo tenant's people and teams, mints SSO tokens through the
sandbox's DevAuthority (`POST /dev/host/token`) and serves a probe tab (`/dev/host/probe`) that exercises it all.
Register it with :func:`init_host` after `init_sandbox(app)`; without the sandbox every route is a 404.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, render_template, request, url_for

if TYPE_CHECKING:
    from . import Sandbox
    from .aad_registry import DevUser
    from .scenario import ScenarioTeam

host_bp = Blueprint(
    "dev_host", __name__, url_prefix="/dev/host", template_folder="templates", static_folder="static"
)

THEMES = ("default", "dark", "contrast")
#: Locales offered in the switcher; any well-formed language tag in `?locale=` is passed through.
LOCALES = ("nl-NL", "en-US")
#: The tabs of the app package: contentUrl templates with Teams' placeholders, frame context, entity id.
TABS: dict[str, dict[str, str]] = {
    "personal": {"url": "/tabs/personal?locale={locale}&theme={theme}", "frame": "content", "entity": "programme",
                 "label": "My programme"},
    "team": {"url": "/tabs/team?locale={locale}&theme={theme}", "frame": "content", "entity": "team",
             "label": "Team"},
    "config": {"url": "/tabs/config?locale={locale}&theme={theme}", "frame": "settings", "entity": "",
               "label": "Tab configuration"},
    "coach": {"url": "/tabs/coach?locale={locale}&theme={theme}", "frame": "content", "entity": "coach",
              "label": "Coach"},
}
#: Personal-scope tabs: Teams gives them no team or channel in the context.
PERSONAL_TABS = ("personal", "coach")
TOKEN_LIFETIME = 3600
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$")
# The tab must be framable only by Teams hosts (reference §2.6) and by this page ('self').
_TAB_ANCESTORS = ("'self' https://*.cloud.microsoft https://teams.microsoft.com https://*.teams.microsoft.com "
                  "https://*.microsoft365.com https://*.office.com https://outlook.office.com "
                  "https://outlook.office365.com")
# teams-js fetches its list of valid host origins from this CDN when it loads (it falls back to a built-in list).
_TEAMS_JS_CDN = "https://res.cdn.office.net"
_CSP_BASE = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; " \
            "base-uri 'none'; form-action 'self'"


def init_host(app: Flask) -> bool:
    """Register the host page on an app whose sandbox is mounted; returns whether it is (now) registered."""
    if "sandbox" not in app.extensions:
        return False
    if host_bp.name not in app.blueprints:
        app.register_blueprint(host_bp)
    return True


def _sandbox() -> Sandbox:
    return current_app.extensions["sandbox"]


@host_bp.before_request
def sandbox_only() -> None:
    """Every host route is a 404 unless the sandbox is mounted (demo or tests)."""
    if "sandbox" not in current_app.extensions:
        abort(404)


@host_bp.after_request
def security_headers(response: Response) -> Response:
    """A strict CSP: the shell and the probe run no inline script and reach no other origin."""
    if request.endpoint in ("dev_host.probe", "dev_host.probe_popup"):
        policy = f"{_CSP_BASE}; connect-src 'self' {_TEAMS_JS_CDN}; frame-ancestors {_TAB_ANCESTORS}"
    else:
        policy = f"{_CSP_BASE}; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'"
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@host_bp.get("")
def shell() -> str:
    """GET /dev/host?tab=&user=&locale=&theme=[&team=&channel=&url=]: the Teams shell framing one tab."""
    sandbox = _sandbox()
    tab = request.args.get("tab", "personal")
    if tab not in TABS:
        abort(400, f"tab must be one of {', '.join(TABS)}")
    user = _user(sandbox, request.args.get("user"))
    locale = request.args.get("locale") or user.locale
    if not _LOCALE.match(locale):
        abort(400, "locale must be a language tag such as nl-NL or en-US")
    theme = request.args.get("theme", "default")
    if theme not in THEMES:
        abort(400, f"theme must be one of {', '.join(THEMES)}")
    content_url = request.args.get("url") or TABS[tab]["url"]
    if not content_url.startswith("/") or content_url.startswith("//"):
        # Only same-origin paths: the host answers SSO for whatever it frames.
        abort(400, "url must be a path on this site, such as /dev/host/probe")
    team, channel_id = _team(sandbox, user, request.args.get("team"), request.args.get("channel"))
    frame_context = TABS[tab]["frame"]
    config = {
        "tab": tab,
        "tabLabel": TABS[tab]["label"],
        "contentUrl": content_url,
        "frameContext": frame_context,
        "theme": theme,
        "locale": locale,
        "tokenUrl": url_for(".token"),
        "graphLogUrl": "/dev/graph/_log" if "/dev/graph" in sandbox.apps else None,
        # The signed-in person's activity feed as Teams would show it (template text in the host's language).
        "activityUrl": ("/dev/graph/_activity?" + urlencode({"user": user.oid, "locale": locale})
                        if "/dev/graph" in sandbox.apps else None),
        "tabEntities": {spec["entity"]: name for name, spec in TABS.items() if spec["entity"]},
        "runtime": runtime_config(),
        "context": teams_context(sandbox, user, locale=locale, theme=theme, frame_context=frame_context,
                                 entity_id=TABS[tab]["entity"], team=team if tab not in PERSONAL_TABS else None,
                                 channel_id=channel_id),
        "people": {p.oid: p.name for p in sandbox.scenario.people.values()},
    }
    return render_template(
        "dev_host/host.html", config=config, tabs=TABS, themes=THEMES, locales=_locales(locale), user=user,
        people=list(sandbox.scenario.people.values()), teams=list(sandbox.scenario.teams.values()),
        team=team, channel_id=channel_id, custom_url=request.args.get("url", ""),
    )


@host_bp.post("/token")
def token() -> tuple[Response, int] | Response:
    """POST /dev/host/token {user, tenantId?}: the Teams SSO token getAuthToken() hands the tab."""
    if not request.is_json:  # JSON only, so a cross-site form cannot mint tokens
        return jsonify(error="invalid_request", message="send JSON"), 415
    body = request.get_json(silent=True) or {}
    sandbox = _sandbox()
    tenant = body.get("tenantId")
    if tenant and str(tenant).lower() != sandbox.authority.tenant_id.lower():
        return jsonify(error="invalid_tenant", message=f"the sandbox has no tenant {tenant}"), 400
    try:
        user = sandbox.authority.user(str(body.get("user", "")))
    except KeyError:
        return jsonify(error="unknown_user", message="no such user in the demo tenant"), 404
    now = int(time.time())
    minted = sandbox.authority.mint_sso_token(user.oid, lifetime=TOKEN_LIFETIME, issued_at=now)
    return jsonify(token=minted, expiresOn=(now + TOKEN_LIFETIME) * 1000)


@host_bp.get("/probe")
def probe() -> str:
    """A tab page that drives the real teams-js through the host (app, context, SSO, theme, config, pop-up)."""
    return render_template("dev_host/probe.html")


@host_bp.get("/probe-popup")
def probe_popup() -> str:
    """The authentication pop-up of the probe: reports `ok` (or `?outcome=failure`) through teams-js."""
    return render_template("dev_host/probe_popup.html")


def runtime_config() -> dict[str, Any]:
    """The runtime JSON of the initialize answer: teams-js 2 gates capabilities on these `supports` keys."""
    # apiVersion 4 is teams-js 2.58's latestRuntimeApiVersion. authentication and app.getContext are not
    # capability-gated; pages.config.* needs supports.pages.config; app.notifySuccess waits for an answer only
    # when app.notifySuccessResponse is declared (this host answers it).
    return {
        "apiVersion": 4,
        "isLegacyTeams": False,
        "supports": {"app": {"notifySuccessResponse": {}}, "pages": {"config": {}}},
    }


def teams_context(
    sandbox: Sandbox,
    user: DevUser,
    *,
    locale: str,
    theme: str,
    frame_context: str,
    entity_id: str,
    team: ScenarioTeam | None,
    channel_id: str | None,
) -> dict[str, Any]:
    """The v1 context (what the host sends for `getContext`); teams-js maps it to `app.Context`."""
    tid = sandbox.authority.tenant_id
    context: dict[str, Any] = {
        "locale": locale,
        "theme": theme,
        "frameContext": frame_context,
        "entityId": entity_id,
        "subEntityId": "",
        "hostName": "Teams",
        "hostClientType": "web",
        "sessionId": str(uuid.uuid4()),
        "appSessionId": str(uuid.uuid4()),
        "appLaunchId": str(uuid.uuid4()),
        "ringId": "general",
        "userObjectId": user.oid,
        "userDisplayName": user.name,
        "loginHint": user.preferred_username,
        "userPrincipalName": user.preferred_username,
        "userLicenseType": "Unknown",
        "tid": tid,
        "tenantSKU": "enterprise",
        "isFullScreen": False,
        "isMultiWindow": False,
        "dialogParameters": {},
    }
    if team is not None:
        channels = list(team.channels.values())
        channel = team.channels.get(channel_id or "") or (channels[0] if channels else None)
        context |= {
            # Teams' internal team id is the thread id of the team's General channel (the first one here).
            "teamId": channels[0].id if channels else f"19:{team.id}@thread.tacv2",
            "teamName": team.name,
            "teamType": 0,
            "groupId": team.id,
            "userTeamRole": 0 if user.oid in team.owners else 1,
            "hostTeamGroupId": team.id,
            "hostTeamTenantId": tid,
        }
        if channel is not None:
            context |= {"channelId": channel.id, "channelName": channel.name, "channelType": "Regular"}
    return context


def _user(sandbox: Sandbox, ref: str | None) -> DevUser:
    if not ref:
        first = next(iter(sandbox.scenario.people), None)
        ref = first or next(iter(sandbox.authority.users))
    try:
        return sandbox.authority.user(ref)
    except KeyError:
        abort(404, f"no user {ref!r} in the demo tenant")


def _team(
    sandbox: Sandbox, user: DevUser, team_id: str | None, channel_id: str | None
) -> tuple[ScenarioTeam | None, str | None]:
    teams = sandbox.scenario.teams
    if team_id:
        team = teams.get(team_id)
        if team is None:
            abort(404, f"no team {team_id!r} in the demo tenant")
    else:
        team = next((t for t in teams.values() if user.oid in t.members), next(iter(teams.values()), None))
    if team is None:
        return None, None
    if channel_id and channel_id not in team.channels:
        abort(404, f"no channel {channel_id!r} in team {team.name!r}")
    return team, channel_id or next(iter(team.channels), None)


def _locales(current: str) -> list[str]:
    return list(LOCALES) if current in LOCALES else [*LOCALES, current]
