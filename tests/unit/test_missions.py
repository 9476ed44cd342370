"""Mission types: progress per type, params validation, evidence URLs, personalisation, windows."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from plugin.domain.events import ActivityEvent
from plugin.domain.ledger import ledger_of
from plugin.domain.missions import (
    MISSION_TYPES,
    Context,
    ParamError,
    Progress,
    Scope,
    Source,
    check_evidence_url,
    progress,
    url_platform,
)

BASE = datetime(2025, 3, 3, tzinfo=UTC)
ME = 1
_ids = count()


def ev(kind: str, day: int = 0, hour: int = 10, **kw) -> ActivityEvent:
    kw.setdefault("person_id", ME)
    return ActivityEvent(f"test:{next(_ids)}", kind=kind, occurred_at=BASE + timedelta(days=day, hours=hour), **kw)


def note(day: int = 0, **kw) -> ActivityEvent:
    kw.setdefault("knowledge_sharing", True)
    kw.setdefault("own_words", 25)
    return ev("post", day, **kw)


def reply(to: int | None, words: int = 12, day: int = 0, **kw) -> ActivityEvent:
    return ev("reply", day, target_author_id=to, own_words=words, **kw)


LI = "https://www.linkedin.com/posts/anna-123"
X = "https://x.com/anna/status/1"

CASES = [
    # post_with_note
    ("post_with_note", {"posts": 2}, [note(), note(1)], (2, 2, True)),
    ("post_with_note", {"posts": 2}, [note(), note(broadcast=True)], (1, 2, False)),
    ("post_with_note", {"posts": 1}, [note(knowledge_sharing=False)], (0, 1, False)),
    ("post_with_note", {"posts": 2}, [note(content_hash="h"), note(1, content_hash="h")], (1, 2, False)),
    ("post_with_note", {"posts": 1, "min_words": 30}, [note(own_words=29)], (0, 1, False)),
    ("post_with_note", {}, [], (0, 1, False)),
    # reply_to_colleagues
    ("reply_to_colleagues", {"colleagues": 3}, [reply(2), reply(3), reply(4)], (3, 3, True)),
    ("reply_to_colleagues", {"colleagues": 3}, [reply(2), reply(2, day=1), reply(ME)], (1, 3, False)),
    ("reply_to_colleagues", {"colleagues": 2}, [reply(2, words=2), reply(3, words=3), reply(None)], (0, 2, False)),
    ("reply_to_colleagues", {"colleagues": 1}, [reply(2, words=4)], (1, 1, True)),
    # react_to_posts
    ("react_to_posts", {"posts": 3}, [ev("reaction_given", target_author_id=t) for t in (2, 3, 4)], (3, 3, True)),
    (
        "react_to_posts",
        {"posts": 2},
        [ev("reaction_given", target_author_id=ME), ev("reaction_received")],
        (0, 2, False),
    ),
    # post_in_place
    ("post_in_place", {"place": "c1"}, [note(place_id="c1")], (1, 1, True)),
    ("post_in_place", {"place": "c1"}, [note(place_id="c2"), note(place_id=None)], (0, 1, False)),
    ("post_in_place", {"place": "c1"}, [note(place_id="c1", broadcast=True)], (0, 1, False)),
    ("post_in_place", {"place": "c1"}, [note(place_id="c1", knowledge_sharing=False, own_words=0)], (1, 1, True)),
    # post_on_topic
    ("post_on_topic", {"topics": ["Lean"]}, [note(topics=("#lean",))], (1, 1, True)),
    (
        "post_on_topic",
        {"topics": ["lean"], "posts": 2},
        [note(topics=("ai",)), note(topics=("lean", "ai"))],
        (1, 2, False),
    ),
    ("post_on_topic", {"topics": ["lean"]}, [note(topics=("lean",), knowledge_sharing=False)], (0, 1, False)),
    ("post_on_topic", {}, [note(topics=("anything",))], (1, 1, True)),
    ("post_on_topic", {}, [note(topics=())], (0, 1, False)),
    # long_form_post
    ("long_form_post", {"min_words": 300}, [note(own_words=300)], (1, 1, True)),
    ("long_form_post", {"min_words": 300}, [note(own_words=299), note(own_words=500, broadcast=True)], (0, 1, False)),
    # use_topic_tag
    ("use_topic_tag", {"distinct": 2}, [note(topics=("#Lean",)), note(topics=("lean", "ESG"))], (2, 2, True)),
    ("use_topic_tag", {"distinct": 2}, [note(topics=("lean",)), note(topics=("#LEAN",))], (1, 2, False)),
    ("use_topic_tag", {"tags": ["esg"], "distinct": 1}, [note(topics=("lean",))], (0, 1, False)),
    # active_weeks (weeks are 7-day blocks from the first event's day here)
    ("active_weeks", {"weeks": 3}, [reply(2), ev("reaction_given", 8, target_author_id=3), note(20)], (3, 3, True)),
    (
        "active_weeks",
        {"weeks": 2},
        [reply(2), reply(3, day=6), ev("reaction_given", 7, target_author_id=ME)],
        (1, 2, False),
    ),
    # external_post
    ("external_post", {"platform": "linkedin"}, [ev("evidence_approved", url=LI)], (1, 1, True)),
    ("external_post", {"platform": "linkedin"}, [ev("evidence_approved", url=X)], (0, 1, False)),
    (
        "external_post",
        {"platform": "any", "posts": 2},
        [ev("evidence_approved", url=X), ev("evidence_approved", url=LI)],
        (2, 2, True),
    ),
    (
        "external_post",
        {"posts": 2},
        [ev("evidence_approved", url=LI), ev("evidence_approved", 1, url=LI)],
        (1, 2, False),
    ),
    ("external_post", {}, [ev("evidence_approved", url="https://evil.example/linkedin.com")], (0, 1, False)),
    # network_snapshot
    (
        "network_snapshot",
        {"metrics": ["connections", "followers"]},
        [ev("evidence_approved", metrics=(("connections", 250), ("followers", 80)))],
        (1, 1, True),
    ),
    (
        "network_snapshot",
        {"metrics": ["connections", "followers"]},
        [ev("evidence_approved", metrics=(("connections", 250),))],
        (0, 1, False),
    ),
    ("network_snapshot", {}, [ev("evidence_approved", metrics=(("connections", 0),))], (1, 1, True)),
    # checkin
    ("checkin", {}, [ev("checkin", mission_slug="kickoff")], (1, 1, True)),
    ("checkin", {"checkins": 2}, [ev("checkin"), ev("checkin", 3)], (2, 2, True)),
    ("checkin", {"checkins": 2}, [ev("checkin", hour=9), ev("checkin", hour=15)], (1, 2, False)),
]


@pytest.mark.parametrize(("type_", "params", "events", "expected"), CASES)
def test_progress_per_type(type_: str, params: dict, events: list[ActivityEvent], expected: tuple) -> None:
    assert progress(type_, events, params) == Progress(*expected)


def test_progress_ignores_order_and_replays() -> None:
    events = [note(topics=("lean",), content_hash="a"), note(2, content_hash="a"), reply(2), reply(3, day=1)]
    for type_ in ("post_with_note", "post_on_topic", "reply_to_colleagues"):
        forward = progress(type_, events, {})
        assert progress(type_, [*reversed(events), *events], {}) == forward


@pytest.mark.parametrize(
    ("type_", "params", "key", "message"),
    [
        ("post_with_note", {"posts": 0}, "posts", "must be at least 1"),
        ("post_with_note", {"posts": "2"}, "posts", "expected an integer"),
        ("post_with_note", {"posts": True}, "posts", "expected an integer"),
        ("post_with_note", {"post": 1}, "post", "unknown param; expected one of min_words, posts"),
        ("post_in_place", {}, None, "missing required param 'place'"),
        ("post_in_place", {"place": " "}, "place", "expected a non-empty string"),
        ("post_on_topic", {"topics": "lean"}, "topics", "expected a list of non-empty strings"),
        ("post_on_topic", {"topics": ["lean", ""]}, "topics", "expected a list of non-empty strings"),
        ("external_post", {"platform": "mastodon"}, "platform", "unknown value 'mastodon'; expected one of any"),
        ("active_weeks", {"weeks": 0}, "weeks", "must be at least 1"),
    ],
)
def test_params_validation(type_: str, params: dict, key: str | None, message: str) -> None:
    with pytest.raises(ParamError) as caught:
        MISSION_TYPES[type_].validate(params)
    assert caught.value.key == key
    assert message in caught.value.message


def test_validate_fills_defaults_and_freezes() -> None:
    params = MISSION_TYPES["use_topic_tag"].validate({"tags": ["a", "b"]})
    assert dict(params) == {"tags": ("a", "b"), "distinct": 1}
    with pytest.raises(TypeError):
        params["distinct"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    ("platform", "url", "ok"),
    [
        ("linkedin", "https://www.linkedin.com/posts/anna_lean-activity-1", True),
        ("linkedin", "https://nl.linkedin.com/pulse/mijn-artikel", True),
        ("linkedin", "https://lnkd.in/abc", True),
        ("linkedin", "https://x.com/anna/status/1", False),
        ("x", "https://x.com/anna/status/1", True),
        ("x", "https://twitter.com/anna/status/1", True),
        ("x", "https://mobile.twitter.com/anna/status/1", True),
        ("any", "https://twitter.com/anna/status/1", True),
        ("any", "https://www.linkedin.com.evil.example/posts/1", False),
        ("any", "https://notlinkedin.com/posts/1", False),
        ("any", "ftp://www.linkedin.com/posts/1", False),
        ("any", "javascript:alert(1)", False),
        ("any", "linkedin.com/posts/1", False),
        ("any", "https://[::1", False),
    ],
)
def test_evidence_url_host_per_platform(platform: str, url: str, ok: bool) -> None:
    assert (check_evidence_url(platform, url) is None) is ok


def test_url_platform() -> None:
    assert url_platform("HTTPS://WWW.LINKEDIN.COM/in/anna") == "linkedin"
    assert url_platform("https://example.org") is None


def test_sources() -> None:
    sources = {slug: kind.source for slug, kind in MISSION_TYPES.items()}
    assert sources["external_post"] is sources["network_snapshot"] is Source.EVIDENCE
    assert sources["checkin"] is Source.COACH
    assert sources["post_with_note"] is Source.AUTO


def test_personalise_topics_from_intake_and_place_alias() -> None:
    on_topic = MISSION_TYPES["post_on_topic"]
    params = on_topic.validate({})
    assert on_topic.personalise(params, Context(intake={"expertise": ["Lean", "ESG"]}))["topics"] == ("Lean", "ESG")
    assert on_topic.personalise(params, Context(intake={"expertise": "Lean"}))["topics"] == ("Lean",)
    fixed = on_topic.validate({"topics": ["ai"]})
    assert on_topic.personalise(fixed, Context(intake={"expertise": ["Lean"]}))["topics"] == ("ai",)
    in_place = MISSION_TYPES["post_in_place"]
    params = in_place.validate({"place": "programme-community"})
    assert in_place.personalise(params, Context(places={"programme-community": "19:abc"}))["place"] == "19:abc"


def test_scope_limits_days_and_slug() -> None:
    ledger = ledger_of(
        [
            note(0),
            note(3),
            note(9),
            ev("checkin", 1, mission_slug="a"),
            ev("checkin", 2, mission_slug="b"),
        ]
    )
    notes, checkin = MISSION_TYPES["post_with_note"], MISSION_TYPES["checkin"]
    assert notes.count(ledger, notes.validate({}), Scope("x", 1, 9)) == 1
    assert notes.count(ledger, notes.validate({}), Scope("x", 0, 10)) == 3
    assert checkin.count(ledger, checkin.validate({}), Scope("a", 0, 10)) == 1
    assert checkin.count(ledger, checkin.validate({}), Scope("a", 2, 10)) == 0
    assert checkin.count(ledger, checkin.validate({}), Scope(None, 0, 10)) == 2
