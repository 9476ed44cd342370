"""The share composer: a library item (or a pasted link) with the participant's own note, checked by the classifier
and posted as them in a Teams channel (Graph, delegated) or a Viva Engage community (Yammer REST), or handed back
as text with a tracked link to copy into LinkedIn or X.

Posting records no activity itself: the post comes back through the normal ingestion (notification, delta sync
or Yammer poll) like any other, so its credit is counted there, once.

**Idempotency.** A double click or a retried request must not post twice. The client sends a key of its own
choosing (the ``Idempotency-Key`` header, or ``idempotency_key`` in the body: the tab makes one per composed
share and sends it again on a retry). The first request with a key claims it (a ``share_request`` row, unique
per person and key, committed before Teams or Viva Engage is called) and stores its answer; a repeat gets that
answer again without posting, a repeat while the first is still posting is refused (409 ``share_in_progress``),
and the same key for a different share is refused (409 ``idempotency_key_reused``). When the post fails, the
claim is removed, so the same key may try again. Keys are kept a day (``services.retention``).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..adapters.graph import GraphClient, GraphError
from ..adapters.msal_client import YAMMER_USER
from ..adapters.yammer import YammerError
from ..adapters.yammer_post import post_community_message
from ..domain.classify import PostFeatures, classify_post
from ..domain.messages import N_
from ..domain.text import count_words
from ..domain.text import tokens as word_tokens
from ..models import Channel, Community, LibraryItem, ShareRequest, Team
from . import tokens
from .library import clean_url, corporate_library, localised, readable_item, strip_html
from .people import Caller
from .refusal import Refused
from .retry import with_retry
from .upsert import insert_ignore

#: Own words a note needs before the classifier can count the post as knowledge sharing (classify_post's default).
MIN_NOTE_WORDS = 12
MAX_NOTE = 3000
GRAPH_CHANNEL_SEND = "https://graph.microsoft.com/ChannelMessage.Send"
NETWORKS = ("linkedin", "x")
#: X counts every link as 23 characters; a post holds 280.
X_LIMIT, X_LINK = 280, 23
#: Graph calls made while the participant waits: a couple of retries, then they may try again.
GRAPH_RETRIES = 2
#: An idempotency key: what a UUID or a similar client-made id consists of.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: A claim still "posting" after this long belongs to a request that died mid-call: a repeat may post again.
CLAIM_TIMEOUT = timedelta(minutes=5)
#: Questions from the programme that help people write their own note.
PROMPTS = (
    N_("What does this mean for your clients?"),
    N_("What did you learn from it, or what would you do differently?"),
    N_("What is your own experience with this?"),
    N_("Who in your team should read this, and why?"),
)


class ShareFailed(Exception):
    """Teams or Viva Engage refused the post or could not be reached; nothing was posted."""

    def __init__(self, service: str, status: int) -> None:
        super().__init__(f"{service} answered {status}")
        self.service, self.status = service, status


@dataclass(frozen=True)
class Draft:
    """What is being shared: the link, its title and summary (from the library, if picked) and the note."""

    url: str
    title: str
    summary: str
    note: str
    item_id: int | None = None


@dataclass(frozen=True)
class Hint:
    """One piece of feedback: a stable code and an N_-marked text with named placeholders."""

    code: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    """What the classifier makes of the draft, with hints to improve it and prompts to start from."""

    features: PostFeatures
    hints: list[Hint]
    #: Words of the participant's own note (the title and summary of what is shared are not theirs).
    note_words: int = 0
    prompts: tuple[str, ...] = PROMPTS

    @property
    def good(self) -> bool:
        """True when the post would count as knowledge sharing."""
        return self.features.knowledge_sharing


def clean_note(value: object) -> str:
    """The note as plain text: HTML stripped, lines kept, at most MAX_NOTE characters; Refused otherwise."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused("invalid", "invalid_text", N_("This must be text."), field="note")
    lines = [strip_html(line) for line in value.replace("\r\n", "\n").split("\n")]
    note = "\n".join(lines).strip()
    while "\n\n\n" in note:
        note = note.replace("\n\n\n", "\n\n")
    if len(note) > MAX_NOTE:
        raise Refused("invalid", "too_long", N_("Keep this under %(max)s characters."), field="note", max=MAX_NOTE)
    return note


def make_draft(session: Session, body: Mapping[str, Any], locale: str) -> Draft:
    """The draft of a request body: {item_id | url, note}; Refused when neither or both are given, or invalid."""
    has_item, has_url = body.get("item_id") is not None, bool(body.get("url"))
    if has_item == has_url:
        raise Refused("invalid", "item_or_url", N_("Pick an item from the library or paste a link (one of them)."),
                      field="item_id")
    note = clean_note(body.get("note"))
    if has_item:
        item: LibraryItem = readable_item(session, body.get("item_id"))
        return Draft(item.url, localised(item.title, locale), localised(item.summary, locale), note, item.id)
    return Draft(clean_url(body.get("url")), "", "", note)


def post_html(draft: Draft) -> str:
    """The Teams message body: the note's paragraphs, then the link with its title and summary."""
    parts = [f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in draft.note.split("\n\n") if p.strip()]
    title = html.escape(draft.title or draft.url)
    shared = f'<a href="{html.escape(draft.url, quote=True)}">{title}</a>'
    if draft.summary:
        shared += f"<br>{html.escape(draft.summary)}"
    parts.append(f"<p>{shared}</p>")
    return "".join(parts)


def post_text(draft: Draft, link: str | None = None) -> str:
    """The plain-text post (Viva Engage, LinkedIn, X): the note, the title and the link."""
    parts = [draft.note] if draft.note else []
    parts.append("\n".join(p for p in (draft.title, link or draft.url) if p))
    return "\n\n".join(parts)


def feedback(session: Session, draft: Draft) -> Feedback:
    """Classify the draft as it would be posted (against the content library) and say how to improve it."""
    features = classify_post(post_html(draft), corporate_texts=corporate_library(session))
    words = count_words(word_tokens(draft.note))
    hints: list[Hint] = []
    if features.broadcast:
        hints.append(Hint("broadcast", N_("This reads like a broadcast — add your view.")))
    if words < MIN_NOTE_WORDS:
        hints.append(Hint("note_too_short", N_("Add a personal note of at least %(min)s words (you have "
                                               "%(count)s now)."), {"min": MIN_NOTE_WORDS, "count": words}))
    elif not features.knowledge_sharing and not features.broadcast:
        if features.is_question:
            hints.append(Hint("question", N_("A question is welcome, but this counts as sharing when you also say "
                                             "what you know or think.")))
        else:
            hints.append(Hint("add_insight", N_("Say what you learned or what it means for your work: that is what "
                                                "makes it knowledge sharing.")))
    if features.knowledge_sharing:
        hints.append(Hint("good", N_("Good: this shares your own view. It will count as knowledge sharing.")))
    return Feedback(features, hints, words)


# -- posting -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the share goes: a Teams channel, a Viva Engage community, or text to copy for a network."""

    type: str
    team_id: str = ""
    channel_id: str = ""
    community_id: str = ""
    network: str = ""


def parse_target(value: object) -> Target:
    """The target of a request body; Refused when it is not one of the three shapes."""
    if not isinstance(value, Mapping) or value.get("type") not in ("teams", "yammer", "copy"):
        raise Refused("invalid", "invalid_target", N_("Choose where to share: a Teams channel, a Viva Engage "
                                                      "community or a copy for LinkedIn or X."), field="target")

    def text(name: str) -> str:
        raw = value.get(name)
        if not isinstance(raw, str | int) or isinstance(raw, bool) or not str(raw).strip() or len(str(raw)) > 255:
            raise Refused("invalid", "invalid_target", N_("Choose where to share: a Teams channel, a Viva Engage "
                                                          "community or a copy for LinkedIn or X."),
                          field=f"target.{name}")
        return str(raw).strip()

    if value["type"] == "teams":
        return Target("teams", team_id=text("team_id"), channel_id=text("channel_id"))
    if value["type"] == "yammer":
        return Target("yammer", community_id=text("community_id"))
    network = value.get("network")
    if network not in NETWORKS:
        raise Refused("invalid", "invalid_target", N_("Copy for LinkedIn or X."), field="target.network")
    return Target("copy", network=str(network))


def known_channel(session: Session, target: Target) -> Channel:
    """The tracked Teams channel the target names (posts elsewhere would never come back as credit)."""
    channel = session.scalar(select(Channel).join(Team).where(Channel.graph_id == target.channel_id,
                                                              Team.graph_id == target.team_id))
    if channel is None:
        raise Refused("not_found", "unknown_channel", N_("This channel is not part of the programme."),
                      field="target.channel_id")
    return channel


def known_community(session: Session, target: Target) -> Community:
    """The tracked Viva Engage community the target names."""
    community = session.scalar(select(Community).where(Community.yammer_group_id == target.community_id))
    if community is None:
        raise Refused("not_found", "unknown_community", N_("This community is not part of the programme."),
                      field="target.community_id")
    return community


@dataclass(frozen=True)
class Shared:
    """The answer to a share request, and whether it is the stored answer of an earlier request with its key."""

    answer: dict[str, Any]
    replayed: bool = False


def share(session: Session, app: Flask, caller: Caller, body: Mapping[str, Any], sso_token: str | None,
          locale: str, *, idempotency_key: str | None = None) -> Shared:
    """Validate everything, then post as the caller (or build the text to copy); what happened, for the answer.

    ``idempotency_key`` (the request header) or ``body["idempotency_key"]``: a repeat with the same key gets the
    first answer and posts nothing (see the module docstring); commits the claim before posting.
    """
    draft = make_draft(session, body, locale)
    target = parse_target(body.get("target"))
    key = idempotency_key_of(idempotency_key, body.get("idempotency_key"))
    if target.type == "copy":
        return Shared(copy_text(app, caller, draft, target.network))  # nothing is posted: a repeat is harmless
    place = known_channel(session, target).display_name if target.type == "teams" else \
        known_community(session, target).display_name
    if key is None:
        return Shared(_post(session, app, caller, draft, target, place, sso_token))
    fingerprint = _fingerprint(draft, target)
    claim, first = with_retry(session, lambda: _claim(session, caller.person_id, key, fingerprint))
    if not first:
        return Shared(_repeat(claim, fingerprint), replayed=True)
    try:
        answer = _post(session, app, caller, draft, target, place, sso_token)
    except BaseException:
        session.rollback()
        session.execute(delete(ShareRequest).where(ShareRequest.id == claim.id))  # nothing posted: try again
        session.commit()
        raise
    session.execute(update(ShareRequest).where(ShareRequest.id == claim.id).values(status="posted", answer=answer))
    session.commit()
    return Shared(answer)


def idempotency_key_of(header: str | None, field: object) -> str | None:
    """The request's idempotency key (header or body field), None without one; Refused when malformed."""
    values = {value for value in (header, field) if value is not None}
    if not values:
        return None
    key = values.pop()
    if values or not isinstance(key, str) or not IDEMPOTENCY_KEY.fullmatch(key):
        raise Refused("invalid", "invalid_idempotency_key",
                      N_("Send one idempotency key of 1 to 64 letters, digits, dots, dashes, underscores or colons."),
                      field="idempotency_key")
    return key


def _fingerprint(draft: Draft, target: Target) -> str:
    """What is shared where, as a SHA-256: the same key for a different share is refused."""
    what = {"url": draft.url, "note": draft.note, "item_id": draft.item_id, "target": asdict(target)}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _claim(session: Session, person_id: int, key: str, fingerprint: str) -> tuple[ShareRequest, bool]:
    """The key's row, and whether this request may post (it claimed the key, or took over a dead claim); commits."""
    session.commit()  # start afresh: on SQLite a transaction that read before another's claim could not write
    now = datetime.now(UTC)
    mine = insert_ignore(session, ShareRequest, [{"person_id": person_id, "idempotency_key": key,
                                                  "fingerprint": fingerprint, "status": "posting",
                                                  "created_at": now}]) == 1
    row = session.scalar(select(ShareRequest).where(ShareRequest.person_id == person_id,
                                                    ShareRequest.idempotency_key == key)
                         .execution_options(populate_existing=True))
    assert row is not None
    if not mine and row.status == "posting" and row.fingerprint == fingerprint and \
            now - row.created_at > CLAIM_TIMEOUT:
        # Only one repeat wins the takeover: the update names the claim time it saw.
        mine = session.execute(update(ShareRequest).where(
            ShareRequest.id == row.id, ShareRequest.status == "posting", ShareRequest.created_at == row.created_at)
            .values(created_at=now).execution_options(synchronize_session=False)).rowcount == 1
    session.commit()
    return row, mine


def _repeat(claim: ShareRequest, fingerprint: str) -> dict[str, Any]:
    """The first answer for a repeated key; Refused while it is still posting or when the share differs."""
    if claim.fingerprint != fingerprint:
        raise Refused("conflict", "idempotency_key_reused",
                      N_("This share was already posted in an earlier attempt, with other content. Check the "
                         "channel, then share again to post this version."),
                      field="idempotency_key")
    if claim.status != "posted" or claim.answer is None:
        raise Refused("conflict", "share_in_progress",
                      N_("This share is still being posted. Wait a moment, then try again."))
    return dict(claim.answer)


def _post(session: Session, app: Flask, caller: Caller, draft: Draft, target: Target, place: str,
          sso_token: str | None) -> dict[str, Any]:
    """Post as the caller in the Teams channel or Viva Engage community; ShareFailed when it was refused."""
    if target.type == "teams":
        token = tokens.delegated_token(session, caller, sso_token, [GRAPH_CHANNEL_SEND])
        try:
            with GraphClient.from_app(app, lambda: token, max_retries=GRAPH_RETRIES) as graph:
                message = graph.post_channel_message(target.team_id, target.channel_id, {
                    "body": {"contentType": "html", "content": post_html(draft)}})
        except GraphError as exc:
            raise ShareFailed("teams", exc.status) from None
        return {"status": "posted", "target": "teams", "place": place,
                "message_id": str(message.get("id") or ""), "web_url": message.get("webUrl")}
    token = tokens.delegated_token(session, caller, sso_token, [YAMMER_USER])
    try:
        message = post_community_message(app, token, target.community_id, post_text(draft))
    except YammerError as exc:
        raise ShareFailed("yammer", exc.status) from None
    return {"status": "posted", "target": "yammer", "place": place,
            "message_id": str(message.get("id") or ""), "web_url": message.get("web_url")}


def tracked_link(app: Flask, url: str, network: str, person_id: int) -> str:
    """`url` with campaign parameters and an opaque per-person reference (no name or id in the link)."""
    ref = hmac.new(str(app.config["SECRET_KEY"]).encode(), f"share:{person_id}".encode(), hashlib.sha256)
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    query += [("utm_source", network), ("utm_medium", "social"), ("utm_campaign", "ambassador"),
              ("utm_content", ref.hexdigest()[:12])]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def copy_text(app: Flask, caller: Caller, draft: Draft, network: str) -> dict[str, Any]:
    """The post to paste into LinkedIn or X, with its tracked link and (for X) whether it fits."""
    link = tracked_link(app, draft.url, network, caller.person_id)
    text = post_text(draft, link)
    length = len(text) - len(link) + X_LINK if network == "x" else len(text)
    limit = X_LIMIT if network == "x" else 3000
    return {"status": "copy", "target": "copy", "network": network, "text": text, "link": link, "length": length,
            "limit": limit, "too_long": length > limit}
