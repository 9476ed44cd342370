"""The share composer: live feedback from the classifier in the caller's language, then a post as the participant
in a Teams channel (Graph emulator, delegated on-behalf-of token) or a Viva Engage community (Yammer emulator),
or text with a tracked link to copy. Credit arrives only through ingestion, once."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from plugin.models import Activity, CohortCommunity, CohortTeam, Community, PointsEntry
from plugin.services.demo import channel_graph_id, demo_oid, team_graph_id

from .coaching_world import COACH, DAAN, FLEUR, World, build_world

ITEM = {
    "url": "https://example.com/insights/mkb-financiering",
    "title": {"en": "New guide to sustainable finance for SMEs",
              "nl": "Nieuwe gids voor duurzame financiering in het mkb"},
    "summary": {"en": "Our firm publishes a guide that helps entrepreneurs finance sustainable investments, with "
                      "examples from construction and logistics.",
                "nl": "Ons kantoor publiceert een gids die ondernemers helpt duurzame investeringen te financieren, "
                      "met voorbeelden uit de bouw en de logistiek."},
    "topics": ["duurzaamheid"],
}
NOTE = ("Ik heb dit vorige week met een klant in de bouw doorgenomen. Wat mij opviel: de subsidie dekt ook de "
        "advieskosten, dus reken die mee in je begroting. Zo kreeg die klant twintig procent extra ruimte.")
TEAM, CHANNEL = team_graph_id("fin"), channel_graph_id("fin", "Kennisdeling")
COMMUNITY = "31158067202"


@pytest.fixture
def world(client, authority, session) -> World:
    world = build_world(client, authority, session)
    session.add(CohortTeam(cohort_id=world.cohort.id, team_id=world.team_a.id))
    community = Community(yammer_group_id=COMMUNITY, network_id="5897756673", display_name="Duurzaam Ondernemen")
    session.add(community)
    session.flush()
    session.add(CohortCommunity(cohort_id=world.cohort.id, community_id=community.id))
    session.commit()
    return world


@pytest.fixture
def item_id(world) -> int:
    answer = world.post(COACH, "/api/library", ITEM)
    assert answer.status_code == 201
    return answer.get_json()["id"]


def graph_emulator(app):
    return app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]


def channel_messages(app) -> list:
    scenario = graph_emulator(app).scenario
    return [m for m in scenario.messages.values() if m.channel_id == CHANNEL]


def notify(app, client, message_id: str) -> None:
    """Graph's change notification for a created channel message (what the subscription delivers)."""
    resource = f"teams('{TEAM}')/channels('{CHANNEL}')/messages('{message_id}')"
    notification = {"value": [{
        "subscriptionId": "5b8c2a8e-0000-4000-8000-000000000001", "changeType": "created",
        "clientState": app.config["GRAPH_CLIENT_STATE"], "tenantId": app.config["AZURE_TENANT_ID"],
        "resource": resource, "subscriptionExpirationDateTime": "2099-01-01T00:00:00Z",
        "resourceData": {"id": message_id, "@odata.type": "#Microsoft.Graph.chatMessage", "@odata.id": resource},
    }]}
    assert client.post("/webhooks/graph", json=notification).status_code == 202


def knowledge_posts(session, person_id: int) -> list[Activity]:
    session.expire_all()
    return list(session.scalars(select(Activity).where(Activity.author_id == person_id, Activity.kind == "post")))


def points(session, person_id: int) -> int:
    return session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0)).where(
        PointsEntry.person_id == person_id))


# -- preview -----------------------------------------------------------------------------------------------------


def test_without_a_note_the_preview_says_broadcast_and_asks_for_a_note_in_the_callers_language(world, item_id):
    nl = world.post(DAAN, "/api/me/share/preview?locale=nl", {"item_id": item_id, "note": ""})
    assert nl.status_code == 200, nl.get_json()
    body = nl.get_json()
    assert body["broadcast"] and not body["knowledge_sharing"] and body["own_words"] == 0
    codes = [h["code"] for h in body["hints"]]
    assert codes == ["broadcast", "note_too_short"]
    assert any("klanten" in p for p in body["prompts"])  # "Wat betekent dit voor je klanten?"

    en = world.post(DAAN, "/api/me/share/preview?locale=en", {"item_id": item_id, "note": "Proud!"}).get_json()
    assert en["own_words"] == 1
    assert "broadcast" in en["hints"][0]["message"] and "at least 12 words" in en["hints"][1]["message"]
    assert "What does this mean for your clients?" in en["prompts"]
    assert en["hints"][0]["message"] != body["hints"][0]["message"]


def test_a_personal_note_makes_it_knowledge_sharing(world, item_id):
    body = world.post(DAAN, "/api/me/share/preview", {"item_id": item_id, "note": NOTE}).get_json()
    assert body["knowledge_sharing"] and not body["broadcast"] and body["good"]
    assert body["own_words"] >= 30 and [h["code"] for h in body["hints"]] == ["good"]


def test_a_pasted_link_works_too(world):
    body = world.post(DAAN, "/api/me/share/preview", {"url": "https://example.org/artikel", "note": NOTE})
    assert body.status_code == 200 and body.get_json()["knowledge_sharing"]


@pytest.mark.parametrize("body,field", [
    ({"note": NOTE}, "item_id"),
    ({"item_id": 1, "url": "https://example.org/", "note": NOTE}, "item_id"),
    ({"url": "javascript:alert(1)", "note": NOTE}, "url"),
    ({"url": "https://example.org/", "note": "x" * 3001}, "note"),
    ({"url": "https://example.org/", "note": ["not", "text"]}, "note"),
    ({"item_id": "one", "note": NOTE}, "item_id"),
])
def test_invalid_drafts_are_refused(world, body, field):
    answer = world.post(DAAN, "/api/me/share/preview", body)
    assert answer.status_code == 400 and answer.get_json()["field"] == field


def test_an_expired_or_unknown_item_cannot_be_shared(world, session):
    past = {**ITEM, "expires_at": "2020-01-01"}
    expired = world.post(COACH, "/api/library", past).get_json()["id"]
    assert world.post(DAAN, "/api/me/share/preview", {"item_id": expired, "note": NOTE}).status_code == 404
    assert world.post(DAAN, "/api/me/share/preview", {"item_id": 99999, "note": NOTE}).status_code == 404


def test_the_composer_needs_a_signed_in_caller(world, item_id):
    assert world.post(None, "/api/me/share/preview", {"item_id": item_id}).status_code == 401
    assert world.post(None, "/api/me/share", {"item_id": item_id}).status_code == 401


# -- posting to Teams --------------------------------------------------------------------------------------------


def test_a_share_with_a_note_is_posted_as_the_participant_and_credited_once_through_ingestion(
        app, client, world, session, item_id):
    app.config["INBOX_AUTO_PROCESS"] = True
    daan = world.id(DAAN)
    posted = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                                "target": {"type": "teams", "team_id": TEAM, "channel_id": CHANNEL}})
    assert posted.status_code == 201, posted.get_json()
    answer = posted.get_json()
    assert answer["status"] == "posted" and answer["place"] == "Kennisdeling"

    [message] = channel_messages(app)
    assert message.id == answer["message_id"] and message.author_oid == demo_oid(DAAN)
    assert "twintig procent" in message.body_html and ITEM["url"] in message.body_html
    assert knowledge_posts(session, daan) == []  # nothing is credited by posting itself

    notify(app, client, message.id)
    [post] = knowledge_posts(session, daan)
    assert post.external_id == message.id and post.knowledge_sharing and not post.broadcast
    earned = points(session, daan)
    assert earned > 0

    notify(app, client, message.id)  # Graph redelivers
    assert app.extensions["tasks"]["sync_running"].call_local() == 1  # and the delta sync sees it again
    assert len(knowledge_posts(session, daan)) == 1 and points(session, daan) == earned


def test_the_same_item_without_a_note_earns_no_knowledge_sharing_credit(app, client, world, session, item_id):
    app.config["INBOX_AUTO_PROCESS"] = True
    fleur = world.id(FLEUR)
    posted = world.post(FLEUR, "/api/me/share", {"item_id": item_id, "note": "",
                                                 "target": {"type": "teams", "team_id": TEAM, "channel_id": CHANNEL}})
    assert posted.status_code == 201
    notify(app, client, posted.get_json()["message_id"])
    [post] = knowledge_posts(session, fleur)
    assert post.broadcast and not post.knowledge_sharing  # the library item is the corporate text it matches


@pytest.mark.parametrize("target,status,field", [
    ({"type": "teams", "team_id": TEAM, "channel_id": "19:unknown@thread.tacv2"}, 404, "target.channel_id"),
    ({"type": "teams", "team_id": TEAM}, 400, "target.channel_id"),
    ({"type": "fax"}, 400, "target"),
    ({"type": "yammer", "community_id": "999"}, 404, "target.community_id"),
    ({"type": "copy", "network": "myspace"}, 400, "target.network"),
])
def test_an_unknown_or_invalid_target_posts_nothing(app, world, item_id, target, status, field):
    answer = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE, "target": target})
    assert answer.status_code == status and answer.get_json()["field"] == field
    assert channel_messages(app) == []


def test_a_graph_failure_is_a_502_and_nothing_is_credited(app, world, session, item_id):
    emulator_client = app.test_client()
    fault = {"kind": "unavailable", "count": 10, "status": 503, "retryAfter": 0}
    assert emulator_client.post("/dev/graph/_faults", json=fault).status_code in (200, 201, 204)
    answer = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                                "target": {"type": "teams", "team_id": TEAM, "channel_id": CHANNEL}})
    assert answer.status_code == 502 and answer.get_json()["error"] == "post_failed"
    emulator_client.delete("/dev/graph/_faults")
    assert knowledge_posts(session, world.id(DAAN)) == []


# -- Viva Engage -------------------------------------------------------------------------------------------------


def test_a_share_goes_to_a_viva_engage_community_as_the_participant_and_comes_back_through_the_poll(
        app, world, session, item_id):
    posted = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                                "target": {"type": "yammer", "community_id": COMMUNITY}})
    assert posted.status_code == 201, posted.get_json()
    scenario = graph_emulator(app).scenario
    message = scenario.community_messages[int(posted.get_json()["message_id"])]
    assert message.sender_oid == demo_oid(DAAN) and message.community_id == int(COMMUNITY)
    assert message.body_plain.startswith("Ik heb dit vorige week") and ITEM["url"] in message.body_plain

    app.extensions["tasks"]["poll_yammer"].call_local()
    app.extensions["tasks"]["poll_yammer"].call_local()
    posts = [p for p in knowledge_posts(session, world.id(DAAN)) if p.source == "yammer"]
    assert len(posts) == 1 and posts[0].knowledge_sharing


# -- copy for LinkedIn / X ---------------------------------------------------------------------------------------


def test_copy_for_linkedin_or_x_returns_the_text_with_a_tracked_link(world, item_id):
    answer = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                                "target": {"type": "copy", "network": "linkedin"}})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["text"].startswith(NOTE) and body["link"] in body["text"]
    query = parse_qs(urlsplit(body["link"]).query)
    assert query["utm_source"] == ["linkedin"] and query["utm_campaign"] == ["ambassador"]
    assert str(world.id(DAAN)) not in query["utm_content"][0] and not body["too_long"]

    x = world.post(DAAN, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                           "target": {"type": "copy", "network": "x"}}).get_json()
    assert x["limit"] == 280 and x["too_long"] == (x["length"] > 280)
    assert parse_qs(urlsplit(x["link"]).query)["utm_content"] == query["utm_content"]  # same person, same ref
    other = world.post(FLEUR, "/api/me/share", {"item_id": item_id, "note": NOTE,
                                                "target": {"type": "copy", "network": "x"}}).get_json()
    assert parse_qs(urlsplit(other["link"]).query)["utm_content"] != query["utm_content"]


def test_the_targets_are_the_programmes_channels_and_communities(world):
    body = world.get(DAAN, "/api/me/share/targets").get_json()
    assert {"type": "teams", "team_id": TEAM, "channel_id": CHANNEL} in [
        {k: c[k] for k in ("type", "team_id", "channel_id")} for c in body["channels"]]
    assert [c["community_id"] for c in body["communities"]] == [COMMUNITY]
    assert body["networks"] == ["linkedin", "x"]
