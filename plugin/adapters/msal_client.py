"""MSAL for Ambassador: on-behalf-of (Teams SSO token → Graph/Yammer), app-only tokens and the auth-code flow.

One small class, :class:`MsalClient`, around ``msal.ConfidentialClientApplication`` (msal 1.39):

* **Per-user caches.** MSAL keeps tokens in the ``token_cache`` given to the application object, so delegated
  calls build a short-lived application per call around the person's own ``SerializableTokenCache`` (loaded
  from and saved back to the database by :mod:`plugin.services.tokens`, encrypted there). App-only tokens use
  one long-lived application whose in-memory cache MSAL consults before asking the authority.
* **Outcomes, not dicts.** MSAL returns the authority's error body unchanged; :func:`classify` turns it into
  :class:`Acquired`, :class:`NeedsConsent` (``suberror == "consent_required"`` or AADSTS65001),
  :class:`NeedsInteraction` (``interaction_required``, with the ``claims`` challenge) or :class:`Failed`.
* **HTTP.** MSAL's ``http_client`` is :class:`MsalHttpClient`, a thin adapter over an ``httpx.Client`` (MSAL
  calls ``.get/.post(url, params=, data=, headers=)`` and reads ``.status_code/.text/.headers``; httpx does
  nearly all of that. The adapter decodes the ``bytes`` form values MSAL sends with a certificate credential
  (requests accepts them, httpx would send ``"b'…'"``), leaves out ``None`` values as requests does, and caches
  the OpenID discovery document, which MSAL fetches every time an application object is built).
* **The sandbox authority (demo and tests).** MSAL only accepts ``https://`` authorities
  (``msal.authority.canonicalize``), but the demo's dev authority lives inside this app at
  ``<APP_BASE_URL>/dev/aad``, usually plain ``http://127.0.0.1:5000``. When ``AZURE_AUTHORITY_HOST`` is that
  in-process sandbox, MSAL is given an ``https://`` authority with the same host and path, and an HTTP client
  whose transport is ``httpx.WSGITransport`` into this app (the transport ignores the scheme, so nothing goes
  over the network and no certificate is needed). The dev authority's discovery document names its
  ``token_endpoint`` with ``http://``, which MSAL would also refuse, so the adapter rewrites that one field to
  ``https://``; the ``authorization_endpoint`` keeps ``http://`` because browsers are sent there. In
  production the authority is ``https://login.microsoftonline.com`` and the client is an ordinary httpx client.

Tokens, assertions, codes and secrets are never logged or put in exception messages (MSAL's own debug log
masks tokens; a filter on ``msal.token_cache`` masks the authorization code and PKCE verifier it leaves in).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import msal

if TYPE_CHECKING:
    from flask import Flask

GRAPH_USER_READ = "https://graph.microsoft.com/User.Read"
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
YAMMER_USER = "https://api.yammer.com/access_as_user"
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DISCOVERY_TTL = 24 * 3600.0
_DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.S)


# -- logging ---------------------------------------------------------------------------------------------------
class _RedactAuthCode(logging.Filter):
    """MSAL's debug log of each token event masks tokens and secrets but not the authorization code or the
    PKCE verifier; mask those too."""

    _FIELD = re.compile(r'("(?:code|code_verifier)"\s*:\s*)"[^"]*"')

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(self._FIELD.sub(r'\1"********"', a) if isinstance(a, str) else a
                                for a in record.args)
        return True


_token_cache_log = logging.getLogger("msal.token_cache")
if not any(isinstance(f, _RedactAuthCode) for f in _token_cache_log.filters):
    _token_cache_log.addFilter(_RedactAuthCode())


# -- outcomes --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Acquired:
    """A token was issued (or served from the cache); `expires_on` is epoch seconds."""

    access_token: str = field(repr=False)
    expires_on: int
    scope: str = ""


@dataclass(frozen=True)
class NeedsConsent:
    """The user (or an admin) has not consented to the requested permissions (AADSTS65001)."""

    description: str = field(repr=False, default="")


@dataclass(frozen=True)
class NeedsInteraction:
    """Conditional Access wants the user back (MFA, …); `claims` is the challenge to pass to getAuthToken."""

    claims: str | None
    description: str = field(repr=False, default="")


@dataclass(frozen=True)
class Failed:
    """Any other error from the authority, with its OAuth error code."""

    code: str
    description: str = field(repr=False, default="")


TokenOutcome = Acquired | NeedsConsent | NeedsInteraction | Failed


def classify(result: Mapping[str, Any] | None) -> TokenOutcome:
    """Turn MSAL's result dict (a token or the authority's error body) into a typed outcome."""
    if not result:
        return Failed("no_result", "The authority gave no answer.")
    if "access_token" in result:
        expires_in = int(result.get("expires_in") or 0)
        return Acquired(str(result["access_token"]), int(time.time()) + expires_in, str(result.get("scope", "")))
    code = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or "")
    codes = {int(c) for c in result.get("error_codes") or () if str(c).isdigit()}
    if result.get("suberror") == "consent_required" or 65001 in codes or code == "consent_required":
        return NeedsConsent(description)
    if code == "interaction_required" or result.get("suberror") in ("basic_action", "additional_action"):
        return NeedsInteraction(str(result["claims"]) if result.get("claims") else None, description)
    return Failed(code, description)


# -- HTTP --------------------------------------------------------------------------------------------------------
class MsalHttpClient:
    """The `http_client` MSAL calls: httpx underneath, the discovery document cached, the sandbox bridged."""

    def __init__(self, client: httpx.Client, *, bridge_https: bool = False, discovery_ttl: float = DISCOVERY_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client, self.bridge_https = client, bridge_https
        self._ttl, self._clock = discovery_ttl, clock
        self._discovery: dict[str, tuple[float, httpx.Response]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, params: Any = None, headers: Mapping[str, str] | None = None, **kwargs: Any
            ) -> httpx.Response:
        """GET; OpenID discovery answers are cached (MSAL asks for them whenever an application is built)."""
        discovery = url.split("?", 1)[0].endswith(_DISCOVERY_SUFFIX) and not params
        if discovery:
            with self._lock:
                cached = self._discovery.get(url)
            if cached and self._clock() - cached[0] < self._ttl:
                return cached[1]
        response = self.client.get(url, params=params, headers=_headers(headers), **_kwargs(kwargs))
        if discovery and response.status_code == 200:
            response = self._bridged(response)
            with self._lock:
                self._discovery[url] = (self._clock(), response)
        return response

    def post(self, url: str, params: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
             **kwargs: Any) -> httpx.Response:
        """POST a form (the token endpoint)."""
        if isinstance(data, str | bytes):  # httpx wants raw bodies as `content=`
            return self.client.post(url, params=params, content=data, headers=_headers(headers), **_kwargs(kwargs))
        return self.client.post(url, params=params, data=_form(data), headers=_headers(headers), **_kwargs(kwargs))

    def close(self) -> None:
        """Nothing to do: the underlying client belongs to the app and lives as long as it."""

    def _bridged(self, response: httpx.Response) -> httpx.Response:
        # The in-process sandbox names an http:// token endpoint, which MSAL refuses (see the module docstring).
        if not self.bridge_https:
            return response
        document = response.json()
        endpoint = str(document.get("token_endpoint", ""))
        if endpoint.startswith("http://"):
            document["token_endpoint"] = "https://" + endpoint[len("http://"):]
        return httpx.Response(200, json=document, request=response.request)


def _headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if headers is None else {k: v for k, v in headers.items() if v is not None}


def _form(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # MSAL puts the certificate's client assertion in as bytes; requests decodes those, httpx would send "b'…'".
    if data is None:
        return None
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items() if v is not None}


def _kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    # MSAL may pass timeout=None meaning "the client's default"; for httpx None would mean "no timeout".
    return {k: v for k, v in kwargs.items() if k == "timeout" and v is not None}


def in_process_sandbox(app: Flask, url: str) -> bool:
    """True when `url` is one of the sandbox emulators mounted in this very app (demo and tests)."""
    return url.startswith(f"{app.config['APP_BASE_URL']}/dev/")


def http_client_for(app: Flask, url: str) -> httpx.Client:
    """An httpx client for calls to `url`: in-process through WSGI for the sandbox, a normal client otherwise."""
    if in_process_sandbox(app, url):
        # Calling our own server over HTTP from inside one of its requests would tie up a worker.
        return httpx.Client(transport=httpx.WSGITransport(app=app), timeout=HTTP_TIMEOUT)
    return httpx.Client(timeout=HTTP_TIMEOUT)


# -- credentials -----------------------------------------------------------------------------------------------
def certificate_credential(pem: str) -> dict[str, str]:
    """MSAL's certificate credential from one PEM holding the private key and the certificate."""
    blocks = {match.group(1): match.group(0) for match in _PEM_BLOCK.finditer(pem)}
    key = next((block for kind, block in blocks.items() if kind.endswith("PRIVATE KEY")), None)
    certificate = blocks.get("CERTIFICATE")
    if key is None or certificate is None:
        raise ValueError("AZURE_CLIENT_CERTIFICATE must be a PEM file with the private key and the certificate")
    # With public_certificate (and no SHA-1 thumbprint) MSAL signs with PS256 and sends x5t#S256 and x5c.
    return {"private_key": key, "public_certificate": certificate}


def client_credential(app: Flask) -> str | dict[str, str]:
    """The app registration's credential: AZURE_CLIENT_SECRET, else the AZURE_CLIENT_CERTIFICATE PEM file,
    else (demo/tests) the sandbox registration's secret."""
    secret = app.config.get("AZURE_CLIENT_SECRET")
    if secret:
        return str(secret)
    certificate = app.config.get("AZURE_CLIENT_CERTIFICATE") or os.environ.get("AZURE_CLIENT_CERTIFICATE")
    if certificate:
        return certificate_credential(Path(certificate).read_text())
    sandbox = app.extensions.get("sandbox")
    if sandbox is not None:
        return sandbox.client_secret
    raise RuntimeError("no client credential: set AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE")


# -- the client ------------------------------------------------------------------------------------------------
class MsalClient:
    """On-behalf-of, silent, app-only and auth-code token acquisition for one app registration."""

    def __init__(self, *, client_id: str, authority: str, credential: str | dict[str, str],
                 http: MsalHttpClient) -> None:
        self.client_id, self.authority, self.http = client_id, authority, http
        self._credential = credential
        self._app_only: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_app(cls, app: Flask) -> MsalClient:
        """The client for this app's settings (see the module docstring for the sandbox case)."""
        host = app.config["AZURE_AUTHORITY_HOST"].rstrip("/")
        bridge = in_process_sandbox(app, host)
        if bridge and host.startswith("http://"):
            host = "https://" + host[len("http://"):]
        client = app.extensions.get("authority_http") or http_client_for(app, app.config["AZURE_AUTHORITY_HOST"])
        return cls(client_id=app.config["AZURE_CLIENT_ID"], authority=f"{host}/{app.config['AZURE_TENANT_ID']}",
                   credential=client_credential(app), http=MsalHttpClient(client, bridge_https=bridge))

    def _application(self, cache: msal.TokenCache | None = None) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            self.client_id, client_credential=self._credential, authority=self.authority,
            instance_discovery=False, http_client=self.http, token_cache=cache,
        )

    def on_behalf_of(self, sso_token: str, scopes: Sequence[str], cache_blob: str | None = None, *,
                     claims_challenge: str | None = None) -> tuple[TokenOutcome, str | None]:
        """Exchange the Teams SSO token; returns the outcome and the new cache blob (None when unchanged)."""
        cache = _cache(cache_blob)
        result = self._application(cache).acquire_token_on_behalf_of(
            sso_token, list(scopes), claims_challenge=claims_challenge)
        return classify(result), _changed(cache)

    def silent(self, scopes: Sequence[str], cache_blob: str | None, oid: str) -> tuple[Acquired | None, str | None]:
        """A cached (or refreshed) token of user `oid` from the cache; None when the authority must be asked."""
        if not cache_blob:
            return None, None
        cache = _cache(cache_blob)
        application = self._application(cache)
        account = next((a for a in application.get_accounts() if _account_oid(a) == oid), None)
        if account is None:
            return None, None
        outcome = classify(application.acquire_token_silent_with_error(list(scopes), account))
        return (outcome if isinstance(outcome, Acquired) else None), _changed(cache)

    def app_token(self, scopes: Sequence[str]) -> TokenOutcome:
        """An app-only token (client credentials); MSAL serves it from its in-memory cache until it expires."""
        with self._lock:
            if self._app_only is None:
                self._app_only = self._application()
            application = self._app_only
        return classify(application.acquire_token_for_client(list(scopes)))

    def start_auth_code_flow(self, scopes: Sequence[str], redirect_uri: str, *, prompt: str | None = None,
                             login_hint: str | None = None) -> dict[str, Any]:
        """Begin authorization code + PKCE (S256); the flow holds `auth_uri`, state, nonce and the verifier.

        The code comes back by `response_mode=form_post` (RFC 9700 §4.3.1; MSAL warns otherwise): it stays out
        of URLs, browser history, Referer headers and access logs."""
        return self._application().initiate_auth_code_flow(
            list(scopes), redirect_uri=redirect_uri, prompt=prompt, login_hint=login_hint or None,
            response_mode="form_post")

    def finish_auth_code_flow(self, flow: Mapping[str, Any], response: Mapping[str, str]
                              ) -> tuple[TokenOutcome, dict[str, Any], str | None]:
        """Redeem the code the authority sent back: (outcome, ID token claims, new cache blob)."""
        cache = msal.SerializableTokenCache()
        try:
            result = self._application(cache).acquire_token_by_auth_code_flow(dict(flow), dict(response))
        except ValueError:  # state mismatch or a flow that was not started here
            return Failed("invalid_state", "The sign-in response does not match a sign-in we started."), {}, None
        return classify(result), dict(result.get("id_token_claims") or {}), _changed(cache)


def _cache(blob: str | None) -> msal.SerializableTokenCache:
    cache = msal.SerializableTokenCache()
    if blob:
        try:
            cache.deserialize(blob)
        except (ValueError, TypeError):  # unreadable (e.g. an old format): start afresh rather than fail
            cache = msal.SerializableTokenCache()
    return cache


def _changed(cache: msal.SerializableTokenCache) -> str | None:
    return cache.serialize() if cache.has_state_changed else None


def _account_oid(account: Mapping[str, Any]) -> str:
    # local_account_id is the oid from the ID token; home_account_id is "<oid>.<tid>" from client_info.
    return str(account.get("local_account_id") or str(account.get("home_account_id", "")).split(".", 1)[0])


def describe(outcome: TokenOutcome) -> str:
    """A loggable one-liner for an outcome (never the token)."""
    if isinstance(outcome, Acquired):
        return f"acquired (expires_on={outcome.expires_on})"
    if isinstance(outcome, NeedsInteraction):
        return f"interaction_required (claims={'yes' if outcome.claims else 'no'})"
    if isinstance(outcome, NeedsConsent):
        return "consent_required"
    return f"error {outcome.code}"


__all__ = [
    "GRAPH_DEFAULT", "GRAPH_USER_READ", "YAMMER_USER", "Acquired", "Failed", "MsalClient", "MsalHttpClient",
    "NeedsConsent", "NeedsInteraction", "TokenOutcome", "certificate_credential", "classify", "client_credential",
    "describe", "http_client_for", "in_process_sandbox",
]
