"""Build the OpenAPI 3.1 document from the routes' own declarations (`requires(…, summary=…)`)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

_ERROR = {"type": "object", "required": ["error", "message"],
          "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def build_openapi(app: Flask) -> dict[str, Any]:
    """Every /api route with its method, access level, summary and responses."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "route_doc", None)
        if doc is None:
            continue
        path = _PARAM.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "summary": doc.summary, "operationId": f"{rule.endpoint}.{method.lower()}",
                "x-access": doc.access, "responses": dict(doc.responses) or {"200": {"description": "OK"}},
                "parameters": [{"name": name, "in": "path", "required": True,
                                "schema": {"type": "integer" if conv == "int" else "string"}}
                               for conv, name in _PARAM.findall(rule.rule)],
            }
            if doc.access != "anyone":
                operation["security"] = [{"teamsSso": []}]
                operation["responses"].setdefault("401", {"$ref": "#/components/responses/Error"})
                operation["responses"].setdefault("403", {"$ref": "#/components/responses/Error"})
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ambassador API", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"teamsSso": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                             "description": "The Teams SSO token from authentication.getAuthToken"}},
            "schemas": {"Error": _ERROR},
            "responses": {"Error": {"description": "An error", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }
