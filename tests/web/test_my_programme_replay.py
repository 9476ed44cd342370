"""The personal tab replays one person's events; what it shows must be what every activity row says about them.

The tab reads only the rows that name the person (their own, and the replies and reactions they received) with
statements built once, and turns them into engine events in a hot loop. Here the same demo data is turned into
events the plain way — every stored activity, evidence and check-in object, nothing filtered — and replayed through
a fresh engine: each participant's state must come out the same, before kickoff, during the programme and after
the freeze. The tab's JSON must also be exactly the view it was built from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.domain.engine import ProgrammeEngine
from plugin.domain.events import ActivityEvent, Kind
from plugin.models import Activity, Channel, CheckIn, Cohort, Community, Enrolment, Evidence, Mission, Person
from plugin.services import participant
from plugin.services.demo import demo_oid, seed_demo
from plugin.services.programmes import programme_for
from plugin.services.progress import PROGRAMME_PLACE, cohort_calendar, person_state

TODAY = date(2026, 11, 25)  # the demo cohort is in its third week on this day


@pytest.fixture
def demo(app, session: Session) -> Cohort:
    result = seed_demo(session, today=TODAY)
    return session.get(Cohort, result.cohort_id)


def every_event(session: Session, cohort: Cohort) -> Iterator[ActivityEvent]:
    """Every engine event of the stored data, from whole ORM objects, for everyone (the engine keeps them apart)."""
    places = {("channel", c.id): c.graph_id for c in session.scalars(select(Channel))}
    places |= {("community", c.id): c.yammer_group_id for c in session.scalars(select(Community))}
    for activity in session.scalars(select(Activity)):
        if activity.deleted_at is not None:
            continue
        place = places.get(("channel", activity.channel_id)) or places.get(("community", activity.community_id))
        event_id = f"{activity.source}:{activity.external_id}"
        common = {"occurred_at": activity.occurred_at, "place_id": place, "thread_id": activity.thread_external_id}
        if activity.kind == "post":
            if activity.author_id is not None:
                yield ActivityEvent(event_id, activity.author_id, Kind.POST,
                                    knowledge_sharing=activity.knowledge_sharing, broadcast=activity.broadcast,
                                    own_words=activity.own_words,
                                    topics=tuple(activity.topics or ()), content_hash=activity.content_hash, **common)
            continue
        given, received = ((Kind.REPLY, Kind.REPLY_RECEIVED) if activity.kind == "reply"
                           else (Kind.REACTION_GIVEN, Kind.REACTION_RECEIVED))
        if activity.author_id is not None:
            yield ActivityEvent(event_id, activity.author_id, given, target_author_id=activity.target_author_id,
                                own_words=activity.own_words, **common)
        if activity.target_author_id is not None and activity.target_author_id != activity.author_id:
            yield ActivityEvent(f"{event_id}:received", activity.target_author_id, received,
                                from_person_id=activity.author_id, **common)
    enrolments = {e.id: e for e in session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id))}
    slugs = {m.id: m.slug for m in session.scalars(select(Mission))}
    for evidence in session.scalars(select(Evidence)):
        if evidence.enrolment_id in enrolments and evidence.status == "approved":
            yield ActivityEvent(f"evidence:{evidence.id}", enrolments[evidence.enrolment_id].person_id,
                                Kind.EVIDENCE_APPROVED, occurred_at=evidence.submitted_at,
                                mission_slug=slugs[evidence.mission_id], url=evidence.url,
                                metrics=tuple(sorted((k, int(v)) for k, v in (evidence.figures or {}).items())))
    for checkin in session.scalars(select(CheckIn)):
        if checkin.enrolment_id in enrolments:
            yield ActivityEvent(f"checkin:{checkin.id}", enrolments[checkin.enrolment_id].person_id, Kind.CHECKIN,
                                occurred_at=checkin.created_at, mission_slug=slugs.get(checkin.mission_id))


def test_each_participants_tab_state_is_what_all_their_activity_says(demo: Cohort, session: Session) -> None:
    programme, calendar = programme_for(demo), cohort_calendar(demo)
    places = {PROGRAMME_PLACE: demo.programme_place} if demo.programme_place else {}
    enrolments = list(session.scalars(select(Enrolment).where(Enrolment.cohort_id == demo.id,
                                                              Enrolment.status == "active")))
    reference = ProgrammeEngine(programme, calendar, places=places)
    for enrolment in enrolments:
        reference.enrol(enrolment.person_id, enrolled_at=enrolment.enrolled_at, intake=enrolment.intake or {})
    assert reference.apply_many(every_event(session, demo)) > 100
    kickoff = calendar.starts_at
    moments = [kickoff - timedelta(hours=1), kickoff + timedelta(days=3), datetime(2026, 11, 25, 12, tzinfo=UTC),
               kickoff + timedelta(days=40), calendar.frozen_at + timedelta(days=1)]
    assert len(enrolments) >= 10
    busy = 0
    for enrolment in enrolments:
        for at in moments:
            state = person_state(session, demo, enrolment, programme, at=at)
            assert state == reference.snapshot(enrolment.person_id, at=at), (enrolment.person_id, at)
        busy += state.posts > 0 and state.replies_received + state.reactions_received > 0
    assert busy >= 5  # own posts and others' responses to them both reached the tab


def test_the_tab_answers_exactly_the_view_it_was_built_from(demo: Cohort, session: Session, client,
                                                             authority) -> None:
    people = session.execute(select(Person.id, Person.display_name).join(Enrolment)
                             .where(Enrolment.status == "active")).all()
    shown_rankings = 0
    for person_id, name in people:
        at = datetime.now(UTC)
        view = participant.my_programme(session, person_id, locale="en", at=at)
        assert json.dumps(view.to_dict(), sort_keys=True, default=str) == json.dumps(asdict(view), sort_keys=True,
                                                                                     default=str)
        shown_rankings += view.ranking is not None
        response = client.get("/api/me/programme?locale=en-US",
                              headers={"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"})
        body = response.get_json()
        assert response.status_code == 200 and body["name"] == name
        assert body["points"] == view.points and body["missions"] == json.loads(json.dumps(view.missions))
        assert body["ranking"] == json.loads(json.dumps(asdict(view)["ranking"]))
    assert shown_rankings >= 3
