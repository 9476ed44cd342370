"""The impact world (tests/web/impact_world.py) plus Daan Jansen as a South participant with something of
everything Ambassador can hold about a person, each piece of it carrying a recognisable word ("Daan", "zonnepanelen",
his object id), so a scan of the whole database can tell whether anything of him is left.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from plugin.db import Base
from plugin.models import (
    Activity,
    AuditEntry,
    Award,
    CheckIn,
    Cohort,
    Enrolment,
    Evidence,
    InboxItem,
    Mission,
    MissionProgress,
    Nomination,
    NotificationLog,
    Person,
    PointsEntry,
    Recognition,
    RiskAssessment,
    RoleAssignment,
    SyncState,
    TeamMembership,
    TokenCache,
)
from plugin.services.demo import demo_oid, demo_upn
from plugin.services.programmes import ensure_badges
from plugin.services.progress import cohort_calendar
from tests.web.impact_world import DAAN, ESTHER, SANNE, ImpactWorld, build_impact_world, first_day

#: Words that only Daan's data contains (checked case-insensitively), and the secret his token cache holds.
MARKERS = ("daan", "zonnepanelen")
TOKEN_SECRET = b"\x01SECRET-TOKEN-CIPHERTEXT"
INTAKE = {"platforms": ["linkedin"], "expertise": ["zonnepanelen"], "goals": ["visibility"]}
EVIDENCE_URL = "https://www.linkedin.com/posts/daan-jansen-zonnepanelen-123"


@dataclass
class PrivacyWorld:
    """The impact world, Daan's person id and object id, and the ids of rows other people own."""

    world: ImpactWorld
    daan: int
    oid: str
    south: int
    recognition_to_daan: int
    colleague_reaction: int

    def db(self):
        """A short app context's session (see ImpactWorld.db)."""
        return self.world.db()


def build_privacy_world(app: Flask, client: FlaskClient, authority: Any) -> PrivacyWorld:
    """Build the impact world, then give Daan enrolment, activity, evidence, notes, badges and the rest."""
    world = build_impact_world(app, client, authority)
    daan, oid = world.people[DAAN], demo_oid(DAAN)
    with world.db() as session:
        person = session.get(Person, daan)
        person.email = demo_upn(DAAN)
        cohort = session.get(Cohort, world.cohort_id)
        south = world.teams["South"]
        enrolment = Enrolment(cohort_id=cohort.id, person_id=daan, team_id=south, status="active",
                              consented_at=datetime.now(UTC) - timedelta(days=80), consent_version="1",
                              intake=INTAKE, intake_completed_at=datetime.now(UTC) - timedelta(days=79),
                              baseline_connections=300, final_connections=330, ranking_visibility="named",
                              muted_notifications=["nudge"])
        session.add(enrolment)
        session.flush()
        colleague_reaction = _activity(session, cohort, daan, oid, world)
        recognition_to_daan = _results(session, cohort, enrolment, world, daan)
        _sign_in_state(session, daan, oid, south)
    return PrivacyWorld(world, daan, oid, world.teams["South"], recognition_to_daan, colleague_reaction)


def _activity(session: Session, cohort: Cohort, daan: int, oid: str, world: ImpactWorld) -> int:
    """Daan's posts, a reply and a reaction in programme week 2; colleagues react to his post. Returns a
    colleague's reaction id."""
    calendar = cohort_calendar(cohort)
    monday = calendar.day_start(first_day(2))
    north = world.participants["North"][0]
    north_oid = session.get(Person, north).entra_oid
    rows = [
        Activity(source="teams", external_id="1700000000101", kind="post", author_oid=oid, author_id=daan,
                 thread_external_id="1700000000101", occurred_at=monday + timedelta(days=1), knowledge_sharing=True,
                 own_words=40, topics=["energy"], content_hash="ab" * 32),
        Activity(source="teams", external_id="1700000000102", kind="post", author_oid=oid, author_id=daan,
                 thread_external_id="1700000000102", occurred_at=monday + timedelta(days=2)),
        Activity(source="teams", external_id="1700000000200/1700000000201", kind="reply", author_oid=oid,
                 author_id=daan, target_author_id=north, thread_external_id="1700000000200",
                 occurred_at=monday + timedelta(days=3), own_words=12),
        Activity(source="teams", external_id=f"1700000000200:{oid}:like", kind="reaction", author_oid=oid,
                 author_id=daan, target_author_id=north, thread_external_id="1700000000200",
                 occurred_at=monday + timedelta(days=3), reaction_type="like"),
    ]
    theirs = Activity(source="teams", external_id=f"1700000000101:{north_oid}:heart", kind="reaction",
                      author_oid=north_oid, author_id=north, target_author_id=daan, thread_external_id="1700000000101",
                      occurred_at=monday + timedelta(days=1, hours=2), reaction_type="heart")
    session.add_all([*rows, theirs])
    session.flush()
    return theirs.id


def _results(session: Session, cohort: Cohort, enrolment: Enrolment, world: ImpactWorld, daan: int) -> int:
    """Progress, evidence, notes, risk, badges, points, recognitions and nominations; returns a recognition id."""
    esther, sanne = world.people[ESTHER], world.people[SANNE]
    north = world.participants["North"][0]
    missions = {m.slug: m for m in session.scalars(select(Mission).where(Mission.cohort_id == cohort.id))}
    session.add(MissionProgress(enrolment_id=enrolment.id, mission_id=missions["share-a-post"].id, current=1,
                                target=1, completed_at=datetime.now(UTC) - timedelta(days=50)))
    session.add(Evidence(enrolment_id=enrolment.id, mission_id=missions["linkedin"].id, url=EVIDENCE_URL,
                         note="Mijn eigen notitie over zonnepanelen", figures={"connections": 310},
                         status="approved", reviewer_id=esther, review_note="Mooi stuk, Daan",
                         reviewed_at=datetime.now(UTC) - timedelta(days=40)))
    session.add(CheckIn(enrolment_id=enrolment.id, coach_id=esther, note="Daan twijfelt over LinkedIn"))
    session.add(RiskAssessment(enrolment_id=enrolment.id, score=0.7,
                               reasons=[{"message": "quiet", "params": {"days": 9}, "weight": 0.7}]))
    badges = ensure_badges(session)
    award = Award(public_id=str(uuid.uuid4()), person_id=daan, badge_id=badges["ambassador"].id,
                  cohort_id=cohort.id, awarded_at=datetime.now(UTC) - timedelta(days=30), awarded_by_id=sanne,
                  reason="Voor de inzet van Daan", public=True)
    session.add(award)
    session.add(PointsEntry(cohort_id=cohort.id, person_id=daan, amount=30, source_key="mission:share-a-post#0",
                            reason="mission"))
    received = Recognition(cohort_id=cohort.id, from_person_id=sanne, to_person_id=daan, kind="ambassador",
                           message="Daan, jouw stuk over zonnepanelen was top", post_to_channel=True,
                           channel_message_id="1700000000999")
    given = Recognition(cohort_id=cohort.id, from_person_id=daan, to_person_id=north, kind="kudos",
                        message="Goed gedaan! Groet, Daan")
    session.add_all([received, given])
    session.add_all([
        Nomination(cohort_id=cohort.id, nominator_id=north, nominee_id=daan, reason="Daan deelt veel kennis"),
        Nomination(cohort_id=cohort.id, nominator_id=daan, nominee_id=north, reason="Voorgedragen door Daan"),
    ])
    session.flush()
    session.add(AuditEntry(actor_id=sanne, action="award.revoke", target_type="award", target_id=award.public_id,
                           details={"badge": "ambassador", "reason": "Per ongeluk aan Daan gegeven"}))
    session.add(NotificationLog(idempotency_key=f"week_unlocked:cohort={cohort.id}:week=2:person={daan}",
                                person_id=daan, activity_type="weekUnlocked", locale="nl", status="sent",
                                parameters={"template": {"missionName": "Deel je kennis, Daan"}}))
    return received.id


def _sign_in_state(session: Session, daan: int, oid: str, south: int) -> None:
    """Token cache, a lead role, team membership, Viva Engage sign-in state and an unprocessed notification."""
    session.add(TokenCache(person_id=daan, ciphertext=TOKEN_SECRET))
    session.add(RoleAssignment(person_id=daan, role="lead", team_id=south))
    session.add(TeamMembership(team_id=south, person_id=daan, is_owner=True))
    session.add(SyncState(kind="yammer_user", key=str(daan), status="ok", checked_at=datetime.now(UTC)))
    message = {"id": "1700000000555", "from": {"user": {"id": oid, "displayName": DAAN}},
               "body": {"contentType": "html", "content": "<p>Geheime tekst over zonnepanelen</p>"}}
    session.add(InboxItem(identity="d" * 64, change_type="created",
                          resource="teams('t')/channels('c')/messages('1700000000555')",
                          payload={"subscriptionId": "sub-1", "changeType": "created", "content": message}))


def database_text(connection: Connection) -> dict[str, list[str]]:
    """Every row of every table as text, by table (JSON documents and bytes included)."""
    dump: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        rows = []
        for row in connection.execute(table.select().order_by(*table.primary_key.columns)):
            values = []
            for value in row:
                if isinstance(value, (dict, list)):
                    values.append(json.dumps(value, ensure_ascii=False, sort_keys=True))
                elif isinstance(value, (bytes, memoryview)):
                    values.append(bytes(value).decode("latin-1"))
                else:
                    values.append(str(value))
            rows.append(" | ".join(values))
        dump[table.name] = rows
    return dump


def traces(connection: Connection, oid: str) -> list[str]:
    """Rows anywhere in the database that still carry one of Daan's markers, his object id or token secret."""
    found = []
    secret = TOKEN_SECRET.decode("latin-1")
    for table, rows in database_text(connection).items():
        for row in rows:
            lowered = row.lower()
            if any(m in lowered for m in MARKERS) or oid in row or secret in row:
                found.append(f"{table}: {row}")
    return found
