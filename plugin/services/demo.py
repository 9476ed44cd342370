"""Seed the demo organisation: teams, people, a cohort in its third week and believable activity."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import DEMO_TENANT_ID
from ..domain.programme import default_programme
from ..models import (
    Activity,
    Award,
    Channel,
    CheckIn,
    Cohort,
    CohortCommunity,
    CohortTeam,
    Community,
    Enrolment,
    Evidence,
    Nomination,
    Organisation,
    Person,
    Recognition,
    RoleAssignment,
    Team,
    TeamMembership,
)
from . import demo_data as data
from .programmes import copy_missions, ensure_badges
from .progress import recompute_cohort

_NAMESPACE = uuid.UUID("0f6a4d2e-8c55-4a9e-bd0c-5b7f3f0e9d21")
COHORT_NAME = "Social Embassy — najaar"
DEMO_WEEK = 3


@dataclass(frozen=True)
class SeedResult:
    """What the seeding did: `created` is False when the demo data was already there."""

    created: bool
    people: int
    activities: int
    cohort_id: int


def demo_oid(name: str) -> str:
    """A stable Entra object id for a demo person, so sandbox tokens and the database agree."""
    return str(uuid.uuid5(_NAMESPACE, f"person:{name}"))


def demo_upn(name: str) -> str:
    """The demo person's sign-in name (UPN) and e-mail address."""
    local = "".join(ch for ch in name.lower().replace(" ", ".") if ch.isalnum() or ch == ".").replace("..", ".")
    return f"{local}@noorderlicht.example"


def team_graph_id(key: str) -> str:
    """The Microsoft 365 group id of a demo team."""
    return str(uuid.uuid5(_NAMESPACE, f"team:{key}"))


def channel_graph_id(team_key: str, channel: str) -> str:
    """The Teams channel id of a demo channel."""
    return f"19:{uuid.uuid5(_NAMESPACE, f'channel:{team_key}:{channel}').hex}@thread.tacv2"


def seed_demo(session: Session, *, today: date | None = None) -> SeedResult:
    """Create the demo data once; calling it again changes nothing and reports what is there."""
    existing = session.scalar(select(Cohort).where(Cohort.name == COHORT_NAME))
    if existing is not None:
        people = session.scalar(select(func.count()).select_from(Person)) or 0
        activities = session.scalar(select(func.count()).select_from(Activity)) or 0
        return SeedResult(False, people, activities, existing.id)

    today = today or datetime.now(UTC).date()
    rng = random.Random(20261126)  # noqa: S311 - demo data, not security
    session.add(Organisation(tenant_id=DEMO_TENANT_ID, name=data.ORGANISATION, default_locale="nl"))
    teams = _seed_teams(session)
    people = _seed_people(session, teams)
    communities = [
        Community(yammer_group_id=gid, network_id="5897756673", display_name=name) for gid, name in data.COMMUNITIES
    ]
    session.add_all(communities)
    session.flush()

    start = today - timedelta(days=7 * (DEMO_WEEK - 1) + 2)
    coach = next(p for p, (_n, _t, _l, role) in people if role == "coach")
    programme = default_programme()
    cohort = Cohort(
        name=COHORT_NAME, start_date=start, programme_id=programme.id, programme_version=str(programme.version),
        created_by_id=coach.id,
    )
    session.add(cohort)
    session.flush()
    missions = copy_missions(session, cohort, programme)
    session.add_all(CohortTeam(cohort_id=cohort.id, team_id=team.id) for team, _channels in teams.values())
    session.add_all(CohortCommunity(cohort_id=cohort.id, community_id=c.id) for c in communities)

    enrolments = _seed_enrolments(session, cohort, people, teams, rng)
    activities = _seed_activity(session, cohort, people, teams, rng, today)
    _seed_coaching(session, cohort, people, enrolments, missions)
    cohort.programme_place = teams["fin"][1][1].graph_id  # "Kennisdeling": where introductions go
    session.commit()
    recompute_cohort(session, cohort.id)
    return SeedResult(True, len(people), activities, cohort.id)


def _seed_teams(session: Session) -> dict[str, tuple[Team, list[Channel]]]:
    teams: dict[str, tuple[Team, list[Channel]]] = {}
    for key, name, locale, channel_names in data.TEAMS:
        team = Team(graph_id=team_graph_id(key), display_name=name, locale=locale)
        channels = [Channel(graph_id=channel_graph_id(key, c), display_name=c) for c in channel_names]
        team.channels = channels
        session.add(team)
        teams[key] = (team, channels)
    session.flush()
    return teams


def _seed_people(session: Session, teams: dict[str, tuple[Team, list[Channel]]]):
    people = []
    for row in data.PEOPLE:
        name, team_key, locale, role = row
        address = demo_upn(name)
        person = Person(
            entra_oid=demo_oid(name), display_name=name, upn=address, email=address, preferred_locale=locale
        )
        session.add(person)
        session.flush()
        team = teams[team_key][0]
        session.add(TeamMembership(team_id=team.id, person_id=person.id, is_owner=role == "lead"))
        if role in ("coach", "admin"):
            session.add(RoleAssignment(person_id=person.id, role=role))
        elif role == "lead":
            session.add(RoleAssignment(person_id=person.id, role="lead", team_id=team.id))
        people.append((person, row))
    session.flush()
    return people


def _profile(index: int) -> str:
    return data.ENGAGEMENT[index % len(data.ENGAGEMENT)]


def _seed_enrolments(session, cohort, people, teams, rng) -> dict[int, Enrolment]:
    enrolments: dict[int, Enrolment] = {}
    start_at = datetime.combine(cohort.start_date, time(9), tzinfo=UTC)
    for index, (person, (_name, team_key, _locale, role)) in enumerate(people):
        if role == "admin":
            continue  # the IT admin runs the app but does not take part
        profile = _profile(index)
        late = profile == "starter"
        connections = rng.randint(120, 900)
        enrolment = Enrolment(
            cohort_id=cohort.id,
            person_id=person.id,
            team_id=teams[team_key][0].id,
            status="active",
            enrolled_at=start_at + timedelta(days=15 if late else -3),
            consented_at=start_at + timedelta(days=15 if late else -3),
            consent_version="1",
            intake={
                "goals": rng.sample(["visibility", "network", "expertise", "clients", "informed"], 2),
                "platforms": ["linkedin", "teams", "viva_engage"] + (["x"] if rng.random() < 0.4 else []),
                "topics": rng.sample(list(data.TOPICS), 2),
            },
            intake_completed_at=start_at + timedelta(days=15 if late else -2),
            baseline_connections=connections,
            baseline_followers=rng.randint(20, 300),
            ranking_visibility=rng.choice(["off", "off", "pseudonymous", "named"]),
        )
        session.add(enrolment)
        enrolments[person.id] = enrolment
    session.flush()
    return enrolments


# Posts per week before the cohort and in each programme week, by engagement profile.
_RATES = {
    "champion": (1.0, (4, 4, 3)),
    "steady": (0.3, (2, 2, 2)),
    "faded": (0.2, (3, 0, 0)),
    "starter": (0.1, (0, 0, 2)),
    "quiet": (0.1, (0, 0, 0)),
}
_KNOWLEDGE_SHARE = {"baseline": 0.25, "programme": 0.7}


def _seed_activity(session, cohort, people, teams, rng, today) -> int:
    """Posts, replies and reactions from 8 weeks before the start until today (features only, no text)."""
    start = datetime.combine(cohort.start_date, time(8), tzinfo=UTC)
    now = datetime.combine(today, time(16), tzinfo=UTC)
    members = [(p, row) for p, row in people if row[3] != "admin"]
    # Who responds to colleagues in a given week follows the same engagement profiles as who posts.
    responders = {
        week: [p for i, (p, _row) in enumerate(members)
               if (_RATES[_profile(i)][0] if week < 0 else _RATES[_profile(i)][1][week]) > 0]
        for week in range(-8, DEMO_WEEK)
    }
    rows: list[Activity] = []
    counter = 0
    for index, (person, (_name, team_key, locale, _role)) in enumerate(members):
        profile = _profile(index)
        baseline_rate, weekly = _RATES[profile]
        team, channels = teams[team_key]
        for week in range(-8, DEMO_WEEK):
            period = "baseline" if week < 0 else "programme"
            rate = baseline_rate if week < 0 else weekly[week]
            posts = int(rate) + (1 if rng.random() < rate - int(rate) else 0)
            for _ in range(posts):
                occurred = start + timedelta(weeks=week, hours=rng.randint(0, 24 * 5), minutes=rng.randint(0, 59))
                if occurred > now:
                    continue
                counter += 1
                sharing = rng.random() < _KNOWLEDGE_SHARE[period]
                broadcast = not sharing and rng.random() < 0.3
                language = locale if rng.random() < 0.85 else ("en" if locale == "nl" else "nl")
                post_id = str(int(occurred.timestamp() * 1000) + counter)
                channel = rng.choice(channels)
                rows.append(Activity(
                    source="teams", external_id=post_id, kind="post", author_oid=person.entra_oid,
                    author_id=person.id, team_id=team.id, channel_id=channel.id, thread_external_id=post_id,
                    occurred_at=occurred, knowledge_sharing=sharing, broadcast=broadcast,
                    own_words=rng.randint(25, 160) if sharing else rng.randint(0, 12), language=language,
                    links=1 if sharing or broadcast else 0, files=1 if sharing and rng.random() < 0.3 else 0,
                    is_question=not sharing and rng.random() < 0.3,
                    topics=rng.sample(list(data.TOPICS), rng.randint(0, 2)),
                    content_hash=hashlib.sha256(f"demo:{post_id}".encode()).hexdigest(),
                ))
                rows.extend(_responses(rng, responders[week], person, team, channel, post_id, occurred, now, period))
    session.add_all(rows)
    session.flush()
    return len(rows)


def _responses(rng, responders, author, team, channel, post_id, posted, now, period):
    """Replies and reactions that colleagues give a post; more of them during the programme."""
    rows = []
    others = [p for p in responders if p.id != author.id]
    reply_count = min(len(others), rng.randint(0, 4 if period == "programme" else 2))
    for n, replier in enumerate(rng.sample(others, reply_count)):
        at = posted + timedelta(minutes=rng.randint(5, 60 * 48))
        if at > now:
            continue
        rows.append(Activity(
            source="teams", external_id=f"{post_id}/{int(at.timestamp() * 1000) + n}", kind="reply",
            author_oid=replier.entra_oid, author_id=replier.id, target_author_id=author.id, team_id=team.id,
            channel_id=channel.id, thread_external_id=post_id, occurred_at=at, own_words=rng.randint(3, 40),
            language="nl",
        ))
    for reactor in rng.sample(others, min(len(others), rng.randint(0, 6 if period == "programme" else 3))):
        at = posted + timedelta(minutes=rng.randint(1, 60 * 24))
        if at > now:
            continue
        kind = rng.choice(["like", "like", "heart", "👍", "💡"])
        rows.append(Activity(
            source="teams", external_id=f"{post_id}:{reactor.entra_oid}:{kind}", kind="reaction",
            author_oid=reactor.entra_oid, author_id=reactor.id, target_author_id=author.id, team_id=team.id,
            channel_id=channel.id, thread_external_id=post_id, occurred_at=at, reaction_type=kind,
        ))
    return rows


def _seed_coaching(session, cohort, people, enrolments, missions) -> None:
    """Evidence waiting for review, a check-in, a nomination and one public Ambassador award."""
    by_role = {}
    for person, (_n, team_key, _l, role) in people:
        by_role.setdefault(role, []).append((person, team_key))
    coach = by_role["coach"][0][0]
    employees = [p for p, _t in by_role["employee"]]
    ambassador_badge = ensure_badges(session)["ambassador"]
    external = next(m for m in missions if m.type == "external_post")
    start = datetime.combine(cohort.start_date, time(9), tzinfo=UTC)
    for person in employees[:3]:
        session.add(Evidence(
            enrolment_id=enrolments[person.id].id, mission_id=external.id, url="https://www.linkedin.com/feed/update/"
            f"urn:li:activity:{7200000000000000000 + person.id}", note="Mijn eerste eigen LinkedIn-post!",
            submitted_at=start + timedelta(days=9 + person.id % 4),
        ))
    session.add(CheckIn(
        enrolment_id=enrolments[employees[3].id].id, coach_id=coach.id, created_at=start + timedelta(days=8),
        note="Kickoff-gesprek: wil vooral zichtbaarder worden bij klanten in de zorg.",
    ))
    lead, lead_team = by_role["lead"][0]
    champion = next(p for p, (_n, team_key, _l, role) in people if team_key == lead_team and role == "employee")
    award = Award(
        public_id=str(uuid.uuid5(_NAMESPACE, f"award:ambassador:{champion.id}")), person_id=champion.id,
        badge_id=ambassador_badge.id, cohort_id=cohort.id, awarded_at=start + timedelta(days=12),
        awarded_by_id=lead.id, reason="Deelt elke week een klantcase met een eigen analyse.", public=True,
    )
    session.add(award)
    session.flush()
    session.add(Recognition(
        cohort_id=cohort.id, from_person_id=lead.id, to_person_id=champion.id, kind="ambassador",
        message="Dank je wel voor je heldere posts over financieringsvormen: het hele team leert ervan!",
        award_id=award.id, created_at=award.awarded_at,
    ))
    session.add(Nomination(
        cohort_id=cohort.id, nominator_id=employees[5].id, nominee_id=employees[6].id,
        reason="Helpt iedereen op weg met Viva Engage.", created_at=start + timedelta(days=14),
    ))
