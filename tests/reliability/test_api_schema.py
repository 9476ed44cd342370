"""Schemathesis against /api/openapi.json with a valid sandbox SSO token: no 5xx, answers as documented.

Every documented operation gets generated path parameters, queries and bodies (valid and not), sent through the
WSGI app as the demo's admin and as an employee; each answer must not be a server error and must match the
document (status code, content type, headers and JSON schema). All failures are collected and reported together.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from plugin import create_app
from plugin.db import get_session
from plugin.services.demo import demo_oid, seed_demo

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 8  # per operation and caller: ~55 operations × 2 callers within the suite's time budget
CALLERS = ("Gerrit Post", "Daan Jansen")  # the demo's admin, and a participant


@pytest.fixture
def api_app(database_url: str, connection: Connection) -> Iterator[Flask]:
    """The test app with the demo data and no practical rate limit (the fuzzer is one caller in a hurry)."""
    app = create_app({"TESTING": True, "SANDBOX": True, "DATABASE_URL": database_url,
                      "API_RATE_LIMIT": "1000000 per minute"})
    app.extensions["db.engine"].dispose()
    app.extensions["db.engine"] = connection.engine
    app.extensions["db.sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    with app.app_context():
        seed_demo(get_session())
    yield app


def run_operation(operation, headers: dict[str, str], failures: list[str]) -> None:
    """Fuzz one operation; append a readable line per failure."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def fuzz(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    try:
        fuzz()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected: one run reports every broken route
        failures.append(f"{operation.label} as {headers['X-Caller']}: {type(exc).__name__}: {exc}")


def test_every_documented_route_answers_as_documented_and_never_with_a_server_error(api_app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)
    authority = api_app.extensions["sandbox"].authority
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for name in CALLERS:
        headers = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid(name))}", "X-Caller": name}
        for operation in operations:
            if operation.method.upper() == "POST" and operation.path == "/api/me/erase":
                continue  # erasing the caller would turn every later request into a 401; fuzzed below on its own
            run_operation(operation, headers, failures)
    erase = next(op for op in operations if op.path == "/api/me/erase")
    headers = {"Authorization": f"Bearer {authority.mint_sso_token(demo_oid('Fleur Bakker'))}",
               "X-Caller": "Fleur Bakker"}
    run_operation(erase, headers, failures)
    assert not failures, "\n\n".join(failures)
