"""The demo tenant as the sandbox sees it: the same people, teams and communities as the demo database."""

from __future__ import annotations

import uuid

from ..services import demo_data as data
from ..services.demo import channel_graph_id, demo_oid, demo_upn, team_graph_id
from .aad_registry import DevUser
from .scenario import Scenario, ScenarioChannel, ScenarioCommunity, ScenarioPerson, ScenarioTeam

#: App roles of the tab app (Entra "App roles"), as the demo assigns them.
APP_ROLES = {"coach": ("Coach",), "admin": ("Admin",)}


def demo_users() -> dict[str, DevUser]:
    """Every demo person as a user of the dev Entra tenant, by object id."""
    users = {}
    for name, _team, locale, role in data.PEOPLE:
        oid = demo_oid(name)
        users[oid] = DevUser(oid, name, demo_upn(name), roles=APP_ROLES.get(role, ()),
                             locale="nl-NL" if locale == "nl" else "en-GB")
    return users


def demo_scenario(tenant_id: str) -> Scenario:
    """The demo organisation as a scenario for the Graph and Yammer emulators."""
    scenario = Scenario(tenant_id=tenant_id)
    for n, (name, _team, locale, _role) in enumerate(data.PEOPLE):
        oid = demo_oid(name)
        scenario.people[oid] = ScenarioPerson(oid, name, demo_upn(name), "nl-NL" if locale == "nl" else "en-GB",
                                              yammer_id=36425097217 + n)
    for key, team_name, _locale, channels in data.TEAMS:
        team = ScenarioTeam(team_graph_id(key), team_name)
        for channel in channels:
            channel_id = channel_graph_id(key, channel)
            team.channels[channel_id] = ScenarioChannel(channel_id, channel)
        for name, team_key, _locale, role in data.PEOPLE:
            if team_key == key:
                team.members.append(demo_oid(name))
                if role == "lead":
                    team.owners.append(demo_oid(name))
        scenario.teams[team.id] = team
    for group_id, community_name in data.COMMUNITIES:
        scenario.communities[int(group_id)] = ScenarioCommunity(
            int(group_id), community_name, members=[demo_oid(name) for name, *_rest in data.PEOPLE]
        )
    return scenario


def demo_client_secret(secret_key: str) -> str:
    """The sandbox app registration's client secret, derived from SECRET_KEY so it is not a constant."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ambassador-sandbox:{secret_key}"))
