"""Graph and Yammer messages become Activity rows (features only, never text); the inbox processes them once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.domain.text import tokens
from plugin.models import Activity, AuditEntry, Community, InboxItem, PointsEntry
from plugin.sandbox.scenario import CommunityMessage, ScenarioCommunity, ScenarioPerson
from plugin.sandbox.yammer_render import RenderContext, message_json, references, yammer_user_id
from plugin.services import inbox as inbox_service
from plugin.services.inbox import (
    claim_batch,
    process_item,
    process_pending,
    requeue_stuck,
    store_notifications,
)
from plugin.services.ingest import ingest_channel_message, ingest_community_message, parse_time
from plugin.services.progress import recompute_cohort, recompute_people
from tests.factories import make_person, make_team
from tests.integration.ingest_fixtures import (
    IN_WEEK_1,
    KNOWLEDGE_HTML,
    LATER,
    badges_of,
    chat_message,
    points_of,
    reaction,
    setup_cohort,
)

TEAM, CHANNEL = "team-1", "19:general@thread.tacv2"
FILE = {"id": "f1", "contentType": "reference", "name": "deck.pptx", "thumbnailUrl": None, "teamsAppId": None,
        "contentUrl": "https://contoso.sharepoint.com/sites/advisory/Shared%20Documents/deck.pptx", "content": None}
MENTION_HTML = (
    '<p>Great overview <at id="0">Bob de Boer</at>, I used this checklist in three client workshops and it saved '
    'us hours of preparation; details on <a href="https://example.com/checklist">our wiki</a> and the deck '
    '<attachment id="f1"></attachment></p>'
)


def ingest(session: Session, message: dict[str, Any], **kwargs: Any):
    return ingest_channel_message(session, message, team_graph_id=TEAM, channel_graph_id=CHANNEL, **kwargs)


def rows(session: Session) -> list[dict[str, Any]]:
    """Every activity row as a dict (to compare before and after)."""
    session.expire_all()
    return [{c.name: getattr(a, c.name) for c in Activity.__table__.columns}
            for a in session.scalars(select(Activity).order_by(Activity.external_id))]


def by_id(session: Session, external_id: str, source: str = "teams") -> Activity:
    session.expire_all()
    return session.scalars(select(Activity).where(Activity.source == source,
                                                  Activity.external_id == external_id)).one()


# -- mapping --


def test_a_root_post_becomes_one_row_of_features_and_no_text(session):
    ann, bob = make_person(session), make_person(session)
    team = make_team(session, graph_id=TEAM)
    team.channels[0].graph_id = CHANNEL
    session.flush()
    message = chat_message("1700000000001", ann.entra_oid, MENTION_HTML, attachments=[FILE],
                           mentions=[{"id": 0, "mentionText": "Bob de Boer",
                                      "mentioned": {"user": {"id": bob.entra_oid, "userIdentityType": "aadUser"}}}])

    result = ingest(session, message)

    assert result.inserted == 1 and result.external_id == "1700000000001"
    [row] = rows(session)
    assert row["kind"] == "post" and row["source"] == "teams" and row["thread_external_id"] == "1700000000001"
    assert row["author_id"] == ann.id and row["author_oid"] == ann.entra_oid and row["target_author_id"] is None
    assert row["team_id"] == team.id and row["channel_id"] == team.channels[0].id
    assert row["knowledge_sharing"] and not row["broadcast"] and row["language"] == "en"
    assert (row["links"], row["files"], row["mentions"]) == (1, 1, 1) and row["own_words"] >= 12
    assert row["occurred_at"] == IN_WEEK_1 and row["edited_at"] is None and row["deleted_at"] is None
    # The hash covers the author's own words only: the mention, link and markup do not change it.
    plain = ("Great overview, I used this checklist in three client workshops and it saved us hours of "
             "preparation; details on our wiki and the deck")
    assert row["content_hash"] == hashlib.sha256(" ".join(tokens(plain)).encode()).hexdigest()
    stored = " ".join(str(value) for value in row.values())
    for word in ("checklist", "workshops", "Bob", "preparation", "example.com"):
        assert word not in stored  # derived features only


def test_replies_and_reactions_point_at_their_targets(session):
    ann, bob, carol = (make_person(session) for _ in range(3))
    stranger = "5a5a5a5a-0000-4000-8000-00000000beef"
    root = chat_message("1700000000100", ann.entra_oid, KNOWLEDGE_HTML,
                        reactions=[reaction(carol.entra_oid, "like"), reaction(bob.entra_oid, "👍"),
                                   reaction(stranger, "❤️")])
    reply = chat_message("1700000000200", bob.entra_oid, "<p>Thanks, we will try this next sprint.</p>",
                         reply_to="1700000000100", reactions=[reaction(ann.entra_oid, "😆")])

    ingest(session, root)
    ingest(session, reply)

    assert by_id(session, "1700000000100/1700000000200").target_author_id == ann.id
    assert by_id(session, "1700000000100/1700000000200").kind == "reply"
    assert by_id(session, "1700000000100/1700000000200").thread_external_id == "1700000000100"
    like = by_id(session, f"1700000000100:{carol.entra_oid}:like")
    assert (like.kind, like.author_id, like.target_author_id, like.reaction_type) == ("reaction", carol.id, ann.id,
                                                                                      "like")
    assert by_id(session, f"1700000000100:{bob.entra_oid}:👍").reaction_type == "👍"
    unknown = by_id(session, f"1700000000100:{stranger}:❤️")
    assert unknown.author_id is None and unknown.author_oid == stranger and unknown.target_author_id == ann.id
    on_reply = by_id(session, f"1700000000100/1700000000200:{ann.entra_oid}:😆")
    assert on_reply.target_author_id == bob.id and on_reply.thread_external_id == "1700000000100"
    assert len(rows(session)) == 6


def test_a_post_by_someone_unknown_is_kept_with_their_oid(session):
    oid = "0dd00000-0000-4000-8000-000000000001"
    ingest(session, chat_message("1700000000300", oid, KNOWLEDGE_HTML))
    row = by_id(session, "1700000000300")
    assert row.author_id is None and row.author_oid == oid
    person = make_person(session, entra_oid=oid)  # signs up later: the next snapshot links the row
    assert ingest(session, chat_message("1700000000300", oid, KNOWLEDGE_HTML)).updated == 1
    assert by_id(session, "1700000000300").author_id == person.id


def test_ingesting_the_same_message_twice_changes_nothing(session):
    ann, bob = make_person(session), make_person(session)
    message = chat_message("1700000000400", ann.entra_oid, KNOWLEDGE_HTML, reactions=[reaction(bob.entra_oid)])
    ingest(session, message)
    before = rows(session)

    again = ingest(session, message)

    assert not again.changed and (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert rows(session) == before


def test_an_edit_reclassifies_and_a_stale_edit_does_not(session):
    ann = make_person(session)
    ingest(session, chat_message("1700000000500", ann.entra_oid, "<p>Thanks!</p>"))
    assert not by_id(session, "1700000000500").knowledge_sharing
    hash_before = by_id(session, "1700000000500").content_hash

    edited = IN_WEEK_1 + timedelta(hours=2)
    result = ingest(session, chat_message("1700000000500", ann.entra_oid, KNOWLEDGE_HTML, edited=edited))

    row = by_id(session, "1700000000500")
    assert result.updated == 1 and row.knowledge_sharing and row.edited_at == edited and row.links == 1
    assert row.topics == ["lean"] and row.content_hash != hash_before
    older = ingest(session, chat_message("1700000000500", ann.entra_oid, "<p>Ok</p>", edited=edited - timedelta(1)))
    assert not older.changed and by_id(session, "1700000000500").knowledge_sharing


def test_a_deleted_post_loses_its_reactions_and_badge_with_an_audit_entry(session):
    cohort, (ann, bob) = setup_cohort(session)
    message = chat_message("1700000000600", ann.entra_oid, KNOWLEDGE_HTML, reactions=[reaction(bob.entra_oid)])
    first = ingest(session, message)
    assert first.cohort_ids == {cohort.id}
    recompute_cohort(session, cohort.id, at=LATER)
    assert "first-share" in badges_of(session, ann)
    earned = points_of(session, cohort.id, ann.id)

    deleted_at = IN_WEEK_1 + timedelta(hours=5)
    gone = ingest(session, chat_message("1700000000600", ann.entra_oid, "", deleted=deleted_at,
                                        reactions=[reaction(bob.entra_oid)]))
    assert gone.deleted == 2 and gone.cohort_ids == {cohort.id}
    assert by_id(session, "1700000000600").deleted_at == deleted_at
    assert by_id(session, f"1700000000600:{bob.entra_oid}:like").deleted_at == deleted_at
    assert by_id(session, "1700000000600").knowledge_sharing  # features kept; deleted_at withdraws the credit

    result = recompute_cohort(session, cohort.id, at=LATER)
    assert result.revoked >= 1 and "first-share" not in badges_of(session, ann)
    assert points_of(session, cohort.id, ann.id) < earned
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "award.revoke")).all()
    assert audit and audit[0].details["reason"] == "criteria no longer met"
    stale = ingest(session, message)  # the 'created' snapshot arriving late does not undelete it
    assert not stale.changed and by_id(session, "1700000000600").deleted_at == deleted_at


def test_removed_reactions_are_withdrawn_and_never_resurrected_by_a_stale_snapshot(session):
    ann, bob, carol = (make_person(session) for _ in range(3))
    at = IN_WEEK_1
    both = chat_message("1700000000700", ann.entra_oid, KNOWLEDGE_HTML,
                        reactions=[reaction(bob.entra_oid, at=at + timedelta(minutes=1)),
                                   reaction(carol.entra_oid, "👍", at=at + timedelta(minutes=2))])
    ingest(session, both)
    only_carol = chat_message("1700000000700", ann.entra_oid, KNOWLEDGE_HTML, modified=at + timedelta(minutes=3),
                              reactions=[reaction(carol.entra_oid, "👍", at=at + timedelta(minutes=2))])
    assert ingest(session, only_carol).deleted == 1
    bob_like = f"1700000000700:{bob.entra_oid}:like"
    assert by_id(session, bob_like).deleted_at == at + timedelta(minutes=3)

    assert not ingest(session, both).changed  # older snapshot, delivered late: bob's like stays withdrawn
    assert by_id(session, bob_like).deleted_at is not None
    # A snapshot from before carol reacted cannot take her reaction back either.
    early = chat_message("1700000000700", ann.entra_oid, KNOWLEDGE_HTML, modified=at)
    assert not ingest(session, early).changed
    again = chat_message("1700000000700", ann.entra_oid, KNOWLEDGE_HTML,
                         reactions=[reaction(bob.entra_oid, at=at + timedelta(minutes=9)),
                                    reaction(carol.entra_oid, "👍", at=at + timedelta(minutes=2))])
    assert ingest(session, again).updated == 1  # bob liked it again
    revived = by_id(session, bob_like)
    assert revived.deleted_at is None and revived.occurred_at == at + timedelta(minutes=9)


def test_a_reply_before_its_root_gets_the_target_when_the_root_arrives(session):
    ann, bob = make_person(session), make_person(session)
    ingest(session, chat_message("1700000000900", bob.entra_oid, "<p>Agreed</p>", reply_to="1700000000800"))
    assert by_id(session, "1700000000800/1700000000900").target_author_id is None
    result = ingest(session, chat_message("1700000000800", ann.entra_oid, KNOWLEDGE_HTML))
    assert by_id(session, "1700000000800/1700000000900").target_author_id == ann.id
    assert result.external_id == "1700000000800"


@pytest.mark.parametrize("message", [
    chat_message("1700000001000", None, "<p>Weekly digest</p>", application="Digest Bot"),
    chat_message("1700000001001", None, "<systemEventMessage/>", message_type="systemEventMessage"),
    chat_message("1700000001002", "a11ce000-0000-4000-8000-000000000001", "<p>x</p>", message_type="chatEvent"),
])
def test_bot_and_system_messages_are_ignored(session, message):
    result = ingest(session, message)
    assert result.ignored in ("bot", "not_a_message", "no_author") and not result.changed
    assert rows(session) == []


def test_a_yammer_thread_maps_like_a_channel_thread(session):
    ann = make_person(session, upn="ann.jansen@contoso.example")
    bob = make_person(session, upn="bob@contoso.example", email="Bob.Boer@Contoso.example")
    carol = make_person(session, upn="carol.visser@contoso.example")
    community = Community(yammer_group_id="31158067201", display_name="Kennisnetwerk")
    session.add(community)
    session.flush()
    people = {
        p.entra_oid: ScenarioPerson(p.entra_oid, p.display_name or "?", email, yammer_id=36425097217 + n)
        for n, (p, email) in enumerate([(ann, ann.upn), (bob, "bob.boer@contoso.example"), (carol, carol.upn)])
    }
    group = ScenarioCommunity(31158067201, "Kennisnetwerk")
    root = CommunityMessage(2000337749565441, group.id, ann.entra_oid, IN_WEEK_1,
                            "I tested the new lean planning board with my team this week and learned that short "
                            "daily check-ins cut our waiting time in half https://example.com/lean-board #lean",
                            thread_id=2000337749565441, liked_by=[bob.entra_oid, carol.entra_oid])
    reply = CommunityMessage(2000337749565442, group.id, bob.entra_oid, IN_WEEK_1 + timedelta(hours=1),
                             "Thanks, trying it", thread_id=root.id, replied_to_id=root.id)
    ctx = RenderContext("https://yammer.test/api/v1", "https://www.yammer.com/contoso", people,
                        {yammer_user_id(p): p for p in people.values()}, (), lambda thread: [root.id, reply.id])
    messages = {m.id: m for m in (root, reply)}
    refs = references([root, reply], {group.id: group}, messages, ctx)
    assert not any(r.get("id") == yammer_user_id(people[carol.entra_oid]) for r in refs)  # likers not referenced

    for message in (root, reply):
        ingest_community_message(session, message_json(message, group, ctx), refs, community_group_id="31158067201",
                                 liked_at=LATER)

    post = by_id(session, "2000337749565441", "yammer")
    assert (post.kind, post.author_id, post.community_id, post.knowledge_sharing) == ("post", ann.id, community.id,
                                                                                     True)
    assert post.links == 1 and post.topics == ["lean"] and post.occurred_at == IN_WEEK_1
    answer = by_id(session, "2000337749565441/2000337749565442", "yammer")
    assert (answer.kind, answer.author_id, answer.target_author_id) == ("reply", bob.id, ann.id)
    likes = session.scalars(select(Activity).where(Activity.source == "yammer", Activity.kind == "reaction")
                            .order_by(Activity.author_id)).all()
    assert [(like.author_id, like.target_author_id, like.reaction_type) for like in likes] == [
        (bob.id, ann.id, "like"), (carol.id, ann.id, "like")]  # carol found by her permalink
    assert likes[0].occurred_at == LATER and likes[0].external_id.endswith(":like")
    before = rows(session)
    ingest_community_message(session, message_json(root, group, ctx), refs, community_group_id="31158067201")
    assert rows(session) == before  # idempotent (likes keep their first date)

    root.liked_by = [carol.entra_oid]
    unliked = ingest_community_message(session, message_json(root, group, ctx), refs, community_group_id="31158067201")
    assert unliked.deleted == 1


def test_time_formats():
    assert parse_time("2026-09-08T10:00:00.1234567Z") == datetime(2026, 9, 8, 10, 0, 0, 123456, tzinfo=UTC)
    assert parse_time("2022/11/11 21:00:20 +0000") == datetime(2022, 11, 11, 21, 0, 20, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("yesterday") is None


# -- the inbox --


def notification(message: dict[str, Any], *, change: str = "created", with_content: bool = True) -> dict[str, Any]:
    root = message.get("replyToId")
    resource = f"teams('{TEAM}')/channels('{CHANNEL}')/messages('{root or message['id']}')"
    if root:
        resource += f"/replies('{message['id']}')"
    item = {"id": f"n-{message['id']}-{change}-{message['lastModifiedDateTime']}", "subscriptionId": "sub-1",
            "changeType": change, "resource": resource, "tenantId": "t",
            "resourceData": {"id": message["id"], "@odata.type": "#Microsoft.Graph.chatMessage"}}
    if with_content:
        item["content"] = message
    return item


def no_fetch(resource: str) -> None:
    raise AssertionError(f"content was in the payload; nothing to fetch for {resource}")


def test_processing_ingests_recomputes_and_strips_the_text(session, monkeypatch):
    cohort, (ann, _bob) = setup_cohort(session)
    monkeypatch.setattr(inbox_service, "recompute_people",
                        lambda s, cohort_id, people, **kw: recompute_people(s, cohort_id, people, at=LATER))
    store_notifications(session, [notification(chat_message("1700000002000", ann.entra_oid, KNOWLEDGE_HTML))])

    result = process_pending(session, no_fetch)

    assert (result.claimed, result.done, result.failed) == (1, 1, 0)
    assert "first-share" in badges_of(session, ann)
    item = session.scalars(select(InboxItem)).one()
    assert item.status == "done" and item.processed_at is not None and item.locked_until is None
    assert "body" not in item.payload["content"] and "lean" not in str(item.payload)
    assert item.payload["content"]["id"] == "1700000002000" and "encryptedContent" not in item.payload
    assert process_pending(session, no_fetch).claimed == 0


def test_a_crash_after_ingest_loses_nothing_and_counts_nothing_twice(session, monkeypatch):
    cohort, (ann, bob) = setup_cohort(session)
    monkeypatch.setattr(inbox_service, "recompute_people",
                        lambda s, cohort_id, people, **kw: recompute_people(s, cohort_id, people, at=LATER))
    message = chat_message("1700000003000", ann.entra_oid, KNOWLEDGE_HTML, reactions=[reaction(bob.entra_oid)])
    store_notifications(session, [notification(message)])
    real_mark_done = inbox_service._mark_done

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise SystemExit("worker killed")  # not an Exception: nothing catches it, like a dying process

    monkeypatch.setattr(inbox_service, "_mark_done", crash)
    [item] = claim_batch(session, 10, worker_id="w1", lease_seconds=60)
    with pytest.raises(SystemExit):
        process_item(session, item, no_fetch)
    session.rollback()
    stuck = session.scalars(select(InboxItem)).one()
    assert stuck.status == "processing" and session.scalar(select(func.count()).select_from(Activity)) == 2
    assert "content" in stuck.payload and stuck.payload["content"]["body"]  # kept until processed
    points_after_first = points_of(session, cohort.id, ann.id)

    monkeypatch.setattr(inbox_service, "_mark_done", real_mark_done)
    assert process_pending(session, no_fetch, worker_id="w2").claimed == 0  # still leased to w1
    assert requeue_stuck(session, datetime.now(UTC) + timedelta(seconds=61)) == 1
    result = process_pending(session, no_fetch, worker_id="w2")

    assert result.done == 1
    done = session.scalars(select(InboxItem)).one()
    assert done.status == "done" and done.attempts == 2 and "body" not in done.payload["content"]
    assert session.scalar(select(func.count()).select_from(Activity)) == 2
    assert points_of(session, cohort.id, ann.id) == points_after_first
    assert "first-share" in badges_of(session, ann)
    # Recomputing from scratch gives the same: nothing was counted twice.
    before = session.scalar(select(func.count()).select_from(PointsEntry))
    recompute_cohort(session, cohort.id, at=LATER)
    assert session.scalar(select(func.count()).select_from(PointsEntry)) == before


def test_a_crash_before_the_recompute_is_repaired_by_the_retry(session, monkeypatch):
    cohort, (ann, _bob) = setup_cohort(session)
    calls: list[int] = []

    def recompute(s: Session, cohort_id: int, people: Any, **_options: Any) -> Any:
        calls.append(cohort_id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return recompute_people(s, cohort_id, people, at=LATER)

    monkeypatch.setattr(inbox_service, "recompute_people", recompute)
    store_notifications(session, [notification(chat_message("1700000004000", ann.entra_oid, KNOWLEDGE_HTML))])
    first = process_pending(session, no_fetch)
    assert (first.done, first.retried) == (0, 1)
    item = session.scalars(select(InboxItem)).one()
    assert item.status == "pending" and item.error.startswith("RuntimeError") and item.locked_until is not None
    assert "first-share" not in badges_of(session, ann)

    assert process_pending(session, no_fetch).claimed == 0  # backing off
    item.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    session.commit()
    second = process_pending(session, no_fetch)
    assert second.done == 1 and calls == [cohort.id, cohort.id]  # nothing new to ingest, recomputed anyway
    assert "first-share" in badges_of(session, ann)


def test_an_item_that_keeps_failing_ends_failed_without_its_text(session, monkeypatch):
    ann = make_person(session)
    store_notifications(session, [notification(chat_message("1700000005000", ann.entra_oid, KNOWLEDGE_HTML))])
    monkeypatch.setattr(inbox_service, "ingest_channel_message", lambda *a, **k: 1 / 0)
    for _ in range(inbox_service.MAX_ATTEMPTS):
        session.execute(InboxItem.__table__.update().values(locked_until=None))
        process_pending(session, no_fetch)
    item = session.scalars(select(InboxItem)).one()
    assert item.status == "failed" and item.attempts == inbox_service.MAX_ATTEMPTS
    assert item.error.startswith("ZeroDivisionError") and "body" not in item.payload["content"]


def test_claims_never_overlap_and_expired_leases_are_taken_over(session):
    ann = make_person(session)
    store_notifications(session, [notification(chat_message(str(1700000006000 + n), ann.entra_oid, "<p>x</p>"))
                                  for n in range(5)])
    first = claim_batch(session, 3, worker_id="a", lease_seconds=60)
    second = claim_batch(session, 10, worker_id="b", lease_seconds=60)
    assert len(first) == 3 and len(second) == 2 and not {i.id for i in first} & {i.id for i in second}
    assert claim_batch(session, 10, worker_id="c") == []
    later = datetime.now(UTC) + timedelta(seconds=120)
    taken = claim_batch(session, 10, worker_id="c", now=later)
    assert len(taken) == 5 and all(i.attempts == 2 for i in taken)
    lifecycle = claim_batch(session, 10, worker_id="d", lifecycle=True, now=later + timedelta(hours=1))
    assert len(lifecycle) == 0


def test_without_content_the_message_is_fetched_and_a_vanished_one_is_deleted(session):
    ann = make_person(session)
    message = chat_message("1700000007000", ann.entra_oid, KNOWLEDGE_HTML)
    fetched: list[str] = []

    def fetch(resource: str) -> dict[str, Any] | None:
        fetched.append(resource)
        return message if len(fetched) == 1 else None

    store_notifications(session, [notification(message, with_content=False)])
    assert process_pending(session, fetch).done == 1
    assert by_id(session, "1700000007000").knowledge_sharing
    store_notifications(session, [notification(message, change="deleted", with_content=False)])
    assert process_pending(session, fetch).done == 1
    assert by_id(session, "1700000007000").deleted_at is not None
    assert fetched == [f"teams('{TEAM}')/channels('{CHANNEL}')/messages('1700000007000')"] * 2
