"""Ambassador: an employee-advocacy programme that Microsoft Teams hosts as a tab."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigError, load_settings, sandbox_endpoints

if TYPE_CHECKING:  # importing plugin.domain must not pull in Flask (see tests/unit/test_domain_purity.py)
    from flask import Flask

__all__ = ["ConfigError", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` overrides (tests)."""
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    overrides = dict(config or {})
    settings = load_settings(instance_path=Path(app.instance_path), testing=bool(overrides.get("TESTING")))
    app.config.update(settings.to_flask())
    if overrides.get("SANDBOX") and not settings.demo:
        # Tests run the sandbox without the demo: point the adapters at it unless a test says otherwise.
        base = overrides.get("APP_BASE_URL", settings.app_base_url)
        app.config.update(sandbox_endpoints(base))
    app.config.update(overrides)
    # Tests process the inbox explicitly; everywhere else the webhook queues the processing job at once.
    app.config.setdefault("INBOX_AUTO_PROCESS", not app.config.get("TESTING"))
    if "APP_BASE_URL" in overrides and "SSO_AUDIENCE" not in overrides:
        host = overrides["APP_BASE_URL"].split("://", 1)[-1].split("/", 1)[0]
        app.config["SSO_AUDIENCE"] = f"api://{host}/{app.config['AZURE_CLIENT_ID']}"

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    """Database sessions, translations, security headers and CSRF, the SSO token validator and the job queue."""
    from . import db, i18n, identity, jobs
    from .web import security

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    identity.init_app(app)
    jobs.init_app(app)


def register_blueprints(app: Flask) -> None:
    """HTTP routes: health, tabs and (in the demo only) the sandbox."""
    from .sandbox import init_sandbox
    from .web import register_blueprints as register

    register(app)
    init_sandbox(app)


def register_errorhandlers(app: Flask) -> None:
    """JSON errors for the API and webhooks, friendly pages elsewhere."""
    from .web.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """`flask db …`, `flask demo` and the other admin commands."""
    from .cli import register_commands as register

    register(app)
