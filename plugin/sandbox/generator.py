"""Synthetic tenants for tests and benchmarks: people, teams, communities and months of Teams/Viva Engage activity.

``generate_scenario`` builds a whole :class:`GeneratedScenario` (a :class:`Scenario` that also carries the
:class:`GenerationPlan`, i.e. the truth a benchmark measures against). For large runs, build only the structure
with ``generate_structure`` and stream with ``iter_channel_messages`` / ``iter_community_messages``: they yield
messages in time order and keep only a few recent thread roots per channel, so memory stays flat. Streaming and
``generate_scenario`` produce the same messages for the same arguments.

The activity model (so callers know the true effect):

* Every person has an activity weight (heavy-tailed: a few prolific posters, many quiet ones). A cohort
  (``cohort_share`` of the people) posts ``uplift`` times as often from ``programme_start`` (taken at midnight
  UTC of its day) on; everyone else keeps the baseline rate. Weekend days weigh ``weekend_factor``.
* ``messages`` (channel) and ``community_messages`` (Viva Engage) are exact totals, spread over the days in
  proportion to ``weekend factor × Σ weights`` (cohort weights × ``uplift`` in the programme period), so the
  expected cohort rate per working day is exactly ``uplift`` × its baseline rate, others' ratio is 1.
* Each channel slot is a system event (``mix.system_share``), a bot post with ``application_name`` and an
  adaptive card (``mix.bot_share``) or a person's message: a reply to a recent root in one of their channels
  (``mix.reply_share``) or a root post. A root is a bare re-share of a corporate text (``reshare``), a cheer
  over a pasted corporate text (``token``: still a broadcast), a personal note of two sentences on a pasted
  or linked corporate text (``note``), a question or an own knowledge post, in Dutch or English (by the
  author's locale), with optional mentions, links, reference-file attachments and a subject. Some messages
  are edited or deleted (Teams soft delete: body, mentions and attachments emptied); person messages get
  reactions (``like``, ``heart``, unicode emoji, …). ``CORPORATE_TEXTS`` is the corporate library used.
* Viva Engage posts follow the same mix in plain text, with mentions as ``[[user:<yammer id>]]``, hashtags,
  links, file attachments, replies (``thread_id``/``replied_to_id``) and likes (``liked_by``).
* ``GeneratedScenario.stats`` counts by kind (``root``, ``reply``, ``bot``, ``system``, ``reshare``, ``token``,
  ``note``, ``question``, ``own``, ``mention``, ``edited``, ``deleted``, ``reactions``, ``cohort_baseline``,
  ``cohort_programme``, ``community_root``, ``community_reply``, ``likes``, ``community_cohort_*``).
* In ``generate_scenario`` a reply bumps its root's ``last_modified`` (as ``Scenario.post`` does); streamed roots
  are never touched after being yielded.
* Cost (2 vCPU, Python 3.11): about 20,000-25,000 messages/s; streaming 1,000,000 channel plus 100,000 community
  messages for 10,000 people stays under 40 MB RSS, storing them all takes about 1.3 GB.
"""

from __future__ import annotations

import itertools
import random
import uuid
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from plugin.sandbox.scenario import (
    ChannelMessage,
    CommunityMessage,
    Reaction,
    Scenario,
    ScenarioChannel,
    ScenarioCommunity,
    ScenarioPerson,
    ScenarioTeam,
)

#: First Yammer message id used by ``Scenario.post_in_community`` (its ids are this plus 1, 2, 3, …).
COMMUNITY_ID_BASE = 2000337749565441
DEFAULT_UPLIFT = 2.5
#: (community id, sender oid, body, created, parent or None) -> the stored or free-standing message.
_NewCommunityMessage = Callable[[int, str, str, datetime, CommunityMessage | None], CommunityMessage]


@dataclass(frozen=True)
class CorporateText:
    """A corporate announcement people re-share (bare, or under a note of their own)."""

    id: str
    language: str
    title: str
    text: str
    url: str


# fmt: off
CORPORATE_TEXTS: tuple[CorporateText, ...] = (
    CorporateText(
        "nl-office", "nl", "Nieuw kantoor in Eindhoven",
        "Per 1 maart openen wij een nieuw kantoor op Strijp-S in Eindhoven. Daarmee komen we dichter bij onze "
        "klanten in de Brainport-regio. Het kantoor is volledig energieneutraal en biedt plaats aan zestig collega's.",
        "https://www.contoso.example/nieuws/kantoor-eindhoven",
    ),
    CorporateText(
        "nl-vacatures", "nl", "Wij zoeken data-consultants",
        "Ons team groeit! Wij zoeken ervaren data-consultants die klanten helpen met cloud, data en procesverbetering. "
        "Ken jij iemand die bij ons past? Deel deze vacature in je netwerk.",
        "https://werkenbij.contoso.example/vacatures/data-consultant",
    ),
    CorporateText(
        "nl-rapport", "nl", "Duurzaamheidsrapport 2025",
        "Ons duurzaamheidsrapport 2025 is uit. We hebben onze CO2-uitstoot met 38 procent verminderd ten opzichte "
        "van 2019 en alle kantoren draaien op groene stroom. Lees het volledige rapport op onze website.",
        "https://www.contoso.example/duurzaamheid/rapport-2025",
    ),
    CorporateText(
        "en-acquisition", "en", "Acquisition of CloudNorth",
        "Today we announced the acquisition of CloudNorth, a specialist in Azure cloud migration and platform "
        "engineering. Together we help organisations modernise their IT landscape in a secure and sustainable way.",
        "https://www.contoso.example/news/cloudnorth",
    ),
    CorporateText(
        "en-webinar", "en", "Webinar: AI in the public sector",
        "Join our free webinar on responsible AI in the public sector on 12 June. Our experts share lessons from "
        "twenty projects and answer your questions live. Register now, places are limited.",
        "https://www.contoso.example/events/ai-public-sector",
    ),
    CorporateText(
        "en-award", "en", "Best workplace award",
        "We are proud to be named one of the best workplaces in consulting for the third year in a row. Thank you "
        "to every colleague who makes this a great place to work.",
        "https://www.contoso.example/news/best-workplace",
    ),
)

_TOPICS = {
    "nl": ("procesmining", "datagedreven werken", "cloudmigratie", "circulair inkopen", "lean in de zorg",
           "AI-governance", "ESG-rapportage", "agile teams", "klantreizen", "privacy by design"),
    "en": ("process mining", "data-driven work", "cloud migration", "circular procurement", "lean in healthcare",
           "AI governance", "ESG reporting", "agile teams", "customer journeys", "privacy by design"),
}
_NOTES = {
    "nl": (
        "Mooi nieuws! Wat mij betreft precies de goede stap, bij klanten ligt {topic} steeds vaker op tafel.",
        "Trots op dit team. Vorige week nog gezien hoe dit bij een klant over {topic} het verschil maakte.",
        "Dit raakt aan waar ik mee bezig ben: {topic}. Wie wil hier eens over sparren?",
        "Goed om te zien. Mijn ervaring: begin klein met {topic} en leer van de eerste {n} weken.",
        "Hier heb ik lang naar uitgekeken. Voor mijn opdrachtgevers rond {topic} is dit echt relevant.",
    ),
    "en": (
        "Great news! In my projects on {topic} I see exactly why this matters for clients.",
        "Proud of this team. Last week I saw how this made the difference for a client working on {topic}.",
        "This connects to what I'm working on: {topic}. Anyone up for a chat about it?",
        "Good to see. My lesson from {topic}: start small and learn from the first {n} weeks.",
        "Been looking forward to this. For my clients in {topic} this is really relevant.",
    ),
}
_OWN_POSTS = {
    "nl": (
        "Drie lessen uit mijn laatste project over {topic}: begin met een concrete vraag, betrek de teamleiders "
        "vroeg en meet na {n} weken wat er echt veranderd is.",
        "Vandaag een workshop gegeven over {topic}. Wat opviel: de beste ideeën kwamen van de mensen op de werkvloer, "
        "niet uit het plan.",
        "Interessant artikel over {topic}. Ik ben het niet helemaal eens met de conclusie, in onze praktijk zien we "
        "dat het {n} maanden duurt voordat het effect zichtbaar wordt.",
        "Tip voor wie met {topic} begint: maak eerst de huidige situatie zichtbaar. Bij mijn klant scheelde dat "
        "{n} procent doorlooptijd.",
    ),
    "en": (
        "Three lessons from my latest project on {topic}: start with a concrete question, involve team leads early, "
        "and measure after {n} weeks what really changed.",
        "Ran a workshop on {topic} today. What struck me: the best ideas came from the people doing the work, not "
        "from the plan.",
        "Interesting article on {topic}. I don't fully agree with the conclusion; in our practice it takes {n} "
        "months before the effect shows.",
        "Tip for anyone starting with {topic}: make the current situation visible first. At my client that cut "
        "lead time by {n} percent.",
    ),
}
_QUESTIONS = {
    "nl": (
        "Heeft iemand ervaring met {topic} bij een gemeente? Ik zoek een voorbeeld voor een klant.",
        "Wie kent een goed boek of artikel over {topic}?",
        "Vraag aan de groep: hoe meten jullie het succes van {topic}?",
    ),
    "en": (
        "Does anyone have experience with {topic} at a public body? Looking for an example for a client.",
        "Who knows a good book or article on {topic}?",
        "Question for the group: how do you measure the success of {topic}?",
    ),
}
_REPLIES = {
    "nl": ("Dank je, goed punt!", "Helemaal mee eens.", "Interessant, daar wil ik meer over weten.",
           "Herkenbaar, bij ons ging het precies zo.", "Ik stuur je een berichtje.", "Mooi gedaan!",
           "Goede vraag, ik denk dat {topic} hier ook meespeelt."),
    "en": ("Thanks, good point!", "Fully agree.", "Interesting, I'd like to hear more.",
           "Recognisable, it went exactly like that for us.", "I'll send you a message.", "Well done!",
           "Good question, I think {topic} plays a role here too."),
}
_CHEERS = {
    "nl": ("Trots!", "Mooi nieuws 🚀", "Lees dit!", "Top 👏", "Delen!"),
    "en": ("Proud!", "Big news 🚀", "Must read!", "Great 👏", "Sharing!"),
}
_LINKS = (
    "https://www.computable.nl/artikel/procesmining-belastingdienst",
    "https://hbr.org/2024/03/what-makes-a-team-effective",
    "https://www.frankwatching.com/archive/employee-advocacy",
    "https://learn.microsoft.com/azure/architecture/guide/",
    "https://www.mckinsey.com/capabilities/quantumblack/our-insights",
    "https://www.ser.nl/nl/thema/duurzaamheid",
)
_FILES = ("Klantcase procesmining.pptx", "Aanpak cloudmigratie.docx", "ESG checklist.xlsx", "Lessons learned.pdf",
          "Workshop AI governance.pptx", "Roadmap 2026.docx")
_BOTS = (
    ("Polly", "<p>Poll: welke sessie wil je op de kennisdag zien?</p>"),
    ("Forms", "<p>New survey: how do you share your expertise?</p>"),
    ("Nieuwsbot", "<p>Nieuw op intranet: de kwartaalcijfers staan online.</p>"),
    ("Praise", "<p>Someone sent praise to a colleague.</p>"),
)
_REACTIONS = ("like", "like", "like", "like", "heart", "heart", "laugh", "surprised", "👍", "👍", "🎉", "❤️", "😂")
_HOURS = (6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
_HOUR_CUM = tuple(itertools.accumulate((1, 4, 8, 10, 10, 8, 6, 9, 10, 9, 6, 3, 2, 2, 1, 1)))
_FIRST = {
    "nl": ("Sanne", "Daan", "Fleur", "Thijs", "Lotte", "Bram", "Eva", "Ruben", "Anouk", "Jeroen", "Iris", "Niels",
           "Femke", "Joost", "Roos", "Stijn", "Noor", "Luuk", "Esther", "Koen", "Vera", "Wouter", "Maartje", "Tom"),
    "en": ("Emma", "James", "Olivia", "Liam", "Sophie", "Noah", "Priya", "Oliver", "Chloe", "Jack", "Hannah",
           "Daniel", "Grace", "Samuel", "Ava", "Leo"),
}
_LAST = {
    "nl": ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
           "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "van Dam",
           "Kuipers", "Vermeulen", "van den Berg", "Koster", "Prins", "Huisman", "Post", "Willems"),
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
           "Thompson", "Evans", "Walker", "White", "Roberts", "Green"),
}
_CHANNELS = ("Kennisdeling", "Klantcases", "Cloud & AI", "Show and tell", "Events", "Lean & verandering")
_TEAM_WORDS = ("Advies", "Data", "Organisatie", "Duurzaamheid", "Finance", "Publieke Sector", "Zorg", "Cloud")
_COMMUNITY_NAMES = ("Kennisnetwerk", "Duurzaam Ondernemen", "Data & AI", "Lean Community", "Young Professionals",
                    "Women in Tech", "Publieke Sector", "Innovatie")
# fmt: on


@dataclass(frozen=True)
class MessageMix:
    """Shares and rates of the kinds of messages generated (each share is a probability per message or root)."""

    system_share: float = 0.01  # channel slots that are system events
    bot_share: float = 0.03  # channel slots that are bot posts
    reply_share: float = 0.4  # person messages that reply to a recent root
    reshare_share: float = 0.15  # roots that are a bare re-share of a corporate text
    token_share: float = 0.1  # roots that paste a corporate text under a cheer ("Trots!"): still broadcast
    note_share: float = 0.2  # roots with a personal note on a corporate text (pasted or linked)
    question_share: float = 0.1  # roots that are questions (the rest are own knowledge posts)
    english_share_nl: float = 0.15  # messages of nl-locale people written in English
    mention_share: float = 0.15
    link_share: float = 0.35  # own posts and questions with a link
    file_share: float = 0.08  # roots with a reference-file attachment
    subject_share: float = 0.2  # channel roots with a subject
    edit_share: float = 0.04
    delete_share: float = 0.02
    reactions_per_root: float = 1.8  # mean reactions (channel) or likes (community) on a root
    reactions_per_reply: float = 0.6


class _Root(NamedTuple):
    kind: str  # reshare, token, note, question or own
    language: str
    own: str  # the author's own words
    corporate: CorporateText | None
    pasted: bool  # corporate text pasted into the body (else only linked)
    link: str | None


@dataclass(frozen=True)
class GenerationPlan:
    """The parameters and truth behind a generated scenario."""

    seed: int
    start: datetime
    end: datetime
    programme_start: datetime
    uplift: float
    weekend_factor: float
    cohort: frozenset[str]
    weights: dict[str, float]
    mix: MessageMix
    domain: str

    def in_programme(self, at: datetime) -> bool:
        """Whether ``at`` lies in the programme period (else the baseline period)."""
        return at >= self.programme_start

    def day_factor(self, day: date) -> float:
        """Relative activity of a calendar day (weekends are quieter)."""
        return self.weekend_factor if day.weekday() >= 5 else 1.0

    def days(self) -> list[tuple[datetime, datetime]]:
        """The UTC day windows [from, to) covering [start, end)."""
        windows = []
        midnight = datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)
        while midnight < self.end:
            windows.append((max(midnight, self.start), min(midnight + timedelta(days=1), self.end)))
            midnight += timedelta(days=1)
        return windows


@dataclass
class GeneratedScenario(Scenario):
    """A scenario plus how it was made; ``stats`` counts what was generated by kind."""

    plan: GenerationPlan | None = None
    stats: Counter[str] = field(default_factory=Counter)
    #: oid → (team id, channel id) pairs the person can post in.
    person_channels: dict[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False)
    #: oid → ids of the communities the person belongs to.
    person_communities: dict[str, list[int]] = field(default_factory=dict, repr=False)


def generate_structure(
    *,
    people: int,
    teams: int,
    start: datetime,
    end: datetime,
    seed: int,
    tenant_id: str,
    communities: int = 2,
    programme_start: datetime | None = None,
    uplift: float = DEFAULT_UPLIFT,
    cohort_share: float = 0.3,
    weekend_factor: float = 0.1,
    mix: MessageMix | None = None,
    domain: str = "contoso.example",
) -> GeneratedScenario:
    """People, teams with channels, communities and the activity plan, without any messages."""
    if people < 1 or teams < 1 or communities < 0:
        raise ValueError("need at least one person and one team")
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError("end must be after start")
    rng = _rng(seed, "structure")
    scenario = GeneratedScenario(tenant_id=tenant_id)
    used_upns: set[str] = set()
    weights: dict[str, float] = {}
    for index in range(people):
        language = "en" if rng.random() < 0.2 else "nl"
        first, last = rng.choice(_FIRST[language]), rng.choice(_LAST[language])
        local = f"{first}.{last}".lower().replace(" ", "")
        upn = f"{local}@{domain}"
        if upn in used_upns:
            upn = f"{local}{index}@{domain}"
        used_upns.add(upn)
        oid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        scenario.people[oid] = ScenarioPerson(
            oid=oid,
            name=f"{first} {last}",
            upn=upn,
            locale="en-GB" if language == "en" else "nl-NL",
            yammer_id=36_425_097_217 + index * 1_013,
        )
        # Heavy-tailed activity: a few prolific posters, a fifth nearly silent.
        weights[oid] = 0.05 if rng.random() < 0.2 else min(rng.paretovariate(1.6), 25.0)
    oids = list(scenario.people)
    for index in range(teams):
        team_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        team = ScenarioTeam(team_id, f"{_TEAM_WORDS[index % len(_TEAM_WORDS)]} {index + 1}")
        names = ["General", *rng.sample(_CHANNELS, rng.randint(1, 3))]
        for name in names:
            channel_id = f"19:{rng.getrandbits(128):032x}@thread.tacv2"
            team.channels[channel_id] = ScenarioChannel(channel_id, name)
        scenario.teams[team_id] = team
    team_list = list(scenario.teams.values())
    for index, oid in enumerate(oids):
        homes = [team_list[index % teams]]
        if teams > 1 and rng.random() < 0.3:
            homes.append(rng.choice([t for t in team_list if t is not homes[0]]))
        for team in homes:
            team.members.append(oid)
            scenario.person_channels.setdefault(oid, []).extend((team.id, c) for c in team.channels)
    for team in team_list:
        if team.members:
            team.owners = team.members[: rng.randint(1, 2)]
    for index in range(communities):
        community = ScenarioCommunity(31_158_067_201 + index, _community_name(index))
        scenario.communities[community.id] = community
    community_list = list(scenario.communities.values())
    if community_list:
        for oid in oids:
            if rng.random() < 0.6:
                for community in rng.sample(community_list, min(len(community_list), rng.randint(1, 2))):
                    community.members.append(oid)
                    scenario.person_communities.setdefault(oid, []).append(community.id)
    cohort = frozenset(rng.sample(oids, round(cohort_share * len(oids))))
    if programme_start is None:
        programme_start = start + (end - start) / 3
    programme_start = _utc(programme_start)
    programme_start = datetime(programme_start.year, programme_start.month, programme_start.day, tzinfo=UTC)
    scenario.plan = GenerationPlan(
        seed=seed,
        start=start,
        end=end,
        programme_start=programme_start,
        uplift=uplift,
        weekend_factor=weekend_factor,
        cohort=cohort,
        weights=weights,
        mix=mix or MessageMix(),
        domain=domain,
    )
    return scenario


def generate_scenario(
    *,
    people: int,
    teams: int,
    messages: int,
    start: datetime,
    end: datetime,
    seed: int,
    tenant_id: str,
    communities: int = 2,
    community_messages: int | None = None,
    programme_start: datetime | None = None,
    uplift: float = DEFAULT_UPLIFT,
    cohort_share: float = 0.3,
    weekend_factor: float = 0.1,
    mix: MessageMix | None = None,
    domain: str = "contoso.example",
) -> GeneratedScenario:
    """A whole scenario: ``messages`` channel messages and ``community_messages`` (default messages // 10) posts."""
    scenario = generate_structure(
        people=people,
        teams=teams,
        start=start,
        end=end,
        seed=seed,
        tenant_id=tenant_id,
        communities=communities,
        programme_start=programme_start,
        uplift=uplift,
        cohort_share=cohort_share,
        weekend_factor=weekend_factor,
        mix=mix,
        domain=domain,
    )
    stored = scenario.messages
    for message in iter_channel_messages(scenario, messages, stats=scenario.stats):
        stored[message.id] = message
        if message.reply_to_id is not None:
            root = stored[message.reply_to_id]
            root.last_modified = max(root.last_modified, message.created)
    if community_messages is None:
        community_messages = messages // 10 if scenario.communities else 0

    def post(
        community_id: int, sender_oid: str, body: str, at: datetime, parent: CommunityMessage | None
    ) -> CommunityMessage:
        replied_to = parent.id if parent else None
        return scenario.post_in_community(community_id, sender_oid, body, at=at, replied_to=replied_to)

    for _ in _community_stream(scenario, community_messages, post, scenario.stats):
        pass
    return scenario


def iter_channel_messages(
    structure: GeneratedScenario, messages: int, *, stats: Counter[str] | None = None
) -> Iterator[ChannelMessage]:
    """Yield ``messages`` channel messages of ``structure`` in time order, storing nothing."""
    plan = _plan(structure)
    mix = plan.mix
    rng = _rng(plan.seed, "channel")
    stats = stats if stats is not None else Counter()
    authors = [oid for oid in structure.people if structure.person_channels.get(oid)]
    if not authors and messages:
        raise ValueError("nobody is a member of a team")
    picker = _AuthorPicker(plan, authors)
    all_channels = [(team.id, channel) for team in structure.teams.values() for channel in team.channels]
    recent: dict[str, deque[ChannelMessage]] = {}
    last_id = 0
    texts = _Texts(rng, structure, plan)
    for at, programme in _timeline(plan, rng, messages, picker):
        ms = int(at.timestamp() * 1000)
        last_id = max(ms, last_id + 1)
        slot = rng.random()
        if slot < mix.system_share:
            team_id, channel_id = rng.choice(all_channels)
            message = ChannelMessage(
                str(last_id),
                team_id,
                channel_id,
                at,
                at,
                "<systemEventMessage/>",
                None,
                message_type="systemEventMessage",
            )
            stats["system"] += 1
            yield message
            continue
        if slot < mix.system_share + mix.bot_share:
            team_id, channel_id = rng.choice(all_channels)
            app_name, body = rng.choice(_BOTS)
            card_id = f"{rng.getrandbits(128):032x}"
            message = ChannelMessage(
                str(last_id),
                team_id,
                channel_id,
                at,
                at,
                f'{body}<attachment id="{card_id}"></attachment>',
                None,
                application_name=app_name,
                attachments=[
                    {
                        "id": card_id,
                        "contentType": "application/vnd.microsoft.card.adaptive",
                        "contentUrl": None,
                        "content": '{"type":"AdaptiveCard","version":"1.4"}',
                        "name": None,
                        "thumbnailUrl": None,
                        "teamsAppId": None,
                    }
                ],
            )
            stats["bot"] += 1
            yield message
            continue
        author = picker.pick(rng, programme)
        team_id, channel_id = rng.choice(structure.person_channels[author])
        roots = recent.get(channel_id)
        if roots and rng.random() < mix.reply_share:
            root = roots[-1 - min(int(rng.expovariate(0.5)), len(roots) - 1)]
            html, mentions = texts.channel_reply(author, root)
            message = ChannelMessage(
                str(last_id), team_id, channel_id, at, at, html, author, reply_to_id=root.id, mentions=mentions
            )
            stats["reply"] += 1
            mean_reactions = mix.reactions_per_reply
        else:
            html, mentions, attachments, kind = texts.channel_root(author, team_id, channel_id)
            subject = texts.subject() if rng.random() < mix.subject_share else None
            message = ChannelMessage(
                str(last_id),
                team_id,
                channel_id,
                at,
                at,
                html,
                author,
                subject=subject,
                mentions=mentions,
                attachments=attachments,
            )
            recent.setdefault(channel_id, deque(maxlen=12)).append(message)
            stats["root"] += 1
            stats[kind] += 1
            mean_reactions = mix.reactions_per_root
        stats["person"] += 1
        if mentions:
            stats["mention"] += 1
        if author in plan.cohort:
            stats["cohort_programme" if programme else "cohort_baseline"] += 1
        _finish(message, rng, structure, plan, mean_reactions, stats)
        yield message


def iter_community_messages(
    structure: GeneratedScenario, count: int, *, stats: Counter[str] | None = None
) -> Iterator[CommunityMessage]:
    """Yield ``count`` Viva Engage messages of ``structure`` in time order, storing nothing."""
    ids = itertools.count(COMMUNITY_ID_BASE + 1)

    def new_message(
        community_id: int, sender_oid: str, body: str, at: datetime, parent: CommunityMessage | None
    ) -> CommunityMessage:
        message_id = next(ids)
        thread = parent.thread_id if parent else message_id
        return CommunityMessage(message_id, community_id, sender_oid, at, body, thread, parent.id if parent else None)

    return _community_stream(structure, count, new_message, stats if stats is not None else Counter())


def _community_stream(
    structure: GeneratedScenario, count: int, new_message: _NewCommunityMessage, stats: Counter[str]
) -> Iterator[CommunityMessage]:
    plan = _plan(structure)
    mix = plan.mix
    rng = _rng(plan.seed, "community")
    authors = [oid for oid in structure.people if structure.person_communities.get(oid)]
    if count and not authors:
        raise ValueError("nobody is a member of a community")
    picker = _AuthorPicker(plan, authors)
    texts = _Texts(rng, structure, plan)
    recent: dict[int, deque[CommunityMessage]] = {}
    for at, programme in _timeline(plan, rng, count, picker):
        author = picker.pick(rng, programme)
        community_id = rng.choice(structure.person_communities[author])
        threads = recent.get(community_id)
        parent = None
        if threads and rng.random() < mix.reply_share:
            parent = threads[-1 - min(int(rng.expovariate(0.5)), len(threads) - 1)]
            body = texts.community_reply(author, parent)
        else:
            body = texts.community_root(author)
        message = new_message(community_id, author, body, at, parent)
        if parent is None:
            recent.setdefault(community_id, deque(maxlen=12)).append(message)
            stats["community_root"] += 1
            mean = mix.reactions_per_root
            if rng.random() < mix.file_share:
                message.attachments.append(texts.yammer_file(message.id))
        else:
            stats["community_reply"] += 1
            mean = mix.reactions_per_reply
        members = structure.communities[community_id].members
        for _ in range(min(_poisson(rng, mean), len(members) - 1)):
            liker = rng.choice(members)
            if liker != author and liker not in message.liked_by:
                message.liked_by.append(liker)
        stats["likes"] += len(message.liked_by)
        if author in plan.cohort:
            stats["community_cohort_programme" if programme else "community_cohort_baseline"] += 1
        yield message


class _AuthorPicker:
    """Weighted author choice; cohort members weigh ``uplift`` times more in the programme period."""

    def __init__(self, plan: GenerationPlan, authors: Sequence[str]) -> None:
        self.authors = list(authors)
        base = [plan.weights[oid] for oid in self.authors]
        boosted = [w * plan.uplift if oid in plan.cohort else w for oid, w in zip(self.authors, base, strict=True)]
        self.baseline = list(itertools.accumulate(base))
        self.programme = list(itertools.accumulate(boosted))

    def total(self, programme: bool) -> float:
        """Sum of weights in the period."""
        cum = self.programme if programme else self.baseline
        return cum[-1] if cum else 0.0

    def pick(self, rng: random.Random, programme: bool) -> str:
        """One author."""
        cum = self.programme if programme else self.baseline
        return self.authors[bisect_right(cum, rng.random() * cum[-1])]


def _timeline(
    plan: GenerationPlan, rng: random.Random, count: int, picker: _AuthorPicker
) -> Iterator[tuple[datetime, bool]]:
    """``count`` timestamps in ascending order, spread over the days by their weight, with office-hour peaks."""
    days = plan.days()
    weights = []
    for day_start, day_end in days:
        programme = plan.in_programme(day_start)
        share = (day_end - day_start) / timedelta(days=1)
        weights.append(plan.day_factor(day_start.date()) * share * picker.total(programme))
    total = sum(weights)
    if count and total <= 0:
        raise ValueError("no activity to spread messages over")
    done, cumulative = 0, 0.0
    for (day_start, day_end), weight in zip(days, weights, strict=True):
        cumulative += weight
        # Cumulative rounding makes the daily quotas add up to exactly ``count``.
        quota = round(count * cumulative / total) - done if total else 0
        done += quota
        if quota <= 0:
            continue
        midnight = day_start.replace(hour=0, minute=0, second=0, microsecond=0)
        low = int((day_start - midnight) / timedelta(milliseconds=1))
        high = int((day_end - midnight) / timedelta(milliseconds=1))
        offsets = []
        for _ in range(quota):
            hour = _HOURS[bisect_right(_HOUR_CUM, rng.random() * _HOUR_CUM[-1])]
            offset = hour * 3_600_000 + rng.randrange(3_600_000)
            if not low <= offset < high:
                offset = rng.randrange(low, high)
            offsets.append(offset)
        offsets.sort()
        programme = plan.in_programme(day_start)
        for offset in offsets:
            yield midnight + timedelta(milliseconds=offset), programme


def _finish(
    message: ChannelMessage,
    rng: random.Random,
    structure: GeneratedScenario,
    plan: GenerationPlan,
    mean: float,
    stats: Counter[str],
) -> None:
    """Reactions, edits and deletion of a person's message; sets ``last_modified``."""
    mix = plan.mix
    last = message.created
    roll = rng.random()
    if roll < mix.delete_share:
        message.deleted = min(message.created + timedelta(seconds=rng.randrange(60, 7200)), plan.end)
        # As Teams shows a deleted message: no content, mentions or attachments left.
        message.body_html = ""
        message.mentions, message.attachments = [], []
        message.last_modified = max(message.deleted, message.created)
        stats["deleted"] += 1
        return
    if roll < mix.delete_share + mix.edit_share:
        message.last_edited = min(message.created + timedelta(seconds=rng.randrange(30, 3600)), plan.end)
        last = max(last, message.last_edited)
        stats["edited"] += 1
    members = structure.teams[message.team_id].members
    for _ in range(min(_poisson(rng, mean), len(members) - 1)):
        reactor = rng.choice(members)
        if reactor == message.author_oid:
            continue
        at = min(message.created + timedelta(seconds=int(rng.expovariate(1 / 5400)) + 5), plan.end)
        message.reactions.append(Reaction(reactor, rng.choice(_REACTIONS), at))
        last = max(last, at)
    message.reactions.sort(key=lambda reaction: reaction.created)
    stats["reactions"] += len(message.reactions)
    message.last_modified = last


class _Texts:
    """Bodies for channel (HTML) and community (plain text) messages."""

    def __init__(self, rng: random.Random, structure: GeneratedScenario, plan: GenerationPlan) -> None:
        self.rng = rng
        self.people = structure.people
        self.everyone = list(structure.people)
        self.teams = structure.teams
        self.tenant_id = structure.tenant_id
        self.mix = plan.mix
        self.site = plan.domain.split(".", 1)[0]
        self.topic = ""
        self.corporate = {lang: [c for c in CORPORATE_TEXTS if c.language == lang] for lang in ("nl", "en")}

    def language(self, oid: str) -> str:
        """The language this person writes this message in."""
        if self.people[oid].locale.startswith("en"):
            return "en"
        return "en" if self.rng.random() < self.mix.english_share_nl else "nl"

    def fill(self, template: str, language: str) -> str:
        """A template with a topic (kept in ``self.topic``) and a number."""
        self.topic = self.rng.choice(_TOPICS[language])
        return template.format(topic=self.topic, n=self.rng.randint(2, 12))

    def subject(self) -> str:
        """A channel post subject."""
        return self.rng.choice(_TOPICS["nl"]).capitalize()

    def root_text(self, oid: str) -> _Root:
        """What a root post says, before it is written as HTML or Yammer plain text."""
        rng, mix = self.rng, self.mix
        language = self.language(oid)
        roll = rng.random()
        if roll < mix.reshare_share:
            return _Root("reshare", language, "", rng.choice(self.corporate[language]), True, None)
        roll -= mix.reshare_share
        if roll < mix.token_share:
            return _Root(
                "token", language, rng.choice(_CHEERS[language]), rng.choice(self.corporate[language]), True, None
            )
        roll -= mix.token_share
        if roll < mix.note_share:
            # A note of two or three sentences: enough own words to comment on the news rather than repeat it.
            note = (
                self.fill(rng.choice(_NOTES[language]), language)
                + " "
                + self.fill(rng.choice(_OWN_POSTS[language]), language)
            )
            return _Root("note", language, note, rng.choice(self.corporate[language]), rng.random() < 0.5, None)
        roll -= mix.note_share
        link = rng.choice(_LINKS) if rng.random() < mix.link_share else None
        if roll < mix.question_share:
            return _Root("question", language, self.fill(rng.choice(_QUESTIONS[language]), language), None, False, link)
        return _Root("own", language, self.fill(rng.choice(_OWN_POSTS[language]), language), None, False, link)

    def colleagues(self, oid: str, team_id: str | None) -> list[ScenarioPerson]:
        """One or two people to mention (team members when there is a team), or none."""
        if self.rng.random() >= self.mix.mention_share:
            return []
        pool = self.teams[team_id].members if team_id else self.everyone
        chosen = {self.rng.choice(pool) for _ in range(self.rng.randint(1, 2))} - {oid}
        return [self.people[c] for c in sorted(chosen)]

    def channel_root(self, oid: str, team_id: str, channel_id: str) -> tuple[str, list[dict], list[dict], str]:
        """(HTML body, mentions, attachments, kind) of a channel root post."""
        root = self.root_text(oid)
        kind, link = root.kind, root.link
        parts = []
        mentions = self._mentions(self.colleagues(oid, team_id)) if root.own else []
        if root.own:
            parts.append(f"<p>{_mention_html(mentions)}{_escape(root.own)}</p>")
        if root.corporate is not None:
            if root.pasted:
                parts.append(f"<p>{_escape(root.corporate.text)}</p>")
            link = root.corporate.url
        if link:
            parts.append(f'<p><a href="{link}" rel="noreferrer noopener" target="_blank" title="{link}">{link}</a></p>')
        attachments = []
        if kind in ("note", "own", "question") and self.rng.random() < self.mix.file_share:
            name = self.rng.choice(_FILES)
            attachment_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            team = self.teams[team_id].name.replace(" ", "")
            attachments.append(
                {
                    "id": attachment_id,
                    "contentType": "reference",
                    "contentUrl": f"https://{self.site}.sharepoint.com/sites/{team}/Shared%20Documents/{name}",
                    "content": None,
                    "name": name,
                    "thumbnailUrl": None,
                    "teamsAppId": None,
                }
            )
            parts.append(f'<attachment id="{attachment_id}"></attachment>')
        return "".join(parts), mentions, attachments, kind

    def channel_reply(self, oid: str, root: ChannelMessage) -> tuple[str, list[dict]]:
        """(HTML body, mentions) of a reply, sometimes mentioning the root's author."""
        language = self.language(oid)
        text = self.fill(self.rng.choice(_REPLIES[language]), language)
        mentions: list[dict] = []
        if root.author_oid and root.author_oid != oid and self.rng.random() < self.mix.mention_share:
            mentions = self._mentions([self.people[root.author_oid]])
        return f"<p>{_mention_html(mentions)}{_escape(text)}</p>", mentions

    def community_root(self, oid: str) -> str:
        """Plain-text body of a Viva Engage post (mentions as ``[[user:id]]``, topics as hashtags)."""
        root = self.root_text(oid)
        link = root.link
        parts = []
        if root.own:
            refs = " ".join(f"[[user:{p.yammer_id}]]" for p in self.colleagues(oid, None))
            parts.append(f"{refs} {root.own}" if refs else root.own)
        if root.corporate is not None:
            if root.pasted:
                parts.append(root.corporate.text)
            link = root.corporate.url
        if link:
            parts.append(link)
        if root.kind in ("own", "question") and self.rng.random() < 0.5:
            parts.append("#" + self.topic.replace(" ", "").replace("-", ""))
        return "\n\n".join(parts)

    def community_reply(self, oid: str, parent: CommunityMessage) -> str:
        """Plain-text body of a Viva Engage reply."""
        language = self.language(oid)
        text = self.fill(self.rng.choice(_REPLIES[language]), language)
        if parent.sender_oid != oid and self.rng.random() < self.mix.mention_share:
            return f"[[user:{self.people[parent.sender_oid].yammer_id}]] {text}"
        return text

    def yammer_file(self, message_id: int) -> dict:
        """A Yammer file attachment."""
        name = self.rng.choice(_FILES)
        file_id = 1_400_000_000 + self.rng.getrandbits(28)
        return {
            "type": "file",
            "id": file_id,
            "name": name,
            "full_name": name,
            "content_type": "application/octet-stream",
            "size": self.rng.randint(20_000, 4_000_000),
            "web_url": f"https://www.yammer.com/{self.site}/files/{file_id}",
            "download_url": f"https://www.yammer.com/api/v1/uploaded_files/{file_id}/download",
        }

    def _mentions(self, people: Sequence[ScenarioPerson]) -> list[dict]:
        return [
            {
                "id": index,
                "mentionText": person.name,
                "mentioned": {
                    "application": None,
                    "device": None,
                    "conversation": None,
                    "tag": None,
                    "user": {
                        "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                        "id": person.oid,
                        "displayName": person.name,
                        "userIdentityType": "aadUser",
                        "tenantId": self.tenant_id,
                    },
                },
            }
            for index, person in enumerate(people)
        ]


def _mention_html(mentions: Sequence[dict]) -> str:
    return "".join(f'<at id="{m["id"]}">{_escape(m["mentionText"])}</at> ' for m in mentions)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth; fine for the small means used here)."""
    if mean <= 0:
        return 0
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _community_name(index: int) -> str:
    name = _COMMUNITY_NAMES[index % len(_COMMUNITY_NAMES)]
    return name if index < len(_COMMUNITY_NAMES) else f"{name} {index // len(_COMMUNITY_NAMES) + 1}"


def _plan(structure: GeneratedScenario) -> GenerationPlan:
    if structure.plan is None:
        raise ValueError("the scenario was not made by generate_structure")
    return structure.plan


class _FastRandom(random.Random):
    """``random.Random`` whose choice/randrange/randint scale ``random()``: about twice as fast, bias < 2**-40."""

    def choice(self, seq: Sequence[Any]) -> Any:  # type: ignore[override]
        """One element of a non-empty sequence."""
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        """An integer in [start, stop) (or [0, start))."""
        low, high = (0, start) if stop is None else (start, stop)
        return low + int(self.random() * (high - low))

    def randint(self, a: int, b: int) -> int:
        """An integer in [a, b]."""
        return a + int(self.random() * (b - a + 1))


def _rng(seed: int, stream: str) -> random.Random:
    # Synthetic data, not security: one independent, reproducible stream per part of the scenario.
    return _FastRandom(f"{seed}/{stream}")


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
