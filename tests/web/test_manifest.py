"""`flask manifest build|validate`: the Teams app package for sample settings, and the ways admins break it.

The package is built through the CLI for an https deployment, then broken the way manifests typically go wrong;
each break must come back as the exact line an admin reads. Microsoft's own schema package (node) must agree.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from PIL import Image

from plugin.cli_manifest import manifest_cli
from plugin.config import PROJECT_ROOT
from plugin.services.manifest import activity_types

HOST = "ambassador.contoso.example"
CLIENT_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
ISSUE_8_ACTIVITIES = {"missionWeekUnlocked", "missionDueSoon", "evidenceApproved", "evidenceRejected", "badgeEarned",
                      "recognisedByLead", "inactivityNudge", "cohortFinished", "coachDigest"}
Files = dict[str, bytes]


@pytest.fixture
def deployment(app: Flask) -> Flask:
    """The test app configured as an https deployment with its own app registration."""
    app.config.update(APP_BASE_URL=f"https://{HOST}", AZURE_CLIENT_ID=CLIENT_ID)
    return app


@pytest.fixture
def package(deployment: Flask, runner: FlaskCliRunner, tmp_path: Path) -> Path:
    """A package built by `flask manifest build`."""
    out = tmp_path / "ambassador.zip"
    result = runner.invoke(manifest_cli, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def read(path: Path) -> Files:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(files: Files, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def png(size: tuple[int, int], color: tuple[int, ...], mode: str = "RGBA") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "PNG")
    return buffer.getvalue()


def edit_json(name: str, change: Callable[[dict], None]) -> Callable[[Files], None]:
    def apply(files: Files) -> None:
        document = json.loads(files[name])
        change(document)
        files[name] = json.dumps(document).encode()
    return apply


def test_build_fills_the_template_from_the_settings(package: Path, runner: FlaskCliRunner) -> None:
    files = read(package)
    assert sorted(files) == ["color.png", "manifest.json", "nl.json", "outline.png"]  # all at the root
    manifest = json.loads(files["manifest.json"])
    assert manifest["manifestVersion"] == "1.25" and manifest["$schema"].endswith("/v1.25/MicrosoftTeams.schema.json")
    assert manifest["version"] == importlib.metadata.version("ambassador")
    assert uuid.UUID(manifest["id"]) and manifest["id"] != CLIENT_ID
    assert manifest["webApplicationInfo"] == {"id": CLIENT_ID, "resource": f"api://{HOST}/{CLIENT_ID}"}
    assert manifest["validDomains"] == [HOST]
    personal, coach = manifest["staticTabs"]
    assert personal["scopes"] == coach["scopes"] == ["personal"]
    assert personal["contentUrl"] == f"https://{HOST}/tabs/personal?locale={{locale}}&theme={{theme}}"
    assert (personal["entityId"], coach["entityId"]) == ("programme", "coach")  # as the sandbox host page frames them
    assert coach["contentUrl"] == f"https://{HOST}/tabs/coach?locale={{locale}}&theme={{theme}}"
    [channel_tab] = manifest["configurableTabs"]
    assert channel_tab["scopes"] == ["team"] and channel_tab["configurationUrl"].startswith(f"https://{HOST}/tabs/config")
    rsc = {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]}
    assert {"ChannelMessage.Read.Group", "TeamsActivity.Send.Group", "TeamsActivity.Send.User"} <= rsc
    assert {a["type"] for a in manifest["activities"]["activityTypes"]} == ISSUE_8_ACTIVITIES
    assert manifest["localizationInfo"] == {"defaultLanguageTag": "en",
                                            "additionalLanguages": [{"languageTag": "nl", "file": "nl.json"}]}
    assert "${" not in files["manifest.json"].decode()

    checked = runner.invoke(manifest_cli, ["validate", str(package)])
    assert checked.exit_code == 0, checked.output
    assert checked.output == f"{package}: valid, ready to upload in the Teams admin center\n"


def test_the_dutch_file_translates_every_text_with_the_same_parameters(package: Path) -> None:
    files = read(package)
    manifest, nl = json.loads(files["manifest.json"]), json.loads(files["nl.json"])
    for index, activity in enumerate(manifest["activities"]["activityTypes"]):
        dutch = nl[f"activities.activityTypes[{index}].templateText"]
        assert dutch != activity["templateText"]
        assert sorted(part.split("}")[0] for part in dutch.split("{")[1:]) == \
            sorted(part.split("}")[0] for part in activity["templateText"].split("{")[1:])
    assert activity_types()["badgeEarned"] == {"badgeName"}  # what senders fill in
    assert nl["staticTabs[0].name"] == "Mijn programma"
    assert {"name.short", "name.full", "description.short", "description.full"} <= nl.keys()


def test_builds_are_reproducible_and_keep_the_app_id(deployment: Flask, runner: FlaskCliRunner, package: Path,
                                                     tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    assert runner.invoke(manifest_cli, ["build", "--out", str(again)]).exit_code == 0
    assert again.read_bytes() == package.read_bytes()

    chosen = str(uuid.uuid4())
    custom = tmp_path / "custom.zip"
    result = runner.invoke(manifest_cli, ["build", "--out", str(custom), "--app-id", chosen,
                                          "--privacy-url", "https://intranet.contoso.example/privacy"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(read(custom)["manifest.json"])
    assert manifest["id"] == chosen and manifest["developer"]["privacyUrl"] == "https://intranet.contoso.example/privacy"

    bad = runner.invoke(manifest_cli, ["build", "--out", str(custom), "--app-id", "not-a-guid"])
    assert bad.exit_code == 2 and "'not-a-guid' is not a GUID" in bad.output


def test_build_refuses_an_http_base_url(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    app.config["APP_BASE_URL"] = "http://127.0.0.1:5000"
    result = runner.invoke(manifest_cli, ["build", "--out", str(tmp_path / "x.zip")])
    assert result.exit_code == 1
    assert result.output == ("Error: APP_BASE_URL must be an https URL for a Teams package, because Teams only "
                             "loads https tabs (got 'http://127.0.0.1:5000')\n")
    assert not (tmp_path / "x.zip").exists()


BREAKS: dict[str, tuple[Callable[[Files], None], str]] = {
    "wrong colour icon size": (
        lambda f: f.__setitem__("color.png", png((100, 100), (68, 71, 145), "RGB")),
        "✖ color.png: is 100×100 pixels; it must be 192×192"),
    "wrong outline icon size": (
        lambda f: f.__setitem__("outline.png", png((48, 48), (255, 255, 255, 0))),
        "✖ outline.png: is 48×48 pixels; it must be 32×32"),
    "outline without transparency": (
        lambda f: f.__setitem__("outline.png", png((32, 32), (255, 255, 255), "RGB")),
        "✖ outline.png: has no transparent background"),
    "coloured outline": (
        lambda f: f.__setitem__("outline.png", _recolour(f["outline.png"])),
        "visible pixel(s) that are not white; the outline icon must be white on a transparent background"),
    "icon missing from the zip": (
        lambda f: f.pop("outline.png"),
        "✖ outline.png: named in manifest.json but missing from the package"),
    "missing nl key": (
        edit_json("nl.json", lambda d: d.pop("staticTabs[0].name")),
        '✖ nl.json: no nl text for staticTabs[0].name ("My programme")'),
    "nl template drops a parameter": (
        edit_json("nl.json", lambda d: d.__setitem__("activities.activityTypes[4].templateText",
                                                     "Je hebt een badge verdiend")),
        "✖ nl.json: activities.activityTypes[4].templateText uses no parameters but the manifest's template "
        "uses {badgeName}"),
    "nl key the schema forbids": (
        edit_json("nl.json", lambda d: d.__setitem__("developer.name", "Contoso")),
        "✖ nl.json /: unknown property 'developer.name' (not allowed by the schema)"),
    "too-long nl short name": (
        edit_json("nl.json", lambda d: d.__setitem__("name.short", "Ambassadeur voor kennisdelers!!")),
        "✖ nl.json /name.short: is 31 characters long; at most 30 allowed"),
    "bad accent colour": (
        edit_json("manifest.json", lambda d: d.__setitem__("accentColor", "blue")),
        '✖ manifest.json /accentColor: "blue" does not match the pattern ^#[0-9a-fA-F]{6}$'),
    "too-long short name": (
        edit_json("manifest.json", lambda d: d["name"].__setitem__("short", "Ambassador: knowledge sharing!!")),
        "✖ manifest.json /name/short: is 31 characters long; at most 30 allowed"),
    "wrong scope case": (
        edit_json("manifest.json", lambda d: d["configurableTabs"][0].__setitem__("scopes", ["groupchat"])),
        '✖ manifest.json /configurableTabs/0/scopes/0: "groupchat" is not one of team, groupChat'),
    "unknown top-level key": (
        edit_json("manifest.json", lambda d: d.__setitem__("applicationPermissions", ["TeamSettings.Read.Group"])),
        "✖ manifest.json /: unknown property 'applicationPermissions' (not allowed by the schema)"),
    "URL off validDomains": (
        edit_json("manifest.json", lambda d: d["staticTabs"][0].__setitem__("contentUrl",
                                                                            "https://tabs.example.net/personal")),
        f"✖ manifest.json /staticTabs/0/contentUrl: tabs.example.net is not in validDomains ({HOST})"),
    "http tab URL": (
        edit_json("manifest.json", lambda d: d["configurableTabs"][0].__setitem__("configurationUrl",
                                                                                  f"http://{HOST}/tabs/config")),
        f"✖ manifest.json /configurableTabs/0/configurationUrl: http://{HOST}/tabs/config is not https; Teams only "
        "loads https pages"),
    "SSO resource on another host": (
        edit_json("manifest.json", lambda d: d["webApplicationInfo"].__setitem__(
            "resource", f"api://sso.example.net/{CLIENT_ID}")),
        "✖ manifest.json /webApplicationInfo/resource: sso.example.net is not in validDomains; the SSO resource "
        "must be the tab's host"),
    "reserved activity type": (
        edit_json("manifest.json", lambda d: d["activities"]["activityTypes"][0].__setitem__("type",
                                                                                             "systemDefault")),
        "✖ manifest.json /activities/activityTypes/0/type: systemDefault is reserved and must not be declared"),
    "schema version the package does not bundle": (
        edit_json("manifest.json", lambda d: d.__setitem__(
            "$schema", "https://developer.microsoft.com/json-schemas/teams/v1.18/MicrosoftTeams.schema.json")),
        "has no schema for https://developer.microsoft.com/json-schemas/teams/v1.18/MicrosoftTeams.schema.json"),
    "manifest not JSON": (
        lambda f: f.__setitem__("manifest.json", b'{"manifestVersion": "1.25",'),
        "✖ manifest.json: is not valid JSON (line 1, column 28: Expecting property name enclosed in double quotes)"),
    "files in a folder": (
        lambda f: f.update({f"appPackage/{name}": f.pop(name) for name in list(f)}),
        "✖ manifest.json: missing at the root of the zip"),
}


def _recolour(data: bytes) -> bytes:
    """The outline icon with its mark painted red (same alpha)."""
    image = Image.open(io.BytesIO(data)).convert("RGBA")
    red = Image.new("RGBA", image.size, (220, 0, 0, 0))
    red.putalpha(image.getchannel("A"))
    buffer = io.BytesIO()
    red.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(BREAKS))
def test_each_typical_break_is_reported(case: str, package: Path, runner: FlaskCliRunner, tmp_path: Path) -> None:
    breaking, expected = BREAKS[case]
    files = read(package)
    breaking(files)
    broken = write(files, tmp_path / "broken.zip")
    result = runner.invoke(manifest_cli, ["validate", str(broken)])
    assert result.exit_code == 1
    assert expected in result.output, result.output
    assert result.output.splitlines()[-1].startswith(f"Error: {broken}: ")
    assert "Traceback" not in result.output


def test_every_problem_is_listed_at_once(package: Path, runner: FlaskCliRunner, tmp_path: Path) -> None:
    files = read(package)
    for case in ("bad accent colour", "wrong colour icon size", "missing nl key"):
        BREAKS[case][0](files)
    broken = write(files, tmp_path / "broken.zip")
    result = runner.invoke(manifest_cli, ["validate", str(broken)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        '✖ manifest.json /accentColor: "blue" does not match the pattern ^#[0-9a-fA-F]{6}$',
        "✖ color.png: is 100×100 pixels; it must be 192×192",
        '✖ nl.json: no nl text for staticTabs[0].name ("My programme")',
        f"Error: {broken}: 3 problem(s); Teams would refuse this package",
    ]


def test_a_missing_or_unreadable_file_is_one_line(runner: FlaskCliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(manifest_cli, ["validate", str(tmp_path / "nope.zip")])
    assert missing.exit_code == 1 and missing.output == f"Error: {tmp_path / 'nope.zip'}: no such file\n"
    text = tmp_path / "notes.zip"
    text.write_text("not a zip")
    garbled = runner.invoke(manifest_cli, ["validate", str(text)])
    assert garbled.exit_code == 1
    assert garbled.output.splitlines()[0] == f"✖ {text}: not a zip archive (File is not a zip file)"


def test_microsofts_schema_package_agrees(package: Path, tmp_path: Path) -> None:
    """The CI check: scripts/validate_manifest.mjs with @microsoft/app-manifest, on a good and a broken package."""
    script = ["node", str(PROJECT_ROOT / "scripts" / "validate_manifest.mjs")]
    good = subprocess.run([*script, str(package)], capture_output=True, text=True, check=False, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines() == [f"{package}: manifest.json: OK", f"{package}: nl.json: OK"]

    files = read(package)
    for case in ("bad accent colour", "too-long short name", "nl key the schema forbids", "too-long nl short name"):
        BREAKS[case][0](files)
    broken = write(files, tmp_path / "broken.zip")
    bad = subprocess.run([*script, str(broken)], capture_output=True, text=True, check=False, timeout=60)
    assert bad.returncode == 1
    assert '/accentColor must match pattern "^#[0-9a-fA-F]{6}$"' in bad.stdout
    assert "/name/short must NOT have more than 30 characters" in bad.stdout
    assert '"additionalProperty":"developer.name"' in bad.stdout
    assert "/name.short must NOT have more than 30 characters" in bad.stdout


def test_the_committed_icons_come_from_the_drawing_script(tmp_path: Path) -> None:
    """scripts/draw_icons.py regenerates the committed icons (within rounding), so they can be redrawn."""
    drawn = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "draw_icons.py"),
                            str(tmp_path)], capture_output=True, text=True, check=False, timeout=120)
    assert drawn.returncode == 0, drawn.stderr
    for name, size in (("color.png", (192, 192)), ("outline.png", (32, 32))):
        fresh = Image.open(tmp_path / name).convert("RGBA")
        committed = Image.open(PROJECT_ROOT / "manifests" / name).convert("RGBA")
        assert fresh.size == committed.size == size
        worst = max(abs(a - b) for a, b in zip(fresh.tobytes(), committed.tobytes(), strict=True))
        assert worst <= 2, f"{name} differs from what scripts/draw_icons.py draws"
