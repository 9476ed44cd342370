"""The tab shells (/tabs/personal, /tabs/team, /tabs/config) and the API route the team tab needs."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

import plugin.web.api_tabs  # noqa: F401 - adds /api/teams/by-graph-id to the API blueprint before it is registered
from plugin.db import get_session
from plugin.models import Person, Team
from plugin.services.demo import demo_oid, seed_demo, team_graph_id
from plugin.web.tabs import bp as tabs_bp

TABS = ("personal", "team", "config")
#: Our own code per tab (vendor libraries excluded) must stay under 150 KB (DESIGN.md §5).
BUDGET = 150 * 1024


@pytest.fixture
def app(app):
    """The test app with the tabs registered (until create_app does it)."""
    if "tabs" not in app.blueprints:
        app.register_blueprint(tabs_bp)
    return app


@pytest.fixture
def demo(app):
    with app.app_context():
        return seed_demo(get_session())


def i18n(page: str) -> dict:
    return json.loads(page.split('<script type="application/json" id="i18n">')[1].split("</script>")[0])


def bearer(authority, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}"}


@pytest.mark.parametrize("tab", TABS)
@pytest.mark.parametrize(("query", "lang"), [("?locale=nl-NL", "nl"), ("?locale=en-US", "en"), ("", "nl")])
def test_each_tab_renders_in_the_teams_language(client, tab, query, lang):
    response = client.get(f"/tabs/{tab}{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.text
    assert f'<html lang="{lang}" class="theme-default" data-tab="{tab}">' in page
    assert '<main id="main"' in page and 'role="status" aria-live="polite"' in page and 'role="alert"' in page
    assert "no-cache" in response.headers["Cache-Control"]


def test_texts_follow_the_locale(client):
    nl = client.get("/tabs/team?locale=nl-NL").text
    en = client.get("/tabs/team?locale=en-US").text
    assert "<dt>Deelnemers</dt>" in nl and "<dt>Actief deze week</dt>" in nl
    assert "<dt>Participants</dt>" in en and "<dt>Active this week</dt>" in en
    assert i18n(nl)["hidden_small_group"] == "verborgen (kleine groep)"
    assert i18n(en)["hidden_small_group"] == "hidden (small group)"
    assert "<h1>My programme</h1>" in client.get("/tabs/personal?locale=en").text
    assert i18n(client.get("/tabs/personal?locale=nl").text)["problem_error_title"] == "Er ging iets mis"


@pytest.mark.parametrize(("theme", "expected"), [("dark", "dark"), ("contrast", "contrast"), ("default", "default"),
                                                 ("neon", "default"), ("", "default")])
def test_theme_class_comes_from_the_query(client, theme, expected):
    page = client.get(f"/tabs/personal?locale=en&theme={theme}").text
    assert f'class="theme-{expected}"' in page


@pytest.mark.parametrize("tab", TABS)
def test_the_i18n_block_holds_ready_to_fill_texts(client, tab):
    texts = i18n(client.get(f"/tabs/{tab}?locale=en-US").text)
    assert texts["retry"] == "Try again"
    for key in ("offline", "sign_in", "error"):
        assert texts[f"problem_{key}_title"] and texts[f"problem_{key}_text"]
    for key, value in texts.items():
        forms = value.values() if isinstance(value, dict) else [value]
        for text in forms:
            assert "%(" not in text, key  # placeholders are {name}, interpolated by the template's _()
        if isinstance(value, dict):
            assert set(value) == {"one", "other"}
    if tab == "personal":
        assert texts["cohort_week"] == "Week {week} of {weeks}"
        assert texts["points"] == {"one": "{num} point", "other": "{num} points"}
        assert texts["ambassador_number"] == "Ambassador #{number}"


@pytest.mark.parametrize("tab", TABS)
def test_no_personal_data_and_no_inline_script(client, authority, demo, session, tab):
    # Even a request that carries a token gets the same shell: the data comes from the API.
    response = client.get(f"/tabs/{tab}?locale=nl-NL&team={team_graph_id('fin')}",
                          headers=bearer(authority, "Daan Jansen"))
    page = response.text
    for name in session.scalars(select(Person.display_name)):
        assert name not in page
    for team in session.scalars(select(Team.display_name)):
        assert team not in page
    assert "najaar" not in page  # the cohort's name
    assert demo_oid("Daan Jansen") not in page and team_graph_id("fin") not in page
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert 'src="/static/' in tag or 'type="application/json"' in tag, tag
    assert " style=" not in page and "<style" not in page  # CSP: styles only from files
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page  # no external requests


@pytest.mark.parametrize("tab", TABS)
def test_the_tabs_assets_load_and_fit_the_budget(client, tab):
    page = client.get(f"/tabs/{tab}?locale=en").text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert "/static/vendor/teams-js.min.js" in assets
    assert "/static/vendor/fluent-web-components.min.js" in assets
    own = [path for path in assets if not path.startswith("/static/vendor/")]
    assert "/static/css/tabs.css" in own and f"/static/js/tabs/{tab}.js" in own
    size = 0
    for path in own:
        response = client.get(path)
        assert response.status_code == 200, path
        size += len(response.data)
        for module in re.findall(r'from "\./([\w-]+\.js)"', response.get_data(as_text=True)):
            imported = client.get(f"/static/js/tabs/{module}")
            assert imported.status_code == 200
            size += len(imported.data)
            imported.close()
        response.close()
    assert size < BUDGET


def test_every_colour_token_the_css_uses_is_defined_for_each_theme(client):
    response = client.get("/static/css/tabs.css")
    css = re.sub(r"/\*.*?\*/", "", response.get_data(as_text=True), flags=re.S)
    response.close()
    used = set(re.findall(r"var\(--(\w+)", css))
    constant = set(re.findall(r"--(\w+):", css.split(":root{", 1)[1].split("}", 1)[0]))
    for theme in ("default", "dark", "contrast"):
        block = css.split(f"html.theme-{theme}{{", 1)[1].split("}", 1)[0]
        missing = used - constant - set(re.findall(r"--(\w+):", block))
        assert missing == set(), theme


def test_lead_finds_their_team_by_its_graph_id(client, authority, demo, session):
    body = client.get(f"/api/teams/by-graph-id/{team_graph_id('fin')}", headers=bearer(authority, "Sanne de Vries"))
    assert body.status_code == 200
    team = session.scalar(select(Team).where(Team.graph_id == team_graph_id("fin")))
    assert body.get_json() == {"id": team.id, "graph_id": team.graph_id, "name": "Financieel Advies"}
    # The id the tab gets opens the team summary.
    summary = client.get(f"/api/teams/{team.id}/summary", headers=bearer(authority, "Sanne de Vries"))
    assert summary.status_code == 200 and summary.get_json()["name"] == "Financieel Advies"
    upper = client.get(f"/api/teams/by-graph-id/{team_graph_id('fin').upper()}",
                       headers=bearer(authority, "Sanne de Vries"))
    assert upper.status_code == 200


def test_team_lookup_refuses_others(client, authority, demo):
    fin, green = team_graph_id("fin"), team_graph_id("green")
    assert client.get(f"/api/teams/by-graph-id/{fin}").status_code == 401
    employee = client.get(f"/api/teams/by-graph-id/{fin}", headers=bearer(authority, "Daan Jansen"))
    assert employee.status_code == 403 and employee.get_json()["error"] == "forbidden"
    other = client.get(f"/api/teams/by-graph-id/{green}?locale=en", headers=bearer(authority, "Sanne de Vries"))
    assert other.status_code == 403
    assert other.get_json() == {"error": "forbidden", "message": "You can only see the teams you lead."}
    coach = client.get(f"/api/teams/by-graph-id/{green}", headers=bearer(authority, "Esther Koster"))
    assert coach.status_code == 200 and coach.get_json()["name"] == "Duurzaamheid"
    unknown = client.get("/api/teams/by-graph-id/00000000-0000-0000-0000-000000000000",
                         headers=bearer(authority, "Esther Koster"))
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"


def test_team_lookup_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    operation = paths["/api/teams/by-graph-id/{graph_id}"]["get"]
    assert operation["x-access"] == "lead"
    assert operation["parameters"][0]["schema"] == {"type": "string"}
