"""The interactive part of the dev authority: a consent page at the authorize endpoint, and code redemption.

This is where the tab's consent pop-up (``authentication.authenticate`` → ``/authorize?prompt=consent``)
lands: the page lets a demo user accept the requested permissions, records the consent, and redirects back
with an authorization code (the ``authorization_code`` grant redeems it, with PKCE when a challenge was sent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, redirect, render_template_string

from plugin.sandbox.aad_errors import AadError, missing_parameter
from plugin.sandbox.aad_registry import ClientRegistration, parse_scope
from plugin.sandbox.keys import Sealer

if TYPE_CHECKING:
    from plugin.sandbox.aad_authority import DevAuthority

_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
)
_FORM_POST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working…</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
<noscript><button>Continue</button></noscript></form></body></html>"""
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Permissions requested</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>Permissions requested</h1>
{% if error %}<p role="alert">{{ error }}</p>{% else %}
<p><strong>{{ client.display_name }}</strong> (dev tenant) would like to:</p>
<ul>{% for permission in permissions %}<li>{{ permission }}</li>{% endfor %}</ul>
<form method="post">
  {% for name, value in params.items() %}
    <input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
  <label>Sign in as <select name="user">{% for user in users %}
    <option value="{{ user.oid }}" {% if user.preferred_username == login_hint %}selected{% endif %}>
      {{ user.name }} ({{ user.preferred_username }})</option>{% endfor %}</select></label>
  <p><button name="decision" value="accept">Accept</button>
     <button name="decision" value="cancel">Cancel</button></p>
</form>{% endif %}
</body></html>"""


def authorize(authority: DevAuthority, params: Mapping[str, str], *, submitted: bool) -> Response:
    """Show the consent page (GET) or act on the user's decision (POST)."""
    try:
        client = _client(authority, params)
    except AadError as exc:
        return _page(error=f"AADSTS{exc.code}: {exc.message}", status=400)
    redirect_uri = params["redirect_uri"]
    if params.get("response_type") != "code":
        return _back(
            redirect_uri,
            params,
            error="unsupported_response_type",
            error_description="AADSTS700054: response_type 'id_token' is not enabled for the application.",
        )
    try:
        scope = parse_scope(params.get("scope"))
    except AadError as exc:
        return _back(redirect_uri, params, error=exc.error, error_description=f"AADSTS{exc.code}: {exc.message}")
    if not submitted:
        return _page(
            client=client,
            permissions=sorted(scope.permissions),
            params={name: params[name] for name in _PARAMS if params.get(name)},
            users=list(authority.users.values()),
            login_hint=params.get("login_hint", ""),
        )
    if params.get("decision") != "accept":
        return _back(
            redirect_uri,
            params,
            error="access_denied",
            error_description="AADSTS65004: User declined to consent to access the app.",
        )
    user = authority.user(params.get("user", ""))
    if not scope.is_default:
        authority.grant_consent(user.oid, client.client_id, params["scope"])
    code = authority.seal_code(
        {
            "cid": client.client_id,
            "oid": user.oid,
            "redirect_uri": redirect_uri,
            "scope": params.get("scope", ""),
            "cc": params.get("code_challenge"),
            "ccm": params.get("code_challenge_method", "plain"),
            "nonce": params.get("nonce"),
        }
    )
    return _back(redirect_uri, params, code=code)


def redeem_code(sealer: Sealer, client: ClientRegistration, form: Mapping[str, str]) -> dict[str, Any]:
    """The grant an authorization code stands for, after checking client, redirect URI, expiry and PKCE."""
    raw = sealer.unseal(form.get("code") or _raise(missing_parameter("code")), "code")
    if raw is None:
        raise AadError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
    grant = json.loads(raw)
    if grant["cid"] != client.client_id or grant["redirect_uri"] != form.get("redirect_uri"):
        raise AadError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
    if grant["exp"] < time.time():
        raise AadError(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due "
            "to inactivity. Send a new interactive authorization request for this user and resource.",
        )
    if grant.get("cc") and not hmac.compare_digest(
        _challenge(form.get("code_verifier", ""), grant["ccm"]), grant["cc"]
    ):
        raise AadError(
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    return grant


def _client(authority: DevAuthority, params: Mapping[str, str]) -> ClientRegistration:
    client_id = params.get("client_id") or _raise(missing_parameter("client_id"))
    client = authority.clients.get(client_id) or _raise(authority.unknown_client_error(client_id))
    redirect_uri = params.get("redirect_uri") or _raise(missing_parameter("redirect_uri"))
    if redirect_uri not in client.redirect_uris:
        raise AadError(
            "invalid_request",
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does "
            f"not match the redirect URIs configured for the application '{client_id}'.",
        )
    return client


def _challenge(verifier: str, method: str) -> str:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier


def _back(redirect_uri: str, params: Mapping[str, str], **fields: str) -> Response:
    if params.get("state"):
        fields["state"] = params["state"]
    if params.get("response_mode") == "form_post":
        html = render_template_string(_FORM_POST, action=redirect_uri, fields=fields)
        return Response(html, headers={"X-Frame-Options": "DENY", "Cache-Control": "no-store"}, mimetype="text/html")
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(fields)}", code=302)  # type: ignore[return-value]


def _page(*, status: int = 200, **context: Any) -> Response:
    html = render_template_string(_PAGE, error=context.pop("error", None), **context)
    # Like Entra's sign-in pages: never framed (the tab must open them in a pop-up).
    return Response(html, status=status, headers={"X-Frame-Options": "DENY"}, mimetype="text/html")


def _raise(error: AadError) -> Any:
    raise error
