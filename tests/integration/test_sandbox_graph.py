"""The Graph emulator against real clients: msgraph-core's middleware httpx client, MSAL and PyJWT.

The emulator is served over HTTP, mounted at /dev/graph like in the app; the dev Entra authority over HTTPS.
Webhook receivers are small Flask apps on loopback http (allowed by the emulator for the sandbox).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.sandbox.aad import GRAPH_RESOURCE, YAMMER_RESOURCE, DevAuthority, create_aad_app
from plugin.sandbox.graph_app import create_graph_app
from plugin.sandbox.graph_crypto import decrypt_content
from plugin.sandbox.graph_emulator import GraphEmulator
from plugin.sandbox.graph_notify import NOTIFICATION_PUBLISHER_APP_ID
from plugin.sandbox.scenario import Scenario
from tests.integration.graph_fixtures import (
    ALICE,
    APP_ID,
    BOB,
    CAROL,
    CLIENTS,
    GENERAL,
    NO_ROLES_APP_ID,
    RANDOM,
    SECRET,
    TEAM,
    TENANT,
    USERS,
    Receiver,
    build_scenario,
    call,
    encryption_cert,
    general_roots,
    graph_client,
    iso,
    serve_http,
)
from tests.integration.sandbox_server import TlsFiles, serve, tls_files

MESSAGES = f"/teams/{TEAM}/channels/{GENERAL}/messages"


@dataclass
class Env:
    base: str  # the emulator's external base URL (…/dev/graph)
    emulator: GraphEmulator
    authority: DevAuthority
    aad_base: str
    tls: TlsFiles
    scenario: Scenario
    now: datetime
    receiver: Receiver

    def app_token(self, client_id: str = APP_ID) -> str:
        return self.authority.mint_app_token(client_id)

    def user_token(self, oid: str = ALICE) -> str:
        return self.authority.mint_sso_token(
            oid,
            client_id=APP_ID,
            version=1,
            audience=GRAPH_RESOURCE,
            extra_claims={"scp": "ChannelMessage.Send ChannelMessage.Read.All"},
        )

    def run(
        self, body: Callable[[httpx.AsyncClient], Awaitable[None]], token: str | None = None, *, anonymous: bool = False
    ) -> None:
        """Run ``body`` with a msgraph-core client (an app token unless ``token`` or ``anonymous``)."""
        bearer = None if anonymous else (token or self.app_token())

        async def main() -> None:
            async with graph_client(self.base, bearer) as client:
                await body(client)

        asyncio.run(main())

    def subscription(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": f"{self.receiver.base}/notify",
            "resource": MESSAGES,
            "expirationDateTime": iso(datetime.now(UTC) + timedelta(minutes=45)),
            "clientState": "s3cret-state",
        }
        return {**body, **overrides}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture(scope="module")
def aad(tls: TlsFiles) -> Iterator[tuple[str, DevAuthority]]:
    def build(base: str) -> Flask:
        return create_aad_app(tenant_id=TENANT, issuer_host=base, clients=CLIENTS, users=USERS)

    with serve(build, tls) as (base, app):
        yield base, app.extensions["dev_authority"]  # type: ignore[attr-defined]


@pytest.fixture
def env(aad: tuple[str, DevAuthority], tls: TlsFiles) -> Iterator[Env]:
    aad_base, authority = aad
    now = datetime.now(UTC)
    scenario = build_scenario(now)
    receiver = Receiver()
    built: dict[str, Flask] = {}

    def build(base: str) -> DispatcherMiddleware:
        built["app"] = create_graph_app(
            scenario=scenario,
            authority=authority,
            base_url=f"{base}/dev/graph",
            validation_timeout=1.0,
            delivery_backoff=0.05,
            delivery_attempts=4,
        )
        return DispatcherMiddleware(NotFound(), {"/dev/graph": built["app"]})

    with serve_http(receiver.app), serve_http(build) as base:
        emulator = built["app"].extensions["graph_emulator"]
        try:
            yield Env(f"{base}/dev/graph", emulator, authority, aad_base, tls, scenario, now, receiver)
        finally:
            emulator.close()


# -- authentication --


def test_calls_without_a_valid_token_get_graphs_401(env: Env) -> None:
    async def body(client: httpx.AsyncClient) -> None:
        response = await call(client, "GET", f"/teams/{TEAM}/channels", headers={"client-request-id": "abc-123"})
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["code"] == "InvalidAuthenticationToken"
        assert error["message"] == "Access token is empty."
        assert error["innerError"]["client-request-id"] == "abc-123"
        assert error["innerError"]["request-id"] == response.headers["request-id"]
        assert response.headers["client-request-id"] == "abc-123"
        assert "x-ms-ags-diagnostic" in response.headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        for token in ("garbage", env.authority.mint_app_token(APP_ID, YAMMER_RESOURCE)):
            bad = await call(client, "GET", f"/teams/{TEAM}/channels", headers={"Authorization": f"Bearer {token}"})
            assert bad.status_code == 401
            assert bad.json()["error"]["code"] == "InvalidAuthenticationToken"
        no_roles = await call(
            client,
            "GET",
            f"/teams/{TEAM}/channels",
            headers={"Authorization": f"Bearer {env.app_token(NO_ROLES_APP_ID)}"},
        )
        assert no_roles.status_code == 403

    env.run(body, anonymous=True)


def test_directory_with_a_token_from_msal(env: Env) -> None:
    session = requests.Session()
    session.verify = str(env.tls.cert)
    session.trust_env = False
    cca = msal.ConfidentialClientApplication(
        APP_ID,
        client_credential=SECRET,
        authority=f"{env.aad_base}/{TENANT}",
        instance_discovery=False,
        http_client=session,
    )
    token = cca.acquire_token_for_client(scopes=[f"{GRAPH_RESOURCE}/.default"])["access_token"]
    session.close()

    async def body(client: httpx.AsyncClient) -> None:
        members = (await call(client, "GET", f"/teams/{TEAM}/members")).json()["value"]
        by_user = {m["userId"]: m for m in members}
        assert by_user.keys() == {ALICE, BOB, CAROL}
        assert by_user[ALICE]["roles"] == ["owner"] and by_user[BOB]["roles"] == []
        assert by_user[BOB]["email"] == "bob@contoso.example"
        assert by_user[BOB]["@odata.type"] == "#microsoft.graph.aadUserConversationMember"
        for ref in (CAROL, "CAROL@contoso.example"):
            user = (await call(client, "GET", f"/users/{ref}")).json()
            assert (user["id"], user["displayName"]) == (CAROL, "Carol Visser")
        missing = await call(client, "GET", "/users/nobody@contoso.example")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "Request_ResourceNotFound")
        channels = (await call(client, "GET", f"/teams/{TEAM}/channels")).json()["value"]
        assert {c["id"] for c in channels} == {GENERAL, RANDOM}

    env.run(body, token=token)


# -- channel messages --


def test_messages_page_with_next_link_until_the_end(env: Env) -> None:
    async def body(client: httpx.AsyncClient) -> None:
        seen: list[str] = []
        response = await call(client, "GET", MESSAGES, params={"$top": 7})
        pages = 1
        while True:
            page = response.json()
            assert page["@odata.count"] == len(page["value"]) <= 7
            seen += [m["id"] for m in page["value"]]
            if "@odata.nextLink" not in page:
                break
            assert "$skiptoken=" in page["@odata.nextLink"]
            assert page["@odata.nextLink"].startswith(f"{env.base}/v1.0/teams/")
            response = await call(client, "GET", page["@odata.nextLink"])
            pages += 1
        roots = env.scenario.channel_messages(TEAM, GENERAL)
        expected = [
            m.id for m in sorted((m for m in roots if not m.reply_to_id), key=lambda m: m.created, reverse=True)
        ]
        assert seen == expected and pages == -(-len(expected) // 7)
        assert (await call(client, "GET", MESSAGES, params={"$top": 51})).status_code == 400
        expanded = (await call(client, "GET", MESSAGES, params={"$top": 50, "$expand": "replies"})).json()
        with_replies = [m for m in expanded["value"] if m["replies"]]
        assert with_replies and all(r["replyToId"] == m["id"] for m in with_replies for r in m["replies"])

    env.run(body)


def test_chat_message_json_shape(env: Env) -> None:
    messages = env.scenario.channel_messages(TEAM, GENERAL)
    mention = next(m for m in messages if m.mentions)
    reacted = next(m for m in messages if len(m.reactions) == 2)
    bot = next(m for m in messages if m.application_name)
    thread = next(m for m in messages if m.reply_to_id)

    async def body(client: httpx.AsyncClient) -> None:
        doc = (await call(client, "GET", f"{MESSAGES}/{mention.id}")).json()
        assert doc["@odata.context"].endswith("/messages/$entity")
        assert doc["id"] == mention.id and doc["id"].isdigit() and doc["replyToId"] is None
        assert doc["etag"] == mention.id and doc["messageType"] == "message" and doc["locale"] == "en-us"
        assert doc["createdDateTime"].endswith("Z") and doc["lastEditedDateTime"] is None
        assert doc["deletedDateTime"] is None and doc["importance"] == "normal"
        assert doc["from"] == {
            "application": None,
            "device": None,
            "user": {
                "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                "id": ALICE,
                "displayName": "Alice Jansen",
                "userIdentityType": "aadUser",
                "tenantId": TENANT,
            },
        }
        assert doc["body"]["contentType"] == "html" and '<at id="0">' in doc["body"]["content"]
        assert doc["channelIdentity"] == {"teamId": TEAM, "channelId": GENERAL}
        assert [a["contentType"] for a in doc["attachments"]] == ["reference", "messageReference"]
        assert doc["mentions"][0]["mentioned"]["user"]["id"] == BOB
        assert doc["webUrl"].startswith("https://teams.microsoft.com/l/message/19%3A")
        assert f"groupId={TEAM}" in doc["webUrl"] and f"parentMessageId={mention.id}" in doc["webUrl"]
        reactions = (await call(client, "GET", f"{MESSAGES}/{reacted.id}")).json()["reactions"]
        assert [r["reactionType"] for r in reactions] == ["like", "👍"]
        assert reactions[0]["user"]["user"]["userIdentityType"] == "aadUser"
        sender = (await call(client, "GET", f"{MESSAGES}/{bot.id}")).json()["from"]
        assert sender["user"] is None and sender["application"]["displayName"] == "Digest Bot"
        replies = (await call(client, "GET", f"{MESSAGES}/{thread.reply_to_id}/replies")).json()["value"]
        assert [r["id"] for r in replies] == [thread.id]
        reply = (await call(client, "GET", f"{MESSAGES}/{thread.reply_to_id}/replies/{thread.id}")).json()
        assert reply["replyToId"] == thread.reply_to_id
        assert (await call(client, "GET", f"{MESSAGES}/{thread.id}")).status_code == 404

    env.run(body)


async def _delta_round(client: httpx.AsyncClient, url: str, **params: Any) -> tuple[list[dict[str, Any]], str]:
    """Follow nextLinks to the deltaLink; returns (items, deltaLink)."""
    response = await call(client, "GET", url, params=params or None)
    items: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["value"]
        if "@odata.deltaLink" in page:
            assert "@odata.nextLink" not in page and "$deltatoken=" in page["@odata.deltaLink"]
            return items, page["@odata.deltaLink"]
        assert "$skiptoken=" in page["@odata.nextLink"]
        response = await call(client, "GET", page["@odata.nextLink"])


def test_delta_rounds_return_only_changed_chains(env: Env) -> None:
    within_window = general_roots(env.scenario, within_days=243, now=env.now)
    assert len(within_window) == len(general_roots(env.scenario)) - 1  # the nine-month-old post is out
    roots = general_roots(env.scenario, within_days=60, now=env.now)

    async def body(client: httpx.AsyncClient) -> None:
        items, delta_link = await _delta_round(client, f"{MESSAGES}/delta", **{"$top": 5})
        assert sorted(m["id"] for m in items) == sorted(within_window)
        assert all(m["@odata.type"] == "#microsoft.graph.chatMessage" and m["replyToId"] is None for m in items)
        stamps = [m["lastModifiedDateTime"] for m in items]
        assert stamps == sorted(stamps)

        new = env.emulator.post(TEAM, GENERAL, CAROL, "<p>Fresh</p>")
        env.emulator.react(roots[5], BOB, "❤️")
        env.emulator.post(TEAM, GENERAL, ALICE, "<p>Late reply</p>", reply_to=roots[6])
        env.emulator.delete(roots[7])
        env.emulator.post(TEAM, RANDOM, ALICE, "<p>Elsewhere</p>")
        changed, delta_link = await _delta_round(client, delta_link)
        by_id = {m["id"]: m for m in changed}
        assert by_id.keys() == {new.id, roots[5], roots[6], roots[7]}
        assert "❤️" in [r["reactionType"] for r in by_id[roots[5]]["reactions"]]
        assert by_id[roots[5]]["lastModifiedDateTime"] > by_id[roots[5]]["createdDateTime"]
        assert by_id[roots[7]]["deletedDateTime"] is not None and by_id[roots[7]]["body"]["content"] == ""
        again, _ = await _delta_round(client, delta_link)
        assert again == []

    env.run(body)


def test_delta_top_filter_expand_and_tokens(env: Env) -> None:
    async def body(client: httpx.AsyncClient) -> None:
        too_many = await call(client, "GET", f"{MESSAGES}/delta", params={"$top": 51})
        assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BadRequest"
        since = iso(env.now - timedelta(days=3))
        recent, _ = await _delta_round(client, f"{MESSAGES}/delta", **{"$filter": f"lastModifiedDateTime gt {since}"})
        assert len(recent) == 2  # the post with the file and the bot's digest
        offset = (env.now - timedelta(days=3)).astimezone(timezone(timedelta(hours=2))).isoformat()
        same, _ = await _delta_round(client, f"{MESSAGES}/delta", **{"$filter": f"lastModifiedDateTime gt {offset}"})
        assert [m["id"] for m in same] == [m["id"] for m in recent]
        bad = await call(client, "GET", f"{MESSAGES}/delta", params={"$filter": f"createdDateTime gt {since}"})
        assert bad.status_code == 400
        expanded, _ = await _delta_round(client, f"{MESSAGES}/delta", **{"$top": 50, "$expand": "replies"})
        assert any(m["replies"] for m in expanded)
        tampered = await call(client, "GET", f"{MESSAGES}/delta", params={"$deltatoken": "AAAA" + "x" * 30})
        assert tampered.status_code == 400

    env.run(body)


def test_posting_messages_and_replies(env: Env) -> None:
    async def as_user(client: httpx.AsyncClient) -> None:
        posted = await call(client, "POST", MESSAGES, json={"body": {"contentType": "html", "content": "<p>Hi</p>"}})
        assert posted.status_code == 201, posted.text
        root = posted.json()
        assert root["from"]["user"]["id"] == ALICE and root["from"]["user"]["displayName"] == "Alice Jansen"
        reply = await call(
            client,
            "POST",
            f"{MESSAGES}/{root['id']}/replies",
            json={"body": {"content": "plain <b>text</b>"}, "importance": "high"},
        )
        assert reply.status_code == 201
        assert reply.json()["replyToId"] == root["id"] and reply.json()["importance"] == "high"
        assert reply.json()["body"]["content"] == "plain &lt;b&gt;text&lt;/b&gt;"
        empty = await call(client, "POST", MESSAGES, json={"body": {"content": " "}})
        assert empty.status_code == 400

    async def as_app(client: httpx.AsyncClient) -> None:
        posted = (await call(client, "POST", MESSAGES, json={"body": {"content": "From the app"}})).json()
        assert posted["from"]["user"] is None
        assert posted["from"]["application"]["id"] == APP_ID
        assert posted["from"]["application"]["displayName"] == "Ambassador"

    env.run(as_user, token=env.user_token())
    env.run(as_app)
    log = httpx.get(f"{env.base}/_log", trust_env=False).json()
    assert [p["from"] for p in log["postedMessages"]] == [
        {"user": ALICE},
        {"user": ALICE},
        {"application": APP_ID, "displayName": "Ambassador"},
    ]


# -- subscriptions --


def test_subscription_handshake(env: Env) -> None:
    async def body(client: httpx.AsyncClient) -> None:
        created = await call(client, "POST", "/subscriptions", json=env.subscription())
        assert created.status_code == 201, created.text
        subscription = created.json()
        assert subscription["resource"] == MESSAGES and subscription["applicationId"] == APP_ID
        assert subscription["changeType"] == "created,updated,deleted"
        assert subscription["clientState"] == "s3cret-state" and subscription["includeResourceData"] is False
        handshake = env.receiver.handshakes[-1]
        assert handshake["token"].startswith("Validation: Testing client application reachability")
        assert handshake["contentType"].startswith("text/plain")
        assert "%20" in handshake["query"] or "+" in handshake["query"]  # sent URL-encoded, echoed decoded

        for mode in ("encoded", "json", "status500", "slow"):
            env.receiver.mode = mode
            refused = await call(client, "POST", "/subscriptions", json=env.subscription())
            assert refused.status_code == 400, mode
            assert refused.json()["error"]["code"] == "ValidationError"
        env.receiver.mode = "echo"
        remote = await call(
            client, "POST", "/subscriptions", json=env.subscription(notificationUrl="http://example.com/notify")
        )
        assert remote.status_code == 400

    env.run(body)


def test_subscription_rules_renew_reauthorize_delete(env: Env) -> None:
    soon = datetime.now(UTC)
    lifecycle = f"{env.receiver.base}/lifecycle"

    async def body(client: httpx.AsyncClient) -> None:
        async def status(**overrides: Any) -> int:
            return (await call(client, "POST", "/subscriptions", json=env.subscription(**overrides))).status_code

        long = await call(
            client, "POST", "/subscriptions", json=env.subscription(expirationDateTime=iso(soon + timedelta(hours=2)))
        )
        assert long.status_code == 400
        assert long.json()["error"]["message"].startswith("lifecycleNotificationUrl is a required property")
        too_far = iso(soon + timedelta(minutes=4321))
        assert await status(expirationDateTime=too_far, lifecycleNotificationUrl=lifecycle) == 400
        assert await status(expirationDateTime=iso(soon - timedelta(minutes=1))) == 400
        assert await status(includeResourceData=True) == 400
        assert await status(changeType="created,moved") == 400
        assert await status(resource="/chats/19:abc@thread.v2/messages") == 400
        assert await status(resource=f"/teams/{TEAM}/channels/19:nope@thread.tacv2/messages") == 404
        assert await status(clientState="x" * 129) == 400

        made = await call(
            client,
            "POST",
            "/subscriptions",
            json=env.subscription(expirationDateTime=iso(soon + timedelta(days=2)), lifecycleNotificationUrl=lifecycle),
        )
        assert made.status_code == 201
        assert {h["path"] for h in env.receiver.handshakes} == {"notify", "lifecycle"}
        sub_id = made.json()["id"]
        renewed = await call(
            client,
            "PATCH",
            f"/subscriptions/{sub_id}",
            json={"expirationDateTime": iso(soon + timedelta(days=3) - timedelta(minutes=5))},
        )
        assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] != made.json()["expirationDateTime"]
        assert (await call(client, "POST", f"/subscriptions/{sub_id}/reauthorize")).status_code == 204
        listed = (await call(client, "GET", "/subscriptions")).json()["value"]
        assert [s["id"] for s in listed] == [sub_id]
        assert (await call(client, "DELETE", f"/subscriptions/{sub_id}")).status_code == 204
        gone = await call(client, "GET", f"/subscriptions/{sub_id}")
        assert gone.status_code == 404

        short = (await call(client, "POST", "/subscriptions", json=env.subscription())).json()
        too_long = await call(
            client,
            "PATCH",
            f"/subscriptions/{short['id']}",
            json={"expirationDateTime": iso(soon + timedelta(hours=3))},
        )
        assert too_long.status_code == 400

    env.run(body)


def _subscribe(env: Env, **overrides: Any) -> str:
    ids: list[str] = []

    async def body(client: httpx.AsyncClient) -> None:
        response = await call(client, "POST", "/subscriptions", json=env.subscription(**overrides))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    env.run(body)
    return ids[0]


def test_change_notifications_without_resource_data(env: Env) -> None:
    sub_id = _subscribe(env)
    root = env.emulator.post(TEAM, GENERAL, BOB, "<p>Notify me</p>")
    reply = env.emulator.post(TEAM, GENERAL, CAROL, "<p>A reply</p>", reply_to=root.id)
    env.emulator.react(root.id, ALICE, "👍")
    env.emulator.delete(reply.id)
    env.emulator.post(TEAM, RANDOM, ALICE, "<p>Other channel</p>")
    items = env.receiver.wait_for(4)
    assert env.emulator.wait_for_deliveries()
    assert len(env.receiver.changes()) == 4
    assert [i["changeType"] for i in items] == ["created", "created", "updated", "deleted"]
    first = items[0]
    resource = f"teams('{TEAM}')/channels('{GENERAL}')/messages('{root.id}')"
    assert first["subscriptionId"] == sub_id and first["clientState"] == "s3cret-state"
    assert first["tenantId"] == TENANT and first["resource"] == resource
    assert first["resourceData"] == {
        "id": root.id,
        "@odata.type": "#Microsoft.Graph.chatMessage",
        "@odata.id": resource,
    }
    assert first["subscriptionExpirationDateTime"].endswith("Z") and "encryptedContent" not in first
    assert items[1]["resource"] == f"{resource}/replies('{reply.id}')"
    assert all("validationTokens" not in post["body"] for post in env.receiver.posts)


def _decrypt(encrypted: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """Graph's documented decryption, written out: OAEP-SHA1 key unwrap, HMAC check, AES-CBC with IV = key[:16]."""
    key = private_key.decrypt(
        base64.b64decode(encrypted["dataKey"]),
        OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None),  # noqa: S303
    )
    assert len(key) == 32
    data = base64.b64decode(encrypted["data"])
    signature = base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode()
    assert hmac.compare_digest(signature, encrypted["dataSignature"])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(decryptor.update(data) + decryptor.finalize()) + unpadder.finalize()
    return json.loads(plain)


def test_change_notifications_with_encrypted_resource_data(env: Env) -> None:
    cert = encryption_cert()
    _subscribe(
        env,
        includeResourceData=True,
        encryptionCertificate=cert.certificate_b64,
        encryptionCertificateId="ambassador-cert-1",
    )
    message = env.emulator.post(
        TEAM,
        GENERAL,
        BOB,
        '<p>Encrypted <at id="0">Alice</at></p>',
        mentions=[
            {"id": 0, "mentionText": "Alice", "mentioned": {"user": {"id": ALICE, "userIdentityType": "aadUser"}}}
        ],
    )
    [item] = env.receiver.wait_for(1)
    encrypted = item["encryptedContent"]
    assert encrypted["encryptionCertificateId"] == "ambassador-cert-1"
    der = base64.b64decode(cert.certificate_b64)
    assert encrypted["encryptionCertificateThumbprint"] == hashlib.sha1(der).hexdigest().upper()  # noqa: S324
    resource = _decrypt(encrypted, cert.private_key)
    assert resource["id"] == message.id and resource["body"]["content"].startswith("<p>Encrypted")
    assert resource["from"]["user"]["id"] == BOB and resource["@odata.context"].endswith("/messages/$entity")
    with pytest.raises(ValueError, match="dataSignature"):
        decrypt_content({**encrypted, "dataSignature": base64.b64encode(b"x" * 32).decode()}, cert.private_key)

    [token] = env.receiver.posts[0]["body"]["validationTokens"]
    jwks = jwt.PyJWKClient(
        f"{env.aad_base}/common/discovery/keys", cache_jwk_set=False, ssl_context=env.tls.client_context()
    )
    claims = jwt.decode(
        token,
        jwks.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer=f"https://sts.windows.net/{TENANT}/",
    )
    assert claims["appid"] == NOTIFICATION_PUBLISHER_APP_ID and claims["ver"] == "1.0" and claims["tid"] == TENANT


def test_delivery_is_retried_with_backoff_then_given_up(env: Env) -> None:
    sub_id = _subscribe(env)
    env.receiver.fail_next = 2
    message = env.emulator.post(TEAM, GENERAL, BOB, "<p>Retry me</p>")
    [item] = env.receiver.wait_for(1)
    assert item["resourceData"]["id"] == message.id
    assert env.emulator.wait_for_deliveries()
    outcomes = [a["outcome"] for a in env.emulator.notifier.attempts if a["subscriptionId"] == sub_id]
    assert outcomes == ["retrying", "retrying", "delivered"]

    env.receiver.fail_next = 10
    env.emulator.post(TEAM, GENERAL, BOB, "<p>Never arrives</p>")
    assert env.emulator.wait_for_deliveries()
    attempts = list(env.emulator.notifier.attempts)[3:]
    assert [a["outcome"] for a in attempts] == ["retrying", "retrying", "retrying", "failed"]
    assert all(a["status"] == 503 for a in attempts)


def test_notification_faults_drop_duplicate_reorder(env: Env) -> None:
    _subscribe(env, changeType="created")
    faults = env.emulator.faults
    faults.drop_notifications(1)
    env.emulator.post(TEAM, GENERAL, BOB, "<p>dropped</p>")
    faults.duplicate_notifications(1)
    twice = env.emulator.post(TEAM, GENERAL, BOB, "<p>twice</p>")
    assert env.emulator.wait_for_deliveries()
    faults.reorder_notifications(2)
    first = env.emulator.post(TEAM, GENERAL, BOB, "<p>first</p>")
    second = env.emulator.post(TEAM, GENERAL, BOB, "<p>second</p>")
    items = env.receiver.wait_for(4)
    assert env.emulator.wait_for_deliveries()
    assert [i["resourceData"]["id"] for i in items] == [twice.id, twice.id, second.id, first.id]
    assert items[0]["id"] == items[1]["id"]


def test_lifecycle_events(env: Env) -> None:
    sub_id = _subscribe(
        env,
        lifecycleNotificationUrl=f"{env.receiver.base}/lifecycle",
        expirationDateTime=iso(datetime.now(UTC) + timedelta(hours=6)),
    )
    assert env.emulator.lifecycle(sub_id, "reauthorizationRequired")
    [event] = env.receiver.wait_for(1, "lifecycle")
    assert event["lifecycleEvent"] == "reauthorizationRequired" and event["subscriptionId"] == sub_id
    assert event["clientState"] == "s3cret-state" and event["tenantId"] == TENANT
    env.emulator.post(TEAM, GENERAL, BOB, "<p>while paused</p>")
    assert env.emulator.wait_for_deliveries() and env.receiver.changes() == []

    async def reauthorize(client: httpx.AsyncClient) -> None:
        assert (await call(client, "POST", f"/subscriptions/{sub_id}/reauthorize")).status_code == 204

    env.run(reauthorize)
    env.emulator.post(TEAM, GENERAL, BOB, "<p>after reauthorize</p>")
    assert len(env.receiver.wait_for(1)) == 1
    assert env.emulator.lifecycle(sub_id, "missed")
    assert env.receiver.wait_for(2, "lifecycle")[-1]["lifecycleEvent"] == "missed"
    removed = httpx.post(
        f"{env.base}/_lifecycle",
        json={"subscriptionId": sub_id, "lifecycleEvent": "subscriptionRemoved"},
        trust_env=False,
    )
    assert removed.json() == {"sent": True}
    events = env.receiver.wait_for(3, "lifecycle")
    assert events[-1]["lifecycleEvent"] == "subscriptionRemoved"

    async def gone(client: httpx.AsyncClient) -> None:
        assert (await call(client, "GET", f"/subscriptions/{sub_id}")).status_code == 404

    env.run(gone)


# -- throttling and faults through msgraph-core's RetryHandler --


def test_429_retry_after_is_honoured_by_msgraph_core(env: Env) -> None:
    path = f"/teams/{TEAM}/channels"

    async def body(client: httpx.AsyncClient) -> None:
        env.emulator.faults.throttle(count=1, retry_after=1, path_prefix="/teams")
        started = time.monotonic()
        response = await call(client, "GET", path)
        assert response.status_code == 200
        assert time.monotonic() - started >= 1.0
        statuses = [r["status"] for r in env.emulator.requests if r["path"] == f"/v1.0{path}"]
        assert statuses == [429, 200]

        env.emulator.faults.throttle(count=1, retry_after=2)
        plain = await client.get(path)  # no kiota_request_options: msgraph-core skips its middleware
        assert plain.status_code == 429 and plain.headers["Retry-After"] == "2"
        assert plain.json()["error"]["code"] == "TooManyRequests"

    env.run(body)


def test_503_and_504_are_retried(env: Env) -> None:
    path = f"/users/{ALICE}"

    async def body(client: httpx.AsyncClient) -> None:
        env.emulator.faults.unavailable(count=2, status=503, path_prefix="/users")
        assert (await call(client, "GET", path)).status_code == 200
        env.emulator.faults.unavailable(count=1, status=504, retry_after=1)
        assert (await call(client, "GET", path)).status_code == 200
        statuses = [r["status"] for r in env.emulator.requests if r["path"] == f"/v1.0{path}"]
        assert statuses == [503, 503, 200, 504, 200]

    env.run(body)


def test_fault_endpoint_and_slow_answers(env: Env) -> None:
    faults_url = f"{env.base}/_faults"
    assert httpx.post(faults_url, json={"kind": "nope"}, trust_env=False).status_code == 400
    httpx.post(faults_url, json={"kind": "throttle", "retryAfter": 3, "pathPrefix": "/users"}, trust_env=False)

    async def body(client: httpx.AsyncClient) -> None:
        assert (await client.get(f"/teams/{TEAM}")).status_code == 200
        throttled = await client.get(f"/users/{ALICE}")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        env.emulator.faults.slow(0.5)
        started = time.monotonic()
        assert (await client.get(f"/users/{ALICE}")).status_code == 200
        assert time.monotonic() - started >= 0.5

    env.run(body)
    assert httpx.delete(faults_url, trust_env=False).status_code == 204


# -- $batch --


def test_batch_limits_depends_on_and_per_item_status(env: Env) -> None:
    # msgraph-core's BatchRequestContent cannot be imported here (its module needs the missing `deprecated`
    # package), so the batch bodies are written out as Graph documents them.
    items = [{"id": str(index), "method": "GET", "url": f"/users/{ALICE}"} for index in range(20)]

    async def body(client: httpx.AsyncClient) -> None:
        full = (await call(client, "POST", "/$batch", json={"requests": items})).json()["responses"]
        assert len(full) == 20 and {r["status"] for r in full} == {200}
        extra = {"id": "20", "method": "GET", "url": f"/users/{ALICE}"}
        too_many = await call(client, "POST", "/$batch", json={"requests": [*items, extra]})
        assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BadRequest"

        batch = {
            "requests": [
                {"id": "1", "method": "GET", "url": f"/teams/{TEAM}/channels"},
                {"id": "2", "method": "GET", "url": "/users/nobody@contoso.example"},
                {"id": "3", "method": "GET", "url": f"/users/{BOB}", "dependsOn": ["2"]},
                {
                    "id": "4",
                    "method": "POST",
                    "url": MESSAGES,
                    "headers": {"Content-Type": "application/json"},
                    "body": {"body": {"content": "From a batch"}},
                    "dependsOn": ["1"],
                },
                {"id": "5", "method": "GET", "url": f"/teams/{TEAM}/members", "dependsOn": ["4"]},
            ]
        }
        responses = {r["id"]: r for r in (await call(client, "POST", "/$batch", json=batch)).json()["responses"]}
        assert {k: r["status"] for k, r in responses.items()} == {"1": 200, "2": 404, "3": 424, "4": 201, "5": 200}
        assert responses["2"]["body"]["error"]["code"] == "Request_ResourceNotFound"
        assert responses["4"]["body"]["from"]["application"]["id"] == APP_ID
        assert len(responses["1"]["body"]["value"]) == 2

        env.emulator.faults.throttle(count=1, retry_after=2, path_prefix="/users")
        throttled = (
            await call(
                client,
                "POST",
                "/$batch",
                json={
                    "requests": [
                        {"id": "a", "method": "GET", "url": f"/users/{ALICE}"},
                        {"id": "b", "method": "GET", "url": f"/teams/{TEAM}"},
                    ]
                },
            )
        ).json()["responses"]
        assert throttled[0]["status"] == 429 and throttled[0]["headers"]["Retry-After"] == "2"
        assert throttled[1]["status"] == 200

        for bad in (
            [{"id": "x", "method": "GET", "url": "/me"}, {"id": "X", "method": "GET", "url": "/me"}],
            [{"id": "p", "method": "POST", "url": MESSAGES, "body": {"body": {"content": "no header"}}}],
            [{"id": "d", "method": "GET", "url": "/me", "dependsOn": ["missing"]}],
        ):
            assert (await call(client, "POST", "/$batch", json={"requests": bad})).status_code == 400

    env.run(body)


# -- activity feed --


def test_activity_notifications_are_validated_and_recorded(env: Env) -> None:
    notification = {
        "topic": {
            "source": "entityUrl",
            "value": f"https://graph.microsoft.com/v1.0/users/{ALICE}/teamwork/installedApps/abc",
        },
        "activityType": "badgeAwarded",
        "previewText": {"content": "You earned the Mentor badge"},
        "templateParameters": [{"name": "badgeName", "value": "Mentor"}],
    }

    async def body(client: httpx.AsyncClient) -> None:
        sent = await call(client, "POST", f"/users/{ALICE}/teamwork/sendActivityNotification", json=notification)
        assert sent.status_code == 204 and sent.content == b""
        by_upn = await call(
            client, "POST", "/users/bob@contoso.example/teamwork/sendActivityNotification", json=notification
        )
        assert by_upn.status_code == 204
        long_preview = {**notification, "previewText": {"content": "x" * 151}}
        assert (
            await call(client, "POST", f"/users/{ALICE}/teamwork/sendActivityNotification", json=long_preview)
        ).status_code == 400
        text_topic = {**notification, "topic": {"source": "text", "value": "Missions"}}
        assert (
            await call(client, "POST", f"/users/{ALICE}/teamwork/sendActivityNotification", json=text_topic)
        ).status_code == 400
        assert (
            await call(
                client, "POST", "/users/ghost@contoso.example/teamwork/sendActivityNotification", json=notification
            )
        ).status_code == 404
        recipients = [
            {"@odata.type": "microsoft.graph.aadUserNotificationRecipient", "userId": oid}
            for oid in (ALICE, BOB, CAROL)
        ]
        bulk = await call(
            client,
            "POST",
            "/teamwork/sendActivityNotificationToRecipients",
            json={**notification, "recipients": recipients},
        )
        assert bulk.status_code == 202
        too_many = await call(
            client,
            "POST",
            "/teamwork/sendActivityNotificationToRecipients",
            json={**notification, "recipients": recipients * 34},
        )
        assert too_many.status_code == 400

    env.run(body)
    recorded = env.emulator.activity_notifications
    assert [r["recipients"] for r in recorded] == [[ALICE], [BOB], [ALICE, BOB, CAROL]]
    assert recorded[0]["activityType"] == "badgeAwarded" and recorded[0]["from"] == {"application": APP_ID}
    assert datetime.fromisoformat(recorded[0]["at"]) <= datetime.now(UTC)
    log = httpx.get(f"{env.base}/_log", trust_env=False).json()
    assert len(log["activityNotifications"]) == 3
