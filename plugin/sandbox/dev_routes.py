"""What the Graph and Yammer emulators share: their fault queues' firing rule and their dev-only routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Flask, Response, jsonify, request


@dataclass
class QueuedFault:
    """A status answer (429/503/504) or a delay for the next ``remaining`` matching requests."""

    kind: str  # "status" or "slow"
    remaining: int
    status: int = 429
    retry_after: int | None = None
    seconds: float = 0.0
    path_prefix: str | None = None
    #: The emulated API's version prefix; a `path_prefix` may be given with or without it.
    api_prefix: ClassVar[str] = ""

    def matches(self, path: str) -> bool:
        """Whether this fault applies to a request for ``path``."""
        if not self.path_prefix:
            return True
        return path.startswith(self.path_prefix) or path.removeprefix(self.api_prefix).startswith(self.path_prefix)


def take_faults(queue: list[Any], path: str) -> tuple[float, Any | None]:
    """(seconds to delay, status fault or None) for a request to `path`; consumes what fires (hold the lock)."""
    delay, status = 0.0, None
    for fault in list(queue):
        if not fault.matches(path):
            continue
        if fault.kind == "slow" and delay == 0.0:
            delay = fault.seconds
        elif fault.kind == "status" and status is None:
            status = fault
        else:
            continue
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.remove(fault)
    return delay, status


def register_dev_routes(app: Flask, emulator: Any) -> None:
    """GET /_log, and GET/POST/DELETE /_faults on an emulator app (no token: the sandbox is demo-only)."""

    @app.get("/_log")
    def log() -> Response:
        """GET /_log: what the emulator recorded, for the host page's panels."""
        return jsonify(emulator.log())

    @app.get("/_faults")
    def faults() -> Response:
        """GET /_faults: the pending faults."""
        return jsonify(emulator.faults.snapshot())

    @app.post("/_faults")
    def add_fault() -> Response | tuple[Response, int]:
        """POST /_faults: add one fault (see the emulator's `faults.configure`)."""
        try:
            emulator.faults.configure(request.get_json(force=True, silent=True) or {})
        except (TypeError, ValueError) as exc:
            return jsonify({"error": str(exc)}), 400
        return jsonify(emulator.faults.snapshot())

    @app.delete("/_faults")
    def clear_faults() -> Response:
        """DELETE /_faults: remove every pending fault."""
        emulator.faults.clear()
        return Response(status=204)
