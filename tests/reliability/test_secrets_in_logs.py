"""No token, client secret or GRAPH_CLIENT_STATE in the logs of sign-in + on-behalf-of + webhook + processing."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, date, datetime

from sqlalchemy import select

from plugin.models import Activity, Channel, CohortTeam, Team
from plugin.services.demo import channel_graph_id, demo_oid, team_graph_id
from plugin.services.programmes import copy_missions, programme_for
from tests.factories import make_cohort, make_enrolment, make_person
from tests.integration.test_post_to_badge import POST
from tests.web.test_obo import cached_access_tokens, dev, sign_in_through_authority  # noqa: F401 - dev: fixture

DAAN = demo_oid("Daan Jansen")


def channel_with_participant(session) -> tuple[str, str]:
    """A running cohort whose team channel Daan posts in (as in test_post_to_badge)."""
    team_id, channel_id = team_graph_id("fin"), channel_graph_id("fin", "Kennisdeling")
    cohort = make_cohort(session, start_date=date.fromordinal(datetime.now(UTC).date().toordinal() - 3))
    copy_missions(session, cohort, programme_for(cohort))
    team = Team(graph_id=team_id, display_name="Financieel Advies")
    team.channels = [Channel(graph_id=channel_id, display_name="Kennisdeling")]
    session.add(team)
    session.flush()
    session.add(CohortTeam(cohort_id=cohort.id, team_id=team.id))
    make_enrolment(session, cohort=cohort, person=make_person(session, entra_oid=DAAN, display_name="Daan Jansen"),
                   team_id=team.id)
    session.commit()
    return team_id, channel_id


def test_the_whole_flow_logs_no_token_secret_or_client_state(app, client, dev, session, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    state = app.config["GRAPH_CLIENT_STATE"] = f"state-{secrets.token_urlsafe(24)}"
    app.config["INBOX_AUTO_PROCESS"] = True  # the worker's job runs in-process: app-only token, fetch, ingest
    team_id, channel_id = channel_with_participant(session)

    signed_in = sign_in_through_authority(client, "/auth/login", DAAN)  # outside Teams: authorization code
    assert signed_in.status_code == 303  # signed in, sent on to the page that asked
    sso = dev.mint_sso_token(DAAN)
    assert client.get("/api/me/graph-profile", headers={"Authorization": f"Bearer {sso}"}).status_code == 200

    emulator = app.extensions["sandbox"].apps["/dev/graph"].extensions["graph_emulator"]
    message = emulator.scenario.post(team_id, channel_id, DAAN, POST)
    resource = f"teams('{team_id}')/channels('{channel_id}')/messages('{message.id}')"
    item = {"subscriptionId": "5b8c2a8e-0000-4000-8000-000000000001", "changeType": "created", "clientState": state,
            "tenantId": app.config["AZURE_TENANT_ID"], "resource": resource,
            "resourceData": {"id": message.id, "@odata.type": "#Microsoft.Graph.chatMessage"},
            "subscriptionExpirationDateTime": "2099-01-01T00:00:00Z"}
    assert client.post("/webhooks/graph", json={"value": [item]}).status_code == 202
    forged = client.post("/webhooks/graph", json={"value": [{**item, "clientState": state[:-1]}]})
    assert forged.status_code == 403
    assert session.scalar(select(Activity).where(Activity.external_id == message.id)) is not None

    leaks = {"SSO token": sso, "client secret": app.extensions["sandbox"].client_secret,
             "GRAPH_CLIENT_STATE": state, "SECRET_KEY": app.config["SECRET_KEY"],
             **{f"cached token {n}": t for n, t in enumerate(cached_access_tokens(app, session, DAAN))}}
    assert caplog.records  # MSAL, httpx and our own modules did log
    logged = caplog.text
    assert [name for name, value in leaks.items() if value and value in logged] == []
