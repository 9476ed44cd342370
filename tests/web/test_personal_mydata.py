"""What the personal tab needs for "Your data" and its header links: who is looking (name, roles) in the one
request of `GET /api/me/programme`, and the download and erase controls in the tab's page in both languages."""

from __future__ import annotations

import pytest

from .personal_world import DAAN, ESTHER, GERRIT, SANNE, World, make_world


@pytest.fixture
def world(app, client, authority) -> World:
    """Week 3; Daan (employee), Sanne (lead) and Esther (coach) take part; Gerrit (admin) does not."""
    world = make_world(app, client, authority, week=3)
    for name in (DAAN, SANNE, ESTHER):
        world.enrol(name)
    return world


def test_the_programme_says_who_is_looking_and_with_which_roles(world):
    daan = world.programme(DAAN)
    assert daan["name"] == DAAN
    assert daan["roles"] == ["employee"]

    assert world.programme(SANNE)["roles"] == ["employee", "lead"]
    esther = world.programme(ESTHER)
    assert esther["name"] == ESTHER and "coach" in esther["roles"]


def test_roles_are_the_same_as_the_api_reports_for_me(world):
    for name in (DAAN, SANNE, ESTHER):
        me = world.call("GET", "/api/me", name).get_json()
        assert world.programme(name)["roles"] == me["roles"]


def test_an_admin_who_takes_no_part_still_learns_their_roles(world):
    response = world.call("GET", "/api/me/programme?locale=en-US", GERRIT)
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_enrolled" and body["message"]
    assert "admin" in body["roles"]


def test_roles_are_never_those_of_someone_else(world):
    # Daan is an employee; a coach looking at the tab before him leaves nothing behind.
    assert "coach" in world.programme(ESTHER)["roles"]
    assert world.programme(DAAN)["roles"] == ["employee"]


@pytest.mark.parametrize(("locale", "texts"), [
    ("en-US", ("Your data", "Download my data", "Erase my data", "What stays", "cannot be undone",
               "download everything Ambassador holds about you, or erase it", "Coach pages")),
    ("nl-NL", ("Jouw gegevens", "Download mijn gegevens", "Wis mijn gegevens", "Wat blijft",
               "kan niet ongedaan", "alles wat Ambassador over je weet downloaden", "Coachpagina")),
])
def test_the_tab_explains_download_and_erase_in_the_tab_language(client, locale, texts):
    response = client.get(f"/tabs/personal?locale={locale}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in texts:
        assert text in html, text
