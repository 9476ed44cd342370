"""A bare Flask app whose only endpoint answers 202: the baseline the webhook intake is compared with."""

from flask import Flask, Response

app = Flask(__name__)


@app.post("/webhooks/graph")
def accept() -> Response:
    """Accept anything, store nothing (also answers the bench's readiness probe)."""
    return Response(status=202)
