"""Time to badge: a post created in the Graph emulator → change notification → webhook → job → progress stored.

Usage: python bench/time_to_badge.py [--posts N] [--gap-min S] [--gap-max S] [--database-url URL]
                                     [--redis-url URL] [--worker-threads N] [--huey-defaults]

Runs the real stack as separate processes on loopback:

* ``flask --app wsgi demo --no-serve`` migrates and seeds the demo organisation (a cohort in its third week);
* gunicorn serves ``wsgi:app`` in demo mode: the app with the sandbox mounted (dev Entra authority, Graph
  emulator). One process with threads (``-w 1 -k gthread``): the emulator keeps its messages and subscriptions in
  memory, so every request must reach the same copy;
* ``flask --app wsgi graph subscribe`` creates the change-notification subscriptions through the emulator
  (which runs the validation handshake against the webhook), then ``flask --app wsgi worker`` runs the job queue.
  Both reach the emulator over HTTP (``GRAPH_BASE_URL`` names it by ``localhost``): left to itself a separate
  process would talk to its own in-process copy of the sandbox, which never sees the posts.

Each participant gets a delegated Graph token the way Teams clients get one (an SSO token from the dev authority,
exchanged on behalf of the user), then posts a knowledge-sharing message with ``POST /v1.0/teams/{id}/channels/
{id}/messages``; the emulator delivers a change notification to ``/webhooks/graph``, which stores it and queues
the processing job; the worker fetches the message from Graph, stores the activity and recomputes the author.
Measured per post, from just before the POST: until the author's mission progress is stored after the activity
(``mission_progress.updated_at`` ≥ ``activity.ingested_at``, polled every 20 ms), and for authors who had no
"Personal Touch" badge yet, until that badge is stored. Posts are spaced by a random pause, so the worker is
often idle when one arrives (as in real life). Also reported: the phases from the inbox timestamps (post →
notification stored, stored → processed). Budget (DESIGN §5): p95 ≤ 5 s. Not a test: figures go in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plugin.config import DEMO_CLIENT_ID, DEMO_TENANT_ID, load_settings  # noqa: E402
from plugin.db import Base, make_engine  # noqa: E402
from plugin.models import (  # noqa: E402
    Activity,
    Award,
    Badge,
    Channel,
    Cohort,
    Enrolment,
    InboxItem,
    MissionProgress,
    Person,
    Team,
)
from plugin.sandbox.demo_tenant import demo_client_secret  # noqa: E402
from plugin.services.demo import COHORT_NAME  # noqa: E402

GRAPH = "https://graph.microsoft.com"
BADGE = "personal-touch"
WORKER = ("import logging, sys; from flask.cli import main; "
          "logging.basicConfig(level=logging.INFO, format='%(asctime)s %(threadName)s %(name)s %(message)s'); "
          "sys.argv[0] = 'flask'; main()")
#: --huey-defaults: the worker as it polled before (huey's own backoff up to 10 s between looks at the queue).
HUEY_DEFAULTS = "import plugin.jobs.queue as queue; queue.consumer_options = lambda huey: {}; "
#: The demo's settings with SECRET_KEY unset, as the bench runs it (the sandbox's client secret derives from it).
DEMO_SETTINGS = load_settings({"AMBASSADOR_DEMO": "1"}, instance_path=ROOT / "instance")
LESSONS = ("de weekplanning op één A4 zetten", "elke ochtend tien minuten samen de dag doornemen",
           "eerst het probleem tekenen en dan pas praten over oplossingen", "de klant zelf laten demonstreren",
           "één dashboard bijhouden in plaats van vijf losse lijstjes", "feedback vragen voordat het af is")


@dataclass
class Author:
    """A participant who posts: who they are, where they post, and whether the badge is still to be earned."""

    person_id: int
    enrolment_id: int
    upn: str
    team: str
    channels: list[str]
    has_badge: bool
    token: str = ""


@dataclass
class Post:
    """One measured post."""

    author: Author
    message_id: str
    sent: float
    stored: float | None = None
    badge: float | None = None
    phases: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("flask")), "--app", "wsgi", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"flask {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def wait_for_line(path: Path, text_: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text_ in path.read_text():
            return
        time.sleep(0.2)
    raise SystemExit(f"no {text_!r} in {path}")


def reset_database(url: str) -> None:
    """An empty database (the demo command migrates it again)."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def authors(engine: Engine) -> list[Author]:
    """Active participants of the demo cohort with their team's channels; those without the badge first."""
    with engine.connect() as connection:
        cohort_id = connection.scalar(select(Cohort.id).where(Cohort.name == COHORT_NAME))
        rows = connection.execute(
            select(Enrolment.id, Person.id, Person.upn, Team.id, Team.graph_id)
            .join(Person, Person.id == Enrolment.person_id).join(Team, Team.id == Enrolment.team_id)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.status == "active").order_by(Enrolment.id)).all()
        badged = set(connection.scalars(select(Award.person_id).join(Badge).where(
            Badge.slug == BADGE, Award.cohort_id == cohort_id, Award.revoked_at.is_(None))))
        channels: dict[int, list[str]] = {}
        for team_id, graph_id in connection.execute(select(Channel.team_id, Channel.graph_id)):
            channels.setdefault(team_id, []).append(graph_id)
    found = [Author(person_id, enrolment_id, upn, team_graph_id, channels[team_id], person_id in badged)
             for enrolment_id, person_id, upn, team_id, team_graph_id in rows]
    return sorted(found, key=lambda a: a.has_badge)


def graph_token(client: httpx.Client, upn: str) -> str:
    """A delegated Graph token as a Teams client gets it: SSO token, then on-behalf-of at the dev authority."""
    aad = f"/dev/aad/{DEMO_TENANT_ID}"
    sso = client.post(f"{aad}/dev/sso-token", json={"user": upn})
    sso.raise_for_status()
    answer = client.post(f"{aad}/oauth2/v2.0/token", data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_id": DEMO_CLIENT_ID,
        "client_secret": demo_client_secret(DEMO_SETTINGS.secret_key), "assertion": sso.json()["token"],
        "scope": f"{GRAPH}/.default", "requested_token_use": "on_behalf_of"})
    answer.raise_for_status()
    return answer.json()["access_token"]


def post(client: httpx.Client, author: Author, n: int, rng: random.Random) -> Post:
    channel = rng.choice(author.channels)
    lesson = rng.choice(LESSONS)
    html = (f"<p>Les van deze week ({n}): {lesson}. Bij onze klant scheelde dat bijna de helft van de doorlooptijd, "
            f'en het team had er zelf plezier in. Zo pak je het aan: <a href="https://example.com/les-{n}">'
            f"https://example.com/les-{n}</a> #lean</p>")
    sent = time.time()
    answer = client.post(f"/dev/graph/v1.0/teams/{author.team}/channels/{channel}/messages",
                         json={"body": {"contentType": "html", "content": html}},
                         headers={"Authorization": f"Bearer {author.token}"})
    if answer.status_code != 201:
        raise SystemExit(f"posting failed: {answer.status_code} {answer.text[:300]}")
    return Post(author, answer.json()["id"], sent)


def watch(engine: Engine, item: Post, timeout: float) -> None:
    """Poll until the author's progress is stored after the activity (and the badge, if it was still to earn)."""
    deadline = item.sent + timeout
    while time.time() < deadline:
        with engine.connect() as connection:
            ingested = connection.scalar(select(Activity.ingested_at).where(
                Activity.source == "teams", Activity.external_id == item.message_id))
            if ingested is not None and item.stored is None:
                updated = connection.scalar(select(func.max(MissionProgress.updated_at)).where(
                    MissionProgress.enrolment_id == item.author.enrolment_id))
                if updated is not None and _utc(updated) >= _utc(ingested):
                    item.stored = time.time()
            if item.stored is not None and item.badge is None and not item.author.has_badge:
                if connection.scalar(select(Award.id).join(Badge).where(
                        Award.person_id == item.author.person_id, Badge.slug == BADGE)) is not None:
                    item.badge = time.time()
        if item.stored is not None and (item.author.has_badge or item.badge is not None):
            break
        time.sleep(0.02)
    row = None
    for _ in range(100):  # the item is marked done just after the recompute
        with engine.connect() as connection:
            row = connection.execute(select(InboxItem.received_at, InboxItem.processed_at).where(
                InboxItem.resource.like(f"%messages('{item.message_id}')")).order_by(InboxItem.id)).first()
        if row is None or row.processed_at is not None:
            break
        time.sleep(0.02)
    if row is not None and row.received_at is not None:
        item.phases["post → notification stored"] = _utc(row.received_at).timestamp() - item.sent
        if row.processed_at is not None:
            item.phases["stored → processed"] = (_utc(row.processed_at) - _utc(row.received_at)).total_seconds()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (f"p50 {statistics.median(ordered) * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   "
            f"max {ordered[-1] * 1000:7.0f} ms   (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--gap-min", type=float, default=0.5, help="shortest pause between posts (s)")
    parser.add_argument("--gap-max", type=float, default=6.0, help="longest pause between posts (s)")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up on a post after this many seconds")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--worker-threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--huey-defaults", action="store_true",
                        help="run the worker with huey's default polling (backs off to 10 s), for comparison")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ambassador-ttb-"))
    url = (args.database_url or f"sqlite:///{workdir / 'ambassador.db'}").replace(
        "postgresql://", "postgresql+psycopg://", 1)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "AMBASSADOR_", "GRAPH_", "YAMMER_", "REDIS_", "DATABASE_", "SECRET_KEY"))}
    env |= {"AMBASSADOR_DEMO": "1", "APP_BASE_URL": base, "DATABASE_URL": url}
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # a queue of our own: nothing left from an earlier run
    over_http = env | {"GRAPH_BASE_URL": f"http://localhost:{port}/dev/graph"}
    reset_database(url)
    print(flask(["demo", "--no-serve"], env).stdout.strip())
    processes: list[subprocess.Popen] = []
    posts: list[Post] = []
    try:
        logs = {name: (workdir / f"{name}.log").open("w") for name in ("web", "worker")}
        processes.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-w", "1", "-k", "gthread", "--threads", "8", "-b",
             f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
            stdout=logs["web"], stderr=subprocess.STDOUT))
        wait_for(f"{base}/healthz")
        print(flask(["graph", "subscribe"], over_http).stdout.strip())
        # `flask --app wsgi worker`, with huey's log of every task (start, duration) in worker.log.
        processes.append(subprocess.Popen(
            [sys.executable, "-c", (HUEY_DEFAULTS if args.huey_defaults else "") + WORKER, "--app", "wsgi", "worker",
             "--workers", str(args.worker_threads)],
            cwd=ROOT, env=over_http, stdout=logs["worker"], stderr=subprocess.STDOUT))
        engine = make_engine(url)
        rng = random.Random(args.seed)
        people = authors(engine)
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
            for author in people:
                author.token = graph_token(client, author.upn)
            wait_for_line(workdir / "worker.log", "consumer started")
            warm = post(client, people[-1], -1, rng)  # not measured: the worker's first Graph token, caches
            watch(engine, warm, args.timeout)
            print(f"database: {engine.dialect.name}   queue: {'Redis' if args.redis_url else 'SQLite'}   "
                  f"posts: {args.posts}   pause between posts: {args.gap_min}-{args.gap_max} s   "
                  f"authors: {len(people)} ({sum(not a.has_badge for a in people)} still without '{BADGE}')")
            for n in range(args.posts):
                author = people[n % len(people)]
                item = post(client, author, n, rng)
                watch(engine, item, args.timeout)
                author.has_badge = author.has_badge or item.badge is not None
                posts.append(item)
                time.sleep(rng.uniform(args.gap_min, args.gap_max))
        engine.dispose()
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
    missing = [p.message_id for p in posts if p.stored is None]
    print(f"post → mission progress stored:  {percentiles([p.stored - p.sent for p in posts if p.stored])}")
    print(f"post → '{BADGE}' badge stored: {percentiles([p.badge - p.sent for p in posts if p.badge])}")
    for phase in ("post → notification stored", "stored → processed"):
        print(f"  {phase:<28} {percentiles([p.phases[phase] for p in posts if phase in p.phases])}")
    if missing:
        print(f"NOT STORED within {args.timeout:.0f} s: {len(missing)} posts ({', '.join(missing[:5])} …)")
    for item in posts:
        if item.stored is None or item.stored - item.sent > 3:
            phases = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in item.phases.items())
            print(f"  slow: post {item.message_id} at {datetime.fromtimestamp(item.sent, UTC):%H:%M:%S}: {phases}")
    for name in ("web", "worker"):
        errors = (workdir / f"{name}.log").read_text().count("Traceback")
        print(f"{name} log: {workdir / f'{name}.log'} ({errors} tracebacks)")


if __name__ == "__main__":
    main()
