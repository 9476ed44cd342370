"""Background jobs on Huey; `flask --app wsgi worker` runs the consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .queue import make_huey
from .tasks import register_tasks

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Create the queue and register the tasks."""
    huey = make_huey(app)
    app.extensions["huey"] = huey
    app.extensions["tasks"] = register_tasks(huey, app)
