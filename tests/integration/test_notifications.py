"""Activity-feed notifications end to end: planned from the programme calendar and the log, sent by the real
Graph client to the sandbox Graph emulator served over HTTP, and read back from what the emulator received.

Time travels: the planners and the sender take `now`. The cohort starts on Monday 7 September 2026 in
Amsterdam, so programme week n opens on its Monday at 08:00 local time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.adapters.graph import GraphClient
from plugin.domain.programme import Mission as ProgrammeMission
from plugin.domain.programme import Programme, default_programme
from plugin.models import Award, Enrolment, Evidence, Mission, NotificationLog, Person, Recognition, RiskAssessment
from plugin.sandbox.graph_activity_feed import ActivityFeed
from plugin.sandbox.graph_emulator import GraphEmulator
from plugin.sandbox.scenario import ScenarioPerson
from plugin.services.manifest import activity_types, default_app_id
from plugin.services.notifications import Delivery, deliver, detect_events, plan_scheduled
from plugin.services.programmes import copy_missions, ensure_badges
from plugin.services.recognition import notify_recognised
from plugin.services.settings import update_settings
from tests.factories import make_award, make_cohort, make_enrolment, make_person
from tests.integration.graph_fixtures import serve_http

START = date(2026, 9, 7)  # a Monday
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BULK = "/teamwork/sendActivityNotificationToRecipients"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in Amsterdam, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM).astimezone(UTC)


def week_day(week: int, weekday: int = 0) -> date:
    """The date of `weekday` (0 = Monday) in programme week `week`."""
    return START + timedelta(days=7 * (week - 1) + weekday)


class WorkerDied(BaseException):
    """The worker process is killed (not an error the service could handle)."""


@dataclass
class World:
    """A cohort whose people are users of the emulator's tenant, their coach, and a Graph client over HTTP."""

    app: Flask
    session: Session
    emulator: GraphEmulator
    feed: ActivityFeed
    graph: GraphClient
    graph_url: str
    programme: Programme
    cohort: Any
    coach: Person
    enrolments: dict[int, Enrolment] = field(default_factory=dict)

    @property
    def app_id(self) -> str:
        """The Teams app id the deep links must open."""
        return default_app_id(self.app.config["AZURE_CLIENT_ID"])

    def join(self, name: str, locale: str = "nl") -> Person:
        """A participant (a user of the tenant, enrolled before the start) speaking `locale`."""
        person = tenant_person(self.session, self.emulator, name, locale)
        self.enrolments[person.id] = make_enrolment(self.session, cohort=self.cohort, person=person,
                                                    enrolled_at=local(START, 9) - timedelta(days=3))
        self.session.commit()
        return person

    def coach_runs_the_cohort(self) -> None:
        """Make the coach the cohort's coach (they get its weekly digest)."""
        self.cohort.created_by_id = self.coach.id
        self.session.commit()

    def plan(self, at: datetime) -> int:
        return plan_scheduled(self.session, now=at)

    def events(self, at: datetime) -> int:
        return detect_events(self.session, now=at)

    def deliver(self, at: datetime, graph: Any = None) -> Delivery:
        return deliver(self.session, graph or self.graph, app_id=self.app_id, now=at)

    def award(self, person: Person, slug: str, at: datetime) -> None:
        make_award(self.session, person=person, badge=ensure_badges(self.session)[slug], cohort=self.cohort,
                   awarded_at=at)
        self.session.commit()

    def review(self, person: Person, slug: str, status: str, at: datetime) -> None:
        mission = self.session.scalar(select(Mission).where(Mission.cohort_id == self.cohort.id,
                                                            Mission.slug == slug))
        self.session.add(Evidence(enrolment_id=self.enrolments[person.id].id, mission_id=mission.id,
                                  url=f"https://www.linkedin.com/feed/update/{uuid.uuid4().int}", status=status,
                                  submitted_at=at - timedelta(hours=5), reviewed_at=at, reviewer_id=self.coach.id))
        self.session.commit()

    def received(self) -> list[dict[str, Any]]:
        """Every notification the emulator accepted, in order."""
        return list(self.emulator.activity_notifications)

    def attempts(self, path: str) -> list[int]:
        """Statuses of every request that reached the emulator for a Graph path (retries included)."""
        return [r["status"] for r in self.emulator.requests if r["path"] == f"/v1.0{path}"]

    def feed_of(self, person: Person, locale: str | None = None) -> list[dict[str, Any]]:
        """The person's activity feed as the emulator renders it (GET /_activity over HTTP)."""
        params = {"user": person.entra_oid} | ({"locale": locale} if locale else {})
        answer = httpx.get(f"{self.graph_url}/_activity", params=params, trust_env=False)
        assert answer.status_code == 200
        return answer.json()["feed"]

    def rows(self, person: Person | None = None) -> list[NotificationLog]:
        """The notification log (of one person), oldest first."""
        self.session.expire_all()
        query = select(NotificationLog).order_by(NotificationLog.id)
        if person is not None:
            query = query.where(NotificationLog.person_id == person.id)
        return list(self.session.scalars(query))

    def first_mission(self, week: int) -> ProgrammeMission:
        """The first required mission of `week` in the programme file."""
        return next(m for number, m in self.programme.missions() if number == week and not m.optional)


def tenant_person(session: Session, emulator: GraphEmulator, name: str, locale: str = "nl") -> Person:
    """A person in the database who is also a user of the emulator's tenant."""
    person = make_person(session, entra_oid=str(uuid.uuid4()), display_name=name, preferred_locale=locale,
                         upn=f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@contoso.example")
    emulator.scenario.people[person.entra_oid] = ScenarioPerson(person.entra_oid, name, person.upn,
                                                                "nl-NL" if locale == "nl" else "en-GB")
    return person


@pytest.fixture
def world(app: Flask, session: Session, authority: Any) -> Iterator[World]:
    graph_app = app.extensions["sandbox"].apps["/dev/graph"]
    emulator: GraphEmulator = graph_app.extensions["graph_emulator"]
    client_id = app.config["AZURE_CLIENT_ID"]
    coach = tenant_person(session, emulator, "Esther Koster")
    cohort = make_cohort(session, name="Najaar 2026", start_date=START)  # no coach: no digest (see coach_runs)
    programme = default_programme()
    copy_missions(session, cohort, programme)
    ensure_badges(session)
    session.commit()
    with serve_http(lambda _base: graph_app) as base:
        graph = GraphClient(base, lambda: authority.mint_app_token(client_id), retry_delay=0.0, max_retries=2)
        try:
            yield World(app, session, emulator, graph_app.extensions["activity_feed"], graph, base, programme,
                        cohort, coach)
        finally:
            graph.close()
            emulator.faults.clear()


def parameters(notification: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in notification["templateParameters"]}


def link(notification: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(address, query) of a notification's deep link, its `context` decoded."""
    parts = urlsplit(notification["topic"]["webUrl"])
    query: dict[str, Any] = {k: v[0] for k, v in parse_qs(parts.query).items()}
    if "context" in query:
        query["context"] = json.loads(query["context"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", query


def to(notifications: list[dict[str, Any]], person: Person) -> list[dict[str, Any]]:
    return [n for n in notifications if person.entra_oid in n["recipients"]]


# -- what is sent ------------------------------------------------------------------------------------------------
def test_week_unlock_goes_out_at_the_cohorts_morning_in_each_persons_language(world: World) -> None:
    daan, fleur, tom = world.join("Daan Jansen"), world.join("Fleur Bakker"), world.join("Tom Hendriks", "en")

    assert world.plan(local(week_day(2), 8, 5)) == 3  # week 2 opened at 08:00 local
    result = world.deliver(local(week_day(2), 8, 5))

    assert (result.sent, result.calls) == (3, 2)
    dutch, english = sorted(world.received(), key=lambda n: n["kind"])
    mission = world.first_mission(2)
    assert dutch["kind"] == "recipients" and sorted(dutch["recipients"]) == sorted([daan.entra_oid, fleur.entra_oid])
    assert dutch["activityType"] == "missionWeekUnlocked"
    assert parameters(dutch) == {"week": "2", "missionTitle": mission.title.nl}
    assert dutch["previewText"]["content"] == f"Week 2 is begonnen. Begin met: {mission.title.nl}"
    assert english["kind"] == "user" and english["recipients"] == [tom.entra_oid]
    assert parameters(english) == {"week": "2", "missionTitle": mission.title.en}
    assert english["previewText"]["content"] == f"Week 2 is open. Start with: {mission.title.en}"
    # The deep link opens this app's personal tab ("My programme") at week 2.
    address, query = link(dutch)
    assert address == f"https://teams.microsoft.com/l/entity/{world.app_id}/programme"
    assert query == {"label": "Mijn programma", "context": {"subEntityId": "week:2"}}
    assert dutch["topic"]["source"] == "text" and dutch["topic"]["value"] == "Mijn programma"
    assert link(english)[1]["label"] == "My programme"
    assert dutch["from"] == {"application": world.app.config["AZURE_CLIENT_ID"]}
    assert dutch["teamsAppId"] == world.app_id
    # Teams renders the manifest's template in the reader's language.
    [item] = world.feed_of(daan)
    assert item["text"] == f"Week 2 is begonnen: {mission.title.nl}"
    assert world.feed_of(tom)[0]["text"] == f"Week 2 has started: {mission.title.en}"
    assert {row.status for row in world.rows()} == {"sent"}


def test_every_kind_is_a_manifest_type_with_the_parameters_it_declares(world: World) -> None:
    daan, fleur, tom = world.join("Daan Jansen"), world.join("Fleur Bakker", "en"), world.join("Tom Hendriks")
    world.coach_runs_the_cohort()
    session = world.session
    week3 = local(week_day(3), 9)
    world.review(daan, "first-external", "approved", week3 - timedelta(hours=1))
    world.review(fleur, "first-external", "rejected", week3 - timedelta(hours=1))
    world.award(fleur, "first-share", week3 - timedelta(hours=2))
    recognition = Recognition(cohort_id=world.cohort.id, from_person_id=world.coach.id, to_person_id=tom.id,
                              kind="kudos", message="Mooie post!", created_at=week3 - timedelta(minutes=30))
    session.add(recognition)
    session.add(RiskAssessment(enrolment_id=world.enrolments[tom.id].id, score=0.62, computed_at=week3,
                               reasons=[{"message": "No activity for %(days)d days", "params": {"days": 9}}]))
    session.flush()
    notify_recognised(session, recognition)  # the recognition service's hook
    session.commit()

    world.plan(local(week_day(3), 8, 5))  # week 3 opens: unlock, the coach's digest, a nudge for Tom
    world.events(week3)  # the badge and the two reviews
    world.deliver(week3)
    world.plan(local(week_day(3, 5), 8, 5))  # Saturday: week 3's missions are due soon
    world.deliver(local(week_day(3, 5), 8, 10))
    world.plan(local(week_day(9, 3), 9))  # the cohort ended this morning (8 weeks and 3 days' grace)
    world.deliver(local(week_day(9, 3), 9))

    received = world.received()
    declared = activity_types()
    assert {n["activityType"] for n in received} == set(declared)  # every type of the manifest, nothing else
    for notification in received:
        assert set(parameters(notification)) == declared[notification["activityType"]]
        assert 0 < len(notification["previewText"]["content"]) <= 150
    [recognised] = [n for n in received if n["activityType"] == "recognisedByLead"]
    assert recognised["recipients"] == [tom.entra_oid] and parameters(recognised) == {"leadName": "Esther Koster"}
    assert recognised["previewText"]["content"] == "Esther Koster stuurt je een kudos omdat je deelt wat je weet."
    assert link(recognised)[1]["context"] == {"subEntityId": f"recognition:{recognition.id}"}
    [rejected] = [n for n in received if n["activityType"] == "evidenceRejected"]
    assert rejected["recipients"] == [fleur.entra_oid]
    # The mission as these participants got it (their intake picks the variant), in their language.
    title = world.programme.mission("first-external").for_intake({}).title
    assert parameters(rejected) == {"missionTitle": title.en}  # Fleur reads English
    [approved] = [n for n in received if n["activityType"] == "evidenceApproved"]
    assert approved["previewText"]["content"] == \
        f"Je bewijs voor {title.nl} is goedgekeurd, dus de missie telt mee. Goed gedaan!"
    [badge] = [n for n in received if n["activityType"] == "badgeEarned"]
    assert parameters(badge) == {"badgeName": "First Share"} and badge["recipients"] == [fleur.entra_oid]
    [nudge] = [n for n in received if n["activityType"] == "inactivityNudge"]
    assert nudge["recipients"] == [tom.entra_oid]
    [digest] = [n for n in received if n["activityType"] == "coachDigest"]
    assert digest["recipients"] == [world.coach.entra_oid]
    assert parameters(digest) == {"cohortName": "Najaar 2026", "week": "3", "atRisk": "1", "toReview": "0"}
    assert digest["previewText"]["content"] == \
        "Week 3 van Najaar 2026: 1 deelnemer loopt risico, 0 bewijzen te beoordelen."
    address, query = link(digest)
    assert address == f"https://teams.microsoft.com/l/entity/{world.app_id}/coach"
    assert query == {"label": "Coach", "context": {"subEntityId": f"cohort:{world.cohort.id}"}}
    [due] = to([n for n in received if n["activityType"] == "missionDueSoon"], daan)
    assert parameters(due)["dueDate"] == "maandag 28 september, 08:00"  # week 3 is due when week 4 opens
    finished = [n for n in received if n["activityType"] == "cohortFinished"]
    assert sorted(oid for n in finished for oid in n["recipients"]) == sorted(
        p.entra_oid for p in (daan, fleur, tom))


# -- quiet hours, the weekly cap, muted kinds -------------------------------------------------------------------
def test_quiet_hours_hold_a_notification_until_the_morning(world: World) -> None:
    daan = world.join("Daan Jansen")
    world.award(daan, "first-share", local(week_day(2, 1), 21, 30))

    assert world.events(local(week_day(2, 1), 21, 35)) == 1
    late = world.deliver(local(week_day(2, 1), 21, 35))
    early = world.deliver(local(week_day(2, 2), 7, 59))
    assert (late.sent, late.waiting, early.sent, early.waiting) == (0, 1, 0, 1)
    assert world.received() == []
    morning = world.deliver(local(week_day(2, 2), 8, 0))
    assert morning.sent == 1
    assert [n["activityType"] for n in world.received()] == ["badgeEarned"]

    # A reminder held overnight past its due time is dropped, not sent late.
    assert world.plan(local(week_day(2, 6), 19, 50)) == 1  # Sunday evening: week 2 is due Monday 08:00
    assert world.deliver(local(week_day(2, 6), 20, 1)).waiting == 1
    assert world.deliver(local(week_day(3), 8, 0)).skipped == 1
    [*_, due] = world.rows(daan)
    assert (due.activity_type, due.status, due.error) == ("missionDueSoon", "skipped", "expired")
    assert len(world.received()) == 1


def test_the_weekly_cap_holds_back_the_fourth_but_never_answers_or_recognition(world: World) -> None:
    daan = world.join("Daan Jansen")
    monday = week_day(2)

    def day(offset: int, hour: int = 10) -> datetime:
        return local(monday + timedelta(days=offset), hour)

    def worker(at: datetime) -> None:
        """What the jobs do at `at`: plan, detect, send."""
        world.plan(at)
        world.events(at)
        world.deliver(at)

    worker(local(monday, 8, 5))  # 1: week 2 unlocked
    for offset, slug in ((1, "first-share"), (2, "personal-touch"), (3, "conversation-starter")):
        world.award(daan, slug, day(offset) - timedelta(minutes=5))
        worker(day(offset))  # 2 and 3, then the cap
    world.review(daan, "first-external", "approved", day(3, 11) - timedelta(minutes=1))
    worker(day(3, 11))  # the answer to Daan's own evidence is not capped
    worker(local(monday + timedelta(days=5), 8, 5))  # Saturday: "due soon" would be the fourth in 7 days

    assert [(row.activity_type, row.status, row.error) for row in world.rows(daan)] == [
        ("missionWeekUnlocked", "sent", None),
        ("badgeEarned", "sent", None),
        ("badgeEarned", "sent", None),
        ("badgeEarned", "skipped", "weekly cap"),
        ("evidenceApproved", "sent", None),
        ("missionDueSoon", "skipped", "weekly cap"),
    ]
    assert [n["activityType"] for n in world.received() if n["recipients"] == [daan.entra_oid]] == [
        "missionWeekUnlocked", "badgeEarned", "badgeEarned", "evidenceApproved"]

    # Seven days after the first one there is room again: week 3's unlock goes out.
    worker(local(week_day(3), 8, 5))
    assert world.rows(daan)[-1].activity_type == "missionWeekUnlocked"
    assert world.rows(daan)[-1].status == "sent"


def test_muted_kinds_are_never_sent(world: World) -> None:
    daan, fleur = world.join("Daan Jansen"), world.join("Fleur Bakker")
    update_settings(world.session, daan.id, {"muted_notifications": ["week_unlocked", "badge_earned"]})

    world.plan(local(week_day(2), 8, 5))
    world.award(daan, "first-share", local(week_day(2), 9))
    world.events(local(week_day(2), 9, 5))
    world.deliver(local(week_day(2), 9, 5))

    assert [(r.activity_type, r.status, r.error) for r in world.rows(daan)] == [
        ("missionWeekUnlocked", "skipped", "muted"), ("badgeEarned", "skipped", "muted")]
    assert [n["recipients"] for n in world.received()] == [[fleur.entra_oid]]

    # Muting after a notification was queued still stops it.
    world.plan(local(week_day(3), 8, 5))
    update_settings(world.session, fleur.id, {"muted_notifications": ["week_unlocked"]})
    world.deliver(local(week_day(3), 8, 6))
    assert [(r.status, r.error) for r in world.rows(fleur)][-1] == ("skipped", "muted")
    assert len(world.received()) == 1


# -- idempotence and failures -----------------------------------------------------------------------------------
def test_retries_and_a_worker_restart_never_notify_twice(world: World) -> None:
    daan, fleur = world.join("Daan Jansen"), world.join("Fleur Bakker")
    at = local(week_day(2), 8, 5)
    assert (world.plan(at), world.plan(at)) == (2, 0)  # planning again logs nothing new

    class DiesAfterSending:
        """The worker is killed after Graph accepted the call, before the log says "sent"."""

        def send_activity_notification_to_recipients(self, user_ids: list[str], payload: dict) -> None:
            world.graph.send_activity_notification_to_recipients(user_ids, payload)
            raise WorkerDied

    with pytest.raises(WorkerDied):
        world.deliver(at, DiesAfterSending())
    world.session.rollback()  # what the dead worker had not committed is gone
    assert [row.status for row in world.rows()] == ["queued", "queued"]

    restarted = world.deliver(at + timedelta(minutes=1))  # the next worker sends what is still queued
    again = world.deliver(at + timedelta(minutes=2))
    assert (restarted.sent, again.sent, again.calls) == (2, 0, 0)
    first, second = world.received()
    assert first["chainId"] == second["chainId"] and first["recipients"] == second["recipients"]
    for person in (daan, fleur):  # Teams replaces the first copy: each person sees one notification
        [item] = world.feed_of(person)
        assert item["activityType"] == "missionWeekUnlocked" and item["updates"] == 1
    assert [row.status for row in world.rows()] == ["sent", "sent"]
    assert world.plan(at + timedelta(minutes=3)) == 0


def test_throttling_is_retried_after_retry_after_without_double_sends(world: World) -> None:
    world.join("Daan Jansen"), world.join("Fleur Bakker")
    at = local(week_day(2), 8, 5)
    world.plan(at)

    # Once throttled: the Graph client waits Retry-After and tries again.
    world.emulator.faults.throttle(count=1, retry_after=1, path_prefix=BULK)
    assert world.deliver(at).sent == 2
    assert world.attempts(BULK) == [429, 202]
    assert len(world.received()) == 1

    # Throttled beyond the client's retries: the rows stay queued and the run says when to come back.
    world.join("Thijs Visser"), world.join("Lotte Smit")
    world.plan(at)
    faults = httpx.post(f"{world.graph_url}/_faults", json={"kind": "throttle", "count": 3, "retryAfter": 1,
                                                            "pathPrefix": BULK}, trust_env=False)
    assert faults.status_code == 200  # the sandbox's shared fault injection, over HTTP
    later = world.deliver(at)
    assert (later.sent, later.retry_after) == (0, 1.0)
    assert world.attempts(BULK) == [429, 202, 429, 429, 429]
    waiting = [row for row in world.rows() if row.status == "queued"]
    assert [(row.attempts, row.error.split(":")[0]) for row in waiting] == [(1, "429 TooManyRequests")] * 2
    assert world.deliver(at + timedelta(seconds=2)).sent == 2
    assert len(world.received()) == 2
    assert [row.status for row in world.rows()] == ["sent"] * 4


def test_150_recipients_go_out_in_two_calls(world: World) -> None:
    people = [world.join(f"Deelnemer {n:03d}") for n in range(150)]
    world.plan(local(week_day(2), 8, 5))

    result = world.deliver(local(week_day(2), 8, 5))

    assert (result.sent, result.calls) == (150, 2)
    calls = world.received()
    assert [len(n["recipients"]) for n in calls] == [100, 50]
    assert {n["kind"] for n in calls} == {"recipients"}
    assert sorted(oid for n in calls for oid in n["recipients"]) == sorted(p.entra_oid for p in people)
    assert world.attempts(BULK) == [202, 202]


def test_a_refused_recipient_does_not_hold_up_the_others(world: World) -> None:
    daan, fleur, thijs = world.join("Daan Jansen"), world.join("Fleur Bakker"), world.join("Thijs Visser")
    package = world.feed.package_for(world.app.config["AZURE_CLIENT_ID"])
    world.feed.uninstall(package, fleur.entra_oid)  # Fleur removed the app from Teams
    world.plan(local(week_day(2), 8, 5))

    result = world.deliver(local(week_day(2), 8, 5))

    assert (result.sent, result.failed) == (2, 1)
    assert sorted(oid for n in world.received() for oid in n["recipients"]) == sorted(
        [daan.entra_oid, thijs.entra_oid])
    [refused] = world.rows(fleur)
    assert refused.status == "failed" and refused.error.startswith("403 Forbidden")


def test_a_malformed_row_fails_alone(world: World) -> None:
    world.join("Daan Jansen")
    fleur = world.join("Fleur Bakker")
    world.plan(local(week_day(2), 8, 5))
    world.session.add(NotificationLog(idempotency_key=f"nudge:broken:person={fleur.id}", person_id=fleur.id,
                                      activity_type="inactivityNudge", locale="nl", parameters={}))
    world.session.commit()

    result = world.deliver(local(week_day(2), 8, 5))

    assert (result.sent, result.failed) == (2, 1)
    broken = world.rows(fleur)[-1]
    assert broken.status == "failed" and broken.error.startswith("cannot be prepared")


def test_a_withdrawn_recognition_is_not_announced(world: World) -> None:
    tom = world.join("Tom Hendriks")
    session = world.session
    at = local(week_day(2, 2), 10)
    world.award(tom, "ambassador", at)
    award = session.scalar(select(Award).where(Award.person_id == tom.id))
    recognition = Recognition(cohort_id=world.cohort.id, from_person_id=world.coach.id, to_person_id=tom.id,
                              kind="ambassador", message="Echte ambassadeur", award_id=award.id, created_at=at)
    session.add(recognition)
    session.flush()
    notify_recognised(session, recognition)
    award.revoked_at = at + timedelta(minutes=5)
    session.commit()

    world.events(at + timedelta(minutes=10))  # the Ambassador badge is announced by its recognition only
    result = world.deliver(at + timedelta(minutes=10))

    assert (result.sent, result.skipped) == (0, 1)
    assert world.received() == []
    assert [(r.status, r.error) for r in world.rows(tom)] == [("skipped", "recognition withdrawn")]


# -- the job -----------------------------------------------------------------------------------------------------
def test_the_send_job_uses_the_apps_own_graph_client(app: Flask, session: Session, world: World) -> None:
    daan = world.join("Daan Jansen")
    # The job sends at the real time of day: put the cohort where it is daytime now.
    world.cohort.timezone = daytime_zone(datetime.now(UTC))
    world.award(daan, "first-share", datetime.now(UTC) - timedelta(minutes=1))
    world.events(datetime.now(UTC))

    assert app.extensions["tasks"]["deliver_notifications"].call_local() == 1
    assert [n["recipients"] for n in world.received()] == [[daan.entra_oid]]
    assert app.extensions["tasks"]["deliver_notifications"].call_local() == 0


def daytime_zone(now: datetime) -> str:
    """A fixed-offset zone in which `now` is between 10:00 and 14:00."""
    for offset in range(-12, 15):
        if 10 <= (now + timedelta(hours=offset)).hour < 14:
            return f"Etc/GMT{-offset:+d}"  # POSIX signs: Etc/GMT-2 is two hours ahead of UTC
    raise AssertionError("every hour has a zone")
