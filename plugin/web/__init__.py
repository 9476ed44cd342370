"""Flask blueprints: thin views that parse the request, call a service and render or return JSON."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every blueprint of the app."""
    from .api import bp as api_bp
    from .health import bp as health_bp
    from .pages import bp as pages_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(pages_bp)
