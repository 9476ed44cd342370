"""Entra token-endpoint errors, shaped as the real service returns them (and MSAL passes them through)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any


class AadError(Exception):
    """An OAuth error answered by the dev authority: ``error`` code, AADSTS number and message."""

    def __init__(
        self,
        error: str,
        code: int,
        message: str,
        *,
        status: int = 400,
        suberror: str | None = None,
        claims: str | None = None,
    ) -> None:
        super().__init__(f"{error}: AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status
        self.suberror = suberror
        self.claims = claims

    def body(self, *, error_base: str, correlation_id: str | None = None) -> dict[str, Any]:
        """The JSON body: error, error_description, error_codes, timestamp, trace_id, correlation_id, …"""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace_id = str(uuid.uuid4())
        correlation_id = correlation_id or str(uuid.uuid4())
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.code}: {self.message}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {now}"
            ),
            "error_codes": [self.code],
            "timestamp": now,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{error_base}/error?code={self.code}",
        }
        if self.suberror:
            body["suberror"] = self.suberror
        if self.claims:
            body["claims"] = self.claims
        return body


def missing_parameter(name: str) -> AadError:
    """AADSTS900144, the answer to a request without a required form field."""
    return AadError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")
