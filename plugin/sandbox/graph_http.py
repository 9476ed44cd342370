"""HTTP plumbing shared by the Graph emulator's routes: Graph's error JSON, response headers and timestamps."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response, g, request

#: The content type Graph answers JSON with (OData minimal metadata).
ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
AGS_DIAGNOSTIC = json.dumps(
    {
        "ServerInfo": {
            "DataCenter": "West Europe",
            "Slice": "E",
            "Ring": "5",
            "ScaleUnit": "000",
            "RoleInstance": "AM1PEPF0000SNDBX",
            "ADSiteName": "AMS",
        }
    },
    separators=(",", ":"),
)


class GraphError(Exception):
    """An error Graph answers with ``{"error": {"code", "message", "innerError"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    """400 with Graph's generic ``BadRequest`` code (or another)."""
    return GraphError(400, code, message)


def not_found(message: str, code: str = "NotFound") -> GraphError:
    """404 ``NotFound``."""
    return GraphError(404, code, message)


def json_body() -> dict[str, Any]:
    """The request's JSON object body; 400 when it is missing or not an object."""
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        )
    return body


def request_ids() -> tuple[str, str]:
    """(request-id, client-request-id) of the current request; the client's id is echoed when it sent one."""
    if "graph_request_id" not in g:
        g.graph_request_id = str(uuid.uuid4())
    return g.graph_request_id, g.get("graph_client_request_id") or g.graph_request_id


def error_body(code: str, message: str) -> dict[str, Any]:
    """Graph's error JSON for the current request."""
    request_id, client_request_id = request_ids()
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def error_response(error: GraphError) -> Response:
    """The Flask response for a :class:`GraphError`."""
    response = Response(_dumps(error_body(error.code, error.message)), status=error.status, mimetype="application/json")
    response.headers.update(error.headers)
    return response


def json_response(document: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A Graph JSON response (key order kept, unicode unescaped, OData content type)."""
    response = Response(_dumps(document), status=status, content_type=ODATA_JSON)
    response.headers.update(dict(headers or {}))
    return response


def no_content(status: int = 204) -> Response:
    """An empty 204 (or 202) answer."""
    return Response(status=status)


def add_graph_headers(response: Response) -> Response:
    """The headers every Graph response carries."""
    request_id, client_request_id = request_ids()
    response.headers["request-id"] = request_id
    response.headers["client-request-id"] = client_request_id
    response.headers["x-ms-ags-diagnostic"] = AGS_DIAGNOSTIC
    response.headers.setdefault("Cache-Control", "no-cache")
    response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


def iso_ms(moment: datetime | None) -> str | None:
    """Graph's chatMessage timestamp: UTC, milliseconds, ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_7(moment: datetime) -> str:
    """Graph's subscription timestamp: UTC with seven fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 timestamp (``Z``/``z`` or offset, any fraction) as an aware UTC datetime; ValueError if not."""
    if not isinstance(value, str) or not value:
        raise ValueError("not a timestamp")
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    date_part, sep, rest = text.partition("T")
    if sep and "." in rest:
        # Graph sends 7 fractional digits; datetime takes at most 6.
        clock, _, tail = rest.partition(".")
        digits = "".join(itertools.takewhile(str.isdigit, tail))
        zone = tail[len(digits) :]
        text = f"{date_part}T{clock}.{(digits + '000000')[:6]}{zone}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch (exact, for opaque tokens)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (Graph's etags and message ids)."""
    return epoch_us(moment) // 1000


def _dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
