"""The scenario generator: determinism, exact counts, a realistic mix and the configured baseline/programme effect."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plugin.sandbox.generator import (
    CORPORATE_TEXTS,
    GeneratedScenario,
    generate_scenario,
    generate_structure,
    iter_channel_messages,
    iter_community_messages,
)
from plugin.sandbox.scenario import ChannelMessage, CommunityMessage

START = datetime(2025, 9, 1, tzinfo=UTC)  # a Monday
END = datetime(2026, 3, 2, tzinfo=UTC)
TENANT = "3f6a9c2e-8d41-4b7a-9e05-1c2d3e4f5a6b"


def _small(seed: int = 3, **overrides: Any) -> GeneratedScenario:
    arguments: dict[str, Any] = {"people": 60, "teams": 4, "messages": 3000, "start": START, "end": END}
    arguments |= {"seed": seed, "tenant_id": TENANT, "communities": 3}
    return generate_scenario(**(arguments | overrides))


@pytest.fixture(scope="module")
def small() -> GeneratedScenario:
    return _small()


@pytest.fixture(scope="module")
def large() -> GeneratedScenario:
    """Enough messages for rates to be measured within a few percent."""
    return generate_scenario(
        people=300, teams=6, messages=40_000, community_messages=12_000, start=START, end=END, seed=9,
        tenant_id=TENANT, uplift=2.0, cohort_share=0.25,
    )  # fmt: skip


def _fingerprint(message: ChannelMessage) -> tuple:
    reactions = tuple((r.user_oid, r.reaction_type, r.created) for r in message.reactions)
    return (message.id, message.team_id, message.channel_id, message.created, message.last_modified,
            message.body_html, message.author_oid, message.application_name, message.reply_to_id,
            message.message_type, message.subject, len(message.mentions), len(message.attachments), reactions,
            message.last_edited, message.deleted)  # fmt: skip


def _community_fingerprint(message: CommunityMessage) -> tuple:
    return (message.id, message.community_id, message.sender_oid, message.created, message.body_plain,
            message.thread_id, message.replied_to_id, tuple(message.liked_by), len(message.attachments))  # fmt: skip


# -- determinism --


def test_same_seed_same_scenario(small: GeneratedScenario) -> None:
    again = _small()
    assert list(again.people.values()) == list(small.people.values())
    assert list(again.teams.values()) == list(small.teams.values())
    assert list(again.communities.values()) == list(small.communities.values())
    assert [_fingerprint(m) for m in again.messages.values()] == [_fingerprint(m) for m in small.messages.values()]
    assert [_community_fingerprint(m) for m in again.community_messages.values()] == [
        _community_fingerprint(m) for m in small.community_messages.values()
    ]
    assert again.plan == small.plan and again.stats == small.stats


def test_another_seed_another_scenario(small: GeneratedScenario) -> None:
    other = _small(seed=4)
    assert set(other.people) != set(small.people)
    assert [m.body_html for m in other.messages.values()] != [m.body_html for m in small.messages.values()]


def test_streaming_yields_what_generate_scenario_stores(small: GeneratedScenario) -> None:
    structure = generate_structure(people=60, teams=4, start=START, end=END, seed=3, tenant_id=TENANT, communities=3)
    streamed = list(iter_channel_messages(structure, 3000))
    stored = list(small.messages.values())
    # Stored roots also carry their replies' times in last_modified; everything else is identical.
    assert [_fingerprint(m)[:4] + _fingerprint(m)[5:] for m in streamed] == [
        _fingerprint(m)[:4] + _fingerprint(m)[5:] for m in stored
    ]
    community = list(iter_community_messages(structure, 300))
    assert [_community_fingerprint(m) for m in community] == [
        _community_fingerprint(m) for m in small.community_messages.values()
    ]
    assert structure.messages == {} and structure.community_messages == {}


# -- counts and structure --


def test_counts_are_exact(small: GeneratedScenario) -> None:
    assert len(small.people) == 60 and len(small.teams) == 4 and len(small.communities) == 3
    assert len(small.messages) == 3000
    assert len(small.community_messages) == 300  # default: a tenth of the channel messages
    assert small.tenant_id == TENANT
    stats = small.stats
    assert stats["root"] + stats["reply"] + stats["bot"] + stats["system"] == 3000
    assert stats["community_root"] + stats["community_reply"] == 300
    assert len(_small(messages=10, community_messages=7).community_messages) == 7


def test_people_teams_and_communities_are_consistent(small: GeneratedScenario) -> None:
    assert len({p.upn for p in small.people.values()}) == 60
    assert len({p.yammer_id for p in small.people.values()}) == 60
    assert {p.locale for p in small.people.values()} == {"nl-NL", "en-GB"}
    for team in small.teams.values():
        assert [c.name for c in team.channels.values()][0] == "General"
        assert all(re.fullmatch(r"19:[0-9a-f]{32}@thread\.tacv2", channel_id) for channel_id in team.channels)
        assert team.members and set(team.owners) <= set(team.members)
    assert {oid for team in small.teams.values() for oid in team.members} == set(small.people)
    assert all(c.members for c in small.communities.values())
    assert len(small.plan.cohort) == round(0.3 * 60)  # type: ignore[union-attr]


def test_messages_are_in_time_order_within_the_period(small: GeneratedScenario) -> None:
    messages = list(small.messages.values())
    assert [int(m.id) for m in messages] == sorted({int(m.id) for m in messages})
    assert all(START <= m.created < END for m in messages)
    assert all(m.created <= m.last_modified for m in messages)
    assert all(int(m.id) >= int(m.created.timestamp() * 1000) for m in messages)
    community = list(small.community_messages.values())
    assert [m.created for m in community] == sorted(m.created for m in community)
    assert all(START <= m.created < END for m in community)


def test_replies_follow_their_roots_in_the_same_channel(small: GeneratedScenario) -> None:
    replies = [m for m in small.messages.values() if m.reply_to_id]
    assert replies
    for reply in replies:
        root = small.messages[reply.reply_to_id]  # type: ignore[index]
        assert root.reply_to_id is None and root.channel_id == reply.channel_id
        assert root.created < reply.created <= root.last_modified
        assert reply.author_oid in small.teams[reply.team_id].members
    for message in small.community_messages.values():
        if message.replied_to_id is not None:
            parent = small.community_messages[message.replied_to_id]
            assert parent.thread_id == message.thread_id and parent.created <= message.created
        else:
            assert message.thread_id == message.id
        assert message.sender_oid in small.communities[message.community_id].members


# -- the mix --


def _share(messages: Iterable[ChannelMessage], predicate: Callable[[ChannelMessage], bool]) -> float:
    items = list(messages)
    return sum(map(predicate, items)) / len(items)


def test_channel_mix_is_realistic(small: GeneratedScenario) -> None:
    messages = list(small.messages.values())
    people = [m for m in messages if m.author_oid]
    bots = [m for m in messages if m.application_name]
    system = [m for m in messages if m.message_type == "systemEventMessage"]
    assert 0.01 < len(bots) / len(messages) < 0.06 and all(m.author_oid is None for m in bots)
    assert bots[0].attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert 0 < len(system) < 0.03 * len(messages) and all(m.author_oid is None for m in system)
    assert 0.3 < _share(people, lambda m: m.reply_to_id is not None) < 0.5
    deleted = [m for m in messages if m.deleted]
    assert deleted and all(m.body_html == "" and not m.mentions and m.last_modified >= m.deleted for m in deleted)  # type: ignore[operator]
    assert any(m.last_edited for m in messages)
    reactions = Counter(r.reaction_type for m in messages for r in m.reactions)
    assert {"like", "heart", "👍"} <= reactions.keys()
    assert all(r.user_oid != m.author_oid for m in messages for r in m.reactions)

    mentioned = [m for m in people if m.mentions]
    assert mentioned
    for message in mentioned:
        for mention in message.mentions:
            assert f'<at id="{mention["id"]}">' in message.body_html
            assert mention["mentioned"]["user"]["id"] in small.people
    files = [a for m in messages for a in m.attachments if a["contentType"] == "reference"]
    assert files and all(a["contentUrl"].startswith("https://contoso.sharepoint.com/") for a in files)
    assert any('<a href="https://' in m.body_html for m in people)
    subjects = [m for m in people if m.subject]
    assert subjects and all(m.reply_to_id is None for m in subjects)


def test_bodies_are_dutch_and_english_notes_and_bare_reshares(small: GeneratedScenario) -> None:
    bodies = [m.body_html for m in small.messages.values() if m.author_oid and not m.reply_to_id and m.body_html]
    corporate = {c.text: c for c in CORPORATE_TEXTS}
    bare = [b for b in bodies if any(b == f"<p>{text.replace('&', '&amp;')}</p>" + _link(c.url) for text, c in
                                     corporate.items())]  # fmt: skip
    assert bare, "bare re-shares of a corporate text"
    with_note = [b for b in bodies if b not in bare and any(c.url in b for c in CORPORATE_TEXTS)]
    assert with_note, "corporate news with the author's own words"
    assert any(" de " in b or " het " in b for b in bodies) and any(" the " in b for b in bodies)
    stats = small.stats
    assert all(stats[kind] for kind in ("reshare", "token", "note", "question", "own"))


def _link(url: str) -> str:
    return f'<p><a href="{url}" rel="noreferrer noopener" target="_blank" title="{url}">{url}</a></p>'


def test_viva_engage_posts_have_mentions_likes_hashtags_and_files(large: GeneratedScenario) -> None:
    messages = list(large.community_messages.values())
    yammer_ids = {p.yammer_id for p in large.people.values()}
    mentioned = [int(i) for m in messages for i in re.findall(r"\[\[user:(\d+)\]\]", m.body_plain)]
    assert mentioned and set(mentioned) <= yammer_ids
    assert any(m.liked_by for m in messages)
    assert all(m.sender_oid not in m.liked_by and len(set(m.liked_by)) == len(m.liked_by) for m in messages)
    assert any(re.search(r"(?<!\S)#\w+", m.body_plain) for m in messages)
    assert any(a["type"] == "file" for m in messages for a in m.attachments)
    assert any(c.text in m.body_plain for m in messages for c in CORPORATE_TEXTS)


# -- the effect --


def _weekday_rate_ratio(
    large: GeneratedScenario, items: Iterable[tuple[str | None, datetime]], *, cohort: bool
) -> float:
    plan = large.plan
    assert plan is not None
    counts: Counter[bool] = Counter()
    for author, at in items:
        if author is not None and (author in plan.cohort) == cohort and at.weekday() < 5:
            counts[plan.in_programme(at)] += 1
    days = Counter(plan.in_programme(start) for start, _ in plan.days() if start.weekday() < 5)
    return (counts[True] / days[True]) / (counts[False] / days[False])


def test_programme_period_has_the_configured_uplift_for_the_cohort(large: GeneratedScenario) -> None:
    plan = large.plan
    assert plan is not None and plan.uplift == 2.0
    assert plan.programme_start == datetime(2025, 10, 31, tzinfo=UTC)  # a third in, at midnight
    channel = [(m.author_oid, m.created) for m in large.messages.values()]
    assert _weekday_rate_ratio(large, channel, cohort=True) == pytest.approx(2.0, rel=0.08)
    assert _weekday_rate_ratio(large, channel, cohort=False) == pytest.approx(1.0, rel=0.08)
    community = [(m.sender_oid, m.created) for m in large.community_messages.values()]
    assert _weekday_rate_ratio(large, community, cohort=True) == pytest.approx(2.0, rel=0.12)
    assert _weekday_rate_ratio(large, community, cohort=False) == pytest.approx(1.0, rel=0.12)
    stats = large.stats
    assert stats["cohort_programme"] > stats["cohort_baseline"] > 0


def test_weekends_are_quiet(large: GeneratedScenario) -> None:
    days = Counter(m.created.weekday() >= 5 for m in large.messages.values())
    # 2 weekend days weigh 0.1 each against 5 weekdays.
    assert days[True] / days[False] == pytest.approx(0.2 / 5, rel=0.2)


def test_explicit_programme_start_and_no_uplift() -> None:
    scenario = _small(messages=4000, uplift=1.0, programme_start=datetime(2025, 12, 1, 15, tzinfo=UTC))
    assert scenario.plan is not None
    assert scenario.plan.programme_start == datetime(2025, 12, 1, tzinfo=UTC)
    channel = [(m.author_oid, m.created) for m in scenario.messages.values()]
    assert _weekday_rate_ratio(scenario, channel, cohort=True) == pytest.approx(1.0, rel=0.2)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="end must be after start"):
        _small(end=START)
    with pytest.raises(ValueError, match="at least one person"):
        _small(people=0)


# -- volume --


def test_a_hundred_thousand_messages_stream_in_order_without_being_kept() -> None:
    structure = generate_structure(
        people=2000, teams=40, start=START, end=START + timedelta(days=365), seed=1, tenant_id=TENANT, communities=6
    )
    stats: Counter[str] = Counter()
    count, last_id = 0, 0
    for message in iter_channel_messages(structure, 100_000, stats=stats):
        assert int(message.id) > last_id
        last_id = int(message.id)
        count += 1
    assert count == 100_000
    assert stats["root"] + stats["reply"] + stats["bot"] + stats["system"] == 100_000
    assert structure.messages == {}  # nothing kept
