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
    """Database sessions, translations, security headers and CSRF, the SSO token validator, the job queue and
    the API rate limit."""
    from . import db, i18n, identity, jobs
    from .web import ratelimit, security

    db.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    identity.init_app(app)
    jobs.init_app(app)
    ratelimit.init_app(app)


def register_blueprints(app: Flask) -> None:
    """HTTP routes: health, tabs and (in the demo only) the sandbox."""
    from .sandbox import init_sandbox
    from .web import api_impact, api_privacy, openbadges, report_pages  # noqa: F401 - the first three add API routes
    from .web import register_blueprints as register
    from .web.ratelimit import install_webhook_limit
    from .web.routing import DatabaseId
    from .web.webhook_intake import install as install_webhook_intake

    # Ids in URLs are database integers: a larger number is no such thing (404), not a driver overflow (500).
    app.url_map.converters["int"] = DatabaseId
    register(app)
    app.register_blueprint(openbadges.bp)
    app.register_blueprint(report_pages.bp)
    init_sandbox(app)
    install_webhook_intake(app)  # Graph's deliveries skip Flask's per-request machinery
    install_webhook_limit(app)  # counts deliveries per address before the intake stores them
    install_proxy_fix(app)  # outermost: every layer below sees the client's address and scheme


def install_proxy_fix(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from their X-Forwarded-* headers."""
    # Only For and Proto: the documented nginx block sets both (and passes Host itself), while a proxy passes other
    # X-Forwarded-* headers from the client unchanged, which must not decide our host. With 0 (the default) the
    # headers are ignored, so a client that reaches gunicorn directly cannot claim another address.
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies <= 0:
        return
    from werkzeug.middleware.proxy_fix import ProxyFix

    class TrustedProxies(ProxyFix):
        """ProxyFix that, like the layers below it, lets code reach the next layer (``app.wsgi_app.wrapped``)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(self.app, name)

    app.wsgi_app = TrustedProxies(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def register_errorhandlers(app: Flask) -> None:
    """JSON errors for the API and webhooks, friendly pages elsewhere."""
    from .web.errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """`flask db …`, `flask demo` and the other admin commands."""
    from .cli import register_commands as register
    from .cli_audit import audit_cli
    from .cli_doctor import doctor_command
    from .cli_manifest import manifest_cli
    from .cli_privacy import privacy_cli
    from .cli_yammer import yammer_cli

    register(app)
    app.cli.add_command(yammer_cli)
    app.cli.add_command(manifest_cli)
    app.cli.add_command(doctor_command)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(audit_cli)
