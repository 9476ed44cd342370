"""A generated cohort whose true effect is known, for the impact report tests.

Three teams take part: North (6 participants), South (7) and Tiny (4). Every participant, every week:

* baseline (8 weeks before the start): 1 post (a knowledge-sharing one in even weeks), 1 reply to a colleague,
  1 reaction on their post from the same colleague;
* programme (8 weeks): 4 posts (2 of them knowledge-sharing), 2 replies, and 3 different colleagues react to
  each post.

So per participant per week: posts 1 → 4 (×4.0), knowledge-sharing posts 0.5 → 2 (×4.0), replies 1 → 2 (×2.0),
activity 2 → 6 (×3.0), reactions and replies received per post 1 → 3 (×3.0), colleagues reached 1 → 3 (×3.0),
active share 100 % → 100 % (+0 %). Five people in South reported their network: connections 100 → 112 (+12 %),
followers 50 → 72 (+44 %), the article's own numbers.

Noise that must not count: deleted posts, a participant reacting to their own post, a withdrawn participant's
posts, a colleague outside the cohort posting, activity before the baseline, a revoked award.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from plugin.db import get_session
from plugin.models import (
    Activity,
    Award,
    CohortTeam,
    Enrolment,
    Evidence,
    Mission,
    MissionProgress,
    Person,
    RoleAssignment,
)
from plugin.services.demo import demo_oid
from plugin.services.programmes import ensure_badges
from plugin.services.progress import cohort_calendar
from tests.factories import make_cohort, make_person, make_team

ESTHER, GERRIT, SANNE, DAAN = "Esther Koster", "Gerrit Post", "Sanne de Vries", "Daan Jansen"
TEAM_SIZES = {"North": 6, "South": 7, "Tiny": 4}
WEEKS, BASELINE_WEEKS = 8, 8
#: What the report must find for the whole cohort: (baseline, programme, last weeks, change).
EXPECTED = {
    "posts": (1.0, 4.0, 4.0, 4.0),
    "knowledge_posts": (0.5, 2.0, 2.0, 4.0),
    "replies": (1.0, 2.0, 2.0, 2.0),
    "activity": (2.0, 6.0, 6.0, 3.0),
    "responses_per_post": (1.0, 3.0, 3.0, 3.0),
    "reach": (1.0, 3.0, 3.0, 3.0),
    "active_share": (1.0, 1.0, 1.0, 1.0),
}
_ids = itertools.count(1)


def bearer(authority: Any, name: str) -> dict[str, str]:
    """The Authorization header with `name`'s Teams SSO token."""
    return {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}


def first_day(week: int) -> int:
    """The programme day on which `week` begins (baseline weeks are negative)."""
    return 7 * (week - 1) if week > 0 else 7 * week


@dataclass
class ImpactWorld:
    """The generated cohort: ids of its teams and people, and a client to call the API as anyone."""

    app: Flask
    client: FlaskClient
    authority: Any
    cohort_id: int
    teams: dict[str, int]
    people: dict[str, int]
    participants: dict[str, list[int]]
    public_award: str = ""

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A session of a short app context (requests must not share one); commits at the end."""
        with self.app.app_context():
            session = get_session()
            yield session
            session.commit()

    def get(self, path: str, name: str | None, **kwargs: Any):
        """GET `path` as `name` (None: without a token)."""
        headers = dict(kwargs.pop("headers", {}))
        if name is not None:
            headers |= bearer(self.authority, name)
        return self.client.get(path, headers=headers, **kwargs)


def build_impact_world(app: Flask, client: FlaskClient, authority: Any, *, today: date | None = None,
                       activity: bool = True) -> ImpactWorld:
    """Sign in the coach, admin, a lead and an employee; generate the cohort (with its activity, unless not asked)."""
    people = {}
    for name in (ESTHER, GERRIT, SANNE, DAAN):
        response = client.get("/api/me", headers=bearer(authority, name))
        assert response.status_code == 200
        people[name] = response.get_json()["id"]
    today = today or datetime.now(UTC).date()
    world = ImpactWorld(app, client, authority, 0, {}, people, {})
    with world.db() as session:
        # Ten weeks ago: all eight programme weeks are over, whatever the weekday.
        cohort = make_cohort(session, name="Voorjaar", start_date=today - timedelta(days=70), weeks=WEEKS,
                             baseline_weeks=BASELINE_WEEKS, created_by_id=people[ESTHER])
        world.cohort_id = cohort.id
        colleagues = [make_person(session, display_name=f"Colleague {n}") for n in range(3)]
        for team_name, size in TEAM_SIZES.items():
            team = make_team(session, display_name=team_name)
            world.teams[team_name] = team.id
            session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
            members = [make_person(session, display_name=f"{team_name} {n}",
                                   email=f"{team_name.lower()}{n}@example.test") for n in range(size)]
            world.participants[team_name] = [m.id for m in members]
            for n, member in enumerate(members):
                network = ({"baseline_connections": 100, "final_connections": 112, "baseline_followers": 50,
                            "final_followers": 72} if team_name == "South" and n < 5 else {})
                session.add(Enrolment(cohort_id=cohort.id, person_id=member.id, team_id=team.id, status="active",
                                      consented_at=datetime.now(UTC), consent_version="1", **network))
        session.add(RoleAssignment(person_id=people[SANNE], role="lead", team_id=world.teams["Tiny"]))
        session.flush()
        if activity:
            rows = _activity(cohort, session, world, colleagues)
            session.connection().execute(insert(Activity.__table__), rows)  # one executemany, not an ORM flush
        world.public_award = _results(session, cohort, world)
    return world


def _row(kind: str, author: Person | int, at: datetime, *, author_oid: str, target: int | None = None,
         thread: str | None = None, knowledge: bool = False, deleted: bool = False) -> dict[str, Any]:
    external = f"gen-{next(_ids)}"
    return {"source": "teams", "external_id": external, "kind": kind, "author_oid": author_oid,
            "author_id": author if isinstance(author, int) else author.id, "target_author_id": target,
            "thread_external_id": thread or external, "occurred_at": at, "knowledge_sharing": knowledge,
            "deleted_at": at + timedelta(hours=1) if deleted else None, "ingested_at": at}


def _activity(cohort, session: Session, world: ImpactWorld, colleagues: list[Person]) -> list[dict[str, Any]]:
    calendar = cohort_calendar(cohort)
    oids = {p.id: p.entra_oid for p in session.query(Person)}
    rows: list[dict[str, Any]] = []
    participants = [pid for ids in world.participants.values() for pid in ids]
    for week in [*range(-BASELINE_WEEKS, 0), *range(1, WEEKS + 1)]:
        programme = week > 0
        monday = calendar.day_start(first_day(week))
        for pid in participants:
            posts = 4 if programme else 1
            for n in range(posts):
                at = monday + timedelta(days=1 + n, hours=2)
                knowledge = n < 2 if programme else week % 2 == 0
                post = _row("post", pid, at, author_oid=oids[pid], knowledge=knowledge)
                rows.append(post)
                reactors = colleagues if programme else colleagues[:1]
                for m, colleague in enumerate(reactors):
                    rows.append(_row("reaction", colleague, at + timedelta(minutes=30 + m),
                                     author_oid=oids[colleague.id], target=pid, thread=post["external_id"]))
            for n in range(2 if programme else 1):
                colleague = colleagues[n]
                root = _row("post", colleague, monday + timedelta(days=5), author_oid=oids[colleague.id])
                rows.append(root)
                rows.append(_row("reply", pid, monday + timedelta(days=5, hours=1 + n), author_oid=oids[pid],
                                 target=colleague.id, thread=root["external_id"]))
            if programme:
                # Noise: a deleted post (with a reaction on it) and a reaction on one's own post.
                gone = _row("post", pid, monday + timedelta(days=6), author_oid=oids[pid], deleted=True)
                rows.append(gone)
                rows.append(_row("reaction", pid, monday + timedelta(days=6, hours=2), author_oid=oids[pid],
                                 target=pid, thread=gone["external_id"]))
    # More noise: a withdrawn participant, and activity before the baseline.
    quitter = make_person(session, display_name="Withdrawn")
    session.add(Enrolment(cohort_id=cohort.id, person_id=quitter.id, team_id=world.teams["North"], status="withdrawn"))
    session.flush()
    for week in (-2, 2):
        rows.append(_row("post", quitter.id, calendar.day_start(first_day(week) + 1), author_oid=quitter.entra_oid))
    first = participants[0]
    rows.append(_row("post", first, calendar.day_start(first_day(-BASELINE_WEEKS) - 3), author_oid=oids[first]))
    return rows


def _results(session: Session, cohort, world: ImpactWorld) -> str:
    """Missions, evidence and awards; returns the public id of a public award (a North participant's)."""
    badges = ensure_badges(session)
    mission = Mission(cohort_id=cohort.id, slug="share-a-post", week=1, type="post_with_note", params={}, points=10)
    external = Mission(cohort_id=cohort.id, slug="linkedin", week=2, type="external_post", params={}, points=10)
    session.add_all([mission, external])
    session.flush()
    enrolments = {e.person_id: e for e in session.query(Enrolment).filter_by(cohort_id=cohort.id)}
    south = world.participants["South"]
    for pid in south[:3]:
        session.add(MissionProgress(enrolment_id=enrolments[pid].id, mission_id=mission.id, current=1, target=1,
                                    completed_at=datetime.now(UTC)))
    session.add(Evidence(enrolment_id=enrolments[south[0]].id, mission_id=external.id, url="https://x.example/1",
                         status="approved"))
    awarded = datetime.now(UTC) - timedelta(days=20)
    public_id = str(uuid.uuid4())
    awards = [
        Award(public_id=public_id, person_id=world.participants["North"][0], badge_id=badges["ambassador"].id,
              cohort_id=cohort.id, awarded_at=awarded, public=True),
        Award(public_id=str(uuid.uuid4()), person_id=south[0], badge_id=badges["ambassador"].id,
              cohort_id=cohort.id, awarded_at=awarded),
        Award(public_id=str(uuid.uuid4()), person_id=south[1], badge_id=badges["ambassador"].id,
              cohort_id=cohort.id, awarded_at=awarded),
        Award(public_id=str(uuid.uuid4()), person_id=south[1], badge_id=badges["first-share"].id,
              cohort_id=cohort.id, awarded_at=awarded),
        Award(public_id=str(uuid.uuid4()), person_id=world.participants["Tiny"][0], badge_id=badges["ambassador"].id,
              cohort_id=cohort.id, awarded_at=awarded),
        Award(public_id=str(uuid.uuid4()), person_id=south[2], badge_id=badges["ambassador"].id,
              cohort_id=cohort.id, awarded_at=awarded, revoked_at=datetime.now(UTC), revoke_reason="by mistake"),
    ]
    session.add_all(awards)
    session.flush()
    return public_id
