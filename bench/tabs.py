"""Tab page server time with the demo data: the HTML shell of each tab and the one JSON call behind it.

Usage: python bench/tabs.py [--requests N]

Seeds the demo organisation into a fresh SQLite file, then times requests through the WSGI app in-process
(server time: routing, authentication with a sandbox-minted Teams SSO token, services, rendering — no
network). Prints p50/p95 per route. Budget (DESIGN.md §5): tab page server time p95 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ["AMBASSADOR_DEMO"] = "1"
for _name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "REDIS_URL"):
    os.environ.pop(_name, None)

from plugin import create_app  # noqa: E402
from plugin.db import get_session  # noqa: E402
from plugin.services import migrations  # noqa: E402
from plugin.services.demo import demo_oid, seed_demo  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Seed the demo, warm up, then time each route N times and print p50/p95 in milliseconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ambassador-bench-tabs-"))
    url = f"sqlite:///{folder / 'ambassador.db'}"
    os.environ["DATABASE_URL"] = url
    app = create_app()
    migrations.upgrade(url, "head")
    with app.app_context():
        seed_demo(get_session())
    authority = app.extensions["sandbox"].authority
    client = app.test_client()
    participant = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Daan Jansen'))}"}
    lead = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Sanne de Vries'))}"}
    routes = [
        ("GET /tabs/personal (shell)", "/tabs/personal?locale=nl&theme=default", {}),
        ("GET /tabs/team (shell)", "/tabs/team?locale=en&theme=dark", {}),
        ("GET /api/me/programme (participant)", "/api/me/programme", participant),
        ("GET /api/me/programme (lead)", "/api/me/programme", lead),
    ]
    print(f"{'route':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, path, headers in routes:
        for _ in range(20):
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (label, response.status_code, response.get_data(as_text=True)[:200])
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{label:40} {statistics.median(times):8.2f} {percentile(times, 0.95):8.2f} {max(times):8.2f}")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; n={args.requests} per route)")


if __name__ == "__main__":
    main()
