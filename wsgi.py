"""The WSGI entry point: `gunicorn wsgi:app` and `flask --app wsgi …` (the only module-level app)."""

import os
import sys
from pathlib import Path

from plugin import ConfigError, create_app

# `flask --app wsgi demo` should just work: asking for the demo is asking for the sandbox.
if Path(sys.argv[0]).name == "flask" and sys.argv[1:] and "demo" in sys.argv[1:]:
    os.environ.setdefault("AMBASSADOR_DEMO", "1")

try:
    app = create_app()
except ConfigError as exc:
    print(f"ambassador: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
