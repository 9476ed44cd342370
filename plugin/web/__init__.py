"""Flask blueprints: thin views that parse the request, call a service and render or return JSON."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    # These add their routes (and their error answers) to the API blueprint, so they come before it is registered.
    from . import api_coach, api_evidence, api_me, api_profile, api_recognition, api_share, api_tabs  # noqa: F401
    from .api import bp as api_bp
    from .auth_pages import bp as auth_pages_bp
    from .health import bp as health_bp
    from .pages import bp as pages_bp
    from .tabs import bp as tabs_bp
    from .webhooks import bp as webhooks_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(auth_pages_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(tabs_bp)
    app.register_blueprint(webhooks_bp)
