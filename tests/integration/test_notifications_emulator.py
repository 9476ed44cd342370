"""The Graph emulator's activity feed over HTTP: what it accepts and refuses as Graph does, and the feed it shows.

The sandbox installs the Ambassador app package (built from manifests/) for every user and team of the demo
tenant, so these calls check against the real manifest: its activity types, their template parameters and the
resource-specific permissions it requests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from flask import Flask

from plugin.sandbox.graph_activity_feed import ActivityFeed, TeamsAppPackage
from plugin.sandbox.graph_emulator import GraphEmulator
from plugin.services.demo import demo_oid, team_graph_id
from plugin.services.manifest import default_app_id
from tests.integration.graph_fixtures import serve_http

DAAN, FLEUR, PRIYA = demo_oid("Daan Jansen"), demo_oid("Fleur Bakker"), demo_oid("Priya Raman")
FIN = team_graph_id("fin")  # Daan and Fleur's team; Priya is in another one
USER_TYPE = "microsoft.graph.aadUserNotificationRecipient"


@dataclass
class Emulator:
    """The sandbox's Graph emulator served over HTTP, with an app-only token of the Ambassador registration."""

    base: str
    state: GraphEmulator
    feed: ActivityFeed
    package: TeamsAppPackage
    token: str

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.base}/v1.0{path}", json=body, headers={"Authorization": f"Bearer {self.token}"},
                          trust_env=False)

    def activity(self, **params: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.base}/_activity", params=params, trust_env=False)
        assert answer.status_code == 200
        return answer.json()

    def error(self, answer: httpx.Response) -> tuple[int, str]:
        return answer.status_code, answer.json()["error"]["message"]


@pytest.fixture
def graph(app: Flask, authority: Any) -> Iterator[Emulator]:
    graph_app = app.extensions["sandbox"].apps["/dev/graph"]
    feed: ActivityFeed = graph_app.extensions["activity_feed"]
    client_id = app.config["AZURE_CLIENT_ID"]
    with serve_http(lambda _base: graph_app) as base:
        yield Emulator(base, graph_app.extensions["graph_emulator"], feed, feed.package_for(client_id),
                       authority.mint_app_token(client_id))


def unlocked(**changes: Any) -> dict[str, Any]:
    """A valid missionWeekUnlocked notification, with `changes`."""
    body = {
        "topic": {"source": "text", "value": "Mijn programma",
                  "webUrl": "https://teams.microsoft.com/l/entity/app/programme?label=Mijn%20programma"},
        "activityType": "missionWeekUnlocked",
        "previewText": {"content": "Week 2 is begonnen. Begin met: Reageer op vijf berichten"},
        "templateParameters": [{"name": "week", "value": "2"},
                               {"name": "missionTitle", "value": "Reageer op vijf berichten"}],
        "chainId": 42,
    }
    return body | changes


def test_the_package_is_the_apps_own_manifest(graph: Emulator, app: Flask) -> None:
    assert graph.package.app_id == default_app_id(app.config["AZURE_CLIENT_ID"])
    assert graph.package.parameters("coachDigest") == {"cohortName", "week", "atRisk", "toReview"}
    assert {"TeamsActivity.Send.User", "TeamsActivity.Send.Group"} <= graph.package.resource_specific
    assert graph.package.templates["badgeEarned"] == {"en": "You earned the {badgeName} badge",
                                                      "nl": "Je hebt de badge {badgeName} verdiend"}


def test_a_user_notification_is_checked_like_graph_and_answered_204(graph: Emulator) -> None:
    path = f"/users/{DAAN}/teamwork/sendActivityNotification"
    sent = graph.post(path, unlocked())
    assert (sent.status_code, sent.content) == (204, b"")

    refusals = {
        "undeclared type": unlocked(activityType="missionDue"),
        "missing parameter": unlocked(templateParameters=[{"name": "week", "value": "2"}]),
        "unknown parameter": unlocked(templateParameters=[*unlocked()["templateParameters"],
                                                          {"name": "badgeName", "value": "x"}]),
        "long preview": unlocked(previewText={"content": "x" * 151}),
        "text topic without webUrl": unlocked(topic={"source": "text", "value": "Mijn programma"}),
        "webUrl outside Teams": unlocked(topic={"source": "text", "value": "x", "webUrl": "https://example.com/"}),
        "entityUrl of no app": unlocked(topic={"source": "entityUrl",
                                               "value": f"https://graph.microsoft.com/v1.0/users/{DAAN}"}),
        "bad chainId": unlocked(chainId="abc"),
        "other app": unlocked(teamsAppId="00000000-0000-4000-8000-000000000000"),
        "systemDefault without text": unlocked(activityType="systemDefault", templateParameters=[]),
    }
    for why, body in refusals.items():
        assert graph.post(path, body).status_code == 400, why
    assert graph.error(graph.post(path, refusals["missing parameter"])) == (
        400, "templateParameters lacks missionTitle for activityType 'missionWeekUnlocked'.")
    installed_app = f"https://graph.microsoft.com/v1.0/users/{DAAN}/teamwork/installedApps/abc"
    assert graph.post(path, unlocked(topic={"source": "entityUrl", "value": installed_app})).status_code == 204
    assert graph.post("/users/nobody@contoso.example/teamwork/sendActivityNotification",
                      unlocked()).status_code == 404
    assert len(graph.state.activity_notifications) == 2  # refused calls leave nothing behind


def test_the_app_must_be_installed_and_hold_the_resource_specific_permission(graph: Emulator) -> None:
    graph.feed.uninstall(graph.package, FLEUR)
    refused = graph.post(f"/users/{FLEUR}/teamwork/sendActivityNotification", unlocked())
    assert graph.error(refused) == (403, f"The Teams app {graph.package.app_id} is not installed for {FLEUR}.")
    bulk = graph.post("/teamwork/sendActivityNotificationToRecipients", unlocked(
        recipients=[{"@odata.type": USER_TYPE, "userId": oid} for oid in (DAAN, FLEUR)]))
    assert bulk.status_code == 403  # one recipient without the app refuses the call
    graph.feed.install(graph.package, FLEUR)
    assert graph.post(f"/users/{FLEUR}/teamwork/sendActivityNotification", unlocked()).status_code == 204

    # A manifest that does not request TeamsActivity.Send.User cannot notify users (the token has no tenant-wide
    # TeamsActivity.Send either).
    graph.feed.packages[graph.package.client_id] = dataclasses.replace(
        graph.package, resource_specific=graph.package.resource_specific - {"TeamsActivity.Send.User"})
    status, message = graph.error(graph.post(f"/users/{DAAN}/teamwork/sendActivityNotification", unlocked()))
    assert status == 403 and "TeamsActivity.Send.User" in message
    assert len(graph.state.activity_notifications) == 1


def test_bulk_sends_take_up_to_100_users_and_answer_202(graph: Emulator, app: Flask) -> None:
    scenario = graph.state.scenario
    everyone = [{"@odata.type": USER_TYPE, "userId": oid} for oid in scenario.people]
    assert len(everyone) >= 3
    accepted = graph.post("/teamwork/sendActivityNotificationToRecipients", unlocked(recipients=everyone[:3]))
    assert accepted.status_code == 202
    assert graph.post("/teamwork/sendActivityNotificationToRecipients",
                      unlocked(recipients=everyone[:1] * 101)).status_code == 400
    assert graph.post("/teamwork/sendActivityNotificationToRecipients",
                      unlocked(recipients=everyone[:1] * 2)).status_code == 400
    assert graph.post("/teamwork/sendActivityNotificationToRecipients", unlocked(
        recipients=[{"@odata.type": "microsoft.graph.teamMembersNotificationRecipient", "teamId": FIN}],
    )).status_code == 400
    [entry] = graph.state.activity_notifications
    assert entry["kind"] == "recipients" and entry["recipients"] == [r["userId"] for r in everyone[:3]]
    assert entry["from"] == {"application": app.config["AZURE_CLIENT_ID"]}


def test_a_team_notification_reaches_its_members(graph: Emulator) -> None:
    team = graph.state.scenario.teams[FIN]
    path = f"/teams/{FIN}/sendActivityNotification"
    team_topic = {"source": "entityUrl", "value": f"https://graph.microsoft.com/v1.0/teams/{FIN}"}
    members = {"@odata.type": "microsoft.graph.teamMembersNotificationRecipient", "teamId": FIN}
    assert graph.post(path, unlocked(topic=team_topic, recipient=members)).status_code == 204
    assert graph.post(path, unlocked(recipient={"@odata.type": USER_TYPE, "userId": DAAN})).status_code == 204
    channel = next(iter(team.channels))
    assert graph.post(path, unlocked(recipient={"@odata.type": "microsoft.graph.channelMembersNotificationRecipient",
                                                "teamId": FIN, "channelId": channel})).status_code == 204

    assert graph.post(path, unlocked(recipient={"@odata.type": USER_TYPE, "userId": PRIYA})).status_code == 400
    assert graph.post(path, unlocked()).status_code == 400  # no recipient
    other_team = {"source": "entityUrl", "value": f"https://graph.microsoft.com/v1.0/teams/{team_graph_id('data')}"}
    assert graph.post(path, unlocked(topic=other_team, recipient=members)).status_code == 400
    graph.feed.uninstall(graph.package, FIN)
    assert graph.post(path, unlocked(recipient=members)).status_code == 403

    first, second, _third = graph.state.activity_notifications
    assert first["kind"] == "team" and first["teamId"] == FIN and first["recipients"] == team.members
    assert second["recipients"] == [DAAN]


def test_the_feed_shows_each_persons_notifications_in_their_language(graph: Emulator) -> None:
    path = f"/users/{DAAN}/teamwork/sendActivityNotification"
    graph.post(path, unlocked(chainId=7))
    graph.post(path, unlocked(chainId=7))  # the same chain again: it replaces the first
    graph.post(path, unlocked(chainId=8, activityType="badgeEarned", previewText={"content": "Gefeliciteerd"},
                              templateParameters=[{"name": "badgeName", "value": "Eerste bericht"}]))
    graph.post(f"/users/{FLEUR}/teamwork/sendActivityNotification", unlocked())

    daan = graph.activity(user=DAAN)  # Daan's Teams speaks Dutch
    assert daan["language"] == "nl"
    assert [(i["text"], i["updates"]) for i in daan["feed"]] == [
        ("Je hebt de badge Eerste bericht verdiend", 0),
        ("Week 2 is begonnen: Reageer op vijf berichten", 1),
    ]
    assert daan["feed"][1]["webUrl"].startswith("https://teams.microsoft.com/l/entity/")
    assert [o["recipients"] for o in daan["others"]] == [[FLEUR]]
    english = graph.activity(user=DAAN, locale="en-GB")
    assert english["feed"][0]["text"] == "You earned the Eerste bericht badge"
    assert len(graph.activity()["notifications"]) == 4
    assert httpx.get(f"{graph.base}/_activity", params={"user": "nobody"}, trust_env=False).status_code == 404
