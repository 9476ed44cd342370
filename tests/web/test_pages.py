"""The start page of the demo and the error responses, in Dutch and English."""

import pytest

from plugin import create_app
from plugin.db import get_session
from plugin.services.demo import seed_demo


@pytest.fixture
def demo(app):
    # Seed in an app context of its own: requests must not share one (flask-babel caches the locale there).
    with app.app_context():
        return seed_demo(get_session())


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({}, "", "Deel kennis in je eigen woorden"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "", "Share knowledge in your own words"),
        ({"Accept-Language": "en-GB"}, "?locale=nl-NL", "Deel kennis in je eigen woorden"),
        ({}, "?locale=en-US", "Share knowledge in your own words"),
        ({}, "?locale=fr-FR", "Deel kennis in je eigen woorden"),
    ],
)
def test_language_follows_teams_then_browser_then_dutch(client, demo, headers, query, expected):
    response = client.get(f"/{query}", headers=headers)
    assert response.status_code == 200
    assert expected in response.text


def test_overview_shows_the_cohort_week_and_teams(client, demo):
    page = client.get("/?locale=en").text
    assert "Social Embassy" in page
    assert "Week 3 of 8" in page
    for team in ("Financieel Advies", "IT &amp; Data", "HR &amp; Organisatie", "Duurzaamheid"):
        assert team in page
    assert "1 ambassador" in page
    page_nl = client.get("/?locale=nl").text
    assert "Week 3 van 8" in page_nl and "Deelnemende teams" in page_nl


def test_overview_never_names_participants(client, demo):
    page = client.get("/").text
    assert "Daan Jansen" not in page and "Sanne de Vries" not in page


def test_overview_is_not_served_in_production(monkeypatch, database_url):
    for name, value in {"SECRET_KEY": "x", "AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c",
                        "AZURE_CLIENT_SECRET": "s", "GRAPH_CLIENT_STATE": "g",
                        "APP_BASE_URL": "https://ambassador.example.nl", "DATABASE_URL": database_url}.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    assert app.test_client().get("/").status_code == 404
    app.extensions["db.engine"].dispose()


def test_unknown_api_route_is_json(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": response.get_json()["message"]}


@pytest.mark.parametrize(("locale", "title", "advice"), [
    ("nl", "Pagina niet gevonden", "Laat het je Ambassador-coach weten"),
    ("en", "Page not found", "please tell your Ambassador coach"),
])
def test_unknown_page_is_a_friendly_page_in_the_right_language(client, locale, title, advice):
    response = client.get(f"/nope?locale={locale}")
    assert response.status_code == 404
    assert f"<h1>{title}</h1>" in response.text and advice in response.text
    assert "Not Found" not in response.text
    assert response.mimetype == "text/html"


def test_sandbox_is_not_reachable_without_the_demo(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})
    for path in ("/dev/aad/common/discovery/v2.0/keys", "/dev/graph/v1.0/users", "/dev/yammer/api/v1/messages.json",
                 "/dev/host"):
        assert app.test_client().get(path).status_code == 404
    app.extensions["db.engine"].dispose()


def test_sandbox_serves_the_dev_authority_in_the_demo(monkeypatch, database_url):
    monkeypatch.setenv("AMBASSADOR_DEMO", "1")
    app = create_app({"DATABASE_URL": database_url})
    keys = app.test_client().get("/dev/aad/common/discovery/v2.0/keys")
    assert keys.status_code == 200
    assert len(keys.get_json()["keys"]) == 2
    metadata = app.test_client().get(f"/dev/aad/{app.config['AZURE_TENANT_ID']}/v2.0/.well-known/openid-configuration")
    assert metadata.get_json()["issuer"] == f"http://127.0.0.1:5000/dev/aad/{app.config['AZURE_TENANT_ID']}/v2.0"
    app.extensions["db.engine"].dispose()


def test_demo_mounts_every_emulator(monkeypatch, database_url):
    monkeypatch.setenv("AMBASSADOR_DEMO", "1")
    app = create_app({"DATABASE_URL": database_url})
    client = app.test_client()
    assert client.get("/dev/graph/v1.0/users/x").status_code == 401  # the emulator asks for a token
    unauthorised = client.get("/dev/yammer/api/v1/messages/in_group/31158067201.json")
    assert unauthorised.status_code == 401 and unauthorised.get_json()["response"]["code"] == 16
    app.extensions["db.engine"].dispose()
