"""The content library: shareable items that coaches curate (and feeds import); also the classifier's corporate texts.

Writes are validated field by field (http/https URLs, lengths, HTML stripped) and refused with a
:class:`~plugin.services.refusal.Refused` that names the field, before anything changes. Coaches and admins
write; everyone reads the items that have not expired.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.messages import N_
from ..domain.similarity import CorporateIndex, corporate_index
from ..models import LibraryItem
from .people import Caller
from .refusal import Refused

LANGUAGES = ("en", "nl")
MAX_URL = 2000
MAX_TITLE = 200
MAX_SUMMARY = 1000
MAX_TOPIC = 64
MAX_TOPICS = 10
MAX_CHANNELS = 10
PAGE_SIZE = 50
#: session.info key of the corporate index built for this session (ingestion classifies many posts per job).
_INDEX_KEY = "library.corporate_index"


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def strip_html(value: str) -> str:
    """The text of an HTML fragment: tags, scripts and styles removed, entities decoded, spaces collapsed."""
    parser = _TextOnly()
    parser.feed(value)
    parser.close()
    return " ".join(html.unescape("".join(parser.parts)).split())


def clean_text(value: object, field: str, maximum: int, *, required: bool = False) -> str:
    """A plain-text field: HTML stripped, spaces collapsed, at most `maximum` characters; Refused otherwise."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Refused("invalid", "invalid_text", N_("This must be text."), field=field)
    text = strip_html(value)
    if required and not text:
        raise Refused("invalid", "missing_text", N_("Please fill this in."), field=field)
    if len(text) > maximum:
        raise Refused("invalid", "too_long", N_("Keep this under %(max)s characters."), field=field, max=maximum)
    return text


def clean_url(value: object, field: str = "url") -> str:
    """An absolute http(s) URL of at most MAX_URL characters; Refused otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise Refused("invalid", "invalid_url", N_("Give a web address that starts with http:// or https://."),
                      field=field)
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(url) > MAX_URL
            or any(c.isspace() for c in url)):
        raise Refused("invalid", "invalid_url", N_("Give a web address that starts with http:// or https://."),
                      field=field)
    return url


def clean_topics(value: object, field: str = "topics") -> list[str]:
    """Topics as given (without '#'), each once (case-insensitive), at most MAX_TOPICS of MAX_TOPIC characters."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Refused("invalid", "invalid_topics", N_("Topics must be a list of words."), field=field)
    topics: list[str] = []
    for raw in value:
        topic = strip_html(raw).lstrip("#").strip()
        if not topic:
            continue
        if len(topic) > MAX_TOPIC:
            raise Refused("invalid", "invalid_topics", N_("Keep each topic under %(max)s characters."),
                          field=field, max=MAX_TOPIC)
        if topic.casefold() not in {t.casefold() for t in topics}:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        raise Refused("invalid", "invalid_topics", N_("Choose at most %(max)s topics."), field=field,
                      max=MAX_TOPICS)
    return topics


def _pair(value: object, field: str, maximum: int, *, required: bool) -> dict[str, str]:
    if isinstance(value, str):
        value = {"en": value, "nl": value}
    if not isinstance(value, Mapping) or set(value) - set(LANGUAGES):
        raise Refused("invalid", "invalid_text", N_("Give the text in English and Dutch: {\"en\": …, \"nl\": …}."),
                      field=field)
    pair = {lang: clean_text(value.get(lang), f"{field}.{lang}", maximum) for lang in LANGUAGES}
    if required and not any(pair.values()):
        raise Refused("invalid", "missing_text", N_("Please fill this in."), field=field)
    return pair


def _channels(value: object) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CHANNELS:
        raise Refused("invalid", "invalid_channels", N_("Suggest at most %(max)s places to share."),
                      field="channels", max=MAX_CHANNELS)
    places = []
    for place in value:
        if not isinstance(place, Mapping) or place.get("type") not in ("teams", "yammer"):
            raise Refused("invalid", "invalid_channels", N_("A suggested place is a Teams channel or a Viva Engage "
                                                            "community."), field="channels")
        keys = ("team_id", "channel_id") if place["type"] == "teams" else ("community_id",)
        if not all(isinstance(place.get(k), str) and 0 < len(place[k]) <= 255 for k in keys):
            raise Refused("invalid", "invalid_channels", N_("A suggested place is a Teams channel or a Viva Engage "
                                                            "community."), field="channels")
        places.append({"type": place["type"], **{k: place[k] for k in keys}})
    return places


def _expiry(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Refused("invalid", "invalid_date", N_("Give the date as YYYY-MM-DD."), field="expires_at") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _require_writer(caller: Caller) -> None:
    if not caller.has("coach"):
        raise Refused("forbidden", "forbidden", N_("Only coaches can change the library."))


def item_values(body: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The validated column values of an item from a request body (only the given ones when `partial`)."""
    values: dict[str, Any] = {}
    if not partial or "url" in body:
        values["url"] = clean_url(body.get("url"))
    if not partial or "title" in body:
        values["title"] = _pair(body.get("title"), "title", MAX_TITLE, required=True)
    if not partial or "summary" in body:
        values["summary"] = _pair(body.get("summary"), "summary", MAX_SUMMARY, required=False)
    if not partial or "topics" in body:
        values["topics"] = clean_topics(body.get("topics"))
    if not partial or "channels" in body:
        values["channels"] = _channels(body.get("channels"))
    if not partial or "expires_at" in body:
        values["expires_at"] = _expiry(body.get("expires_at"))
    return values


def create_item(session: Session, caller: Caller, body: Mapping[str, Any]) -> LibraryItem:
    """Add an item to the library (coaches and admins); commits."""
    _require_writer(caller)
    values = item_values(body)
    if session.scalar(select(LibraryItem.id).where(LibraryItem.url == values["url"])) is not None:
        raise Refused("conflict", "duplicate_url", N_("This link is in the library already."), field="url")
    item = LibraryItem(**values, created_by_id=caller.person_id)
    session.add(item)
    session.commit()
    forget_corporate_library(session)
    return item


def update_item(session: Session, caller: Caller, item_id: int, body: Mapping[str, Any]) -> LibraryItem:
    """Change the given fields of an item (coaches and admins); commits."""
    _require_writer(caller)
    item = _get(session, item_id)
    values = item_values(body, partial=True)
    if "url" in values and values["url"] != item.url and session.scalar(
            select(LibraryItem.id).where(LibraryItem.url == values["url"])) is not None:
        raise Refused("conflict", "duplicate_url", N_("This link is in the library already."), field="url")
    for name, value in values.items():
        setattr(item, name, value)
    session.commit()
    forget_corporate_library(session)
    return item


def delete_item(session: Session, caller: Caller, item_id: int) -> None:
    """Remove an item from the library (coaches and admins); commits."""
    _require_writer(caller)
    session.delete(_get(session, item_id))
    session.commit()
    forget_corporate_library(session)


def _get(session: Session, item_id: int) -> LibraryItem:
    item = session.get(LibraryItem, item_id)
    if item is None:
        raise Refused("not_found", "not_found", N_("This library item does not exist."))
    return item


def readable_item(session: Session, item_id: object, *, now: datetime | None = None) -> LibraryItem:
    """A library item anyone may share: it exists and has not expired; Refused otherwise."""
    if not isinstance(item_id, int) or isinstance(item_id, bool):
        raise Refused("invalid", "invalid_item", N_("Pick an item from the library."), field="item_id")
    item = session.get(LibraryItem, item_id)
    now = now or datetime.now(UTC)
    if item is None or (item.expires_at is not None and item.expires_at <= now):
        raise Refused("not_found", "not_found", N_("This library item does not exist."), field="item_id")
    return item


def current_items(session: Session, *, now: datetime | None = None, topics: Sequence[str] = (),
                  limit: int = PAGE_SIZE, offset: int = 0) -> list[LibraryItem]:
    """Items that have not expired, newest first (only those on one of `topics`, when given)."""
    now = now or datetime.now(UTC)
    query = select(LibraryItem).where((LibraryItem.expires_at.is_(None)) | (LibraryItem.expires_at > now)) \
        .order_by(LibraryItem.created_at.desc(), LibraryItem.id.desc())
    if not topics:
        return list(session.scalars(query.limit(limit).offset(offset)))
    wanted = {t.casefold() for t in topics}
    # Topics are a JSON list (no portable containment operator): filter in Python over the newest items.
    matching = [i for i in session.scalars(query) if wanted & {str(t).casefold() for t in i.topics or ()}]
    return matching[offset:offset + limit]


def localised(pair: Mapping[str, str] | None, locale: str) -> str:
    """The text in `locale`, else in the other language."""
    pair = pair or {}
    other = "en" if locale == "nl" else "nl"
    return pair.get(locale) or pair.get(other) or ""


def describe(item: LibraryItem, locale: str) -> dict[str, Any]:
    """An item for the API, with its texts in both languages and in the caller's."""
    return {
        "id": item.id, "url": item.url, "title": dict(item.title or {}), "summary": dict(item.summary or {}),
        "display_title": localised(item.title, locale), "display_summary": localised(item.summary, locale),
        "topics": list(item.topics or ()), "channels": list(item.channels or ()),
        "expires_at": item.expires_at.isoformat() if item.expires_at else None, "feed_id": item.feed_id,
        "created_at": item.created_at.isoformat() if item.created_at else None,
    }


def corporate_texts(session: Session, *, now: datetime | None = None) -> tuple[str, ...]:
    """The library's texts the classifier compares posts against: each item's title and summary, per language."""
    now = now or datetime.now(UTC)
    texts: list[str] = []
    rows = session.execute(select(LibraryItem.title, LibraryItem.summary).where(
        (LibraryItem.expires_at.is_(None)) | (LibraryItem.expires_at > now)).order_by(LibraryItem.id))
    for title, summary in rows:
        for lang in LANGUAGES:
            text = " ".join(part for part in ((title or {}).get(lang), (summary or {}).get(lang)) if part)
            if text and text not in texts:
                texts.append(text)
    return tuple(texts)


def corporate_library(session: Session) -> CorporateIndex | tuple[str, ...]:
    """The library as the classifier's corporate index, built once per session (a job or a request)."""
    cached = session.info.get(_INDEX_KEY)
    if cached is None:
        texts = corporate_texts(session)
        cached = session.info[_INDEX_KEY] = corporate_index(texts) if texts else ()
    return cached


def forget_corporate_library(session: Session) -> None:
    """Drop the session's cached index (after the library changed)."""
    session.info.pop(_INDEX_KEY, None)
