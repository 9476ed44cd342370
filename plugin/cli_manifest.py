"""`flask --app wsgi manifest build [--out FILE]` and `manifest validate FILE`: the Teams app package.

``build`` fills ``manifests/manifest.template.json`` from the settings (host of APP_BASE_URL, AZURE_CLIENT_ID,
the Teams app id, the installed version), writes the zip and checks it; ``validate`` checks any package and
lists every problem. Both exit 1 when the package has a problem. Register with ``app.cli.add_command(manifest_cli)``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .services.manifest import PackageError, Problem, build_package, package_settings, validate_package

manifest_cli = AppGroup("manifest", help="The Teams app package: build it from the settings, or check one.")


def _guid(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a GUID") from None


def _report(path: Path, problems: list[Problem]) -> None:
    """Print every problem, then fail with one summary line."""
    for problem in problems:
        click.echo(f"✖ {problem}")
    raise click.ClickException(f"{path}: {len(problems)} problem(s); Teams would refuse this package")


@manifest_cli.command("build")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the zip (default: dist/ambassador-<version>.zip).")
@click.option("--app-id", callback=_guid, default=None,
              help="Teams app id (default: derived from AZURE_CLIENT_ID, the same on every build).")
@click.option("--developer-name", default=None, help="Publisher shown in Teams (default: the app's host name).")
@click.option("--website-url", default=None, help="Publisher website (default: APP_BASE_URL).")
@click.option("--privacy-url", default=None, help="Your privacy statement (default: the website URL).")
@click.option("--terms-url", default=None, help="Your terms of use (default: the website URL).")
@with_appcontext
def build_command(out: Path | None, app_id: str | None, developer_name: str | None, website_url: str | None,
                  privacy_url: str | None, terms_url: str | None) -> None:
    """Fill the manifest template from the settings and write the app package zip."""
    try:
        settings = package_settings(current_app.config, app_id=app_id, developer_name=developer_name,
                                    website_url=website_url, privacy_url=privacy_url, terms_url=terms_url)
        out = out or Path("dist") / f"ambassador-{settings.version}.zip"
        build_package(settings, out)
    except (PackageError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out}: Teams app {settings.app_id}, version {settings.version}, for {settings.host} "
               f"(Entra app {settings.client_id})")
    problems = validate_package(out)
    if problems:
        _report(out, problems)
    click.echo(f"{out}: valid, ready to upload in the Teams admin center")


@manifest_cli.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Check an app package zip: schemas, icons, files, URLs and translations; list every problem."""
    if not file.is_file():
        raise click.ClickException(f"{file}: no such file")
    problems = validate_package(file)
    if problems:
        _report(file, problems)
    click.echo(f"{file}: valid, ready to upload in the Teams admin center")
