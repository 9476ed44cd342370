"""Webhook intake benchmark: notifications/s and 202 latency through gunicorn (2 workers) on loopback.

Usage: python bench/ingest.py [--seconds S] [--connections C] [--rounds N] [--worker-class gthread|sync]
                              [--threads T] [--database-url URL] [--redis-url URL] [--sync-baseline]

Needs wrk (`apt-get install -y wrk`; a bench tool, not a test dependency): it sends a stream of unique Graph
change notifications (bench/notifications.lua, one notification per request, as the worst case) for S seconds
over C keep-alive connections. Each round serves, one after the other on fresh ports, a bare Flask app that only
answers 202 (bench/bare_app.py) and the real app (`wsgi:app`: durable inbox, every notification committed before
its 202, the processing job queued), both under gunicorn with 2 workers of the same worker class, and loads
each the same way. With --sync-baseline the bare app is also measured under sync workers, and the ratio is taken
against the faster bare figure of the round. After each real run the inbox is counted: every 202 must be a
stored row.

The database is a fresh SQLite file (WAL, synchronous=FULL) with the SQLite job queue beside it, unless
--database-url names another (use a dedicated one: the bench adds rows); --redis-url puts the job queue on
Redis. Other processes share the machine's cores, so compare figures within a round and run several rounds.
Not a test: figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plugin.models import InboxItem  # noqa: E402
from plugin.services.migrations import upgrade  # noqa: E402

SCRIPT = Path(__file__).with_name("notifications.lua")
PATH = "/webhooks/graph"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(module: str, port: int, env: dict, worker_class: str, threads: int) -> subprocess.Popen:
    """Start gunicorn with 2 workers for `module` and wait until it answers (the demo app takes seconds to load)."""
    command = [str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "-k", worker_class, "-b",
               f"127.0.0.1:{port}", "--log-level", "warning"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    process = subprocess.Popen([*command, module], cwd=ROOT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:  # the validation handshake: answered by either app without storing anything
            if httpx.post(f"http://127.0.0.1:{port}{PATH}?validationToken=ready", timeout=5).status_code < 300:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit(f"{module} did not start")


def wrk(url: str, connections: int, seconds: int) -> dict:
    """Requests/s, p50 and p99 in ms, answered requests, non-2xx answers and socket errors, as wrk saw them."""
    output = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(SCRIPT),
                             url], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        number, unit = float(value.group(1)), value.group(2)
        return number / 1000 if unit == "us" else number * 1000 if unit == "s" else number

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {"rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50": millis("50%"),
            "p99": millis("99%"), "requests": int(re.search(r"(\d+) requests in", output).group(1)),
            "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": sum(map(int, sockets.groups())) if sockets else 0}


def server_cpu(process: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by gunicorn's master and workers (Linux /proc)."""
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def inbox_rows(database_url: str) -> int:
    """Rows in the inbox now."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(InboxItem))
    finally:
        engine.dispose()


def measure(label: str, module: str, env: dict, args: argparse.Namespace, worker_class: str) -> dict:
    """Serve `module`, warm it up, load it with wrk, stop it; prints and returns the figures."""
    port = free_port()
    process = serve(module, port, env, worker_class, args.threads)
    url = f"http://127.0.0.1:{port}{PATH}"
    try:
        subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", str(SCRIPT), url], capture_output=True, check=True)
        before = inbox_rows(env["DATABASE_URL"]) if module == "wsgi:app" else 0
        cpu = server_cpu(process)
        result = wrk(url, args.connections, args.seconds)
        result["cpu_ms"] = (server_cpu(process) - cpu) * 1000 / max(result["requests"], 1)
    finally:
        process.terminate()
        process.wait(30)
    result["label"] = label
    line = (f"  {label:<34} {result['rate']:>8,.0f} req/s   p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms"
            f"   server CPU {result['cpu_ms']:.2f} ms/req   non-2xx {result['non2xx']}"
            f"   socket errors {result['socket_errors']}")
    if module == "wsgi:app":
        result["stored"] = inbox_rows(env["DATABASE_URL"]) - before
        line += f"   stored {result['stored']:,} for {result['requests'] - result['non2xx']:,} answered"
    print(line, flush=True)
    return result


def main() -> None:
    """Run the rounds and print each round's figures, then the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="load duration per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"), help="job queue on Redis")
    parser.add_argument("--sync-baseline", action="store_true", help="also measure the bare app on sync workers")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/ingest.py needs wrk: apt-get install -y wrk")
    workdir = Path(tempfile.mkdtemp(prefix="ambassador-bench-"))
    url = (args.database_url or f"sqlite:///{workdir / 'ambassador.db'}").replace(
        "postgresql://", "postgresql+psycopg://", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AMBASSADOR_", "REDIS_"))}
    env |= {"AMBASSADOR_DEMO": "1", "DATABASE_URL": url, "GRAPH_CLIENT_STATE": "sandbox-client-state"}
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    upgrade(url, "head")
    print(f"database: {url.split('@')[-1]}   queue: {'Redis' if args.redis_url else 'SQLite'}   "
          f"gunicorn -w 2 -k {args.worker_class}"
          f"{f' --threads {args.threads}' if args.worker_class == 'gthread' else ''}   "
          f"wrk -t2 -c{args.connections} -d{args.seconds}s", flush=True)
    rounds = []
    try:
        for number in range(1, args.rounds + 1):
            print(f"round {number}", flush=True)
            bare = [measure(f"bare Flask 202 ({args.worker_class})", "bench.bare_app:app", env, args,
                            args.worker_class)]
            if args.sync_baseline and args.worker_class != "sync":
                bare.append(measure("bare Flask 202 (sync)", "bench.bare_app:app", env, args, "sync"))
            real = measure("webhook (durable inbox)", "wsgi:app", env, args, args.worker_class)
            best = max(b["rate"] for b in bare)
            rounds.append((real, best))
            print(f"  ratio webhook / bare: {real['rate'] / best:.2f}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"median of {len(rounds)} rounds: webhook {statistics.median(r['rate'] for r, _ in rounds):,.0f} req/s, "
          f"p50 {statistics.median(r['p50'] for r, _ in rounds):.1f} ms, "
          f"p99 {statistics.median(r['p99'] for r, _ in rounds):.1f} ms; "
          f"bare {statistics.median(b for _, b in rounds):,.0f} req/s; "
          f"ratio {statistics.median(r['rate'] / b for r, b in rounds):.2f}")


if __name__ == "__main__":
    main()
