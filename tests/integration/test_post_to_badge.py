"""The whole path through the real entry points: a post in Teams → Graph notification → webhook → queued job
→ the message fetched from Graph → activity → engine → badge, with the jobs running in-process."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from plugin.models import Activity, Award, Badge, Channel, CohortTeam, InboxItem, Team
from plugin.services.demo import channel_graph_id, demo_oid, team_graph_id
from plugin.services.programmes import copy_missions, programme_for
from tests.factories import make_cohort, make_enrolment, make_person

POST = ("<p>Vandaag geleerd bij een klant: door de weekplanning op één A4 te zetten halveerde hun doorlooptijd. "
        'Zo pak je het aan: <a href="https://example.com/a4-planning">https://example.com/a4-planning</a> #lean</p>')


def test_a_teams_post_becomes_a_badge_through_the_webhook(app, client, session):
    app.config["INBOX_AUTO_PROCESS"] = True
    emulator = app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
    team_id, channel_id = team_graph_id("fin"), channel_graph_id("fin", "Kennisdeling")
    today = datetime.now(UTC).date()
    cohort = make_cohort(session, start_date=date.fromordinal(today.toordinal() - 3))
    copy_missions(session, cohort, programme_for(cohort))
    team = Team(graph_id=team_id, display_name="Financieel Advies")
    team.channels = [Channel(graph_id=channel_id, display_name="Kennisdeling")]
    session.add(team)
    session.flush()
    session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
    daan = make_person(session, entra_oid=demo_oid("Daan Jansen"), display_name="Daan Jansen")
    make_enrolment(session, cohort=cohort, person=daan, team_id=team.id)
    session.commit()

    message = emulator.scenario.post(team_id, channel_id, daan.entra_oid, POST)
    notification = {"value": [{
        "subscriptionId": "5b8c2a8e-0000-4000-8000-000000000001", "changeType": "created",
        "clientState": app.config["GRAPH_CLIENT_STATE"], "tenantId": app.config["AZURE_TENANT_ID"],
        "resource": f"teams('{team_id}')/channels('{channel_id}')/messages('{message.id}')",
        "resourceData": {"id": message.id, "@odata.type": "#Microsoft.Graph.chatMessage",
                         "@odata.id": f"teams('{team_id}')/channels('{channel_id}')/messages('{message.id}')"},
        "subscriptionExpirationDateTime": "2099-01-01T00:00:00Z",
    }]}
    assert client.post("/webhooks/graph", json=notification).status_code == 202
    assert client.post("/webhooks/graph", json=notification).status_code == 202  # Graph redelivers

    posts = session.scalars(select(Activity).where(Activity.external_id == message.id)).all()
    assert len(posts) == 1 and posts[0].knowledge_sharing and posts[0].author_id == daan.id
    badges = set(session.scalars(select(Badge.slug).join(Award).where(Award.person_id == daan.id)))
    assert {"first-share", "personal-touch"} <= badges
    assert session.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status != "done")) == 0
    stored = session.scalars(select(InboxItem.payload)).all()
    assert all("lean" not in str(payload) for payload in stored)  # no message text is kept
