"""Activity feed of the Graph emulator: Teams app packages, their installations and ``sendActivityNotification``.

Routes (Graph docs: ``userteamwork-sendactivitynotification``, ``team-sendactivitynotification``,
``teamwork-sendactivitynotificationtorecipients``; reference/microsoft-365.md §4):

* ``POST /v1.0/users/{id|upn}/teamwork/sendActivityNotification`` → 204.
* ``POST /v1.0/teams/{id}/sendActivityNotification`` with a ``recipient`` (``aadUserNotificationRecipient`` of a
  member, ``teamMembersNotificationRecipient`` or ``channelMembersNotificationRecipient``) → 204.
* ``POST /v1.0/teamwork/sendActivityNotificationToRecipients`` with at most 100 ``aadUserNotificationRecipient``
  → 202 (Graph accepts bulk sends for later delivery).

What is validated, as Graph does: ``topic`` (``source`` entityUrl or text; an entityUrl is a Graph URL of an app
installation or catalog app — of the team, for the team route; a text topic needs ``webUrl``); ``activityType``
declared in the caller's app manifest (or ``systemDefault`` with a ``systemDefaultText`` parameter);
``templateParameters`` exactly the ``{placeholders}`` of that type's template (``{actor}`` is Teams' own);
``previewText.content`` of at most 150 characters; an Int64 ``chainId``; and the permission: an app-only caller
needs ``TeamsActivity.Send`` or the resource-specific ``TeamsActivity.Send.User`` (users, bulk) or
``TeamsActivity.Send.Group`` (team) that its manifest requests, a delegated caller the ``TeamsActivity.Send``
scope, and the app must be installed for every recipient (or in the team). These are this emulator's choices
where the docs say less: rejecting a preview over 150 characters (Teams only shows 150), requiring a text
topic's ``webUrl`` to be a Teams deep link, answering 403 when one bulk recipient lacks the app, and 400 for
a template parameter that is missing or unknown.

Apps the emulator has no package for (tests that only exercise the protocol) are checked for the body alone.
The sandbox installs the Ambassador package (built from ``manifests/`` like ``flask manifest build``) for every
user and team of the scenario; tests uninstall it where they need to. Every accepted call is recorded in
``GraphEmulator.activity_notifications``. ``GET /_activity`` lists them; ``GET /_activity?user=…&locale=…`` is
that person's feed as Teams shows it — the template text rendered in their language, a notification sent again
with the same ``chainId`` replacing the earlier one — plus what others received (the host page's feed panel).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from plugin.sandbox.graph_auth import Caller
from plugin.sandbox.graph_directory import find_person, find_team
from plugin.sandbox.graph_emulator import current_caller, current_emulator
from plugin.sandbox.graph_http import GraphError, bad_request, json_body, no_content
from plugin.sandbox.scenario import ScenarioPerson, ScenarioTeam

blueprint = Blueprint("graph_activity_feed", __name__)
PREVIEW_MAX = 150
MAX_RECIPIENTS = 100
SEND = "TeamsActivity.Send"
SEND_USER = "TeamsActivity.Send.User"
SEND_GROUP = "TeamsActivity.Send.Group"
SYSTEM_DEFAULT = "systemDefault"
USER_RECIPIENT = "microsoft.graph.aadUserNotificationRecipient"
TEAM_RECIPIENT = "microsoft.graph.teamMembersNotificationRecipient"
CHANNEL_RECIPIENT = "microsoft.graph.channelMembersNotificationRecipient"
FEED_SHOWN = 50
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GRAPH_URL = re.compile(r"^https://graph\.microsoft\.com/(?:v1\.0|beta)/(?P<path>.+)$")
_APP_URL = re.compile(r"^(?:users/[^/]+/teamwork/installedApps/[^/]+|appCatalogs/teamsApps/[^/]+)$")
_DEEP_LINK = "https://teams.microsoft.com/l/"


def language_of(tag: str | None) -> str:
    """The language of a locale tag (``nl-NL`` → ``nl``); empty for none."""
    return (tag or "").replace("_", "-").split("-", 1)[0].lower()


@dataclass(frozen=True)
class TeamsAppPackage:
    """What the emulator needs of a Teams app package: ids, names, activity templates per language and RSC."""

    app_id: str
    client_id: str
    names: Mapping[str, str]
    templates: Mapping[str, Mapping[str, str]]
    default_language: str
    resource_specific: frozenset[str]

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> TeamsAppPackage:
        """Read an app package's files (``manifest.json`` and the localization files it names)."""
        manifest = json.loads(files["manifest.json"])
        info = manifest.get("localizationInfo") or {}
        default = language_of(info.get("defaultLanguageTag")) or "en"
        names = {default: str(manifest["name"]["short"])}
        activities = (manifest.get("activities") or {}).get("activityTypes") or []
        templates: dict[str, dict[str, str]] = {str(a["type"]): {default: str(a["templateText"])} for a in activities}
        for extra in info.get("additionalLanguages") or ():
            document = json.loads(files[extra["file"]])
            language = language_of(extra["languageTag"])
            names[language] = str(document.get("name.short") or names[default])
            for index, activity in enumerate(activities):
                text = document.get(f"activities.activityTypes[{index}].templateText")
                if text:
                    templates[str(activity["type"])][language] = str(text)
        permissions = ((manifest.get("authorization") or {}).get("permissions") or {}).get("resourceSpecific") or ()
        return cls(
            app_id=str(manifest["id"]), client_id=str(manifest["webApplicationInfo"]["id"]), names=names,
            templates=templates, default_language=default,
            resource_specific=frozenset(str(p["name"]) for p in permissions),
        )

    def parameters(self, activity_type: str) -> set[str]:
        """The template parameters a sender must fill for `activity_type` (``{actor}`` is Teams')."""
        return set(_PLACEHOLDER.findall(self.templates[activity_type][self.default_language])) - {"actor"}

    def name(self, language: str) -> str:
        """The app's short name in `language` (the default language's otherwise)."""
        return self.names.get(language) or self.names[self.default_language]

    def render(self, activity_type: str, parameters: Mapping[str, str], language: str, actor: str) -> str:
        """The feed text of a notification in `language`, as Teams renders the template."""
        texts = self.templates[activity_type]
        template = texts.get(language) or texts[self.default_language]
        values = {**parameters, "actor": actor}
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def ambassador_package(client_id: str, base_url: str) -> TeamsAppPackage:
    """The Ambassador app package for this registration, built from ``manifests/`` as ``flask manifest build`` does."""
    from plugin.services.manifest import PackageSettings, app_version, default_app_id, package_files

    settings = PackageSettings(
        base_url=base_url, client_id=client_id, app_id=default_app_id(client_id), version=app_version(),
        developer_name="Ambassador", website_url=f"{base_url}/", privacy_url=f"{base_url}/",
        terms_url=f"{base_url}/",
    )
    return TeamsAppPackage.from_files(package_files(settings))


class ActivityFeed:
    """The Teams apps the tenant knows and where they are installed (everywhere, unless uninstalled)."""

    def __init__(self, packages: Iterable[TeamsAppPackage] = ()) -> None:
        self.packages = {package.client_id: package for package in packages}
        self._removed: set[tuple[str, str]] = set()  # (client id, user oid or team id)
        self._lock = threading.Lock()

    def package_for(self, app_id: str) -> TeamsAppPackage | None:
        """The package of the Entra app `app_id` (its ``webApplicationInfo.id``), if the tenant has one."""
        return self.packages.get(app_id)

    def uninstall(self, package: TeamsAppPackage, target: str) -> None:
        """Remove the app for a user (object id) or from a team (group id)."""
        with self._lock:
            self._removed.add((package.client_id, target))

    def install(self, package: TeamsAppPackage, target: str) -> None:
        """Install the app for a user or in a team again."""
        with self._lock:
            self._removed.discard((package.client_id, target))

    def installed(self, package: TeamsAppPackage, target: str) -> bool:
        """True when the app is installed for the user (object id) or in the team (group id)."""
        with self._lock:
            return (package.client_id, target) not in self._removed

    def person_feed(self, entries: Iterable[Mapping[str, Any]], person: ScenarioPerson,
                    language: str) -> list[dict[str, Any]]:
        """What `person`'s activity feed shows, newest first: a resend with the same chainId replaces."""
        shown: dict[Any, dict[str, Any]] = {}
        for index, entry in enumerate(entries):
            if person.oid not in (entry.get("recipients") or ()):
                continue
            sender = entry.get("from") or {}
            chain = entry.get("chainId")
            key = (json.dumps(sender, sort_keys=True), chain) if chain is not None else index
            previous = shown.pop(key, None)
            shown[key] = self._item(entry, sender, language, (previous or {}).get("updates", 0) + bool(previous))
        return list(reversed(shown.values()))

    def _item(self, entry: Mapping[str, Any], sender: Mapping[str, Any], language: str,
              updates: int) -> dict[str, Any]:
        parameters = {p["name"]: p["value"] for p in entry.get("templateParameters") or ()}
        kind = str(entry.get("activityType", ""))
        preview = (entry.get("previewText") or {}).get("content", "")
        package = self.package_for(str(sender.get("application", "")))
        if kind == SYSTEM_DEFAULT:
            text = parameters.get("systemDefaultText", preview)
        elif package is not None and kind in package.templates:
            people = current_emulator().scenario.people
            actor = people[sender["user"]].name if sender.get("user") in people else package.name(language)
            text = package.render(kind, parameters, language, actor)
        else:
            text = preview
        topic = entry.get("topic") or {}
        return {"at": entry.get("at"), "activityType": kind, "text": text, "preview": preview,
                "webUrl": topic.get("webUrl") or topic.get("value"), "chainId": entry.get("chainId"),
                "updates": updates}


def current_feed() -> ActivityFeed:
    """The activity feed state of the emulator serving this request."""
    return current_app.extensions["activity_feed"]


# -- routes -----------------------------------------------------------------------------------------------------
@blueprint.post("/v1.0/users/<ref>/teamwork/sendActivityNotification")
def send_to_user(ref: str) -> Response:
    """POST /users/{id|upn}/teamwork/sendActivityNotification → 204."""
    person = find_person(ref)
    body = json_body()
    package = _package()
    entry = _notification(body, package, team=None)
    _authorise(package, SEND_USER, users=[person.oid])
    _record({**entry, "recipients": [person.oid]}, "user")
    return no_content(204)


@blueprint.post("/v1.0/teams/<team_id>/sendActivityNotification")
def send_to_team(team_id: str) -> Response:
    """POST /teams/{id}/sendActivityNotification with one recipient (a member, the members, a channel's) → 204."""
    team = find_team(team_id)
    body = json_body()
    package = _package()
    entry = _notification(body, package, team=team)
    recipients = _team_recipients(body.get("recipient"), team)
    _authorise(package, SEND_GROUP, team=team)
    _record({**entry, "teamId": team.id, "recipients": recipients}, "team")
    return no_content(204)


@blueprint.post("/v1.0/teamwork/sendActivityNotificationToRecipients")
def send_to_recipients() -> Response:
    """POST /teamwork/sendActivityNotificationToRecipients (≤ 100 recipients) → 202."""
    body = json_body()
    package = _package()
    entry = _notification(body, package, team=None)
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise bad_request("recipients is required and must be a non-empty array.")
    if len(recipients) > MAX_RECIPIENTS:
        raise bad_request(f"There is an upper limit of {MAX_RECIPIENTS} recipients in a single request.")
    oids = []
    for recipient in recipients:
        if not isinstance(recipient, dict) or _odata_type(recipient) != USER_RECIPIENT:
            raise bad_request("Only recipients of type microsoft.graph.aadUserNotificationRecipient are supported.")
        oids.append(find_person(str(recipient.get("userId", ""))).oid)
    if len(set(oids)) != len(oids):
        raise bad_request("recipients must not name the same user twice.")
    _authorise(package, SEND_USER, users=oids)
    _record({**entry, "recipients": oids}, "recipients")
    return no_content(202)


@blueprint.get("/_activity")
def activity() -> Response | tuple[Response, int]:
    """GET /_activity[?user=&locale=]: every notification received, or one person's feed (and everyone else's)."""
    entries = current_emulator().log()["activityNotifications"]
    ref = request.args.get("user")
    if not ref:
        return jsonify(notifications=entries)
    people = current_emulator().scenario.people
    person = people.get(ref) or next((p for p in people.values() if p.upn.lower() == ref.lower()), None)
    if person is None:
        return jsonify(error="unknown_user", message=f"no user {ref!r} in the scenario"), 404
    language = language_of(request.args.get("locale") or person.locale)
    others = [e for e in reversed(entries) if person.oid not in (e.get("recipients") or ())]
    return jsonify(user=person.oid, language=language,
                   feed=current_feed().person_feed(entries, person, language)[:FEED_SHOWN], others=others[:FEED_SHOWN])


# -- validation -------------------------------------------------------------------------------------------------
def _package() -> TeamsAppPackage | None:
    return current_feed().package_for(current_caller().app_id)


def _notification(body: Mapping[str, Any], package: TeamsAppPackage | None, *,
                  team: ScenarioTeam | None) -> dict[str, Any]:
    activity_type = _activity_type(body.get("activityType"), package)
    return {
        "topic": _topic(body.get("topic"), team),
        "activityType": activity_type,
        "previewText": _preview(body.get("previewText")),
        "templateParameters": _parameters(body.get("templateParameters"), activity_type, package),
        "chainId": _chain_id(body.get("chainId")),
        "teamsAppId": _teams_app_id(body.get("teamsAppId"), package),
    }


def _topic(topic: Any, team: ScenarioTeam | None) -> dict[str, Any]:
    if not isinstance(topic, dict) or topic.get("source") not in ("entityUrl", "text"):
        raise bad_request("topic is required, with source 'entityUrl' or 'text'.")
    value, web_url = topic.get("value"), topic.get("webUrl")
    if not isinstance(value, str) or not value:
        raise bad_request("topic.value is required.")
    if topic["source"] == "text":
        if not isinstance(web_url, str) or not web_url:
            raise bad_request("topic.webUrl is required when topic.source is 'text'.")
        if not web_url.startswith(_DEEP_LINK):
            raise bad_request("topic.webUrl must be a Teams deep link (https://teams.microsoft.com/l/…).")
    else:
        match = _GRAPH_URL.match(value)
        path = match.group("path") if match else ""
        allowed = (path == f"teams/{team.id}" or path.startswith(f"teams/{team.id}/")) if team else _APP_URL.match(path)
        if not allowed:
            where = "a resource of this team" if team else "a teamsAppInstallation or teamsCatalogApp"
            raise bad_request(f"topic.value must be the Microsoft Graph URL of {where}.")
    return {"source": topic["source"], "value": value, "webUrl": web_url}


def _activity_type(value: Any, package: TeamsAppPackage | None) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request("activityType is required.")
    if value == SYSTEM_DEFAULT:
        return value
    legacy = current_emulator().activity_types
    declared = set(package.templates) if package is not None else legacy
    if declared is not None and value not in declared:
        raise bad_request(f"activityType '{value}' is not declared in the Teams app manifest.")
    return value


def _preview(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("content"), str):
        raise bad_request("previewText is required, with a content string.")
    if len(value["content"]) > PREVIEW_MAX:
        raise bad_request(f"previewText.content must be at most {PREVIEW_MAX} characters.")
    return {"content": value["content"]}


def _parameters(value: Any, activity_type: str, package: TeamsAppPackage | None) -> list[dict[str, str]]:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"] and isinstance(p.get("value"), str)
        for p in value
    ):
        raise bad_request("templateParameters must be an array of {name, value} strings.")
    names = [p["name"] for p in value]
    if len(set(names)) != len(names):
        raise bad_request("templateParameters must not name a parameter twice.")
    if activity_type == SYSTEM_DEFAULT:
        if "systemDefaultText" not in names:
            raise bad_request("The systemDefault activity type needs a systemDefaultText template parameter.")
    elif package is not None:
        expected = package.parameters(activity_type)
        missing, unknown = sorted(expected - set(names)), sorted(set(names) - expected)
        if missing:
            raise bad_request(f"templateParameters lacks {', '.join(missing)} for activityType '{activity_type}'.")
        if unknown:
            raise bad_request(f"templateParameters has {', '.join(unknown)}, which the template of "
                              f"'{activity_type}' does not use.")
    return [{"name": p["name"], "value": p["value"]} for p in value]


def _chain_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise bad_request("chainId must be an Int64.")
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise bad_request("chainId must be an Int64.")
    return number


def _teams_app_id(value: Any, package: TeamsAppPackage | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (package is not None and value.lower() != package.app_id.lower()):
        raise bad_request("teamsAppId does not name a Teams app of the calling application.")
    return value


def _team_recipients(recipient: Any, team: ScenarioTeam) -> list[str]:
    if not isinstance(recipient, dict):
        raise bad_request("recipient is required.")
    kind = _odata_type(recipient)
    if kind == USER_RECIPIENT:
        oid = find_person(str(recipient.get("userId", ""))).oid
        if oid not in team.members:
            raise bad_request(f"The recipient {oid} is not a member of the team.")
        return [oid]
    if kind in (TEAM_RECIPIENT, CHANNEL_RECIPIENT):
        if recipient.get("teamId") != team.id:
            raise bad_request("recipient.teamId must be the team the notification is sent in.")
        if kind == CHANNEL_RECIPIENT and recipient.get("channelId") not in team.channels:
            raise bad_request("recipient.channelId is not a channel of the team.")
        return list(team.members)
    raise bad_request("recipient must be an aadUserNotificationRecipient, teamMembersNotificationRecipient or "
                      "channelMembersNotificationRecipient.")


def _authorise(package: TeamsAppPackage | None, resource_specific: str, *, users: Iterable[str] = (),
               team: ScenarioTeam | None = None) -> None:
    """Graph's permission and installation checks (only for apps the emulator has a package for)."""
    if package is None:
        return
    caller: Caller = current_caller()
    if caller.delegated:
        if SEND not in caller.scopes:
            raise GraphError(403, "Forbidden", f"Missing scope permissions on the request. API requires '{SEND}'.")
    elif SEND not in caller.roles and resource_specific not in package.resource_specific:
        raise GraphError(403, "Forbidden", f"The app needs the application permission '{SEND}' or the "
                                           f"resource-specific permission '{resource_specific}'.")
    feed = current_feed()
    if team is not None and not feed.installed(package, team.id):
        raise GraphError(403, "Forbidden", f"The Teams app {package.app_id} is not installed in team {team.id}.")
    missing = [oid for oid in users if not feed.installed(package, oid)]
    if missing:
        raise GraphError(403, "Forbidden", f"The Teams app {package.app_id} is not installed for "
                                           f"{', '.join(missing)}.")


def _odata_type(recipient: Mapping[str, Any]) -> str:
    return str(recipient.get("@odata.type", "")).lstrip("#")


def _record(entry: dict[str, Any], kind: str) -> None:
    caller = current_caller()
    sender = {"user": caller.oid} if caller.delegated else {"application": caller.app_id}
    current_emulator().record_activity({"kind": kind, "from": sender, **entry})
