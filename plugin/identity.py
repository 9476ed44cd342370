"""Wires the Entra adapter into the app: the SSO token validator and the HTTP client it uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from .adapters.entra import JwksCache, TokenValidator

if TYPE_CHECKING:
    from flask import Flask

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def authority_client(app: Flask) -> httpx.Client:
    """An HTTP client for the authority; the demo's own sandbox is reached in-process, not over the network.

    Calling our own server over HTTP from inside one of its requests would tie up a worker (or deadlock a
    single-threaded server), so when the authority is the sandbox mounted in this app, requests go through
    httpx's WSGI transport into the same app: the same HTTP requests and responses, without a socket.
    """
    base = app.config["APP_BASE_URL"]
    if app.config["AZURE_AUTHORITY_HOST"].startswith(f"{base}/dev/"):
        return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base, timeout=HTTP_TIMEOUT)
    return httpx.Client(timeout=HTTP_TIMEOUT)


def init_app(app: Flask) -> None:
    """Create the token validator for this tenant and app registration."""
    client = authority_client(app)

    def fetch(url: str) -> dict:
        response = client.get(url)
        response.raise_for_status()
        return response.json()

    authority = app.config["AZURE_AUTHORITY_HOST"]
    tenant = app.config["AZURE_TENANT_ID"]
    jwks = JwksCache(f"{authority}/{tenant}/discovery/v2.0/keys", fetch)
    app.extensions["token_validator"] = TokenValidator(
        tenant_id=tenant, client_id=app.config["AZURE_CLIENT_ID"], app_id_uri=app.config["SSO_AUDIENCE"],
        authority_host=authority, jwks=jwks,
    )
    app.extensions["authority_http"] = client
