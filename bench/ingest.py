"""Webhook intake benchmark: notifications/s and 202 latency through gunicorn (2 workers) on loopback.

Usage: python bench/ingest.py [--requests N] [--concurrency C] [--seconds S] [--database-url URL]

Runs the real app (durable inbox: every notification is committed before the 202, and the processing job is
queued) and a bare Flask app that only answers 202, both under gunicorn with 2 sync workers, and sends the
same stream of unique change notifications to each: with wrk (bench/notifications.lua) when it is installed
(`apt-get install wrk`), otherwise with an asyncio HTTP client in Python, which itself tops out at a few
hundred requests/s on a small machine. Prints throughput, p50/p99 latency and the ratio to the bare
endpoint. Not a test: figures go in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def notification(n: int, client_state: str) -> dict:
    message_id = str(1700000000000 + n)
    resource = f"teams('bench-team')/channels('19:bench@thread.tacv2')/messages('{message_id}')"
    return {"value": [{
        "subscriptionId": str(uuid.UUID(int=n % 7)), "changeType": "created", "clientState": client_state,
        "tenantId": "bench", "resource": resource, "subscriptionExpirationDateTime": "2099-01-01T00:00:00Z",
        "resourceData": {"id": message_id, "@odata.type": "#Microsoft.Graph.chatMessage", "@odata.id": resource},
    }]}


async def load(url: str, total: int, concurrency: int, client_state: str) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(total))
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker() -> None:
            nonlocal failures
            for n in counter:
                body = notification(n, client_state)
                started = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 202:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, failures


def serve(module: str, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
         "warning", module], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{module} did not start")


def wrk(url: str, args) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and non-2xx answers, as wrk measured them."""
    script = str(Path(__file__).with_name("notifications.lua"))
    output = subprocess.run(["wrk", "-t2", f"-c{args.concurrency}", f"-d{args.seconds}s", "--latency", "-s", script,
                             url], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        value = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        number, unit = float(value.group(1)), value.group(2)
        return number / 1000 if unit == "us" else number * 1000 if unit == "s" else number

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, millis("50%"), millis("99%"), int(errors.group(1)) if errors else 0


def run(label: str, module: str, env: dict, args) -> dict:
    port = free_port()
    process = serve(module, port, env)
    if shutil.which("wrk"):
        try:
            url = f"http://127.0.0.1:{port}/webhooks/graph"
            subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", str(Path(__file__).with_name("notifications.lua")),
                            url], capture_output=True, check=True)  # warm-up
            rate, p50, p99, failures = wrk(url, args)
        finally:
            process.terminate()
            process.wait(20)
        print(f"{label:<28} {rate:>8,.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   non-202: {failures}")
        return {"label": label, "rate": rate, "p50": p50, "p99": p99, "failures": failures}
    try:
        url = f"http://127.0.0.1:{port}/webhooks/graph"
        asyncio.run(load(url, min(500, args.requests), args.concurrency, env["GRAPH_CLIENT_STATE"]))  # warm-up
        elapsed, latencies, failures = asyncio.run(load(url, args.requests, args.concurrency,
                                                        env["GRAPH_CLIENT_STATE"]))
    finally:
        process.terminate()
        process.wait(20)
    latencies.sort()
    result = {"label": label, "rate": len(latencies) / elapsed, "p50": statistics.median(latencies) * 1000,
              "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "failures": failures}
    print(f"{label:<28} {result['rate']:>8,.0f} req/s   p50 {result['p50']:6.1f} ms   p99 {result['p99']:6.1f} ms"
          f"   non-202: {failures}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15, help="duration per endpoint with wrk")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ambassador-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'ambassador.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AMBASSADOR_"))}
    env |= {"AMBASSADOR_DEMO": "1", "DATABASE_URL": url, "GRAPH_CLIENT_STATE": "sandbox-client-state"}
    from plugin.services.migrations import upgrade

    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1), "head")
    print(f"database: {url.split('@')[-1]}   requests: {args.requests}   concurrency: {args.concurrency}")
    bare = run("bare Flask 202", "bench.bare_app:app", env, args)
    real = run("webhook (durable inbox)", "wsgi:app", env, args)
    print(f"ratio webhook / bare: {real['rate'] / bare['rate']:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
