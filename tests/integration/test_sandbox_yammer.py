"""The Yammer emulator over real HTTPS with httpx and delegated tokens from the dev authority."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from plugin.sandbox.aad import GRAPH_RESOURCE, YAMMER_RESOURCE, ClientRegistration, DevAuthority, DevUser
from plugin.sandbox.aad_grants import GRANT_JWT_BEARER
from plugin.sandbox.generator import GeneratedScenario, generate_scenario
from plugin.sandbox.yammer_app import YammerEmulator, create_yammer_app
from tests.integration.sandbox_server import TlsFiles, serve, tls_files

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

TENANT = "3f6a9c2e-8d41-4b7a-9e05-1c2d3e4f5a6b"
APP_ID = "6c1f2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
OTHER_APP_ID = "7d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"
SECRET = "dev-secret-" + "y" * 24
SEED = 11
TOKEN_NOT_FOUND = {"response": {"message": "Token not found.", "code": 16, "stat": "fail"}}
# Every key of the captured message in the reference (pnp/cli-microsoft365 message-get.mdx).
MESSAGE_KEYS = {
    "id", "sender_id", "delegate_id", "replied_to_id", "created_at", "network_id", "message_type", "sender_type",
    "url", "web_url", "group_id", "body", "thread_id", "client_type", "client_url", "system_message",
    "direct_message", "chat_client_sequence", "language", "notified_user_ids", "privacy", "attachments", "liked_by",
    "supplemental_reply", "content_excerpt",
}  # fmt: skip


def _scenario() -> GeneratedScenario:
    return generate_scenario(
        people=8,
        teams=2,
        messages=40,
        community_messages=70,
        communities=2,
        start=datetime(2026, 1, 5, tzinfo=UTC),
        end=datetime(2026, 3, 2, tzinfo=UTC),
        seed=SEED,
        tenant_id=TENANT,
    )


class FakeClock:
    """The emulator's clock; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Yammer:
    base: str
    api: str
    emulator: YammerEmulator
    scenario: GeneratedScenario
    authority: DevAuthority
    clock: FakeClock
    http: httpx.Client

    def token(self, oid: str, *, resource: str = YAMMER_RESOURCE, client_id: str = APP_ID) -> str:
        """A delegated token for ``oid``, obtained by on-behalf-of from a Teams SSO token, in-process."""
        form = {
            "grant_type": GRANT_JWT_BEARER,
            "client_id": client_id,
            "client_secret": SECRET,
            "assertion": self.authority.mint_sso_token(oid, client_id=client_id),
            "scope": f"{resource}/.default",
            "requested_token_use": "on_behalf_of",
        }
        return self.authority.token_response(TENANT, form)["access_token"]

    def get(self, path: str, oid: str, **params: Any) -> httpx.Response:
        """A GET as a polite client would send it: at most 10 per 30 s of emulator time."""
        self.clock.advance(3.01)
        return self.http.get(f"{self.api}{path}", params=params, headers=_bearer(self.token(oid)))

    def group(self, community_id: int) -> list[int]:
        """Ids of a community's messages in the scenario, newest first."""
        ids = [m.id for m in self.scenario.community_messages.values() if m.community_id == community_id]
        return sorted(ids, reverse=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def authority() -> DevAuthority:
    users = {p.oid: DevUser(p.oid, p.name, p.upn) for p in _scenario().people.values()}
    consent = {YAMMER_RESOURCE: ("user_impersonation",), GRAPH_RESOURCE: ("User.Read",)}
    clients = {
        APP_ID: ClientRegistration(
            APP_ID, client_secret=SECRET, app_id_uri=f"api://ambassador.example.com/{APP_ID}", consented_scopes=consent
        ),
        OTHER_APP_ID: ClientRegistration(
            OTHER_APP_ID,
            client_secret=SECRET,
            app_id_uri=f"api://other.example.com/{OTHER_APP_ID}",
            consented_scopes=consent,
        ),
    }
    return DevAuthority(tenant_id=TENANT, issuer_host="https://login.example.test", clients=clients, users=users)


class _Current:
    """The WSGI app of the running test: one server per module, a fresh emulator and scenario per test."""

    app: Flask | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass(frozen=True)
class Server:
    base: str
    current: _Current
    http: httpx.Client


@pytest.fixture(scope="module")
def server(tls: TlsFiles) -> Iterator[Server]:
    current = _Current()

    def build(base: str) -> DispatcherMiddleware:
        return DispatcherMiddleware(Flask("host"), {"/dev/yammer": current})

    with serve(build, tls) as (base, _), httpx.Client(verify=tls.client_context(), trust_env=False) as http:
        yield Server(base, current, http)


@pytest.fixture
def yammer(server: Server, authority: DevAuthority) -> Yammer:
    scenario = _scenario()
    clock = FakeClock()
    server.current.app = create_yammer_app(scenario=scenario, authority=authority, clock=clock)
    emulator = server.current.app.extensions["yammer_emulator"]
    return Yammer(server.base, f"{server.base}/dev/yammer/api/v1", emulator, scenario, authority, clock, server.http)


@pytest.fixture
def alice(yammer: Yammer) -> str:
    return next(iter(yammer.scenario.people))


@pytest.fixture
def bob(yammer: Yammer) -> str:
    return list(yammer.scenario.people)[1]


@pytest.fixture
def group_id(yammer: Yammer) -> int:
    """The busiest community."""
    return max(yammer.scenario.communities, key=lambda cid: len(yammer.group(cid)))


# -- reading a community --


def test_paging_with_older_than_returns_every_message_once(yammer: Yammer, alice: str, group_id: int) -> None:
    expected = yammer.group(group_id)
    assert len(expected) > 40  # at least three pages
    seen: list[int] = []
    params: dict[str, Any] = {}
    pages = 0
    while True:
        body = yammer.get(f"/messages/in_group/{group_id}.json", alice, **params).json()
        pages += 1
        ids = [m["id"] for m in body["messages"]]
        assert ids == sorted(ids, reverse=True)
        assert len(ids) == 20 or not body["meta"]["older_available"]
        seen += ids
        if not body["meta"]["older_available"]:
            break
        params = {"older_than": ids[-1]}
    assert seen == expected
    assert pages == -(-len(expected) // 20)
    empty = yammer.get(f"/messages/in_group/{group_id}.json", alice, older_than=expected[-1]).json()
    assert empty["messages"] == [] and empty["meta"]["older_available"] is False


def test_newer_than_polling_sees_only_new_posts(yammer: Yammer, alice: str, bob: str, group_id: int) -> None:
    newest = yammer.get(f"/messages/in_group/{group_id}.json", alice).json()["messages"][0]["id"]
    assert yammer.get(f"/messages/in_group/{group_id}.json", alice, newer_than=newest).json()["messages"] == []

    first = yammer.scenario.post_in_community(group_id, bob, "Eerste nieuwe post over procesmining.")
    response = yammer.http.post(
        f"{yammer.api}/messages.json",
        data={"body": "Second new post", "group_id": group_id},
        headers=_bearer(yammer.token(bob)),
    )
    assert response.status_code == 201
    second = response.json()["messages"][0]["id"]
    yammer.scenario.post_in_community(999, bob, "elsewhere")  # another group: never in this feed

    polled = yammer.get(f"/messages/in_group/{group_id}.json", alice, newer_than=newest).json()
    assert [m["id"] for m in polled["messages"]] == [second, first.id]
    assert polled["meta"]["older_available"] is False
    again = yammer.get(f"/messages/in_group/{group_id}.json", alice, newer_than=second).json()
    assert again["messages"] == []


def test_newer_than_with_many_new_posts_pages_back_within_the_window(yammer: Yammer, alice: str, group_id: int) -> None:
    newest = yammer.group(group_id)[0]
    new = [yammer.scenario.post_in_community(group_id, alice, f"post {n}").id for n in range(25)]
    page = yammer.get(f"/messages/in_group/{group_id}.json", alice, newer_than=newest).json()
    assert [m["id"] for m in page["messages"]] == new[::-1][:20]
    assert page["meta"]["older_available"] is True
    rest = yammer.get(
        f"/messages/in_group/{group_id}.json", alice, newer_than=newest, older_than=page["messages"][-1]["id"]
    ).json()
    assert [m["id"] for m in rest["messages"]] == new[4::-1]
    assert rest["meta"]["older_available"] is False


@pytest.mark.parametrize(("limit", "count"), [(None, 20), (5, 5), (21, 20), (500, 20), (0, 1)])
def test_limit_defaults_to_and_is_capped_at_twenty(
    yammer: Yammer, alice: str, group_id: int, limit: int | None, count: int
) -> None:
    params = {} if limit is None else {"limit": limit}
    body = yammer.get(f"/messages/in_group/{group_id}.json", alice, **params).json()
    assert [m["id"] for m in body["messages"]] == yammer.group(group_id)[:count]


def test_message_shape_and_references(yammer: Yammer, alice: str, group_id: int) -> None:
    body = yammer.get(f"/messages/in_group/{group_id}.json", alice).json()
    assert {"messages", "references", "meta"} <= body.keys()
    community = yammer.scenario.communities[group_id]
    people = {p.yammer_id: p for p in yammer.scenario.people.values()}
    refs = {(r["type"], r["id"]): r for r in body["references"]}
    for message in body["messages"]:
        assert set(message) == MESSAGE_KEYS
        source = yammer.scenario.community_messages[message["id"]]
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \+0000", message["created_at"])
        assert message["created_at"] == source.created.strftime("%Y/%m/%d %H:%M:%S +0000")
        assert message["sender_id"] == yammer.scenario.people[source.sender_oid].yammer_id
        assert (message["group_id"], message["network_id"]) == (group_id, community.network_id)
        assert (message["message_type"], message["sender_type"], message["privacy"]) == ("update", "user", "public")
        assert message["url"] == f"{yammer.api}/messages/{message['id']}"
        assert message["web_url"].endswith(f"/messages/{message['id']}")
        assert message["thread_id"] == source.thread_id
        assert message["replied_to_id"] == source.replied_to_id
        assert (message["thread_id"] == message["id"]) == (message["replied_to_id"] is None)
        assert message["system_message"] is False and message["direct_message"] is False
        assert set(message["body"]) == {"parsed", "plain", "rich"}
        assert message["body"]["parsed"] == source.body_plain
        assert "[[user:" not in message["body"]["plain"]
        assert message["liked_by"]["count"] == len(source.liked_by)
        expected_names = [
            {
                "full_name": yammer.scenario.people[oid].name,
                "permalink": yammer.scenario.people[oid].upn.split("@")[0],
                "user_id": yammer.scenario.people[oid].yammer_id,
            }
            for oid in source.liked_by
        ]
        assert message["liked_by"]["names"] == expected_names
        assert message["notified_user_ids"] == [int(u) for u in re.findall(r"\[\[user:(\d+)\]\]", source.body_plain)]
        sender = refs[("user", message["sender_id"])]
        assert sender["full_name"] == people[message["sender_id"]].name
        assert ("thread", message["thread_id"]) in refs
    assert any(m["liked_by"]["count"] for m in body["messages"])
    assert refs[("group", group_id)]["full_name"] == community.name
    assert body["meta"]["current_user_id"] == yammer.scenario.people[alice].yammer_id
    assert body["meta"]["requested_poll_interval"] == 60


def test_mentions_render_in_parsed_plain_and_rich(yammer: Yammer, alice: str, bob: str, group_id: int) -> None:
    bob_person = yammer.scenario.people[bob]
    posted = yammer.scenario.post_in_community(
        group_id, alice, f"Vraag voor [[user:{bob_person.yammer_id}]]: zie https://example.com/x"
    )
    message = yammer.get(f"/messages/{posted.id}.json", alice).json()
    assert message["body"]["plain"] == f"Vraag voor @{bob_person.upn.split('@')[0]}: zie https://example.com/x"
    assert f"data-yammer-object='user:{bob_person.yammer_id}'" in message["body"]["rich"]
    assert '<a href="https://example.com/x"' in message["body"]["rich"]
    assert message["notified_user_ids"] == [bob_person.yammer_id]
    assert message["language"] == "nl"


def test_threaded_true_and_extended(yammer: Yammer, alice: str, group_id: int) -> None:
    messages = yammer.scenario.community_messages
    starters = [i for i in yammer.group(group_id) if messages[i].replied_to_id is None]
    threaded = yammer.get(f"/messages/in_group/{group_id}.json", alice, threaded="true").json()
    assert [m["id"] for m in threaded["messages"]] == starters[:20]

    extended = yammer.get(f"/messages/in_group/{group_id}.json", alice, threaded="extended").json()
    assert [m["id"] for m in extended["messages"]] == starters[:20]
    replies_shown = 0
    for starter in starters[:20]:
        replies = sorted(m.id for m in messages.values() if m.thread_id == starter and m.id != starter)
        shown = [m["id"] for m in extended["threaded_extended"][str(starter)]]
        assert shown == replies[-2:]
        replies_shown += len(shown)
    assert replies_shown > 0


def test_single_message_and_unknown_ids(yammer: Yammer, alice: str, group_id: int) -> None:
    message_id = yammer.group(group_id)[3]
    message = yammer.get(f"/messages/{message_id}.json", alice).json()
    assert message["id"] == message_id and set(message) == MESSAGE_KEYS
    assert yammer.get("/messages/1.json", alice).status_code == 404
    missing = yammer.get("/messages/in_group/42.json", alice)
    assert missing.status_code == 404
    assert missing.json()["response"]["stat"] == "fail"
    bad = yammer.get(f"/messages/in_group/{group_id}.json", alice, older_than="yesterday")
    assert bad.status_code == 400


# -- posting --


def test_post_creates_a_message_visible_in_the_group(yammer: Yammer, alice: str, bob: str, group_id: int) -> None:
    response = yammer.http.post(
        f"{yammer.api}/messages.json",
        data={"body": "Mijn les van vandaag: begin klein.", "group_id": str(group_id)},
        headers=_bearer(yammer.token(alice)),
    )
    assert response.status_code == 201
    created = response.json()["messages"][0]
    assert created["sender_id"] == yammer.scenario.people[alice].yammer_id
    assert created["thread_id"] == created["id"] and created["replied_to_id"] is None
    assert created["client_type"] == "O365 Api Auth"
    assert created["created_at"] == datetime.fromtimestamp(yammer.clock.now, UTC).strftime("%Y/%m/%d %H:%M:%S +0000")
    assert [m.id for m in yammer.emulator.posted] == [created["id"]]
    assert yammer.scenario.community_messages[created["id"]].sender_oid == alice

    reply = yammer.http.post(
        f"{yammer.api}/messages.json",
        json={"body": "Mee eens!", "replied_to_id": created["id"]},
        headers=_bearer(yammer.token(bob)),
    ).json()["messages"][0]
    assert (reply["thread_id"], reply["replied_to_id"], reply["group_id"]) == (created["id"], created["id"], group_id)

    feed = yammer.get(f"/messages/in_group/{group_id}.json", alice).json()
    assert [m["id"] for m in feed["messages"][:2]] == [reply["id"], created["id"]]
    assert ("user", reply["sender_id"]) in {(r["type"], r["id"]) for r in feed["references"]}


BAD_POSTS = [
    ({"group_id": "31158067201"}, 400),  # no body
    ({"body": "x"}, 400),  # neither group nor parent
    ({"body": "x", "group_id": "42"}, 404),
    ({"body": "x", "replied_to_id": "5"}, 404),
    ({"body": "x", "group_id": "31158067201", "direct_to_user_ids": "1"}, 400),
    ({"body": "x", "group_id": "a group"}, 400),
]


@pytest.mark.parametrize(("fields", "status"), BAD_POSTS)
def test_post_rejects_bad_input(yammer: Yammer, alice: str, fields: dict[str, str], status: int) -> None:
    before = len(yammer.scenario.community_messages)
    response = yammer.http.post(f"{yammer.api}/messages.json", data=fields, headers=_bearer(yammer.token(alice)))
    assert response.status_code == status
    assert response.json()["response"]["stat"] == "fail"
    assert len(yammer.scenario.community_messages) == before and yammer.emulator.posted == []


# -- auth --


def _expired_token(yammer: Yammer, oid: str) -> str:
    claims = jwt.decode(yammer.token(oid), options={"verify_signature": False})
    now = int(time.time())
    claims |= {"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}
    return yammer.authority.keys.sign(claims)


def _bad_headers(yammer: Yammer, oid: str, kind: str) -> dict[str, str]:
    if kind == "missing":
        return {}
    if kind == "basic":
        return {"Authorization": "Basic YWxpY2U6c2VjcmV0"}
    if kind == "expired":
        return _bearer(_expired_token(yammer, oid))
    if kind == "graph audience":
        return _bearer(yammer.token(oid, resource=GRAPH_RESOURCE))
    if kind == "foreign key":
        claims = {"aud": YAMMER_RESOURCE, "tid": TENANT, "oid": oid, "scp": "user_impersonation"}
        return _bearer(jwt.encode(claims, "k" * 32, algorithm="HS256"))
    return _bearer("not-a-jwt")


@pytest.mark.parametrize("kind", ["missing", "garbage", "basic", "expired", "graph audience", "foreign key"])
def test_bad_tokens_get_code_16(yammer: Yammer, alice: str, group_id: int, kind: str) -> None:
    headers = _bad_headers(yammer, alice, kind)
    response = yammer.http.get(f"{yammer.api}/messages/in_group/{group_id}.json", headers=headers)
    assert response.status_code == 401
    assert response.json() == TOKEN_NOT_FOUND


def test_app_only_token_is_forbidden(yammer: Yammer, group_id: int) -> None:
    token = yammer.authority.mint_app_token(APP_ID, YAMMER_RESOURCE)
    response = yammer.http.get(f"{yammer.api}/messages/in_group/{group_id}.json", headers=_bearer(token))
    assert response.status_code == 403
    assert response.json() == {
        "response": {"message": "Only delegated access is supported for Yammer APIs.", "code": 403, "stat": "fail"}
    }


# -- rate limits and faults --


def test_eleventh_request_in_thirty_seconds_is_throttled(yammer: Yammer, alice: str, bob: str, group_id: int) -> None:
    url = f"{yammer.api}/messages/in_group/{group_id}.json"
    token = _bearer(yammer.token(alice))
    for _ in range(10):
        assert yammer.http.get(url, headers=token).status_code == 200
        yammer.clock.advance(1)
    throttled = yammer.http.get(url, headers=token)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "20"
    assert throttled.json() == {
        "response": {"message": "Rate limited due to excessive requests.", "code": 429, "stat": "fail"}
    }
    # Per user and per app: Bob, and Alice through another app, are not affected.
    assert yammer.http.get(url, headers=_bearer(yammer.token(bob))).status_code == 200
    assert yammer.http.get(url, headers=_bearer(yammer.token(alice, client_id=OTHER_APP_ID))).status_code == 200
    yammer.clock.advance(19)
    again = yammer.http.get(url, headers=token)  # refused requests do not count, the first one is still in
    assert (again.status_code, again.headers["Retry-After"]) == (429, "1")
    yammer.clock.advance(1)
    assert yammer.http.get(url, headers=token).status_code == 200
    assert yammer.http.get(url, headers=token).status_code == 429  # the second request is still in the window
    yammer.clock.advance(1)
    assert yammer.http.get(url, headers=token).status_code == 200


def test_injected_faults_apply_to_the_next_requests_in_order(yammer: Yammer, alice: str, group_id: int) -> None:
    slept: list[float] = []
    yammer.emulator.sleep = slept.append
    faults = yammer.emulator.faults
    faults.throttle(2, retry_after=7)
    faults.unavailable(1, status=504)
    faults.slow(1.5)
    faults.throttle(1, path_prefix="/messages/99")  # another path: never fires here
    assert faults.pending() == 5
    answers = [yammer.get(f"/messages/in_group/{group_id}.json", alice) for _ in range(5)]
    assert [r.status_code for r in answers] == [429, 429, 504, 200, 200]
    assert [r.headers.get("Retry-After") for r in answers[:3]] == ["7", "7", None]
    assert answers[0].json()["response"]["message"] == "Rate limited due to excessive requests."
    assert answers[2].json()["response"]["code"] == 504
    assert slept == [1.5]  # the slow fault fired with the first request, alongside the first 429
    assert faults.pending() == 1
    assert [record.status for record in list(yammer.emulator.requests)[-5:]] == [429, 429, 504, 200, 200]
    # Answers by injected faults do not count against the rate limit: only the two 200s do.
    assert yammer.emulator.limiter.remaining((alice, APP_ID)) == 10 - 2


def test_faults_over_http(yammer: Yammer, alice: str, group_id: int) -> None:
    control = f"{yammer.base}/dev/yammer/_faults"
    added = yammer.http.post(control, json={"kind": "unavailable", "count": 2, "retryAfter": 4})
    assert added.status_code == 200 and added.json()[0]["remaining"] == 2
    assert yammer.http.post(control, json={"kind": "explode"}).status_code == 400
    assert yammer.get(f"/messages/in_group/{group_id}.json", alice).status_code == 503
    assert yammer.http.get(control).json()[0]["remaining"] == 1
    assert yammer.http.delete(control).status_code == 204
    assert yammer.get(f"/messages/in_group/{group_id}.json", alice).status_code == 200
    log = yammer.http.get(f"{yammer.base}/dev/yammer/_log").json()
    assert [r["status"] for r in log["requests"]] == [503, 200] and log["posted"] == []


def test_slow_fault_really_delays_the_answer(yammer: Yammer, alice: str, group_id: int) -> None:
    yammer.emulator.faults.slow(0.8)
    url = f"{yammer.api}/messages/in_group/{group_id}.json"
    with pytest.raises(httpx.ReadTimeout):
        yammer.http.get(url, headers=_bearer(yammer.token(alice)), timeout=httpx.Timeout(10.0, read=0.2))
    started = time.monotonic()
    assert yammer.get(f"/messages/in_group/{group_id}.json", alice).status_code == 200  # the next one is not slow
    assert time.monotonic() - started < 0.6
    while len(yammer.emulator.requests) < 2:  # let the slow request finish before the server stops
        time.sleep(0.02)
