"""Adaptive Cards the app posts in Teams, and the Graph chatMessage that carries one.

Graph sends a card as an attachment of contentType ``application/vnd.microsoft.card.adaptive`` whose
``content`` is the card serialised as a JSON string; the message body must reference the attachment with
``<attachment id="…"></attachment>`` (Graph docs, "Send chatMessage in a channel", example with a card).
Texts arrive already translated into the team's language; this module only lays them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
#: Teams renders Adaptive Cards up to schema 1.5 in channel messages.
CARD_VERSION = "1.5"


@dataclass(frozen=True, slots=True)
class RecognitionTexts:
    """The card's words in the team's language."""

    title: str  # e.g. "Fleur Bakker is an ambassador"
    message: str  # the lead's own words
    by: str  # e.g. "Recognised by Sanne de Vries"
    badge: str | None = None  # the badge name when the recognition awards one
    badge_text: str | None = None  # what the badge stands for
    language: str = "nl"


def recognition_card(texts: RecognitionTexts) -> dict[str, Any]:
    """The Adaptive Card that announces a recognition in a team channel."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": texts.title, "size": "Large", "weight": "Bolder", "wrap": True,
         "style": "heading"},
    ]
    if texts.badge:
        body.append({"type": "ColumnSet", "columns": [
            {"type": "Column", "width": "auto", "verticalContentAlignment": "Center",
             "items": [{"type": "TextBlock", "text": "\u2605", "size": "ExtraLarge", "color": "Accent"}]},
            {"type": "Column", "width": "stretch", "items": [
                {"type": "TextBlock", "text": texts.badge, "weight": "Bolder", "wrap": True},
                *([{"type": "TextBlock", "text": texts.badge_text, "isSubtle": True, "wrap": True, "spacing": "None"}]
                  if texts.badge_text else []),
            ]},
        ]})
    body += [
        {"type": "TextBlock", "text": texts.message, "wrap": True, "spacing": "Medium"},
        {"type": "TextBlock", "text": texts.by, "isSubtle": True, "size": "Small", "wrap": True, "spacing": "Medium"},
    ]
    return {"type": "AdaptiveCard", "$schema": CARD_SCHEMA, "version": CARD_VERSION, "lang": texts.language,
            "body": body}


def card_message(card: dict[str, Any], attachment_id: str, *, summary: str | None = None) -> dict[str, Any]:
    """The body of `POST /teams/{id}/channels/{id}/messages` that posts `card` (Graph's chatMessage shape)."""
    message: dict[str, Any] = {
        "body": {"contentType": "html", "content": f'<attachment id="{attachment_id}"></attachment>'},
        "attachments": [{"id": attachment_id, "contentType": ADAPTIVE_CARD, "contentUrl": None,
                         "content": json.dumps(card, ensure_ascii=False), "name": None, "thumbnailUrl": None}],
    }
    if summary:
        message["summary"] = summary
    return message
