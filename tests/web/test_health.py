"""`GET /healthz` tells a load balancer whether the database and queue are reachable."""

import os

from plugin import create_app


def test_healthy_when_the_database_answers(client, engine):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["detail"] == engine.dialect.name
    assert body["queue"]["ok"] is True


def test_the_real_queue_is_checked(database_url, tmp_path):
    """In tests jobs run in-process; with the real queue, /healthz asks Redis (CI) or the SQLite file."""
    app = create_app({"TESTING": True, "HUEY_REAL_QUEUE": True, "DATABASE_URL": database_url})
    body = app.test_client().get("/healthz").get_json()
    expected = "redis" if os.environ.get("REDIS_URL") else "sqlite"
    assert body["queue"]["ok"] is True and body["queue"]["detail"].startswith(f"{expected}, ")
    app.extensions["db.engine"].dispose()


def test_unavailable_when_the_database_is_down():
    # Port 1 on loopback refuses connections at once: a database that is down.
    app = create_app({"TESTING": True, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False
    assert "OperationalError" in body["database"]["detail"]
    assert "127.0.0.1" not in body["database"]["detail"]  # no connection details leak


def test_unavailable_when_the_redis_queue_is_down(database_url):
    app = create_app({"TESTING": True, "HUEY_REAL_QUEUE": True, "DATABASE_URL": database_url,
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["queue"]["ok"] is False
    app.extensions["db.engine"].dispose()
