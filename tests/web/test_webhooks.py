"""POST /webhooks/graph and /webhooks/graph/lifecycle: handshake, checks, durable inbox, and the whole path."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from plugin import create_app
from plugin.db import job_session
from plugin.models import Activity, AuditEntry, Award, Badge, Cohort, InboxItem, Person, PointsEntry
from plugin.sandbox.graph_crypto import encrypt_content, load_certificate
from plugin.sandbox.graph_notify import validation_token
from plugin.services.demo import channel_graph_id, demo_oid, demo_upn, team_graph_id
from plugin.services.inbox import process_pending
from tests.integration.ingest_fixtures import (
    KNOWLEDGE_HTML,
    NotificationCert,
    badges_of,
    chat_message,
    emulator_fetcher,
    notification_cert,
    points_of,
    quoted,
    serve_app,
    setup_cohort,
    with_webhooks,
)

STATE = "sandbox-client-state"  # GRAPH_CLIENT_STATE in tests
TOKEN = "Validation: Testing client application reachability for subscription Request-Id: 0b6c <b>&amp;</b> +x"
RESOURCE = "teams('team-1')/channels('19:general@thread.tacv2')/messages('{}')"


@pytest.fixture
def webhooks(app: Flask) -> Flask:
    return with_webhooks(app)


@pytest.fixture
def cert(tmp_path: Path) -> NotificationCert:
    return notification_cert(tmp_path)


def change(message_id: str, *, state: str = STATE, change_type: str = "created", **extra: Any) -> dict[str, Any]:
    return {"id": f"n-{message_id}-{change_type}", "subscriptionId": "0f6a7b1c-sub", "changeType": change_type,
            "clientState": state, "resource": RESOURCE.format(message_id), "tenantId": "t",
            "subscriptionExpirationDateTime": "2030-01-01T00:00:00.0000000Z",
            "resourceData": {"id": message_id, "@odata.type": "#Microsoft.Graph.chatMessage",
                             "@odata.id": RESOURCE.format(message_id)}, **extra}


def inbox(session: Session) -> list[InboxItem]:
    session.expire_all()
    return list(session.scalars(select(InboxItem).order_by(InboxItem.id)))


def post(client: FlaskClient, body: Any, path: str = "/webhooks/graph", **kwargs: Any):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(path, data=data, content_type="application/json", **kwargs)


# -- handshake and bad input --


@pytest.mark.parametrize("path", ["/webhooks/graph", "/webhooks/graph/lifecycle"])
def test_the_validation_handshake_echoes_the_decoded_token(webhooks, client, session, path):
    response = client.post(f"{path}?validationToken={quoted(TOKEN)}", data=b"",
                           content_type="text/plain; charset=utf-8")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == TOKEN
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert inbox(session) == []


@pytest.mark.parametrize("body", [
    b"{not json", b"\xff\xfe", b"[]", b'{"value": "x"}', b'{"value": [1]}',
    json.dumps({"value": [change("1"), {"subscriptionId": "s", "clientState": STATE}]}).encode(),
    json.dumps({"value": [change("1", resource="")]}).encode(),
    json.dumps({"value": [change("1", changeType="x" * 40)]}).encode(),
    json.dumps({"value": [change("1", encryptedContent="garbage")]}).encode(),
])
def test_malformed_bodies_are_refused_and_nothing_is_stored(webhooks, client, session, body):
    response = post(client, body)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_json", "invalid_notification") and response.json["message"]
    assert inbox(session) == []


def test_an_oversized_body_is_refused(webhooks, client, session):
    webhooks.config["WEBHOOK_MAX_BYTES"] = 2048
    body = {"value": [change(str(n)) for n in range(20)]}
    response = post(client, body)
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"
    assert inbox(session) == []
    assert post(client, {"value": [change("1")]}).status_code == 202


def test_a_wrong_client_state_is_not_stored(webhooks, client, session):
    forged = post(client, {"value": [change("1", state="guess"), change("2", state="")]})
    assert forged.status_code == 403 and forged.json["error"] == "client_state_mismatch"
    assert inbox(session) == []
    mixed = post(client, {"value": [change("3"), change("4", state="guess")]})
    assert mixed.status_code == 202
    [item] = inbox(session)
    assert item.payload["resourceData"]["id"] == "3" and "clientState" not in item.payload  # the secret isn't kept


def test_a_notification_is_stored_once_however_often_it_comes(webhooks, client, session):
    body = {"value": [change("1700000000001")]}
    assert post(client, body).status_code == 202 and post(client, body).status_code == 202
    [item] = inbox(session)
    assert (item.status, item.change_type, item.subscription_id) == ("pending", "created", "0f6a7b1c-sub")
    assert item.resource == RESOURCE.format("1700000000001") and item.attempts == 0
    updated = {"value": [change("1700000000001", change_type="updated", id="n-2")]}
    assert post(client, updated).status_code == 202 and len(inbox(session)) == 2  # another change: kept


def test_a_burst_with_ten_percent_duplicates_is_stored_once_each(webhooks, client, session):
    bodies = [{"value": [change(str(1700000010000 + n))]} for n in range(180)]
    burst = bodies + [bodies[n * 9] for n in range(20)]  # 200 deliveries, 20 of them repeats
    burst.sort(key=lambda b: b["value"][0]["resourceData"]["id"])
    assert {post(client, body).status_code for body in burst} == {202}
    assert len(inbox(session)) == 180
    batched = post(client, {"value": [change("1700000020000"), change("1700000020000"), change("1700000010000")]})
    assert batched.status_code == 202 and len(inbox(session)) == 181


def test_lifecycle_events_are_stored_for_the_subscription_job(webhooks, client, session):
    events = ["reauthorizationRequired", "subscriptionRemoved", "missed", "somethingNew"]
    body = {"value": [{"subscriptionId": "0f6a7b1c-sub", "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
                       "tenantId": "t", "clientState": STATE, "lifecycleEvent": event} for event in events]}
    assert post(client, body, "/webhooks/graph/lifecycle").status_code == 202
    assert post(client, body, "/webhooks/graph/lifecycle").status_code == 202  # redelivered
    items = inbox(session)
    assert sorted(i.change_type for i in items) == [
        "lifecycle:missed", "lifecycle:reauthorizationRequired", "lifecycle:subscriptionRemoved"]
    assert all(i.resource == "subscriptions/0f6a7b1c-sub" and i.status == "pending" for i in items)
    wrong = {"value": [{**body["value"][0], "clientState": "guess"}]}
    assert post(client, wrong, "/webhooks/graph/lifecycle").status_code == 403
    assert post(client, {"value": [{"subscriptionId": "s"}]}, "/webhooks/graph/lifecycle").status_code == 400


def test_database_unavailable_answers_503_so_graph_retries(webhooks, client, tmp_path):
    closed = create_engine(f"sqlite:///{tmp_path}/no/such/dir/ambassador.db")
    webhooks.extensions["db.sessionmaker"] = sessionmaker(bind=closed)
    try:
        response = post(client, {"value": [change("1")]})
    finally:
        closed.dispose()
    assert response.status_code == 503 and response.json["error"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0


# -- resource data --


def encrypted_change(app: Flask, cert: NotificationCert, message: dict[str, Any], **token_claims: Any) -> dict:
    """A notification as Graph sends it with includeResourceData (the sandbox's encryption)."""
    certificate = load_certificate(cert.certificate_b64)
    item = change(message["id"], encryptedContent=encrypt_content(json.dumps(message).encode(), certificate, "c-1"))
    authority = app.extensions["sandbox"].authority
    signer = authority.keys.sign
    if token_claims:
        def signer(claims: dict[str, Any]) -> str:
            return authority.keys.sign(claims | token_claims)
    token = validation_token(signer, app.config["AZURE_TENANT_ID"], app.config["AZURE_CLIENT_ID"])
    return {"value": [item], "validationTokens": [token]}


def test_encrypted_resource_data_is_verified_decrypted_and_stored(webhooks, client, session, cert):
    webhooks.config["GRAPH_NOTIFICATION_KEY"] = str(cert.key_path)
    message = chat_message("1700000030000", "a11ce000-0000-4000-8000-000000000001", KNOWLEDGE_HTML)
    response = post(client, encrypted_change(webhooks, cert, message))
    assert response.status_code == 202, response.get_data(as_text=True)
    [item] = inbox(session)
    assert item.payload["content"] == message and "encryptedContent" not in item.payload


@pytest.mark.parametrize("tamper", ["signature", "data", "claims:aud", "claims:exp", "claims:appid", "claims:iss",
                                    "no tokens", "foreign key", "other id"])
def test_untrustworthy_resource_data_is_rejected(webhooks, client, session, cert, tmp_path, tamper):
    webhooks.config["GRAPH_NOTIFICATION_KEY"] = str(cert.key_path)
    message = chat_message("1700000040000", "a11ce000-0000-4000-8000-000000000001", KNOWLEDGE_HTML)
    claims = {"claims:aud": {"aud": "another-app"}, "claims:exp": {"exp": int(time.time()) - 3600},
              "claims:appid": {"appid": "someone-else"}, "claims:iss": {"iss": "https://sts.windows.net/other/"}}
    body = encrypted_change(webhooks, cert, message, **claims.get(tamper, {}))
    encrypted = body["value"][0]["encryptedContent"]
    if tamper == "signature":
        encrypted["dataSignature"] = encrypt_content(b"{}", load_certificate(cert.certificate_b64), "c")[
            "dataSignature"]
    elif tamper == "data":
        encrypted["data"] = encrypted["data"][:-8] + ("A" * 8 if not encrypted["data"].endswith("A" * 8) else "B" * 8)
    elif tamper == "no tokens":
        del body["validationTokens"]
    elif tamper == "foreign key":
        (tmp_path / "other").mkdir()
        other = notification_cert(tmp_path / "other")
        body["value"][0]["encryptedContent"] = encrypt_content(
            json.dumps(message).encode(), load_certificate(other.certificate_b64), "c-2")
    elif tamper == "other id":
        body["value"][0]["resourceData"]["id"] = "1700000049999"
    response = post(client, body)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_encrypted_content", "invalid_validation_tokens")
    assert inbox(session) == []


def test_without_a_key_the_encrypted_content_is_dropped_and_fetched_later(webhooks, client, session, cert):
    message = chat_message("1700000050000", "a11ce000-0000-4000-8000-000000000001", KNOWLEDGE_HTML)
    assert post(client, encrypted_change(webhooks, cert, message)).status_code == 202
    [item] = inbox(session)
    assert "content" not in item.payload and "encryptedContent" not in item.payload


# -- the real Graph emulator delivering over HTTP to the served app --


def subscribe(base: str, app: Flask, **extra: Any) -> str:
    token = app.extensions["sandbox"].authority.mint_app_token(app.config["AZURE_CLIENT_ID"])
    resource = f"/teams/{team_graph_id('data')}/channels/{channel_graph_id('data', 'General')}/messages"
    body = {"changeType": "created,updated,deleted", "notificationUrl": f"{base}/webhooks/graph",
            "lifecycleNotificationUrl": f"{base}/webhooks/graph/lifecycle", "resource": resource,
            "expirationDateTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
            "clientState": app.config["GRAPH_CLIENT_STATE"], **extra}
    response = httpx.post(f"{base}/dev/graph/v1.0/subscriptions", json=body, trust_env=False, timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


class Served:
    """The app served over HTTP with its own engine, committing for real; `purge` removes what a test made."""

    def __init__(self, base: str, app: Flask, engine: Engine) -> None:
        self.base, self.app, self.engine = base, app, engine
        self.emulator = app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
        with Session(engine) as s:
            self.badges_before = set(s.scalars(select(Badge.id)))
            self.counts_before = self.counts(s)
        self.subscriptions: list[str] = []
        self.cohorts: list[int] = []
        self.people: list[int] = []

    @staticmethod
    def counts(s: Session) -> dict[str, int]:
        """Rows per table, to prove the test left nothing behind in the shared database."""
        models = (Activity, AuditEntry, Award, Badge, Cohort, InboxItem, Person, PointsEntry)
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in models}

    def session(self) -> Any:
        return job_session(self.app)

    def purge(self) -> None:
        with Session(self.engine) as s:
            awards = list(s.scalars(select(Award.public_id).where(Award.person_id.in_(self.people))))
            s.execute(delete(AuditEntry).where(AuditEntry.target_id.in_(awards)))
            s.execute(delete(InboxItem).where(InboxItem.subscription_id.in_(self.subscriptions)))
            s.execute(delete(Activity).where(Activity.author_id.in_(self.people)))
            s.execute(delete(Activity).where(Activity.author_oid.in_(
                select(Person.entra_oid).where(Person.id.in_(self.people)))))
            s.execute(delete(Cohort).where(Cohort.id.in_(self.cohorts)))
            s.execute(delete(Person).where(Person.id.in_(self.people)))
            s.execute(delete(Badge).where(Badge.id.not_in(self.badges_before)))
            s.commit()
            assert self.counts(s) == self.counts_before


@pytest.fixture
def served(engine: Engine, database_url: str, cert: NotificationCert) -> Iterator[Served]:
    def build(base: str) -> Flask:
        return with_webhooks(create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url,
                                         "APP_BASE_URL": base, "GRAPH_NOTIFICATION_KEY": str(cert.key_path)}))

    with serve_app(build) as (base, app):
        state = Served(base, app, engine)
        try:
            yield state
        finally:
            state.emulator.close()
            state.purge()
            app.extensions["db.engine"].dispose()


def participants(served: Served, *names: str) -> tuple[int, list[int]]:
    """A cohort that started two days ago with these demo people as active participants (committed)."""
    start = (datetime.now(UTC) - timedelta(days=2)).date()
    with served.session() as s:
        cohort, people = setup_cohort(s, len(names), start=start, oids=[demo_oid(n) for n in names])
        for person, name in zip(people, names, strict=True):
            person.upn = demo_upn(name)
        s.commit()
        served.cohorts.append(cohort.id)
        served.people.extend(p.id for p in people)
        return cohort.id, [p.id for p in people]


def test_the_emulators_encrypted_notification_is_decrypted_and_processed(served, cert):
    cohort_id, (daan, _fleur) = participants(served, "Daan Jansen", "Fleur Bakker")
    sub = subscribe(served.base, served.app, includeResourceData=True, encryptionCertificate=cert.certificate_b64,
                    encryptionCertificateId="ambassador-1")
    served.subscriptions.append(sub)
    team, channel = team_graph_id("data"), channel_graph_id("data", "General")
    message = served.emulator.post(team, channel, demo_oid("Daan Jansen"), KNOWLEDGE_HTML)
    assert served.emulator.wait_for_deliveries(20)
    assert served.emulator.lifecycle(sub, "reauthorizationRequired")
    assert served.emulator.wait_for_deliveries(20)

    with served.session() as s:
        items = list(s.scalars(select(InboxItem).where(InboxItem.subscription_id == sub).order_by(InboxItem.id)))
        assert [i.change_type for i in items] == ["created", "lifecycle:reauthorizationRequired"]
        content = items[0].payload["content"]
        assert content["id"] == message.id and content["body"]["content"] == KNOWLEDGE_HTML
        assert content["from"]["user"]["id"] == demo_oid("Daan Jansen")

        def fetch(resource: str) -> None:
            raise AssertionError("the decrypted content is enough")

        assert process_pending(s, fetch).done == 1
        assert "first-share" in badges_of(s, daan)
        row = s.scalars(select(Activity).where(Activity.external_id == message.id)).one()
        assert row.knowledge_sharing and row.author_id == daan
        s.expire_all()
        assert "body" not in s.get(InboxItem, items[0].id).payload["content"]
    deliveries = [d for d in served.emulator.notifier.attempts if d["subscriptionId"] == sub]
    assert {d["status"] for d in deliveries} == {202}


def test_post_to_badge_once_under_duplicate_and_reordered_delivery(served):
    cohort_id, (daan, fleur) = participants(served, "Daan Jansen", "Fleur Bakker")
    served.subscriptions.append(subscribe(served.base, served.app))
    team, channel = team_graph_id("data"), channel_graph_id("data", "General")
    emulator = served.emulator
    emulator.faults.duplicate_notifications(1)
    root = emulator.post(team, channel, demo_oid("Daan Jansen"), KNOWLEDGE_HTML)
    assert emulator.wait_for_deliveries(20)
    emulator.faults.reorder_notifications(2)
    emulator.react(root.id, demo_oid("Fleur Bakker"), "👍")
    emulator.post(team, channel, demo_oid("Fleur Bakker"),
                  "<p>We tried this in our team as well: the daily check-in made blockers visible much earlier, "
                  "and planning became calmer for everyone involved.</p>", reply_to=root.id)
    assert emulator.wait_for_deliveries(20)
    fired = [f["kind"] for f in emulator.fault_log]
    assert fired.count("duplicate") == 1 and fired.count("reorder") == 2
    deliveries = [d for d in emulator.notifier.attempts if d["subscriptionId"] == served.subscriptions[0]]
    assert len(deliveries) == 4 and {d["status"] for d in deliveries} == {202}

    fetch, http = emulator_fetcher(served.app, served.app.config["AZURE_CLIENT_ID"])
    try:
        with served.session() as s:
            assert s.scalar(select(func.count()).select_from(InboxItem)
                            .where(InboxItem.subscription_id == served.subscriptions[0])) == 3
            result = process_pending(s, fetch)
            assert (result.done, result.failed) == (3, 0)
            kinds = sorted(s.scalars(select(Activity.kind).where(Activity.author_id.in_([daan, fleur]))))
            assert kinds == ["post", "reaction", "reply"]
            reply = s.scalars(select(Activity).where(Activity.kind == "reply",
                                                     Activity.author_id == fleur)).one()
            assert reply.target_author_id == daan
            assert "first-share" in badges_of(s, daan)
            points = points_of(s, cohort_id, daan)
            awards = s.scalar(select(func.count()).select_from(Award).where(Award.person_id == daan))

            # Graph redelivers everything: nothing new is stored or counted.
            emulator.faults.duplicate_notifications(1)
            emulator.react(root.id, demo_oid("Fleur Bakker"), "👍")  # same reaction again: a no-op change
            assert emulator.wait_for_deliveries(20)
            again = process_pending(s, fetch)
            assert again.done == 1
            assert points_of(s, cohort_id, daan) == points
            assert s.scalar(select(func.count()).select_from(Award).where(Award.person_id == daan)) == awards
            assert s.scalar(select(func.count()).select_from(Activity)
                            .where(Activity.author_id.in_([daan, fleur]))) == 3
    finally:
        http.close()


def test_a_validation_token_not_signed_by_the_authority_is_refused(webhooks, client, session, cert):
    webhooks.config["GRAPH_NOTIFICATION_KEY"] = str(cert.key_path)
    message = chat_message("1700000060000", "a11ce000-0000-4000-8000-000000000001", KNOWLEDGE_HTML)
    body = encrypted_change(webhooks, cert, message)
    claims = jwt.decode(body["validationTokens"][0], options={"verify_signature": False})
    assert claims["aud"] == webhooks.config["AZURE_CLIENT_ID"]
    forged = jwt.encode(claims, "not-the-authority-key-but-long-enough-for-hs256", algorithm="HS256")
    assert post(client, {**body, "validationTokens": [forged]}).status_code == 400
    assert inbox(session) == []
