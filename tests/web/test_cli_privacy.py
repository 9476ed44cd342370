"""`flask privacy export|erase|retention|inventory` and `flask audit list`, through the CLI runner."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import plugin.models  # noqa: F401 - registers every table
from plugin.db import Base
from plugin.models import Activity, AuditEntry, Person
from plugin.services.data_inventory import unclassified_columns
from plugin.services.demo import demo_upn
from tests.factories import make_activity, make_person
from tests.web.impact_world import DAAN
from tests.web.privacy_world import EVIDENCE_URL, TOKEN_SECRET, build_privacy_world, database_text, traces

DOCS = Path(__file__).resolve().parents[2] / "docs"
UPN = demo_upn(DAAN)


@pytest.fixture
def pw(app, client, authority):
    """The impact world with Daan's full set of data (tests/web/privacy_world.py)."""
    return build_privacy_world(app, client, authority)


def test_export_prints_the_same_document_as_the_api(pw, runner):
    result = runner.invoke(args=["privacy", "export", UPN])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["person"]["upn"] == UPN and data["enrolments"][0]["evidence"][0]["url"] == EVIDENCE_URL
    assert data["sign_in"]["token_cache"]["stored"] is True
    assert TOKEN_SECRET.decode("latin-1") not in result.output
    with pw.db() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.export")).one()
        assert (entry.actor_id, entry.details) == (None, {"requested_by": "admin"})


def test_export_to_a_file_only_the_admin_can_read(pw, runner, tmp_path):
    out = tmp_path / "daan.json"

    result = runner.invoke(args=["privacy", "export", pw.oid, "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"exported person {pw.daan} to {out}"
    assert json.loads(out.read_text(encoding="utf-8"))["person"]["entra_oid"] == pw.oid
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_unknown_people_and_unwritable_files_are_one_line(pw, runner, tmp_path):
    unknown = runner.invoke(args=["privacy", "export", "nobody@example.test"])
    assert unknown.exit_code != 0
    assert unknown.output.strip().splitlines() == ["Error: nobody known as 'nobody@example.test' (they appear after "
                                                   "their first visit to the app)"]
    unwritable = runner.invoke(args=["privacy", "export", UPN, "--out", str(tmp_path / "missing" / "x.json")])
    assert unwritable.exit_code != 0 and len(unwritable.output.strip().splitlines()) == 1
    assert runner.invoke(args=["privacy", "erase", "nobody@example.test", "--yes"]).exit_code != 0


def test_erase_needs_yes_then_erases_once(pw, runner, connection):
    before = database_text(connection)
    refused = runner.invoke(args=["privacy", "erase", UPN])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert database_text(connection) == before

    erased = runner.invoke(args=["privacy", "erase", UPN, "--yes"])

    assert erased.exit_code == 0, erased.output
    assert re.fullmatch(rf"erased person {pw.daan}: name, e-mail and account id are gone; 4 activity row\(s\) stay "
                        r"without them", erased.output.strip())
    assert traces(connection, pw.oid) == []
    with pw.db() as session:
        placeholder = session.get(Person, pw.daan).entra_oid
    after = database_text(connection)
    # The old address no longer finds anyone; the placeholder's id does, and erasing it again changes nothing.
    assert runner.invoke(args=["privacy", "erase", UPN, "--yes"]).exit_code != 0
    again = runner.invoke(args=["privacy", "erase", placeholder, "--yes"])
    assert again.exit_code == 0 and again.output.strip() == f"person {pw.daan} was erased before; nothing changed"
    assert database_text(connection) == after
    listing = runner.invoke(args=["audit", "list", "--action", "privacy"])
    assert listing.exit_code == 0
    [line] = listing.output.strip().splitlines()
    assert line.split("\t")[1:] == ["system/cli", "privacy.erase", "person", '{"requested_by": "admin"}']


def test_audit_list_filters_by_date_and_action(pw, runner):
    assert runner.invoke(args=["roles", "grant", UPN, "coach"]).exit_code == 0

    assert [line.split("\t")[2] for line in runner.invoke(args=["audit", "list"]).output.splitlines()] == [
        "role.grant", "award.revoke"]
    assert runner.invoke(args=["audit", "list", "--since", "2999-01-01"]).output.strip() == "no audit entries match"
    bad = runner.invoke(args=["audit", "list", "--since", "last week"])
    assert bad.exit_code != 0 and bad.output.strip().startswith("Error: --since: Give the date as YYYY-MM-DD")
    limited = runner.invoke(args=["audit", "list", "--limit", "1"])
    assert limited.output.splitlines()[0].split("\t")[2] == "role.grant"
    assert "1 older entries not shown" in limited.output


def test_retention_now_from_the_command_line(runner, session):
    person = make_person(session)
    make_activity(session, author=person, occurred_at=datetime.now(UTC) - timedelta(days=800))
    make_activity(session, author=person, occurred_at=datetime.now(UTC) - timedelta(days=10))
    session.commit()
    days = {(datetime.now(UTC) - timedelta(days=730)).date().isoformat()}

    result = runner.invoke(args=["privacy", "retention"])

    days.add((datetime.now(UTC) - timedelta(days=730)).date().isoformat())  # in case midnight passed meanwhile
    assert result.exit_code == 0, result.output
    assert result.output.strip() in {f"deleted 1 activity row(s) from before {day}; removed message text from 0 "
                                     "notification(s)" for day in days}
    assert session.scalar(select(func.count()).select_from(Activity).where(Activity.author_id == person.id)) == 1


@pytest.mark.parametrize(("lang", "doc"), [("en", "PRIVACY.md"), ("nl", "PRIVACY.nl.md")])
def test_the_inventory_in_the_docs_is_the_one_the_models_give(runner, lang, doc):
    assert unclassified_columns(Base.metadata) == []
    printed = runner.invoke(args=["privacy", "inventory", "--lang", lang])
    assert printed.exit_code == 0

    text = (DOCS / doc).read_text(encoding="utf-8")
    block = re.search(r"<!-- inventory:start -->\n(.*?)<!-- inventory:end -->", text, re.S)
    assert block is not None, f"{doc} has no generated inventory block"
    assert block.group(1) == printed.output, f"run `flask --app wsgi privacy inventory --lang {lang}` into {doc}"
    for table in Base.metadata.tables:
        assert f"`{table}`" in block.group(1)
