"""`GET /healthz`: is the database (and the job queue) reachable?"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..db import get_engine
from ..services import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """JSON status of database and queue; 503 when one is down."""
    report = health.check(get_engine(), current_app.extensions["huey"])
    return jsonify(report.as_dict()), 200 if report.ok else 503
