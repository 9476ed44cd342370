"""Background jobs: tasks run the same services, and `flask worker` really consumes the queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from plugin import create_app
from plugin.models import PointsEntry
from plugin.services.demo import seed_demo

ROOT = Path(__file__).resolve().parents[2]


def test_recompute_task_persists_progress(app, session):
    result = seed_demo(session)
    session.execute(PointsEntry.__table__.delete())
    session.commit()
    assert session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    participants = app.extensions["tasks"]["recompute"](result.cohort_id)  # immediate mode in tests
    assert participants() == 39
    assert session.scalar(select(func.count()).select_from(PointsEntry)) > 0


def test_the_hourly_recompute_covers_running_cohorts(app, session):
    seed_demo(session)
    assert app.extensions["tasks"]["recompute_running"].call_local() == 1


def test_flask_worker_consumes_the_configured_queue(tmp_path, monkeypatch):
    """Redis when REDIS_URL is set (CI's second pass), otherwise the SQLite queue beside the database."""
    url = f"sqlite:///{tmp_path / 'ambassador.db'}"
    redis_url = os.environ.get("REDIS_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DATABASE_URL"))}
    env |= {"AMBASSADOR_DEMO": "1", "DATABASE_URL": url}
    flask = str(Path(sys.executable).with_name("flask"))
    seeded = subprocess.run([flask, "--app", "wsgi", "demo", "--no-serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180, check=False)
    assert seeded.returncode == 0, seeded.stderr
    monkeypatch.setenv("AMBASSADOR_DEMO", "1")
    monkeypatch.setenv("DATABASE_URL", url)
    app = create_app()
    huey = app.extensions["huey"]
    huey.flush()
    assert type(huey.storage).__name__ == ("RedisStorage" if redis_url else "SqliteStorage")
    pending = app.extensions["tasks"]["recompute"](1)
    assert huey.pending_count() == 1
    if not redis_url:
        assert (tmp_path / "queue.db").exists()  # the queue lives beside the database
    worker = subprocess.Popen([flask, "--app", "wsgi", "worker", "--workers", "1"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        value = None
        while time.monotonic() < deadline and value is None:
            value = pending.get()
            time.sleep(0.2)
        assert value == 39
        assert huey.pending_count() == 0
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.communicate()
        app.extensions["db.engine"].dispose()


def test_the_demo_runs_the_background_jobs_in_its_own_process(tmp_path, monkeypatch):
    """`flask demo` is one command: a job queued while it serves is consumed without a separate worker."""
    import socket

    url = f"sqlite:///{tmp_path / 'ambassador.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DATABASE_URL", "REDIS_URL"))}
    env |= {"AMBASSADOR_DEMO": "1", "DATABASE_URL": url}
    flask = str(Path(sys.executable).with_name("flask"))
    seeded = subprocess.run([flask, "--app", "wsgi", "demo", "--no-serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180, check=False)
    assert seeded.returncode == 0, seeded.stderr
    monkeypatch.setenv("AMBASSADOR_DEMO", "1")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app()
    pending = app.extensions["tasks"]["recompute"](1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = subprocess.Popen([flask, "--app", "wsgi", "demo", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        value = None
        while time.monotonic() < deadline and value is None and demo.poll() is None:
            value = pending.get()
            time.sleep(0.2)
        assert value == 39
    finally:
        demo.send_signal(signal.SIGINT)
        stopped = True
        try:
            out, _ = demo.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            stopped = False
            demo.kill()
            out, _ = demo.communicate()
        app.extensions["db.engine"].dispose()
    assert "demo worker: 2 thread(s)" in out
    assert stopped, "Ctrl+C must still stop the demo although Huey's threads run inside it"


def test_the_webhook_job_can_be_queued_on_the_configured_queue(tmp_path, monkeypatch):
    """Queueing inbox processing works on Redis too (Huey's Redis storage refuses task priorities)."""
    url = f"sqlite:///{tmp_path / 'ambassador.db'}"
    monkeypatch.setenv("AMBASSADOR_DEMO", "1")
    monkeypatch.setenv("DATABASE_URL", url)
    app = create_app()
    huey = app.extensions["huey"]
    huey.flush()
    try:
        app.extensions["tasks"]["process_inbox"]()
        assert huey.pending_count() == 1
    finally:
        huey.flush()
        app.extensions["db.engine"].dispose()
