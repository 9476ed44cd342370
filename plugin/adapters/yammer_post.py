"""Post a message in a Viva Engage community as the signed-in person (``POST messages.json``, Yammer REST v1).

Kept beside :mod:`plugin.adapters.yammer` (which only reads): the same base URL and in-process sandbox client,
one request with a delegated token, and no retries, because a repeated POST would post twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from .yammer import YammerError, _error

if TYPE_CHECKING:
    from flask import Flask


def post_community_message(app: Flask, token: str, group_id: str, body: str) -> dict[str, Any]:
    """Create a root post in community `group_id` with a delegated token; the created message (YammerError else)."""
    from .msal_client import http_client_for

    base = app.config["YAMMER_BASE_URL"].rstrip("/")
    with http_client_for(app, base) as http:
        try:
            response = http.post(f"{base}/messages.json", data={"body": body, "group_id": group_id},
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise YammerError(503, f"Viva Engage could not be reached ({type(exc).__name__})") from None
    if response.status_code not in (200, 201):
        raise _error(response, None)
    messages = (response.json() or {}).get("messages") or []
    if not messages or not isinstance(messages[0], dict):
        raise YammerError(502, "Viva Engage did not answer the created message")
    return messages[0]
