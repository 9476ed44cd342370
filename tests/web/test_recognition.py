"""Recognition and nominations through the API: who may do what, bad input, idempotence, the channel card."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from plugin.models import AuditEntry, Award, Badge, Nomination, NotificationLog, Recognition

from .coaching_world import ADMIN, COACH, DAAN, FLEUR, LEAD, OTHER_LEAD, THIJS, TOM, World, build_world


@pytest.fixture
def world(client, authority, session) -> World:
    return build_world(client, authority, session)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def ambassador_awards(session, person_id: int) -> list[Award]:
    return list(session.scalars(select(Award).join(Badge).where(Award.person_id == person_id,
                                                                Badge.slug == "ambassador")))


def posted_messages(app) -> list[dict]:
    """What the Graph emulator received on its channel-message endpoint, with the stored attachments."""
    emulator = app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
    return [{**entry, "attachments": emulator.scenario.messages[entry["id"]].attachments}
            for entry in emulator.log()["postedMessages"]]


def recognise(world: World, who: str | None, person: str, **fields):
    body = {"person_id": world.id(person), "kind": "ambassador", "message": "Je helpt het hele team op weg!",
            **fields}
    return world.post(who, f"/api/teams/{world.team_a.id}/recognitions", body)


# -- access ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "status"), [
    (None, 401), (DAAN, 403), (OTHER_LEAD, 403), (LEAD, 201), (COACH, 201), (ADMIN, 201)])
def test_who_may_recognise_in_a_team(world, session, who, status):
    response = recognise(world, who, FLEUR)
    assert response.status_code == status
    if status >= 400:
        assert response.get_json()["error"] in ("missing_token", "forbidden")
        assert count(session, Recognition) == 0 and ambassador_awards(session, world.id(FLEUR)) == []
    else:
        assert response.get_json()["person"]["name"] == FLEUR


@pytest.mark.parametrize(("who", "status"), [(DAAN, 403), (OTHER_LEAD, 403), (LEAD, 200), (COACH, 200)])
def test_who_may_see_a_teams_recognition_board(world, who, status):
    response = world.get(who, f"/api/teams/{world.team_a.id}/recognitions")
    assert response.status_code == status


def test_the_board_lists_the_colleagues_of_the_leads_team(world):
    recognise(world, LEAD, FLEUR)
    board = world.get(LEAD, f"/api/teams/{world.team_a.id}/recognitions").get_json()

    assert [c["name"] for c in board["colleagues"]] == [DAAN, FLEUR]  # active participants, not the lead herself
    assert {c["name"]: c["ambassador"] for c in board["colleagues"]} == {DAAN: False, FLEUR: True}
    assert [r["person"]["name"] for r in board["recent"]] == [FLEUR]
    assert [c["name"] for c in board["channels"]] == ["Algemeen", "Kennisdeling", "Klantcases"]
    assert board["can_revoke"] is False
    assert world.get(COACH, f"/api/teams/{world.team_a.id}/recognitions").get_json()["can_revoke"] is True


# -- idempotence ----------------------------------------------------------------------------------------------------
def test_recognising_twice_awards_once(world, session):
    first = recognise(world, LEAD, FLEUR)
    again = recognise(world, LEAD, FLEUR)

    assert first.status_code == 201 and first.get_json()["awarded"] is True
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert len(ambassador_awards(session, world.id(FLEUR))) == 1
    assert count(session, Recognition) == 1
    assert count(session, NotificationLog, NotificationLog.activity_type == "recognised") == 1
    assert count(session, AuditEntry, AuditEntry.action == "award.grant") == 1

    other_words = recognise(world, LEAD, FLEUR, message="Nog een keer bedankt!")
    assert other_words.status_code == 409 and other_words.get_json()["error"] == "already_ambassador"
    assert FLEUR in other_words.get_json()["message"]
    assert len(ambassador_awards(session, world.id(FLEUR))) == 1 and count(session, Recognition) == 1


def test_the_recognition_is_stored_audited_and_queued_for_the_activity_feed(world, session):
    response = recognise(world, LEAD, FLEUR)
    recognition = session.get(Recognition, response.get_json()["id"])

    assert (recognition.kind, recognition.from_person_id, recognition.to_person_id) == (
        "ambassador", world.id(LEAD), world.id(FLEUR))
    [award] = ambassador_awards(session, world.id(FLEUR))
    assert recognition.award_id == award.id and award.awarded_by_id == world.id(LEAD)
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "recognition.create"))
    assert entry.actor_id == world.id(LEAD) and entry.details["person"] == world.id(FLEUR)
    [notification] = session.scalars(select(NotificationLog))
    assert notification.status == "queued" and notification.person_id == world.id(FLEUR)
    assert notification.idempotency_key == f"recognised:recognition={recognition.id}:person={world.id(FLEUR)}"
    assert notification.locale == "nl" and notification.parameters["kind"] == "ambassador"


def test_kudos_award_no_badge_and_may_be_given_more_than_once(world, session):
    first = recognise(world, LEAD, DAAN, kind="kudos", message="Sterke post vandaag.")
    second = recognise(world, LEAD, DAAN, kind="kudos", message="En weer een goede!")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.get_json()["award"] is None and first.get_json()["awarded"] is False
    assert ambassador_awards(session, world.id(DAAN)) == []
    assert count(session, Recognition, Recognition.kind == "kudos") == 2


# -- bad input ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "medal"}, "kind"), ({"kind": None}, "kind"), ({"message": ""}, "message"),
    ({"message": "x" * 1001}, "message"), ({"person_id": "Fleur"}, "person_id"), ({"person_id": 999999}, "person_id"),
    ({"post_to_channel": "yes"}, "post_to_channel"), ({"post_to_channel": True, "channel_id": "19:nope"}, "channel_id"),
])
def test_bad_recognitions_are_refused_and_store_nothing(world, session, fields, field):
    response = recognise(world, LEAD, FLEUR, **fields)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_field" and response.get_json()["field"] == field
    assert count(session, Recognition) == 0 and count(session, Award) == 0 and count(session, NotificationLog) == 0
    assert posted_messages(world.client.application) == []


@pytest.mark.parametrize("person", [THIJS, TOM, LEAD])
def test_only_taking_part_colleagues_of_the_team_can_be_recognised(world, session, person):
    # Thijs is in another team, Tom is only invited, and Sanne cannot recognise herself.
    response = recognise(world, LEAD, person)
    assert response.status_code == 400 and response.get_json()["field"] == "person_id"
    assert count(session, Recognition) == 0


# -- the team channel -----------------------------------------------------------------------------------------------
def test_posting_to_the_channel_sends_an_adaptive_card_in_the_teams_language(world, session, app):
    response = recognise(world, LEAD, FLEUR, post_to_channel=True)

    assert response.status_code == 201
    assert response.get_json()["channel_post"]["status"] == "posted"
    [message] = posted_messages(app)
    general = world.team_a.channels[0]
    assert (message["teamId"], message["channelId"]) == (world.team_a.graph_id, general.graph_id)
    assert message["from"]["displayName"] == "Ambassador"  # posted by the app, not on the lead's behalf
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert f'<attachment id="{attachment["id"]}"></attachment>' in message["body"]
    card = json.loads(attachment["content"])
    assert card["type"] == "AdaptiveCard" and card["lang"] == "nl"  # team A works in Dutch
    words = json.dumps(card, ensure_ascii=False)
    assert FLEUR in words and "Je helpt het hele team op weg!" in words and "Ambassadeur" in words
    assert session.get(Recognition, response.get_json()["id"]).channel_message_id == message["id"]

    recognise(world, LEAD, FLEUR, post_to_channel=True)  # the repeat is not posted again
    assert len(posted_messages(app)) == 1


def test_the_card_follows_the_teams_language_not_the_leads(world, app):
    response = world.post(OTHER_LEAD, f"/api/teams/{world.team_b.id}/recognitions?locale=nl", {
        "person_id": world.id(THIJS), "kind": "kudos", "message": "Great demo!", "post_to_channel": True,
        "channel_id": world.team_b.channels[0].graph_id})
    assert response.status_code == 201
    card = json.loads(posted_messages(app)[0]["attachments"][0]["content"])
    assert card["lang"] == "en" and "Kudos for Thijs Visser" in json.dumps(card)


def test_when_graph_fails_the_recognition_stays_and_can_be_posted_later(world, session, app):
    world.client.post("/dev/graph/_faults", json={"kind": "unavailable", "count": 3, "retryAfter": 0,
                                                  "pathPrefix": "/teams/"})
    response = recognise(world, LEAD, FLEUR, post_to_channel=True)

    assert response.status_code == 201
    assert response.get_json()["channel_post"]["status"] == "failed"
    assert posted_messages(app) == []
    recognition_id = response.get_json()["id"]
    assert session.get(Recognition, recognition_id).channel_message_id is None
    assert len(ambassador_awards(session, world.id(FLEUR))) == 1

    assert world.post(DAAN, f"/api/recognitions/{recognition_id}/channel-post").status_code == 403
    retried = world.post(LEAD, f"/api/recognitions/{recognition_id}/channel-post")
    assert retried.status_code == 200 and retried.get_json()["status"] == "posted"
    assert world.post(LEAD, f"/api/recognitions/{recognition_id}/channel-post").get_json()["status"] == "posted"
    assert len(posted_messages(app)) == 1


# -- revoking ---------------------------------------------------------------------------------------------------------
def test_a_coach_withdraws_the_badge_with_a_reason(world, session):
    recognition_id = recognise(world, LEAD, FLEUR).get_json()["id"]

    assert world.post(LEAD, f"/api/recognitions/{recognition_id}/revoke", {"reason": "Oeps"}).status_code == 403
    no_reason = world.post(COACH, f"/api/recognitions/{recognition_id}/revoke", {"reason": " "})
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "reason"

    revoked = world.post(COACH, f"/api/recognitions/{recognition_id}/revoke", {"reason": "Verkeerde collega"})
    assert revoked.status_code == 200 and revoked.get_json()["changed"] is True
    assert revoked.get_json()["award"] == {"revoked": True, "revoke_reason": "Verkeerde collega"}
    [award] = ambassador_awards(session, world.id(FLEUR))
    assert award.revoked_by_id == world.id(COACH) and award.revoked_at is not None
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "award.revoke"))
    assert entry.actor_id == world.id(COACH) and entry.details["reason"] == "Verkeerde collega"

    again = world.post(COACH, f"/api/recognitions/{recognition_id}/revoke", {"reason": "Nogmaals"})
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert count(session, AuditEntry, AuditEntry.action == "award.revoke") == 1

    # A lead cannot simply give it back; the coach can.
    blocked = recognise(world, LEAD, FLEUR, message="Toch wel!")
    assert blocked.status_code == 409 and blocked.get_json()["error"] == "award_revoked"
    restored = recognise(world, COACH, FLEUR, message="Terecht, na overleg.")
    assert restored.status_code == 201
    assert ambassador_awards(session, world.id(FLEUR))[0].revoked_at is None
    assert len(ambassador_awards(session, world.id(FLEUR))) == 1


def test_a_kudos_has_no_badge_to_withdraw(world):
    recognition_id = recognise(world, LEAD, DAAN, kind="kudos").get_json()["id"]
    response = world.post(COACH, f"/api/recognitions/{recognition_id}/revoke", {"reason": "?"})
    assert response.status_code == 409 and response.get_json()["error"] == "nothing_to_revoke"
    assert world.post(COACH, "/api/recognitions/999999/revoke", {"reason": "?"}).status_code == 404


# -- nominations ------------------------------------------------------------------------------------------------------
def nominate(world: World, who: str, nominee: str, reason: str = "Helpt iedereen op weg met Viva Engage."):
    return world.post(who, f"/api/cohorts/{world.cohort.id}/nominations",
                      {"nominee_id": world.id(nominee), "reason": reason})


def test_a_participant_nominates_and_the_lead_confirms(world, session, app):
    nominated = nominate(world, DAAN, FLEUR)
    assert nominated.status_code == 201
    assert nominate(world, DAAN, FLEUR).status_code == 200  # the same open nomination
    assert count(session, Nomination) == 1
    nomination_id = nominated.get_json()["id"]

    board = world.get(LEAD, f"/api/teams/{world.team_a.id}/recognitions").get_json()
    assert [(n["nominee"]["name"], n["nominator"]["name"]) for n in board["nominations"]] == [(FLEUR, DAAN)]
    assert world.post(OTHER_LEAD, f"/api/nominations/{nomination_id}/decision",
                      {"decision": "confirm", "message": "x"}).status_code == 403

    confirmed = world.post(LEAD, f"/api/nominations/{nomination_id}/decision",
                           {"decision": "confirm", "message": "Dank je, Fleur!", "post_to_channel": True})
    assert confirmed.status_code == 200
    answer = confirmed.get_json()
    assert answer["status"] == "confirmed" and answer["recognition"]["kind"] == "ambassador"
    assert answer["channel_post"]["status"] == "posted" and len(posted_messages(app)) == 1
    assert len(ambassador_awards(session, world.id(FLEUR))) == 1
    assert session.get(Nomination, nomination_id).decided_by_id == world.id(LEAD)

    same = world.post(LEAD, f"/api/nominations/{nomination_id}/decision", {"decision": "confirm", "message": "y"})
    assert same.status_code == 200 and same.get_json()["changed"] is False
    other_way = world.post(LEAD, f"/api/nominations/{nomination_id}/decision", {"decision": "decline"})
    assert other_way.status_code == 409 and other_way.get_json()["error"] == "already_decided"
    assert count(session, Recognition) == 1
    assert world.get(LEAD, f"/api/teams/{world.team_a.id}/recognitions").get_json()["nominations"] == []


def test_declining_awards_nothing(world, session):
    nomination_id = nominate(world, THIJS, DAAN).get_json()["id"]  # across teams: Daan's lead decides
    declined = world.post(LEAD, f"/api/nominations/{nomination_id}/decision", {"decision": "decline"})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert ambassador_awards(session, world.id(DAAN)) == [] and count(session, Recognition) == 0
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "nomination.decline"))
    assert entry.actor_id == world.id(LEAD)


@pytest.mark.parametrize(("who", "body", "status", "field"), [
    (DAAN, {"nominee_id": "Fleur", "reason": "x"}, 400, "nominee_id"),
    (DAAN, {"reason": "Goed bezig"}, 400, "nominee_id"),
    (DAAN, {"nominee_id": "self", "reason": "Ik ben top"}, 400, "nominee_id"),
    (DAAN, {"nominee_id": "tom", "reason": "Alleen uitgenodigd"}, 400, "nominee_id"),
    (DAAN, {"nominee_id": "fleur", "reason": "  "}, 400, "reason"),
    (TOM, {"nominee_id": "fleur", "reason": "Ik doe nog niet mee"}, 403, None),
    (COACH, {"nominee_id": "fleur", "reason": "Coach doet niet mee"}, 403, None),
])
def test_bad_nominations_are_refused(world, session, who, body, status, field):
    ids = {"self": world.id(DAAN), "tom": world.id(TOM), "fleur": world.id(FLEUR)}
    body = {**body, "nominee_id": ids.get(body.get("nominee_id"), body.get("nominee_id"))}
    response = world.post(who, f"/api/cohorts/{world.cohort.id}/nominations", body)
    assert response.status_code == status
    if field:
        assert response.get_json()["field"] == field
    assert count(session, Nomination) == 0


def test_a_participant_sees_whom_they_can_nominate_on_the_team_tab(world):
    nominate(world, DAAN, FLEUR)
    view = world.get(DAAN, f"/api/teams/by-graph-id/{world.team_a.graph_id.upper()}/nominate").get_json()
    assert view["cohort"]["id"] == world.cohort.id
    assert [c["name"] for c in view["colleagues"]] == [FLEUR, LEAD]
    assert [(n["nominee"], n["status"]) for n in view["mine"]] == [(FLEUR, "open")]

    assert world.get(TOM, f"/api/teams/by-graph-id/{world.team_b.graph_id}/nominate").status_code == 403
    assert world.get(DAAN, f"/api/teams/by-graph-id/{world.team_b.graph_id}/nominate").status_code == 403
    assert world.get(DAAN, "/api/teams/by-graph-id/unknown/nominate").status_code == 404


def test_the_coach_sees_open_nominations_and_recognitions(world):
    nominate(world, DAAN, FLEUR)
    recognise(world, LEAD, DAAN, kind="kudos")
    nominations = world.get(COACH, f"/api/cohorts/{world.cohort.id}/nominations").get_json()["items"]
    recognitions = world.get(COACH, f"/api/cohorts/{world.cohort.id}/recognitions").get_json()["items"]
    assert [n["nominee"]["name"] for n in nominations] == [FLEUR]
    assert [(r["person"]["name"], r["kind"], r["team"]) for r in recognitions] == [(DAAN, "kudos", "Financieel Advies")]
    assert world.get(LEAD, f"/api/cohorts/{world.cohort.id}/nominations").status_code == 403
