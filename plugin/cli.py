"""Admin commands: `flask --app wsgi db upgrade|downgrade`, `flask --app wsgi demo`."""

from __future__ import annotations

import signal

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from werkzeug.serving import run_simple

from .cli_badges import badges_cli
from .cli_graph import graph_cli
from .cli_report import report_cli
from .cli_roles import roles_cli
from .db import get_session
from .services import migrations

db_cli = AppGroup("db", help="Database schema migrations (Alembic).")


def _fail(message: str) -> None:
    """Print one readable line and exit non-zero."""
    raise click.ClickException(message)


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the database to REVISION (default: head)."""
    try:
        migrations.upgrade(current_app.config["DATABASE_URL"], revision)
    except migrations.MigrationError as exc:
        _fail(str(exc))
    click.echo(f"database at {migrations.current(current_app.config['DATABASE_URL']) or 'base'}")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the database to REVISION (`base` removes every table)."""
    try:
        migrations.downgrade(current_app.config["DATABASE_URL"], revision)
    except migrations.MigrationError as exc:
        _fail(str(exc))
    click.echo(f"database at {migrations.current(current_app.config['DATABASE_URL']) or 'base'}")


@db_cli.command("current")
@with_appcontext
def db_current() -> None:
    """Print the database's current revision."""
    click.echo(migrations.current(current_app.config["DATABASE_URL"]) or "base")


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535), help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on.")
@click.option("--no-serve", is_flag=True, help="Only create and seed the database.")
@click.option("--no-worker", is_flag=True, help="Do not run the background jobs in the demo process.")
@with_appcontext
def demo_command(port: int, host: str, no_serve: bool, no_worker: bool) -> None:
    """Migrate and seed the demo organisation (idempotent), then serve the app and its sandbox."""
    from .services.demo import seed_demo

    app = current_app._get_current_object()
    if not app.config["AMBASSADOR_DEMO"]:
        _fail("the demo needs AMBASSADOR_DEMO=1 (it serves the offline sandbox, never real tenants)")
    try:
        migrations.upgrade(app.config["DATABASE_URL"], "head")
    except migrations.MigrationError as exc:
        _fail(str(exc))
    result = seed_demo(get_session())
    verb = "seeded" if result.created else "already seeded"
    click.echo(f"demo data {verb}: {result.people} people, {result.activities} activities, cohort {result.cohort_id}")
    if no_serve:
        return
    consumer = None if no_worker else _start_background_worker(app)
    click.echo(f"Ambassador demo on http://{host}:{port}/ (Ctrl+C to stop)")
    try:
        # app.run() refuses to block inside the flask CLI, so serve with Werkzeug directly.
        run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)
    finally:
        if consumer is not None:
            consumer.stop()


def _start_background_worker(app: Flask):
    """Run the job consumer in daemon threads of this process, so the demo is one command."""
    from huey.consumer import Consumer

    from .jobs.queue import consumer_options

    huey = app.extensions["huey"]
    consumer = Consumer(huey, workers=2, worker_type="thread", periodic=True, **consumer_options(huey))
    # Huey installs its own SIGINT/SIGTERM handlers, which only its blocking run() loop honours; keep ours so
    # Ctrl+C still stops the web server.
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in saved.items():
        signal.signal(sig, handler)
    click.echo("demo worker: 2 thread(s) run the background jobs (--no-worker to leave them to `flask worker`)")
    return consumer


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32), help="Worker threads.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Run the job queue consumer (processing, sync, reminders) until stopped."""
    from huey.consumer import Consumer

    from .jobs.queue import consumer_options

    huey = current_app.extensions["huey"]
    click.echo(f"worker: {workers} thread(s) on the {type(huey.storage).__name__} queue (Ctrl+C to stop)")
    Consumer(huey, workers=workers, worker_type="thread", periodic=True, **consumer_options(huey)).run()


def register_commands(app: Flask) -> None:
    """Add every command to `flask --app wsgi`."""
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(graph_cli)
    app.cli.add_command(roles_cli)
    app.cli.add_command(report_cli)
    app.cli.add_command(badges_cli)
