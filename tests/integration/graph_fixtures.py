"""Helpers for the Graph emulator tests: a scenario, plain-HTTP servers, a webhook receiver, a msgraph-core client."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request
from kiota_http.middleware.options import RetryHandlerOption
from msgraph_core import GraphClientFactory
from werkzeug.serving import make_server

from plugin.sandbox.aad import GRAPH_RESOURCE, ClientRegistration, DevUser
from plugin.sandbox.scenario import Scenario, ScenarioChannel, ScenarioPerson, ScenarioTeam
from tests.integration.sandbox_server import _QuietHandler, self_signed_cert

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

TENANT = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
APP_ID = "2b3c4d5e-6f70-4a1b-8c2d-3e4f5a6b7c8d"
NO_ROLES_APP_ID = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
SECRET = "graph-test-secret-" + "y" * 20
ALICE = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
CAROL = "ca201000-0000-4000-8000-000000000003"
TEAM = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b"
GENERAL = "19:9f1e2d3c4b5a49688776655443322110@thread.tacv2"
RANDOM = "19:0a1b2c3d4e5f40718293a4b5c6d7e8f9@thread.tacv2"
ROOTS_RECENT = 23  # root posts in the last weeks (General)
GRAPH_ROLES = ("ChannelMessage.Read.All", "TeamsActivity.Send", "TeamMember.Read.All", "User.Read.All")

USERS = {
    ALICE: DevUser(ALICE, "Alice Jansen", "alice@contoso.example"),
    BOB: DevUser(BOB, "Bob de Boer", "bob@contoso.example"),
    CAROL: DevUser(CAROL, "Carol Visser", "carol@contoso.example"),
}
CLIENTS = {
    APP_ID: ClientRegistration(
        APP_ID,
        client_secret=SECRET,
        app_id_uri=f"api://ambassador.example.com/{APP_ID}",
        app_roles={GRAPH_RESOURCE: GRAPH_ROLES},
        consented_scopes={GRAPH_RESOURCE: ("ChannelMessage.Send", "ChannelMessage.Read.All")},
        display_name="Ambassador",
    ),
    NO_ROLES_APP_ID: ClientRegistration(NO_ROLES_APP_ID, client_secret=SECRET),
}


def build_scenario(now: datetime) -> Scenario:
    """One team with two channels; General has old posts, recent threads, reactions, mentions, files and a bot."""
    scenario = Scenario(tenant_id=TENANT)
    for user in USERS.values():
        scenario.people[user.oid] = ScenarioPerson(user.oid, user.name, user.preferred_username)
    scenario.teams[TEAM] = ScenarioTeam(
        TEAM,
        "Advisory",
        channels={GENERAL: ScenarioChannel(GENERAL, "General"), RANDOM: ScenarioChannel(RANDOM, "Random")},
        members=[ALICE, BOB, CAROL],
        owners=[ALICE],
    )
    scenario.post(TEAM, GENERAL, BOB, "<p>Nine months ago</p>", at=now - timedelta(days=275))
    scenario.post(TEAM, GENERAL, BOB, "<p>Seven months ago</p>", at=now - timedelta(days=210))
    authors = [ALICE, BOB, CAROL]
    for index in range(ROOTS_RECENT):
        at = now - timedelta(days=30) + timedelta(hours=index * 7)
        root = scenario.post(TEAM, GENERAL, authors[index % 3], f"<p>Post {index} about our work</p>", at=at)
        if index % 4 == 0:
            scenario.post(
                TEAM,
                GENERAL,
                authors[(index + 1) % 3],
                f"<p>Reply to {index}</p>",
                at=at + timedelta(minutes=5),
                reply_to=root.id,
            )
        if index % 5 == 0:
            scenario.react(root.id, authors[(index + 2) % 3], "like", at=at + timedelta(minutes=9))
            scenario.react(root.id, authors[(index + 1) % 3], "👍", at=at + timedelta(minutes=10))
    scenario.post(
        TEAM,
        GENERAL,
        ALICE,
        '<p>Thanks <at id="0">Bob de Boer</at>, see the deck <attachment id="f1"></attachment></p>',
        at=now - timedelta(hours=3),
        mentions=[
            {
                "id": 0,
                "mentionText": "Bob de Boer",
                "mentioned": {
                    "application": None,
                    "device": None,
                    "conversation": None,
                    "user": {"id": BOB, "displayName": "Bob de Boer", "userIdentityType": "aadUser"},
                },
            }
        ],
        attachments=[
            {
                "id": "f1",
                "contentType": "reference",
                "contentUrl": "https://contoso.sharepoint.com/sites/advisory/Shared%20Documents/deck.pptx",
                "content": None,
                "name": "deck.pptx",
                "thumbnailUrl": None,
                "teamsAppId": None,
            },
            {
                "id": "1700000000000",
                "contentType": "messageReference",
                "contentUrl": None,
                "content": '{"messageId":"1700000000000","messagePreview":"Earlier post"}',
                "name": None,
                "thumbnailUrl": None,
                "teamsAppId": None,
            },
        ],
    )
    scenario.post(
        TEAM, GENERAL, None, "<p>Weekly digest</p>", at=now - timedelta(hours=2), application_name="Digest Bot"
    )
    scenario.post(TEAM, RANDOM, CAROL, "<p>Coffee?</p>", at=now - timedelta(hours=1))
    return scenario


def general_roots(scenario: Scenario, *, within_days: int | None = None, now: datetime | None = None) -> list[str]:
    """Ids of General's root posts, optionally only those created in the last ``within_days``."""
    roots = [m for m in scenario.channel_messages(TEAM, GENERAL) if m.reply_to_id is None]
    if within_days is not None and now is not None:
        roots = [m for m in roots if m.created >= now - timedelta(days=within_days)]
    return [m.id for m in roots]


class _Deferred:
    app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@contextmanager
def serve_http(build: Callable[[str], WSGIApplication]) -> Iterator[str]:
    """Serve ``build(base_url)`` over plain HTTP on a free loopback port until the block ends."""
    deferred = _Deferred()
    server = make_server("127.0.0.1", 0, deferred, threaded=True, request_handler=_QuietHandler)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        deferred.app = build(base)
    except BaseException:
        server.server_close()
        raise
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="graph-test-server", daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class Receiver:
    """A webhook endpoint: answers Graph's validation handshake (``mode``) and records notifications."""

    mode: str = "echo"  # echo | encoded | json | status500 | slow
    base: str = ""
    handshakes: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 503
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def app(self, base: str) -> Flask:
        """The receiver's WSGI app, served at ``base``."""
        self.base = base
        app = Flask("graph-test-receiver")

        @app.post("/<path:kind>")
        def receive(kind: str) -> Response | tuple[str, int]:
            token = request.args.get("validationToken")
            if token is not None:
                self.handshakes.append(
                    {
                        "path": kind,
                        "token": token,
                        "contentType": request.content_type,
                        "query": request.query_string.decode(),
                    }
                )
                return self._answer_handshake(token)
            with self._cond:
                if self.fail_next:
                    self.fail_next -= 1
                    return "busy", self.fail_status
                self.posts.append({"path": kind, "body": request.get_json(force=True)})
                self._cond.notify_all()
            return "", 202

        return app

    def _answer_handshake(self, token: str) -> Response | tuple[str, int]:
        if self.mode == "encoded":
            return Response(quote(token), mimetype="text/plain")
        if self.mode == "json":
            return Response(f'"{token}"', mimetype="application/json")
        if self.mode == "status500":
            return "nope", 500
        if self.mode == "slow":
            time.sleep(1.5)
        return Response(token, mimetype="text/plain")

    def changes(self, path: str = "notify") -> list[dict[str, Any]]:
        """Notification items received on ``path``, in arrival order."""
        return [item for post in self.posts if post["path"] == path for item in post["body"]["value"]]

    def wait_for(self, count: int, path: str = "notify", timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``count`` notification items arrived on ``path``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.changes(path)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self.changes(path)


@dataclass(frozen=True)
class EncryptionCert:
    """The subscriber's key pair for includeResourceData."""

    private_key: rsa.RSAPrivateKey
    certificate_b64: str


def encryption_cert() -> EncryptionCert:
    """A fresh self-signed RSA-2048 certificate as Graph wants it (base64 DER) with its private key."""
    _, key_pem, cert = self_signed_cert("ambassador-notifications")
    private_key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    der = cert.public_bytes(serialization.Encoding.DER)
    return EncryptionCert(private_key, base64.b64encode(der).decode("ascii"))


@asynccontextmanager
async def graph_client(base_url: str, token: str | None) -> AsyncIterator[httpx.AsyncClient]:
    """msgraph-core's default-middleware client pointed at the emulator (``{base}/v1.0``)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = httpx.AsyncClient(base_url=f"{base_url}/v1.0", headers=headers, timeout=20, trust_env=False)
    client = GraphClientFactory.create_with_default_middleware(client=client)
    async with client:
        yield client


async def call(client: httpx.AsyncClient, method: str, url: str, *, retries: int = 3, **kwargs: Any) -> httpx.Response:
    """Send through the middleware pipeline: without ``kiota_request_options`` msgraph-core skips retries."""
    request_ = client.build_request(method, url, **kwargs)
    request_.extensions["kiota_request_options"] = {
        RetryHandlerOption.get_key(): RetryHandlerOption(delay=0.0, max_retries=retries)
    }
    return await client.send(request_)


def iso(moment: datetime) -> str:
    """A Graph-style ISO timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
