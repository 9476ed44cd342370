"""Recompute cost per processed notification: replaying the whole cohort versus only the people it touches.

Usage: python bench/replay.py [--people 40 1000] [--notifications N] [--messages-per-person N]
                              [--database-url URL]

For each cohort size a fresh database gets a generated organisation (``plugin.sandbox.generator``: people, teams,
channels and three weeks of Teams messages, ingested through ``services.ingest`` as the inbox does) and a cohort
in its third week with that many participants, computed in full once. Then N new notifications (posts, replies
to colleagues' posts with reactions) go through the real inbox, ``store_notifications`` → ``process_pending``,
one at a time, alternating: "before" recomputes the whole cohort per notification (as the inbox did), "after" only
the people the message bears on (``services.progress.recompute_people``). Counted per notification: SQL statements
(``before_cursor_execute``) and wall time, for the whole processing and for the recompute alone.

The database is SQLite in a temporary folder unless --database-url names one (its tables are dropped and
created again). Not a test: figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import plugin.models  # noqa: E402,F401 - registers every table
from plugin.db import Base, make_engine  # noqa: E402
from plugin.domain.programme import default_programme  # noqa: E402
from plugin.models import Activity, Channel, Cohort, Enrolment, Person, Team  # noqa: E402
from plugin.sandbox.generator import generate_structure, iter_channel_messages  # noqa: E402
from plugin.sandbox.graph_messages import MessageRenderer  # noqa: E402
from plugin.services import inbox  # noqa: E402
from plugin.services.inbox import process_pending, store_notifications  # noqa: E402
from plugin.services.ingest import ingest_channel_message  # noqa: E402
from plugin.services.programmes import copy_missions  # noqa: E402
from plugin.services.progress import recompute_cohort, recompute_people  # noqa: E402

NOTE = ("<p>Wat ik deze week leerde bij een klant: %s. Door het stap voor stap samen te doen ging het twee keer zo "
        'snel. Meer hierover: <a href="https://example.com/les-%d">https://example.com/les-%d</a> #lean</p>')
LESSONS = ("de weekplanning op één A4", "een korte dagstart van tien minuten", "eerst het probleem tekenen",
           "de klant zelf laten demonstreren", "één dashboard in plaats van vijf")
MODES = ("before", "after")
REPLY = "<p>Mooi voorbeeld, dit ga ik volgende week met mijn eigen team ook proberen. Bedankt!</p>"


class Statements:
    """Counts the SQL statements an engine sends (executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


@contextmanager
def measured(statements: Statements) -> Iterator[dict[str, float]]:
    """Statements and seconds of the block."""
    figures: dict[str, float] = {}
    before, started = statements.count, time.perf_counter()
    yield figures
    figures["seconds"] = time.perf_counter() - started
    figures["statements"] = statements.count - before


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def chat_message(message_id: str, author_oid: str, html: str, team_id: str, channel_id: str, at: datetime, *,
                 reply_to: str | None = None, reactors: tuple[str, ...] = ()) -> dict[str, Any]:
    """A Graph chatMessage as the webhook stores it (decrypted resource data)."""
    user = {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": author_oid, "displayName": None,
            "userIdentityType": "aadUser"}
    reactions = [{"reactionType": "like", "displayName": None, "reactionContentUrl": None, "createdDateTime": iso(at),
                  "user": {"application": None, "device": None, "user": {**user, "id": oid}}} for oid in reactors]
    return {"id": message_id, "replyToId": reply_to, "etag": str(int(at.timestamp() * 1000)), "messageType": "message",
            "createdDateTime": iso(at), "lastModifiedDateTime": iso(at), "lastEditedDateTime": None,
            "deletedDateTime": None, "subject": None, "importance": "normal", "locale": "en-us",
            "from": {"application": None, "device": None, "user": user},
            "body": {"contentType": "html", "content": html},
            "channelIdentity": {"teamId": team_id, "channelId": channel_id},
            "attachments": [], "mentions": [], "reactions": reactions, "messageHistory": []}


def notification(message: dict[str, Any]) -> dict[str, Any]:
    team, channel = message["channelIdentity"]["teamId"], message["channelIdentity"]["channelId"]
    resource = f"teams('{team}')/channels('{channel}')/messages('{message['replyToId'] or message['id']}')"
    if message["replyToId"]:
        resource += f"/replies('{message['id']}')"
    return {"id": str(uuid.uuid4()), "subscriptionId": "bench", "changeType": "created", "resource": resource,
            "tenantId": "bench", "content": message,
            "resourceData": {"id": message["id"], "@odata.type": "#Microsoft.Graph.chatMessage"}}


class World:
    """A generated organisation with one running cohort of `size` participants, stored and computed once."""

    def __init__(self, engine: Engine, size: int, messages_per_person: int, seed: int) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        now = datetime.now(UTC)
        start = (now - timedelta(days=16)).date()  # the cohort is in its third week, like the demo's
        kickoff = datetime(start.year, start.month, start.day, tzinfo=UTC)
        people = round(size / 0.8)
        self.structure = generate_structure(
            people=people, teams=max(1, people // 12), start=kickoff - timedelta(days=7), end=now - timedelta(hours=1),
            seed=seed, tenant_id="bench", communities=0, programme_start=kickoff, cohort_share=0.8)
        plan = self.structure.plan
        assert plan is not None
        with Session(engine) as session:
            self.person_ids = {}
            for oid, person in self.structure.people.items():
                row = Person(entra_oid=oid, display_name=person.name, upn=person.upn, preferred_locale="nl")
                session.add(row)
                session.flush()
                self.person_ids[oid] = row.id
            for team in self.structure.teams.values():
                row = Team(graph_id=team.id, display_name=team.name)
                row.channels = [Channel(graph_id=c.id, display_name=c.name) for c in team.channels.values()]
                session.add(row)
            programme = default_programme()
            cohort = Cohort(name=f"Bench {size}", start_date=start, programme_id=programme.id,
                            programme_version=str(programme.version))
            session.add(cohort)
            session.flush()
            copy_missions(session, cohort, programme)
            self.participants = sorted(plan.cohort)
            session.add_all(Enrolment(cohort_id=cohort.id, person_id=self.person_ids[oid], status="active",
                                      consented_at=kickoff, consent_version="1", enrolled_at=kickoff)
                            for oid in self.participants)
            session.commit()
            self.cohort_id = cohort.id
        self.ingested = self._ingest(len(self.participants) * messages_per_person)

    def _ingest(self, messages: int) -> int:
        renderer = MessageRenderer(self.structure, "http://bench/dev/graph", {})
        self.roots: list[tuple[str, str, str, str]] = []  # (id, author oid, team, channel) of people's posts
        with Session(self.engine) as session:
            for n, message in enumerate(iter_channel_messages(self.structure, messages), start=1):
                ingest_channel_message(session, renderer.render(message), team_graph_id=message.team_id,
                                       channel_graph_id=message.channel_id)
                if message.author_oid and not message.reply_to_id:
                    self.roots.append((message.id, message.author_oid, message.team_id, message.channel_id))
                if n % 500 == 0:
                    session.commit()
            session.commit()
            return session.scalar(select(func.count()).select_from(Activity)) or 0

    def new_message(self, n: int) -> dict[str, Any]:
        """A new post by a participant, or a participant's reply to a colleague's post; with reactions."""
        rng, at = self.rng, datetime.now(UTC) - timedelta(minutes=5)
        author = rng.choice(self.participants)
        reactors = tuple(rng.sample(self.participants, 2))
        if n % 2 and self.roots:
            root, root_author, team, channel = rng.choice(self.roots)
            while root_author == author:
                author = rng.choice(self.participants)
            return chat_message(f"{9_000_000_000_000 + n}", author, REPLY, team, channel, at, reply_to=root,
                                reactors=reactors)
        team, channel = rng.choice(self.structure.person_channels[author])
        lesson = rng.choice(LESSONS)
        return chat_message(f"{9_000_000_000_000 + n}", author, NOTE % (lesson, n, n), team, channel, at,
                            reactors=reactors)


def run(world: World, statements: Statements, count: int, numbers: Iterator[int]) -> dict[str, dict[str, list]]:
    """Process `count` new notifications per mode one by one, alternating the modes (so both see the same load
    on a shared machine); figures per notification and mode."""
    figures = {mode: {"statements": [], "seconds": [], "recompute_statements": [], "recompute_seconds": [],
                      "people": []} for mode in MODES}
    mode = MODES[0]

    def timed_recompute(session: Session, cohort_id: int, people: Any, **options: Any) -> Any:
        with measured(statements) as part:
            if mode == "before":  # the whole cohort for every notification, as the inbox did
                result = recompute_cohort(session, cohort_id, **options)
            else:
                result = recompute_people(session, cohort_id, people, **options)
        figures[mode]["recompute_statements"].append(part["statements"])
        figures[mode]["recompute_seconds"].append(part["seconds"])
        figures[mode]["people"].append(result.participants)
        return result

    inbox.recompute_people = timed_recompute
    try:
        with Session(world.engine) as session:
            for n in range(count * len(MODES)):
                mode = MODES[n % len(MODES)]
                stored = store_notifications(session, [notification(world.new_message(next(numbers)))])
                assert stored.stored == 1
                with measured(statements) as whole:
                    result = process_pending(session, lambda _resource: None, limit=1)
                assert result.done == 1, result
                figures[mode]["statements"].append(whole["statements"])
                figures[mode]["seconds"].append(whole["seconds"])
    finally:
        inbox.recompute_people = recompute_people
    return figures


def summary(values: list[float], scale: float = 1.0) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(ordered) * scale:8.1f} {statistics.fmean(ordered) * scale:8.1f} {p95 * scale:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[40, 1000], help="cohort sizes")
    parser.add_argument("--notifications", type=int, default=30, help="per size and mode")
    parser.add_argument("--messages-per-person", type=int, default=12, help="history ingested before measuring")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ambassador-replay-"))
    numbers = itertools.count(1)
    print("per processed notification: statements and milliseconds (median, mean, p95); "
          "'recompute' is the recompute alone")
    for size in args.people:
        url = args.database_url or f"sqlite:///{workdir / f'replay-{size}.db'}"
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        started = time.perf_counter()
        world = World(engine, size, args.messages_per_person, args.seed)
        statements = Statements(engine)
        with Session(engine) as session, measured(statements) as full:
            recompute_cohort(session, world.cohort_id)
        print(f"\n{engine.dialect.name}, cohort of {len(world.participants)} participants "
              f"({len(world.structure.people)} people, {world.ingested} activity rows; seeded in "
              f"{time.perf_counter() - started:.0f} s); one full recompute: {full['statements']} statements, "
              f"{full['seconds'] * 1000:.0f} ms")
        print(f"{'mode':<8} {'statements':>26} {'ms':>26} {'recompute stmts':>26} {'recompute ms':>26} {'people':>7}")
        run(world, statements, 2, numbers)  # warm-up: compiled statements, loaded programme
        results = run(world, statements, args.notifications, numbers)
        for mode, figures in results.items():
            print(f"{mode:<8} {summary(figures['statements'])}    {summary(figures['seconds'], 1000)}    "
                  f"{summary(figures['recompute_statements'])}    {summary(figures['recompute_seconds'], 1000)}"
                  f" {statistics.fmean(figures['people']):7.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
