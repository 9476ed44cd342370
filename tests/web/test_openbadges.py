"""Open Badges 2.0: hosted assertions, badge classes and the issuer, checked against the specification's rules.

The checks follow the Open Badges 2.0 specification (https://www.imsglobal.org/sites/default/files/Badges/
OBv2p0Final/index.html): every document has the v2 JSON-LD context, a `type` and an IRI `id`; an Assertion needs
`recipient`, `badge`, `verification` and `issuedOn`; a BadgeClass `name`, `description`, `image`, `criteria` and
`issuer`; an Issuer Profile `name` and `url`. Hosted verification: the assertion's `id` is an HTTP(S) URL on the
issuer's origin that dereferences to the same assertion; a revoked one answers 410 with `revoked: true`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from plugin.models import Award, Person
from plugin.services.demo import demo_oid, seed_demo
from plugin.services.programmes import ensure_badges
from tests.web.impact_world import DAAN, ESTHER, SANNE, build_impact_world

CONTEXT = "https://w3id.org/openbadges/v2"
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def world(app, client, authority):
    """The generated cohort (without activity); its first North participant holds a public Ambassador badge."""
    return build_impact_world(app, client, authority, activity=False)


def path_of(url: str) -> str:
    """The path (and query) of one of our absolute URLs, to fetch it with the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fetch_json(client, url: str, status: int = 200) -> dict:
    response = client.get(path_of(url))
    assert response.status_code == status, (url, response.data[:200])
    assert response.mimetype in ("application/ld+json", "application/json")
    return json.loads(response.data)


def assert_document(document: dict, kind: str) -> None:
    assert document["@context"] == CONTEXT
    assert document["type"] == kind
    assert urlsplit(document["id"]).scheme in ("http", "https")


def award_for(world, name: str, *, slug: str = "first-share", public: bool = False, **fields) -> str:
    """An award of `slug` to the demo person `name` in the world's cohort; its public id."""
    public_id = str(uuid.uuid4())
    with world.db() as session:
        badges = ensure_badges(session)
        session.add(Award(public_id=public_id, person_id=world.people[name], badge_id=badges[slug].id,
                          cohort_id=world.cohort_id, awarded_at=datetime.now(UTC) - timedelta(days=3), public=public,
                          **fields))
    return public_id


def test_a_public_award_is_a_valid_hosted_assertion(world, app):
    client = world.client
    url = f"/ob/assertions/{world.public_award}"
    assertion = fetch_json(client, url)

    assert_document(assertion, "Assertion")
    for required in ("recipient", "badge", "verification", "issuedOn"):
        assert required in assertion, required
    assert ISO_8601.match(assertion["issuedOn"])
    assert assertion["verification"] == {"type": "hosted"}
    # Hosted: the id is this URL on the issuer's origin, and fetching it gives the same assertion.
    base = app.config["APP_BASE_URL"]
    assert assertion["id"] == f"{base}{url}"
    assert fetch_json(client, assertion["id"]) == assertion

    badge = fetch_json(client, assertion["badge"])
    assert_document(badge, "BadgeClass")
    for required in ("name", "description", "image", "criteria", "issuer"):
        assert badge[required], required
    assert badge["name"] in ("Ambassador", "Ambassadeur")
    assert badge["criteria"]["narrative"]

    issuer = fetch_json(client, badge["issuer"])
    assert_document(issuer, "Issuer")
    assert issuer["id"] == badge["issuer"]
    assert issuer["name"] and urlsplit(issuer["url"]).scheme in ("http", "https")
    assert urlsplit(assertion["id"]).netloc == urlsplit(issuer["url"]).netloc == urlsplit(issuer["id"]).netloc

    image = client.get(path_of(badge["image"]))
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(image.data)) as png:
        assert png.format == "PNG" and png.width == png.height >= 90
    assert len(image.data) <= 256 * 1024


def test_the_recipient_is_a_salted_hash_of_the_e_mail_address(world):
    recipient = fetch_json(world.client, f"/ob/assertions/{world.public_award}")["recipient"]

    assert recipient["type"] == "email" and recipient["hashed"] is True
    assert recipient["salt"] and recipient["identity"].startswith("sha256$")
    expected = hashlib.sha256(("north0@example.test" + recipient["salt"]).encode()).hexdigest()
    assert recipient["identity"] == f"sha256${expected}"
    assert "north0@example.test" not in json.dumps(recipient)


def test_each_award_has_its_own_salt(world):
    other = award_for(world, DAAN, public=True)
    first = fetch_json(world.client, f"/ob/assertions/{world.public_award}")["recipient"]["salt"]
    second = fetch_json(world.client, f"/ob/assertions/{other}")["recipient"]["salt"]
    assert first != second


def test_the_baked_image_carries_the_assertion(world):
    assertion = fetch_json(world.client, f"/ob/assertions/{world.public_award}")
    response = world.client.get(path_of(assertion["image"]))

    assert response.status_code == 200 and response.mimetype == "image/png"
    with Image.open(io.BytesIO(response.data)) as png:
        assert json.loads(png.text["openbadges"]) == assertion


def test_a_revoked_award_is_gone(world):
    revoked = award_for(world, DAAN, public=True, revoked_at=datetime.now(UTC), revoke_reason="Earned by mistake")

    body = fetch_json(world.client, f"/ob/assertions/{revoked}", status=410)
    assert body["revoked"] is True and body["revocationReason"] == "Earned by mistake"
    assert world.client.get(f"/ob/assertions/{revoked}/image.png").status_code == 410
    page = world.client.get(f"/verify/{revoked}?lang=en")
    assert page.status_code == 410
    assert "revoked" in page.get_data(as_text=True)
    assert "linkedin.com" not in page.get_data(as_text=True)


@pytest.mark.parametrize("route", ["/ob/assertions/{id}", "/ob/assertions/{id}/image.png", "/verify/{id}"])
def test_a_private_or_unknown_award_is_not_found(world, route):
    private = award_for(world, DAAN)
    for public_id in (private, str(uuid.uuid4()), "not-an-id"):
        assert world.client.get(route.format(id=public_id)).status_code == 404


def test_unknown_badge_class_is_not_found(world):
    response = world.client.get("/ob/badges/no-such-badge")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize(("query", "headers", "expected"), [
    ("?lang=nl", {}, ("Geverifieerd", "Toevoegen aan LinkedIn-profiel", 'lang="nl"')),
    ("?lang=en", {"Accept-Language": "nl"}, ("Verified", "Add to LinkedIn profile", 'lang="en"')),
    ("", {"Accept-Language": "en-GB,en;q=0.8"}, ("Verified", "Add to LinkedIn profile", 'lang="en"')),
    ("", {"Accept-Language": "nl-NL"}, ("Geverifieerd", "Ambassadeur", 'lang="nl"')),
])
def test_the_verification_page_speaks_the_visitors_language(world, query, headers, expected):
    response = world.client.get(f"/verify/{world.public_award}{query}", headers=headers)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in expected:
        assert text in page
    assert "North 0" in page and "Voorjaar" in page


def test_the_verification_page_links_to_linkedin_and_the_downloads(world, app):
    page = world.client.get(f"/verify/{world.public_award}?lang=en").get_data(as_text=True)
    base = app.config["APP_BASE_URL"]

    link = unescape(re.search(r'href="(https://www\.linkedin\.com/profile/add\?[^"]+)"', page).group(1))
    query = parse_qs(urlsplit(link).query)
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["name"] == ["Ambassador"]
    assert query["certUrl"] == [f"{base}/verify/{world.public_award}"]
    assert query["certId"] == [world.public_award]
    issued = datetime.now(UTC) - timedelta(days=20)
    assert (query["issueYear"], query["issueMonth"]) == ([str(issued.year)], [str(issued.month)])

    download = re.search(r'href="([^"]+\?download=1)" download', page).group(1)
    response = world.client.get(path_of(unescape(download)))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="badge-{world.public_award}.json"'
    assert json.loads(response.data)["id"] == f"{base}/ob/assertions/{world.public_award}"


def test_the_holder_chooses_whether_a_badge_is_public(world):
    public_id = award_for(world, DAAN)
    put = "PUT"
    path = f"/api/me/awards/{public_id}/visibility"
    headers = {"Authorization": f"Bearer {world.authority.mint_sso_token(demo_oid(DAAN))}"}

    mine = world.client.get("/api/me/awards?locale=en", headers=headers).get_json()
    assert [(a["id"], a["public"], a["verify_url"]) for a in mine] == [(public_id, False, None)]
    assert world.client.get(f"/ob/assertions/{public_id}").status_code == 404

    shown = world.client.open(path, method=put, headers=headers, json={"public": True})
    assert shown.status_code == 200
    assert shown.get_json()["public"] is True and shown.get_json()["verify_url"].endswith(f"/verify/{public_id}")
    assert world.client.get(f"/ob/assertions/{public_id}").status_code == 200

    hidden = world.client.open(path, method=put, headers=headers, json={"public": False})
    assert hidden.status_code == 200 and hidden.get_json()["public"] is False
    assert world.client.get(f"/ob/assertions/{public_id}").status_code == 404


@pytest.mark.parametrize("body", [{"public": "yes"}, {"public": 1}, {}, None, ["public"]])
def test_a_bad_visibility_request_changes_nothing(world, body):
    public_id = award_for(world, DAAN)
    headers = {"Authorization": f"Bearer {world.authority.mint_sso_token(demo_oid(DAAN))}"}

    response = world.client.put(f"/api/me/awards/{public_id}/visibility", headers=headers, json=body)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error", "message"}
    with world.db() as session:
        assert session.scalar(select(Award.public).where(Award.public_id == public_id)) is False


def test_nobody_else_can_change_a_badges_visibility(world):
    public_id = award_for(world, DAAN)
    for name in (SANNE, ESTHER):
        headers = {"Authorization": f"Bearer {world.authority.mint_sso_token(demo_oid(name))}"}
        response = world.client.put(f"/api/me/awards/{public_id}/visibility", headers=headers, json={"public": True})
        assert response.status_code == 404
    assert world.client.put(f"/api/me/awards/{public_id}/visibility", json={"public": True}).status_code == 401
    assert world.client.get(f"/ob/assertions/{public_id}").status_code == 404


def test_a_revoked_badge_cannot_be_made_public(world):
    public_id = award_for(world, DAAN, revoked_at=datetime.now(UTC), revoke_reason="mistake")
    headers = {"Authorization": f"Bearer {world.authority.mint_sso_token(demo_oid(DAAN))}"}

    response = world.client.put(f"/api/me/awards/{public_id}/visibility", headers=headers, json={"public": True})
    assert response.status_code == 409 and response.get_json()["error"] == "revoked"


def test_badges_list_prints_assertion_and_verification_urls(world, runner, app):
    private = award_for(world, DAAN)
    base = app.config["APP_BASE_URL"]

    everything = runner.invoke(args=["badges", "list"])
    assert everything.exit_code == 0
    lines = {line.split("\t")[0]: line.split("\t") for line in everything.output.splitlines()}
    assert lines[private][5] == "private"
    assert lines[world.public_award][1:] == [
        "ambassador", "north0@example.test", "Voorjaar", lines[world.public_award][4], "public",
        f"{base}/ob/assertions/{world.public_award}", f"{base}/verify/{world.public_award}"]
    revoked = [fields for fields in lines.values() if fields[5] == "revoked"]
    assert len(revoked) == 1

    public = runner.invoke(args=["badges", "list", "--public"])
    assert public.exit_code == 0
    assert [line.split("\t")[0] for line in public.output.splitlines()] == [world.public_award]


def test_the_demo_has_a_public_badge_that_verifies(app, client, runner):
    with app.app_context():
        from plugin.db import get_session

        seed_demo(get_session())
    listed = runner.invoke(args=["badges", "list", "--public"])
    assert listed.exit_code == 0
    fields = listed.output.splitlines()[0].split("\t")
    assert fields[1] == "ambassador"
    assert client.get(path_of(fields[6])).status_code == 200
    page = client.get(path_of(fields[7]) + "?lang=nl")
    assert page.status_code == 200 and "Geverifieerd" in page.get_data(as_text=True)
    with app.app_context():
        from plugin.db import get_session

        holder = get_session().scalar(select(Person).join(Award, Award.person_id == Person.id)
                                      .where(Award.public_id == fields[0]))
        assert holder.email
