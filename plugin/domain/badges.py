"""Badges: a registry of rules over a participant's aggregated state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from .ledger import THREAD_REPLIERS_TRACKED
from .messages import Text

CONVERSATION_REPLIERS = 5
CONNECTOR_COLLEAGUES = 10
EXPERT_TOPIC_POSTS = 5
STEADY_WEEKS = 4
GRADUATE_SHARE = (4, 5)  # 80 % of the required missions
assert CONVERSATION_REPLIERS <= THREAD_REPLIERS_TRACKED


class BadgeFacts(Protocol):
    """What badge rules read; `engine.PersonState` provides it."""

    @property
    def posts(self) -> int: ...  # credited distinct posts, broadcasts included
    @property
    def external_shares(self) -> int: ...  # approved LinkedIn/X links
    @property
    def personal_posts(self) -> int: ...  # non-broadcast posts with a personal note
    @property
    def busiest_thread(self) -> int: ...  # most distinct others replying to one own post
    @property
    def distinct_colleagues(self) -> int: ...  # colleagues replied to (non-trivial replies)
    @property
    def top_topic_posts(self) -> int: ...  # most knowledge-sharing posts on a single topic
    @property
    def longest_streak(self) -> int: ...  # most consecutive active weeks
    @property
    def required_done(self) -> int: ...
    @property
    def required_total(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Badge:
    """A badge definition; `rule` is None for badges that only a lead or coach awards."""

    slug: str
    name: Text
    description: Text
    criteria: Text
    rule: Callable[[BadgeFacts], bool] | None

    @property
    def manual(self) -> bool:
        """True if only a person can award it."""
        return self.rule is None


BADGES: dict[str, Badge] = {}


def register(badge: Badge) -> Badge:
    """Add `badge` to the registry."""
    BADGES[badge.slug] = badge
    return badge


def _graduated(s: BadgeFacts) -> bool:
    share, whole = GRADUATE_SHARE
    return s.required_total > 0 and whole * s.required_done >= share * s.required_total


register(
    Badge(
        "first-share",
        Text("First Share", "Eerste bericht"),
        Text("You shared your first post.", "Je hebt je eerste bericht gedeeld."),
        Text(
            "Share a post in Teams or Viva Engage, or get a LinkedIn or X link approved.",
            "Deel een bericht in Teams of Viva Engage, of laat een link naar LinkedIn of X goedkeuren.",
        ),
        lambda s: s.posts + s.external_shares >= 1,
    )
)
register(
    Badge(
        "personal-touch",
        Text("Personal Touch", "Persoonlijke noot"),
        Text(
            "You added your own words to what you shared: no broadcasting mast.",
            "Je gaf een bericht je eigen woorden mee: geen zendmast.",
        ),
        Text(
            "Share a post with a personal note of at least ten words of your own.",
            "Deel een bericht met een persoonlijke noot van minstens tien eigen woorden.",
        ),
        lambda s: s.personal_posts >= 1,
    )
)
register(
    Badge(
        "conversation-starter",
        Text("Conversation Starter", "Gespreksstarter"),
        Text(
            "One of your posts got a real conversation going.", "Een van je berichten bracht een echt gesprek op gang."
        ),
        Text(
            f"Get replies from {CONVERSATION_REPLIERS} different colleagues on one post.",
            f"Krijg op één bericht reacties van {CONVERSATION_REPLIERS} verschillende collega's.",
        ),
        lambda s: s.busiest_thread >= CONVERSATION_REPLIERS,
    )
)
register(
    Badge(
        "connector",
        Text("Connector", "Verbinder"),
        Text(
            "You talk with colleagues across the organisation.", "Je praat mee met collega's door de hele organisatie."
        ),
        Text(
            f"Reply to {CONNECTOR_COLLEAGUES} different colleagues.",
            f"Reageer op {CONNECTOR_COLLEAGUES} verschillende collega's.",
        ),
        lambda s: s.distinct_colleagues >= CONNECTOR_COLLEAGUES,
    )
)
register(
    Badge(
        "expert-voice",
        Text("Expert Voice", "Expert aan het woord"),
        Text("Colleagues know where to find you on your topic.", "Collega's weten je te vinden op jouw onderwerp."),
        Text(
            f"Share {EXPERT_TOPIC_POSTS} knowledge-sharing posts on one topic.",
            f"Deel {EXPERT_TOPIC_POSTS} berichten met kennis over één onderwerp.",
        ),
        lambda s: s.top_topic_posts >= EXPERT_TOPIC_POSTS,
    )
)
register(
    Badge(
        "steady",
        Text("Steady", "Volhouder"),
        Text("You kept going, week after week.", "Je bleef bezig, week na week."),
        Text(
            f"Be active {STEADY_WEEKS} programme weeks in a row.",
            f"Wees {STEADY_WEEKS} programmaweken op rij actief.",
        ),
        lambda s: s.longest_streak >= STEADY_WEEKS,
    )
)
register(
    Badge(
        "programme-graduate",
        Text("Programme Graduate", "Programma afgerond"),
        Text("You completed the eight-week programme.", "Je hebt het programma van acht weken afgerond."),
        Text(
            "Complete at least 80% of the required missions.",
            "Rond minstens 80% van de verplichte missies af.",
        ),
        _graduated,
    )
)
register(
    Badge(
        "ambassador",
        Text("Ambassador", "Ambassadeur"),
        Text(
            "Recognised by your team lead or coach as an ambassador who gets others going.",
            "Door je teamleider of coach erkend als ambassadeur die anderen in beweging brengt.",
        ),
        Text(
            "Awarded by a team lead or coach.",
            "Wordt toegekend door een teamleider of coach.",
        ),
        None,
    )
)


def evaluate_badges(state: BadgeFacts) -> set[str]:
    """Slugs of every automatic badge `state` qualifies for (manual badges never appear)."""
    return {slug for slug, badge in BADGES.items() if badge.rule is not None and badge.rule(state)}


def badges_to_revoke(awarded: Iterable[str], earned: Iterable[str]) -> set[str]:
    """Awarded automatic badges the state no longer earns (after a corrected replay); manual ones stay."""
    keep = set(earned)
    return {slug for slug in awarded if slug in BADGES and not BADGES[slug].manual and slug not in keep}
