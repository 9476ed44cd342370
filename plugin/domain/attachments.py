"""Message attachments (Teams chatMessageAttachment, Yammer attachments) → files, links, re-shared text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_CARD_PREFIXES = ("application/vnd.microsoft.card.", "application/vnd.microsoft.teams.card.")
_URL_KEYS = frozenset(("url", "value", "web_url", "contentUrl"))
# Image URLs inside a card are thumbnails, not what the author shared.
_IMAGE_KEYS = frozenset(("images", "image", "thumbnailUrl", "iconUrl", "backgroundImage"))


@dataclass(frozen=True, slots=True)
class Attached:
    """What a message's attachments contribute."""

    files: int = 0
    links: tuple[str, ...] = ()
    quoted: tuple[str, ...] = ()
    forwarded: tuple[str, ...] = ()


def read_attachments(attachments: Sequence[Mapping[str, Any]]) -> Attached:
    """Classify attachments: shared files, link-preview URLs, quoted replies and forwarded messages."""
    files = 0
    links: list[str] = []
    quoted: list[str] = []
    forwarded: list[str] = []
    for attachment in attachments:
        content_type = str(attachment.get("contentType") or attachment.get("type") or "").lower()
        if content_type in ("reference", "file"):
            files += 1
        elif content_type.endswith("messagereference"):
            preview = _message_preview(attachment.get("content"))
            if preview:
                (forwarded if content_type.startswith("forwarded") else quoted).append(preview)
        elif content_type.startswith(_CARD_PREFIXES):
            links.extend(_card_urls(_as_json(attachment.get("content"))))
        elif content_type in ("ymodule", "opengraph", "link"):
            url = attachment.get("web_url") or attachment.get("url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                links.append(url)
    return Attached(files, tuple(links), tuple(quoted), tuple(forwarded))


def _as_json(content: object) -> object:
    """Graph returns attachment content as a JSON string; fakes and SDKs may pass a dict."""
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return None
    return content


def _message_preview(content: object) -> str:
    """The quoted text of a (forwarded) message reference."""
    data = _as_json(content)
    if not isinstance(data, Mapping):
        return ""
    for key in ("messagePreview", "originalMessageContent", "content"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _card_urls(node: object) -> Iterator[str]:
    """Target URLs of a hero/thumbnail/adaptive card (tap and button actions), skipping images."""
    if isinstance(node, Mapping):
        if node.get("type") in ("Image", "ImageSet"):
            return
        for key, value in node.items():
            if key in _IMAGE_KEYS:
                continue
            if key in _URL_KEYS and isinstance(value, str) and value.startswith(("http://", "https://")):
                yield value
            else:
                yield from _card_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _card_urls(item)
