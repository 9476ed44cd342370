"""``POST /v1.0/$batch``: JSON batching evaluated by dispatching each item to the emulator's own routes.

Rules (Graph docs, JSON batching): 1 to 20 requests (more answers 400 for the whole batch); ``id`` unique
(case-insensitive), ``method`` and relative ``url`` required (a leading ``/v1.0`` is tolerated); ``headers``
must carry ``Content-Type`` when a ``body`` is present; ``dependsOn`` must name other ids of the batch
without cycles — all of these answer 400 for the whole batch. Items run in dependency order (otherwise in
request order) with the caller's bearer token, so each goes through auth and the fault plan on its own and
may be a 429 with its own ``Retry-After``. An item whose dependency failed (status ≥ 400) is not run and
answers 424. Responses come in request order: ``{id, status, headers, body}`` (JSON bodies inline, other
bodies base64).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, request

from plugin.sandbox.graph_emulator import current_emulator
from plugin.sandbox.graph_http import bad_request, json_body, json_response

blueprint = Blueprint("graph_batch", __name__, url_prefix="/v1.0")
MAX_REQUESTS = 20
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PASSED_HEADERS = ("content-type", "retry-after", "location", "etag", "cache-control", "www-authenticate")
BATCH_ITEM = "graph.batch_item"


@blueprint.post("/$batch")
def batch() -> Response:
    """POST /$batch: run the items through the emulator's own routes."""
    if request.environ.get(BATCH_ITEM):
        raise bad_request("A batch request cannot contain another batch request.")
    items = _validated(json_body())
    results: dict[str, dict[str, Any]] = {}
    for item in _ordered(items):
        failed = [d for d in item.get("dependsOn") or [] if results[d.lower()]["status"] >= 400]
        if failed:
            results[item["id"].lower()] = _failed_dependency(item["id"], failed)
        else:
            results[item["id"].lower()] = _dispatch(item)
    return json_response({"responses": [results[item["id"].lower()] for item in items]})


def _validated(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise bad_request("Invalid batch payload format: 'requests' must be a non-empty array.")
    if len(items) > MAX_REQUESTS:
        raise bad_request(
            f"Invalid batch payload format: the batch has {len(items)} requests; the limit is {MAX_REQUESTS}."
        )
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise bad_request("Invalid batch payload format: every request needs a string 'id'.")
        key = item["id"].lower()
        if key in seen:
            raise bad_request(f"Invalid batch payload format: duplicate request id '{item['id']}'.")
        seen.add(key)
        if str(item.get("method", "")).upper() not in METHODS or not isinstance(item.get("url"), str):
            raise bad_request(f"Invalid batch payload format: request '{item['id']}' needs a method and a url.")
        headers = item.get("headers") or {}
        if not isinstance(headers, dict):
            raise bad_request(f"Invalid batch payload format: headers of request '{item['id']}' must be an object.")
        if item.get("body") is not None and "content-type" not in {k.lower() for k in headers}:
            raise bad_request(f"Write request id : {item['id']} does not contain Content-Type header or body.")
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(
            not isinstance(d, str) or d.lower() not in seen or d.lower() == item["id"].lower() for d in depends
        ):
            raise bad_request(
                f"Invalid batch payload format: dependsOn of request '{item['id']}' names an unknown request."
            )
    return items


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items in an order that runs dependencies first; 400 on a dependency cycle."""
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if all(d.lower() in done for d in i.get("dependsOn") or [])]
        if not ready:
            raise bad_request("Invalid batch payload format: dependsOn forms a cycle.")
        order.append(ready[0])
        done.add(ready[0]["id"].lower())
        pending.remove(ready[0])
    return order


def _dispatch(item: Mapping[str, Any]) -> dict[str, Any]:
    url = item["url"]
    base = current_emulator().base_url + "/v1.0"
    if url.startswith(("http://", "https://")):
        if not url.startswith(base):
            return _item(item["id"], 400, {"error": {"code": "BadRequest", "message": f"Invalid request URL '{url}'."}})
        url = url[len(base) :]
    url = url if url.startswith("/") else "/" + url
    # Lenient: msgraph-core's BatchRequestItem keeps the version (and mount) prefix in its relative urls.
    for prefix in (urlsplit(base).path, "/v1.0"):
        if url.startswith(prefix + "/"):
            url = url[len(prefix) :]
            break
    path = "/v1.0" + url
    headers = {k: v for k, v in (item.get("headers") or {}).items() if k.lower() != "authorization"}
    if request.headers.get("Authorization"):
        headers["Authorization"] = request.headers["Authorization"]
    body = item.get("body")
    data = json.dumps(body).encode() if isinstance(body, dict | list) else (body.encode() if body else None)
    client = current_app.test_client()
    response = client.open(
        path, method=item["method"].upper(), headers=headers, data=data, environ_overrides={BATCH_ITEM: True}
    )
    try:
        out_headers = {k: v for k, v in response.headers.items() if k.lower() in _PASSED_HEADERS}
        raw = response.get_data()
        if not raw:
            return {"id": item["id"], "status": response.status_code, "headers": out_headers}
        if response.is_json:
            return {"id": item["id"], "status": response.status_code, "headers": out_headers, "body": json.loads(raw)}
        return {
            "id": item["id"],
            "status": response.status_code,
            "headers": out_headers,
            "body": base64.b64encode(raw).decode("ascii"),
        }
    finally:
        response.close()


def _failed_dependency(item_id: str, failed: list[str]) -> dict[str, Any]:
    message = f"Request failed because dependent request(s) {', '.join(failed)} failed."
    return _item(item_id, 424, {"error": {"code": "FailedDependency", "message": message}})


def _item(item_id: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"id": item_id, "status": status, "headers": {"Content-Type": "application/json"}, "body": body}
