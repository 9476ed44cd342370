"""Directory routes of the Graph emulator: teams, channels, team members and users."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response

from plugin.sandbox.graph_emulator import current_caller, current_emulator
from plugin.sandbox.graph_http import bad_request, json_response, not_found
from plugin.sandbox.scenario import ScenarioChannel, ScenarioPerson, ScenarioTeam

blueprint = Blueprint("graph_directory", __name__, url_prefix="/v1.0")


def find_team(team_id: str) -> ScenarioTeam:
    """A scenario team; 404 as Graph answers for an unknown group id."""
    team = current_emulator().scenario.teams.get(team_id)
    if team is None:
        raise not_found(f"No team found with Group Id {team_id}")
    return team


def find_channel(team_id: str, channel_id: str) -> tuple[ScenarioTeam, ScenarioChannel]:
    """A team and one of its channels; 404 when either is unknown."""
    team = find_team(team_id)
    channel = team.channels.get(channel_id)
    if channel is None:
        raise not_found(f"Channel '{channel_id}' was not found in team {team_id}.")
    return team, channel


def find_person(ref: str) -> ScenarioPerson:
    """A user by object id or userPrincipalName (case-insensitive); 404 ``Request_ResourceNotFound``."""
    people = current_emulator().scenario.people
    person = people.get(ref) or next((p for p in people.values() if p.upn.lower() == ref.lower()), None)
    if person is None:
        raise not_found(
            f"Resource '{ref}' does not exist or one of its queried reference-property objects are not present.",
            "Request_ResourceNotFound",
        )
    return person


def user_json(person: ScenarioPerson) -> dict[str, Any]:
    """A Graph ``user`` with the default property set."""
    given, _, surname = person.name.partition(" ")
    return {
        "businessPhones": [],
        "displayName": person.name,
        "givenName": given,
        "jobTitle": None,
        "mail": person.upn,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": person.locale,
        "surname": surname or None,
        "userPrincipalName": person.upn,
        "id": person.oid,
    }


@blueprint.get("/users/<ref>")
def get_user(ref: str) -> Response:
    """GET /users/{id | userPrincipalName}."""
    base = current_emulator().base_url
    return json_response({"@odata.context": f"{base}/v1.0/$metadata#users/$entity", **user_json(find_person(ref))})


@blueprint.get("/me")
def get_me() -> Response:
    """GET /me (delegated tokens only)."""
    caller = current_caller()
    if not caller.delegated:
        raise bad_request("/me request is only valid with delegated authentication flow.")
    return get_user(caller.oid or "")


@blueprint.get("/teams/<team_id>")
def get_team(team_id: str) -> Response:
    """GET /teams/{id}."""
    team = find_team(team_id)
    emulator = current_emulator()
    return json_response(
        {
            "@odata.context": f"{emulator.base_url}/v1.0/$metadata#teams/$entity",
            "id": team.id,
            "displayName": team.name,
            "description": None,
            "isArchived": False,
            "tenantId": emulator.scenario.tenant_id,
            "visibility": "private",
            "webUrl": f"https://teams.microsoft.com/l/team/{quote(_general(team), safe='')}/conversations"
            f"?groupId={team.id}&tenantId={emulator.scenario.tenant_id}",
        }
    )


@blueprint.get("/teams/<team_id>/channels")
def list_channels(team_id: str) -> Response:
    """GET /teams/{id}/channels."""
    team = find_team(team_id)
    emulator = current_emulator()
    return json_response(
        {
            "@odata.context": f"{emulator.base_url}/v1.0/$metadata#teams('{team.id}')/channels",
            "@odata.count": len(team.channels),
            "value": [_channel_json(team, channel) for channel in team.channels.values()],
        }
    )


@blueprint.get("/teams/<team_id>/channels/<channel_id>")
def get_channel(team_id: str, channel_id: str) -> Response:
    """GET /teams/{id}/channels/{id}."""
    team, channel = find_channel(team_id, channel_id)
    base = current_emulator().base_url
    context = f"{base}/v1.0/$metadata#teams('{team.id}')/channels/$entity"
    return json_response({"@odata.context": context, **_channel_json(team, channel)})


@blueprint.get("/teams/<team_id>/members")
def list_members(team_id: str) -> Response:
    """GET /teams/{id}/members: conversationMembers, owners with ``roles: ["owner"]``."""
    team = find_team(team_id)
    emulator = current_emulator()
    people = emulator.scenario.people
    members = []
    for oid in dict.fromkeys([*team.owners, *team.members]):
        person = people.get(oid)
        members.append(
            {
                "@odata.type": "#microsoft.graph.aadUserConversationMember",
                "id": base64.b64encode(f"0#{team.id}#{oid}".encode()).decode("ascii"),
                "roles": ["owner"] if oid in team.owners else [],
                "displayName": person.name if person else None,
                "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                "userId": oid,
                "email": person.upn if person else None,
                "tenantId": emulator.scenario.tenant_id,
            }
        )
    return json_response(
        {
            "@odata.context": f"{emulator.base_url}/v1.0/$metadata#teams('{team.id}')/members",
            "@odata.count": len(members),
            "value": members,
        }
    )


def _general(team: ScenarioTeam) -> str:
    return next(iter(team.channels), "")


def _channel_json(team: ScenarioTeam, channel: ScenarioChannel) -> dict[str, Any]:
    tenant = current_emulator().scenario.tenant_id
    return {
        "id": channel.id,
        "createdDateTime": None,
        "displayName": channel.name,
        "description": None,
        "isFavoriteByDefault": None,
        "email": "",
        "tenantId": tenant,
        "webUrl": f"https://teams.microsoft.com/l/channel/{quote(channel.id, safe='')}/{quote(channel.name)}"
        f"?groupId={team.id}&tenantId={tenant}",
        "membershipType": "standard",
    }
