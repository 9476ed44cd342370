"""Helpers for the ingestion and webhook tests: Graph chatMessage JSON, cohorts, certificates, the served app."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from plugin.adapters.graph_notifications import parse_message_resource
from plugin.models import Award, Badge, Cohort, Person, PointsEntry
from plugin.services.programmes import copy_missions, programme_for
from plugin.web.webhooks import bp as webhooks_bp
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.sandbox_server import _QuietHandler, self_signed_cert

START = date(2026, 9, 7)  # a Monday
IN_WEEK_1 = datetime(2026, 9, 8, 10, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)
KNOWLEDGE_HTML = (
    "<p>I tested the new lean planning board with my team this week and learned that short daily check-ins "
    'cut our waiting time in half. Here is what we changed: <a href="https://example.com/lean-board">'
    "https://example.com/lean-board</a> #lean</p>"
)
TENANT_USER = "#microsoft.graph.teamworkUserIdentity"


def iso(moment: datetime) -> str:
    """Graph's timestamp format (milliseconds, Z)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def user_identity(oid: str) -> dict[str, Any]:
    """``from`` of a person's message."""
    return {"application": None, "device": None,
            "user": {"@odata.type": TENANT_USER, "id": oid, "displayName": None, "userIdentityType": "aadUser"}}


def reaction(oid: str, reaction_type: str = "like", at: datetime = IN_WEEK_1) -> dict[str, Any]:
    """One chatMessageReaction."""
    return {"reactionType": reaction_type, "displayName": None, "reactionContentUrl": None,
            "createdDateTime": iso(at), "user": user_identity(oid)}


def chat_message(message_id: str, author: str | None, html: str, *, reply_to: str | None = None,
                 created: datetime = IN_WEEK_1, modified: datetime | None = None, edited: datetime | None = None,
                 deleted: datetime | None = None, reactions: Iterable[Mapping[str, Any]] = (),
                 attachments: Iterable[Mapping[str, Any]] = (), mentions: Iterable[Mapping[str, Any]] = (),
                 application: str | None = None, message_type: str = "message") -> dict[str, Any]:
    """A chatMessage in Graph's v1.0 shape (as the emulator renders it)."""
    reactions = list(reactions)
    last = max([created, edited or created, deleted or created,
                *(datetime.fromisoformat(r["createdDateTime"].replace("Z", "+00:00")) for r in reactions)])
    sender: dict[str, Any] | None = user_identity(author) if author else None
    if application:
        sender = {"application": {"id": "app-1", "displayName": application, "applicationIdentityType": "bot"},
                  "device": None, "user": None}
    return {
        "id": message_id, "replyToId": reply_to, "etag": str(int((modified or last).timestamp() * 1000)),
        "messageType": message_type, "createdDateTime": iso(created), "lastModifiedDateTime": iso(modified or last),
        "lastEditedDateTime": iso(edited) if edited else None, "deletedDateTime": iso(deleted) if deleted else None,
        "subject": None, "summary": None, "chatId": None, "importance": "normal", "locale": "en-us",
        "from": sender, "body": {"contentType": "html", "content": "" if deleted else html},
        "channelIdentity": {"teamId": "team-1", "channelId": "19:general@thread.tacv2"},
        "attachments": list(attachments), "mentions": list(mentions), "reactions": reactions, "messageHistory": [],
    }


def with_webhooks(app: Flask) -> Flask:
    """The app with the webhooks blueprint (until the lead registers it in plugin.web)."""
    if "webhooks" not in app.blueprints:
        app.register_blueprint(webhooks_bp)
    return app


def setup_cohort(session: Session, people: int = 2, *, start: date = START,
                 oids: Iterable[str] = ()) -> tuple[Cohort, list[Person]]:
    """A cohort of the default programme with its missions and active participants (given oids first)."""
    cohort = make_cohort(session, start_date=start)
    copy_missions(session, cohort, programme_for(cohort))
    given = list(oids)
    persons = [make_person(session, **({"entra_oid": given[n]} if n < len(given) else {})) for n in range(people)]
    enrolled = datetime.combine(start - timedelta(days=6), datetime.min.time(), UTC)
    for person in persons:
        make_enrolment(session, cohort=cohort, person=person, enrolled_at=enrolled)
    return cohort, persons


def badges_of(session: Session, person: Person | int, *, active: bool = True) -> set[str]:
    """Slugs of the person's awards (active only, unless asked)."""
    person_id = person if isinstance(person, int) else person.id
    query = select(Badge.slug).join(Award).where(Award.person_id == person_id)
    if active:
        query = query.where(Award.revoked_at.is_(None))
    return set(session.scalars(query))


def points_of(session: Session, cohort_id: int, person_id: int) -> int:
    """The person's points balance in the cohort."""
    return session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0))
                          .where(PointsEntry.cohort_id == cohort_id, PointsEntry.person_id == person_id))


@dataclass(frozen=True)
class NotificationCert:
    """Our notification key pair: the PEM file for GRAPH_NOTIFICATION_KEY and the base64 DER for subscriptions."""

    key_path: Path
    certificate_b64: str
    certificate: Any


def notification_cert(directory: Path) -> NotificationCert:
    """A fresh RSA-2048 self-signed certificate and key, written as one PEM file (key, then certificate)."""
    cert_pem, key_pem, cert = self_signed_cert("ambassador-notifications")
    path = directory / "graph-notifications.pem"
    path.write_text(key_pem + cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    return NotificationCert(path, base64.b64encode(der).decode("ascii"), cert)


def emulator_fetcher(app: Flask, client_id: str) -> tuple[Callable[[str], Mapping[str, Any] | None], httpx.Client]:
    """A ``fetch_message`` that GETs the resource from the app's Graph emulator in-process with an app token."""
    token = app.extensions["sandbox"].authority.mint_app_token(client_id)
    base = app.config["APP_BASE_URL"]
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base,
                          headers={"Authorization": f"Bearer {token}"})

    def fetch(resource: str) -> Mapping[str, Any] | None:
        ref = parse_message_resource(resource)
        assert ref is not None, resource
        response = client.get(f"{app.config['GRAPH_BASE_URL'].removeprefix(base)}/v1.0{ref.path}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    return fetch, client


@contextmanager
def serve_app(build: Callable[[str], Flask]) -> Iterator[tuple[str, Flask]]:
    """Serve ``build(base_url)`` over plain HTTP on a free loopback port (threaded) until the block ends."""
    holder: dict[str, Flask] = {}

    def wsgi(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True, request_handler=_QuietHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        holder["app"] = build(base)
    except BaseException:
        server.server_close()
        raise
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="webhook-test-server", daemon=True)
    thread.start()
    try:
        yield base, holder["app"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def quoted(token: str) -> str:
    """A validation token as Graph puts it in the query string."""
    return quote(token, safe="")
