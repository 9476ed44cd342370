"""Posting an Adaptive Card in a channel through the Graph adapter, against the sandbox's Graph emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from plugin.adapters.graph import GraphClient, GraphError
from plugin.domain.cards import ADAPTIVE_CARD, RecognitionTexts, card_message, recognition_card
from plugin.services.demo import channel_graph_id, team_graph_id

TEAM, CHANNEL = team_graph_id("fin"), channel_graph_id("fin", "Algemeen")
CARD = recognition_card(RecognitionTexts(title="Fleur Bakker is Ambassadeur", message="Dank je!",
                                         by="Erkenning van Sanne de Vries", badge="Ambassadeur", language="nl"))


@pytest.fixture
def graph(app) -> Iterator[GraphClient]:
    """The app's Graph client (app-only token from the dev authority), talking to the emulator in-process."""
    with app.app_context(), GraphClient.from_app(app, max_retries=0) as client:
        yield client


def emulator(app):
    return app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]


def test_a_card_is_posted_as_a_referenced_attachment(app, graph):
    created = graph.post_channel_message(TEAM, CHANNEL, card_message(CARD, "card1", summary="Fleur"))

    assert created["from"]["application"]["displayName"] == "Ambassador"
    [attachment] = created["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD and json.loads(attachment["content"]) == CARD
    assert created["body"] == {"contentType": "html", "content": '<attachment id="card1"></attachment>'}
    [logged] = emulator(app).log()["postedMessages"]
    assert (logged["teamId"], logged["channelId"], logged["id"]) == (TEAM, CHANNEL, created["id"])


@pytest.mark.parametrize(("change", "words"), [
    ({"body": {"contentType": "html", "content": "<p>Hoi</p>"}}, "not referenced"),
    ({"body": {"contentType": "html", "content": '<attachment id="other"></attachment><attachment id="card1">'
                                                 "</attachment>"}}, "'other'"),
    ({"attachments": [{"id": "card1", "contentType": ADAPTIVE_CARD, "content": {"type": "AdaptiveCard"}}]},
     "JSON string"),
    ({"attachments": [{"id": "card1", "contentType": ADAPTIVE_CARD, "content": json.dumps({"type": "Hero"})}]},
     "Adaptive Card"),
    ({"attachments": [{"contentType": ADAPTIVE_CARD, "content": json.dumps(CARD)}]}, "needs an id"),
])
def test_the_emulator_refuses_cards_graph_would_refuse(app, graph, change, words):
    with pytest.raises(GraphError) as refused:
        graph.post_channel_message(TEAM, CHANNEL, {**card_message(CARD, "card1"), **change})
    assert refused.value.status == 400 and words in refused.value.message
    assert emulator(app).log()["postedMessages"] == []
