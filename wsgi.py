"""The WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi …` (the only module-level app)."""

import os
import sys
from pathlib import Path

from plugin import ConfigError, create_app

# `flask --app wsgi demo [--port N]` should just work: asking for the demo is asking for the sandbox, and
# the sandbox's URLs (token issuer, Graph base) must name the port the demo really serves on.
if Path(sys.argv[0]).name == "flask" and "demo" in sys.argv[1:]:
    os.environ.setdefault("AMBASSADOR_DEMO", "1")
    args = sys.argv[sys.argv.index("demo") + 1:]
    port = next((a.split("=", 1)[1] for a in args if a.startswith("--port=")), None)
    if "--port" in args and args.index("--port") + 1 < len(args):
        port = args[args.index("--port") + 1]
    os.environ.setdefault("APP_BASE_URL", f"http://127.0.0.1:{port or 5000}")

try:
    app = create_app()
except ConfigError as exc:
    print(f"ambassador: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
