"""GraphClient (msgraph-core underneath) against the Graph emulator mounted in the test app, in-process.

Retries are proven from the emulator's request log (what reached the server, in order) and the wall clock
(Retry-After is 1 s in these tests, so the waits stay short).
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from plugin.adapters.graph import AsyncWSGITransport, GraphClient, GraphError, flatten, parse_graph_datetime
from plugin.sandbox.aad_authority import DevAuthority
from plugin.sandbox.graph_emulator import GraphEmulator
from plugin.sandbox.scenario import Scenario, ScenarioChannel, ScenarioTeam
from tests.integration.graph_fixtures import Receiver, serve_http


@dataclass
class GraphWorld:
    """The emulator of the test app, a fresh team with two channels in its scenario, and a client."""

    app: Flask
    emulator: GraphEmulator
    scenario: Scenario
    graph: GraphClient
    team: str
    channel: str
    other_channel: str
    authors: list[str]
    now: datetime

    def post_roots(self, count: int, *, channel: str | None = None, start: datetime | None = None,
                   replies_every: int = 0) -> list[str]:
        """``count`` root posts a minute apart (and a reply on every ``replies_every``-th); returns root ids."""
        start = start or self.now - timedelta(days=3)
        ids = []
        for index in range(count):
            at = start + timedelta(minutes=index)
            author = self.authors[index % len(self.authors)]
            root = self.scenario.post(self.team, channel or self.channel, author, f"<p>Post {index}: our work</p>",
                                      at=at)
            ids.append(root.id)
            if replies_every and index % replies_every == 0:
                self.scenario.post(self.team, channel or self.channel, self.authors[(index + 1) % len(self.authors)],
                                   f"<p>Reply to {index}</p>", at=at + timedelta(seconds=20), reply_to=root.id)
        return ids

    def log(self, *, batch: bool | None = None) -> list[dict]:
        """The emulator's request log (optionally only batch items or only top-level requests)."""
        return [r for r in self.emulator.requests if batch is None or r["batch"] == batch]

    def messages_path(self, channel: str | None = None) -> str:
        return f"/teams/{self.team}/channels/{channel or self.channel}/messages"


def graph_world(app: Flask, authority: DevAuthority, **options) -> Iterator[GraphWorld]:
    """Build a GraphWorld (shared with the sync tests); closes the client afterwards."""
    emulator: GraphEmulator = app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
    scenario = emulator.scenario
    team = str(uuid.uuid4())
    channel, other = (f"19:{uuid.uuid4().hex}@thread.tacv2" for _ in range(2))
    authors = list(scenario.people)[:4]
    channels = {channel: ScenarioChannel(channel, "General"), other: ScenarioChannel(other, "Cases")}
    scenario.teams[team] = ScenarioTeam(team, "Advisory", channels=channels, members=authors, owners=authors[:1])
    client_id = app.config["AZURE_CLIENT_ID"]
    options.setdefault("retry_delay", 0.0)
    graph = GraphClient.from_app(app, lambda: authority.mint_app_token(client_id), **options)
    try:
        yield GraphWorld(app, emulator, scenario, graph, team, channel, other, authors, datetime.now(UTC))
    finally:
        graph.close()
        emulator.faults.clear()


@pytest.fixture
def world(app: Flask, authority: DevAuthority) -> Iterator[GraphWorld]:
    yield from graph_world(app, authority)


def test_the_sandbox_is_reached_in_process(app: Flask, world: GraphWorld) -> None:
    assert app.config["GRAPH_BASE_URL"] == f"{app.config['APP_BASE_URL']}/dev/graph"
    assert isinstance(world.graph._counter.inner, AsyncWSGITransport)
    assert world.graph.api_url.endswith("/dev/graph/v1.0")


# -- delta -------------------------------------------------------------------------------------------------------
def test_delta_follows_next_links_to_the_delta_link_and_resumes_from_it(world: GraphWorld) -> None:
    roots = world.post_roots(120, replies_every=10)
    pages = list(world.graph.channel_messages_delta(world.team, world.channel))
    assert [len(p.messages) for p in pages] == [50, 50, 20]
    assert [bool(p.next_link) for p in pages] == [True, True, False]
    assert [bool(p.delta_link) for p in pages] == [False, False, True]
    assert "$skiptoken=" in pages[0].next_link and "$deltatoken=" in pages[-1].delta_link
    assert [m["id"] for p in pages for m in p.messages] == roots  # oldest change first
    expanded = [m for p in pages for root in p.messages for m in flatten(root)]
    assert len(expanded) == 120 + 12 and all("replies" not in m for m in expanded)
    assert sum(1 for m in expanded if m["replyToId"]) == 12
    first = world.log()[0]["path"]
    assert "/messages/delta?" in first and "%24top=50" in first.replace("$", "%24") and "replies" in first

    fresh = world.scenario.post(world.team, world.channel, world.authors[0], "<p>New</p>")
    world.scenario.react(roots[3], world.authors[1], "👍")
    again = list(world.graph.channel_messages_delta(world.team, world.channel, pages[-1].delta_link))
    assert len(again) == 1 and {m["id"] for m in again[0].messages} == {roots[3], fresh.id}
    assert again[0].resume_link == again[0].delta_link


def test_delta_since_filters_on_last_modified(world: GraphWorld) -> None:
    world.post_roots(5, start=world.now - timedelta(days=40))
    recent = world.post_roots(3, start=world.now - timedelta(days=2))
    pages = list(world.graph.channel_messages_delta(world.team, world.channel, since=world.now - timedelta(days=10)))
    assert [m["id"] for p in pages for m in p.messages] == recent
    assert "lastModifiedDateTime+gt" in world.log()[0]["path"] or "lastModifiedDateTime%20gt" in world.log()[0]["path"]


# -- retries through msgraph-core's RetryHandler -----------------------------------------------------------------
def test_429_is_retried_after_its_retry_after(world: GraphWorld) -> None:
    world.emulator.faults.throttle(count=1, retry_after=1, path_prefix=f"/teams/{world.team}/channels")
    started = time.monotonic()
    channels = world.graph.channels(world.team)
    elapsed = time.monotonic() - started
    assert {c.display_name for c in channels} == {"General", "Cases"}
    assert [r["status"] for r in world.log()] == [429, 200]
    assert elapsed >= 1.0  # the handler waited the Retry-After (and not much more)
    assert elapsed < 5.0
    assert world.graph.request_count == 2


def test_503_and_504_are_retried(world: GraphWorld) -> None:
    world.emulator.faults.unavailable(count=2, status=503, path_prefix=f"/teams/{world.team}/members")
    members = world.graph.team_members(world.team)
    assert [m.user_id for m in members if m.is_owner] == world.authors[:1]
    assert [m.user_id for m in world.graph.team_owners(world.team)] == world.authors[:1]
    world.emulator.faults.unavailable(count=1, status=504, retry_after=1)
    assert len(world.graph.channels(world.team)) == 2
    assert [r["status"] for r in world.log()] == [503, 503, 200, 200, 504, 200]


def test_retries_run_out_into_a_graph_error(app: Flask, authority: DevAuthority) -> None:
    for world in graph_world(app, authority, max_retries=1):
        world.emulator.faults.throttle(count=3, retry_after=1)
        with pytest.raises(GraphError) as caught:
            world.graph.channels(world.team)
        assert caught.value.status == 429 and caught.value.retryable and caught.value.retry_after == 1
        assert caught.value.code == "TooManyRequests"
        assert [r["status"] for r in world.log()] == [429, 429]


def test_errors_carry_graphs_code(world: GraphWorld) -> None:
    with pytest.raises(GraphError) as caught:
        world.graph.get_message(world.team, world.channel, "1234")
    assert (caught.value.status, caught.value.retryable) == (404, False)
    assert caught.value.code and "404" in str(caught.value)


# -- messages and $batch -----------------------------------------------------------------------------------------
def test_get_message_and_reply(world: GraphWorld) -> None:
    [root] = world.post_roots(1, replies_every=1)
    reply = next(m for m in world.scenario.messages.values() if m.reply_to_id == root)
    message = world.graph.get_message(world.team, world.channel, root, expand_replies=True)
    assert message["id"] == root and [r["id"] for r in message["replies"]] == [reply.id]
    assert "replies" not in world.graph.get_message(world.team, world.channel, root)
    assert world.graph.find_message(world.team, world.channel, root, reply.id)["id"] == reply.id
    assert world.graph.find_message(world.team, world.channel, "1234") is None
    one = world.graph.get_message(world.team, world.channel, root, reply.id)
    assert one["replyToId"] == root and one["body"]["content"].startswith("<p>Reply")
    assert parse_graph_datetime(one["createdDateTime"]) == reply.created.replace(
        microsecond=reply.created.microsecond // 1000 * 1000)


def test_batch_of_45_resources_is_3_requests(world: GraphWorld) -> None:
    ids = world.post_roots(45)
    resources = [f"{world.messages_path()}/{i}" for i in ids]
    results = world.graph.get_messages_batch([*resources, f"{world.messages_path()}/999"])  # one unknown
    assert set(results) == set(resources)
    assert all(results[f"{world.messages_path()}/{i}"]["id"] == i for i in ids)
    assert [r["path"] for r in world.log(batch=False)] == ["/v1.0/$batch"] * 3
    assert len(world.log(batch=True)) == 46 and world.graph.request_count == 3


def test_throttled_batch_items_are_sent_again_after_their_retry_after(world: GraphWorld) -> None:
    ids = world.post_roots(45)
    throttled = f"{world.messages_path()}/{ids[30]}"
    world.emulator.faults.throttle(count=1, retry_after=1, path_prefix=throttled)
    outage = f"{world.messages_path()}/{ids[2]}"
    world.emulator.faults.unavailable(count=1, status=503, retry_after=1, path_prefix=outage)
    started = time.monotonic()
    results = world.graph.get_messages_batch([f"{world.messages_path()}/{i}" for i in ids])
    assert len(results) == 45 and time.monotonic() - started >= 1.0
    top_level = world.log(batch=False)
    assert len(top_level) == 4 and {r["status"] for r in top_level} == {200}  # 3 batches + 1 with the 2 retried
    statuses = [r["status"] for r in world.log(batch=True) if r["path"] == f"/v1.0{throttled}"]
    assert statuses == [429, 200]


def test_a_throttled_batch_request_itself_is_retried_by_msgraph_core(world: GraphWorld) -> None:
    ids = world.post_roots(3)
    world.emulator.faults.throttle(count=1, retry_after=1, path_prefix="/$batch")
    results = world.graph.get_messages_batch([f"{world.messages_path()}/{i}" for i in ids])
    assert len(results) == 3
    assert [r["status"] for r in world.log(batch=False)] == [429, 200]


# -- subscriptions and the activity feed --------------------------------------------------------------------------
@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_http(receiver.app):
        yield receiver


def test_subscription_create_renew_reauthorize_delete(world: GraphWorld, receiver: Receiver) -> None:
    resource = world.messages_path()
    expiration = world.now + timedelta(hours=2)
    created = world.graph.create_subscription(
        resource, notification_url=f"{receiver.base}/notify", lifecycle_url=f"{receiver.base}/lifecycle",
        expiration=expiration, client_state="s3cret",
    )
    assert created.resource == resource and created.change_type == "created,updated,deleted"
    assert created.client_state == "s3cret" and not created.include_resource_data
    assert abs((created.expiration - expiration).total_seconds()) < 1
    assert {h["path"] for h in receiver.handshakes} == {"notify", "lifecycle"}

    later = world.now + timedelta(days=2)
    renewed = world.graph.renew_subscription(created.id, later)
    assert renewed.id == created.id and abs((renewed.expiration - later).total_seconds()) < 1
    world.graph.reauthorize_subscription(created.id)
    world.graph.delete_subscription(created.id)
    with pytest.raises(GraphError) as gone:
        world.graph.renew_subscription(created.id, later)
    assert gone.value.status == 404

    receiver.mode = "encoded"  # a receiver that echoes the token wrongly: Graph refuses the subscription
    with pytest.raises(GraphError) as refused:
        world.graph.create_subscription(resource, notification_url=f"{receiver.base}/notify",
                                        expiration=world.now + timedelta(minutes=30))
    assert (refused.value.status, refused.value.code) == (400, "ValidationError")


def test_send_activity_notification(world: GraphWorld) -> None:
    payload = {
        "topic": {"source": "text", "value": "Missions", "webUrl": "https://teams.microsoft.com/l/entity/x/y"},
        "activityType": "systemDefault",
        "previewText": {"content": "You earned the Mentor badge"},
        "templateParameters": [{"name": "systemDefaultText", "value": "Mentor"}],
    }
    world.graph.send_activity_notification(world.authors[1], payload)
    [recorded] = world.emulator.activity_notifications
    assert recorded["recipients"] == [world.authors[1]] and recorded["from"]["application"]


def test_a_forgotten_client_is_closed_when_collected(app: Flask) -> None:
    graph = GraphClient.from_app(app, lambda: "unused")
    loop = graph._loop
    del graph
    gc.collect()
    assert not loop.running


def test_a_closed_client_refuses_calls(world: GraphWorld) -> None:
    world.graph.close()
    world.graph.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        world.graph.channels(world.team)
