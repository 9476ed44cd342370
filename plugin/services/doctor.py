"""`flask doctor`: check the configuration and every connection an installation needs, and say what to fix.

Each check gives one :class:`Finding` (✔ or ✖, what was seen, and for a problem what to do). Checks that depend
on an earlier one (Graph needs an app token, subscriptions need a migrated database) say so instead of piling up
follow-on errors. Nothing here changes anything: every Graph call is a read, the webhook probe is the same
validation handshake Graph itself sends, and no token or secret is ever printed.

In the demo the authority and Graph are the sandbox inside this process (as for every command); the public URL
is probed over the network, so run the doctor while the app is being served.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import jwt
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..adapters.graph import GraphClient, GraphError
from ..adapters.graph_notifications import load_notification_key
from ..adapters.msal_client import GRAPH_DEFAULT, Acquired, Failed, MsalClient, describe, http_client_for
from ..models import Cohort, CohortTeam, GraphSubscription
from . import health, migrations
from .subscriptions import channel_resource
from .sync import cohort_channels

if TYPE_CHECKING:
    from flask import Flask

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MIN_SECRET_KEY = 32
CERTIFICATE_WARNING = timedelta(days=30)
_AADSTS = re.compile(r"AADSTS\d+")


@dataclass(frozen=True)
class Finding:
    """The outcome of one check: ok or not, what was seen, and what to do about a problem."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class Diagnosis:
    """Every finding, in the order checked."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found a problem."""
        return all(f.ok for f in self.findings)

    @property
    def problems(self) -> list[Finding]:
        """The findings that need fixing."""
        return [f for f in self.findings if not f.ok]


def diagnose(app: Flask, session: Session) -> Diagnosis:
    """Run every check against this app's settings (inside an app context)."""
    diagnosis = Diagnosis([check_settings(app.config)])
    database = check_database(app)
    diagnosis.findings += [database, check_queue(app)]
    diagnosis.findings += check_authority(app)
    token_finding, token = check_app_token(app)
    diagnosis.findings.append(token_finding)
    subscriptions_at_graph: set[str] | None = None
    if token is None:
        diagnosis.findings.append(Finding("graph", False, "not checked: there is no app-only token",
                                          "fix the app token first (see above)"))
    else:
        graph_findings, subscriptions_at_graph = check_graph(app, session if database.ok else None, token)
        diagnosis.findings += graph_findings
    if database.ok:
        diagnosis.findings.append(check_subscriptions(session, subscriptions_at_graph))
    else:
        diagnosis.findings.append(Finding("subscriptions", False, "not checked: the database is not ready",
                                          "fix the database first (see above)"))
    diagnosis.findings += check_public_url(app.config)
    return diagnosis


def _guarded(name: str, probe: Callable[[], Finding], fix: str) -> Finding:
    """Run a probe; an unexpected exception becomes a problem naming its class (never a traceback)."""
    try:
        return probe()
    except Exception as exc:  # noqa: BLE001 - a diagnostic must report every failure, whatever it is
        return Finding(name, False, f"failed: {type(exc).__name__}: {_first_line(exc)}", fix)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else "no details"


# -- settings ----------------------------------------------------------------------------------------------------
def _is_guid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def check_settings(config: Mapping[str, Any]) -> Finding:
    """What the settings loader cannot judge: id formats, the secret key's length, the credential's validity."""
    demo = bool(config.get("AMBASSADOR_DEMO"))
    relaxed = demo or bool(config.get("TESTING"))
    problems: list[str] = []
    fixes: list[str] = []
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID"):
        if not _is_guid(config.get(name)):
            problems.append(f"{name} is not a GUID")
            fixes.append(f"copy {name} from the app registration's overview page in Entra")
    if not relaxed and len(str(config.get("SECRET_KEY") or "")) < MIN_SECRET_KEY:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY} characters")
        fixes.append("set SECRET_KEY to a long random value, e.g. `python -c 'import secrets; "
                     "print(secrets.token_urlsafe(48))'`")
    if len(str(config.get("GRAPH_CLIENT_STATE") or "")) > 128:
        problems.append("GRAPH_CLIENT_STATE is longer than 128 characters, which Graph refuses")
        fixes.append("use a random value of at most 128 characters")
    credential = "client secret" if config.get("AZURE_CLIENT_SECRET") else None
    if config.get("AZURE_CLIENT_CERTIFICATE"):
        credential, problem = _certificate_state(str(config["AZURE_CLIENT_CERTIFICATE"]), "AZURE_CLIENT_CERTIFICATE")
        if problem:
            problems.append(problem)
            fixes.append("create a new certificate, upload its public part to the app registration "
                         "(Certificates & secrets) and point AZURE_CLIENT_CERTIFICATE at the new PEM")
    if config.get("GRAPH_NOTIFICATION_KEY"):
        try:
            load_notification_key(str(config["GRAPH_NOTIFICATION_KEY"]))
        except (OSError, ValueError) as exc:
            problems.append(f"GRAPH_NOTIFICATION_KEY cannot be read ({type(exc).__name__})")
            fixes.append("point GRAPH_NOTIFICATION_KEY at a PEM with an RSA private key (and its certificate)")
    mode = "demo (sandbox)" if demo else "test" if config.get("TESTING") else "production"
    if problems:
        return Finding("settings", False, "; ".join(problems), "; ".join(fixes))
    credential = credential or ("the sandbox's secret" if relaxed else "no credential")
    return Finding("settings", True, f"{mode}: tenant {config.get('AZURE_TENANT_ID')}, app registration "
                                     f"{config.get('AZURE_CLIENT_ID')}, {credential}")


def _certificate_state(path: str, name: str) -> tuple[str, str | None]:
    """('certificate, valid until …', problem or None) for a PEM holding the app's key and certificate."""
    from ..adapters.msal_client import certificate_credential

    try:
        pem = Path(path).read_text()
        certificate_credential(pem)
        certificate = x509.load_pem_x509_certificate(pem[pem.index("-----BEGIN CERTIFICATE-----"):].encode())
    except (OSError, ValueError) as exc:
        return "certificate", f"{name} cannot be used ({_first_line(exc)})"
    until = certificate.not_valid_after_utc
    now = datetime.now(UTC)
    if until <= now:
        return "certificate", f"the certificate in {name} expired on {until:%Y-%m-%d}"
    if until - now < CERTIFICATE_WARNING:
        return "certificate", f"the certificate in {name} expires on {until:%Y-%m-%d}, in less than 30 days"
    return f"certificate valid until {until:%Y-%m-%d}", None


# -- database and queue ------------------------------------------------------------------------------------------
def check_database(app: Flask) -> Finding:
    """The database answers and its schema is at the newest migration."""
    from ..db import get_engine

    engine = get_engine()
    reachable = health.check_database(engine)
    if not reachable.ok:
        return Finding("database", False, f"unreachable ({reachable.detail})",
                       "check DATABASE_URL and that the database server accepts connections from this machine")

    def probe() -> Finding:
        heads = ScriptDirectory.from_config(migrations.alembic_config(app.config["DATABASE_URL"])).get_heads()
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        head = heads[0] if len(heads) == 1 else ", ".join(heads)
        if current in heads:
            return Finding("database", True, f"{reachable.detail}, schema at {current} (the newest)")
        if current is None:
            return Finding("database", False, f"{reachable.detail}, but no schema (not migrated)",
                           "run `flask --app wsgi db upgrade`")
        return Finding("database", False, f"{reachable.detail}, schema at {current}, newest is {head}",
                       "run `flask --app wsgi db upgrade` (after a downgrade of the code: deploy the matching "
                       "version instead)")

    return _guarded("database", probe, "run `flask --app wsgi db current` to see what the database says")


def check_queue(app: Flask) -> Finding:
    """The job queue's storage (Redis or the SQLite file) answers."""
    result = health.check_queue(app.extensions["huey"])
    if result.ok:
        return Finding("queue", True, result.detail)
    target = "REDIS_URL and that Redis is running" if app.config.get("REDIS_URL") else \
        "that the folder beside the SQLite database is writable"
    return Finding("queue", False, f"unreachable ({result.detail})", f"check {target}")


# -- authority -----------------------------------------------------------------------------------------------------
def _authority_client(app: Flask) -> httpx.Client:
    return app.extensions.get("authority_http") or http_client_for(app, app.config["AZURE_AUTHORITY_HOST"])


def check_authority(app: Flask) -> list[Finding]:
    """The tenant's OpenID metadata and the signing keys Teams SSO tokens are checked against."""
    authority = app.config["AZURE_AUTHORITY_HOST"].rstrip("/")
    tenant = app.config["AZURE_TENANT_ID"]
    client = _authority_client(app)
    fix = f"check AZURE_AUTHORITY_HOST ({authority}), AZURE_TENANT_ID and that this machine reaches it over HTTPS"

    def metadata() -> Finding:
        url = f"{authority}/{tenant}/v2.0/.well-known/openid-configuration"
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            return Finding("authority", False, f"cannot reach {authority} ({type(exc).__name__})", fix)
        if response.status_code != 200:
            code = _AADSTS.search(response.text)
            return Finding("authority", False, f"{url} answered {response.status_code}"
                                               f"{f' ({code.group(0)})' if code else ''}", fix)
        document = response.json()
        missing = [key for key in ("issuer", "token_endpoint", "jwks_uri") if not document.get(key)]
        if missing:
            return Finding("authority", False, f"the OpenID metadata lacks {', '.join(missing)}", fix)
        if tenant.lower() not in str(document["issuer"]).lower():
            return Finding("authority", False, f"the metadata's issuer {document['issuer']} is not tenant {tenant}",
                           "check AZURE_TENANT_ID")
        return Finding("authority", True, f"OpenID metadata of tenant {tenant} at {authority}")

    def keys() -> Finding:
        validator = app.extensions["token_validator"]
        try:
            response = client.get(validator.jwks.url)
        except httpx.HTTPError as exc:
            return Finding("signing keys", False, f"cannot reach {validator.jwks.url} ({type(exc).__name__})", fix)
        if response.status_code != 200:
            return Finding("signing keys", False, f"{validator.jwks.url} answered {response.status_code}", fix)
        count = sum(1 for key in response.json().get("keys", []) if key.get("kty") == "RSA" and key.get("kid"))
        if not count:
            return Finding("signing keys", False, f"{validator.jwks.url} lists no RSA signing keys", fix)
        return Finding("signing keys", True, f"{count} signing key(s) for Teams SSO tokens")

    return [_guarded("authority", metadata, fix), _guarded("signing keys", keys, fix)]


def check_app_token(app: Flask) -> tuple[Finding, str | None]:
    """An app-only Graph token by client credentials; its `roles` are the application permissions granted."""
    fix = ("check AZURE_CLIENT_ID and the client secret or certificate in the app registration "
           "(Certificates & secrets); a secret that expired must be replaced")
    try:
        outcome = MsalClient.from_app(app).app_token([GRAPH_DEFAULT])
    except httpx.HTTPError as exc:
        return Finding("app token", False, f"cannot reach the token endpoint ({type(exc).__name__})",
                       "fix the authority first (see above)"), None
    except Exception as exc:  # noqa: BLE001 - no credential, a bad PEM, an odd answer…
        return Finding("app token", False, f"failed: {type(exc).__name__}: {_first_line(exc)}", fix), None
    if not isinstance(outcome, Acquired):
        code = _AADSTS.search(outcome.description) if isinstance(outcome, Failed) else None
        detail = f"refused: {describe(outcome)}{f' ({code.group(0)})' if code else ''}"
        return Finding("app token", False, detail, fix), None
    try:
        claims = jwt.decode(outcome.access_token, options={"verify_signature": False})
        roles = sorted(str(role) for role in claims.get("roles") or ())
    except jwt.PyJWTError:  # Graph tokens are opaque by contract; the roles are only a hint
        roles = []
    granted = f"application permissions: {', '.join(roles)}" if roles else \
        "no tenant-wide application permissions (resource-specific consent applies per team)"
    return Finding("app token", True, f"issued for Microsoft Graph; {granted}"), outcome.access_token


# -- Graph ---------------------------------------------------------------------------------------------------------
def check_graph(app: Flask, session: Session | None, token: str) -> tuple[list[Finding], set[str] | None]:
    """Graph answers the app, and one harmless read per permission the app relies on (on a cohort's team)."""
    findings: list[Finding] = []
    base = app.config["GRAPH_BASE_URL"].rstrip("/")
    client = http_client_for(app, base)
    try:
        response = client.get(f"{base}/v1.0/subscriptions", headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as exc:
        findings.append(Finding("graph", False, f"{base} unreachable ({type(exc).__name__})",
                                "check GRAPH_BASE_URL and the firewall or proxy between this machine and Graph"))
        return findings, None
    finally:
        client.close()
    if response.status_code != 200:
        findings.append(Finding("graph", False, f"GET /subscriptions answered {response.status_code}",
                                "check the app registration's permissions and admin consent"))
        return findings, None
    subscriptions = {str(item.get("id")) for item in response.json().get("value", [])}
    # The sandbox's Graph in this process is not the one the server uses; count and compare only a real Graph.
    in_process = base.startswith(f"{app.config['APP_BASE_URL']}/dev/")
    held = "" if in_process else f" ({len(subscriptions)} subscription(s) there)"
    findings.append(Finding("graph", True, f"{base} answers the app{held}"))
    findings += _permission_probes(app, session, token)
    return findings, None if in_process else subscriptions


def _permission_probes(app: Flask, session: Session | None, token: str) -> list[Finding]:
    if session is None:
        return [Finding("graph permissions", False, "not checked: the database is not ready",
                        "fix the database first (see above)")]
    team = _sample_team(session)
    if team is None:
        return [Finding("graph permissions", True, "not checked yet: no running cohort has a team with channels")]
    team_id, channel_id, team_name = team
    install = (f"install Ambassador in the team \"{team_name}\" (its owners consent to the app's permissions "
               "there) or grant the application permission with admin consent in Entra")
    probes: list[tuple[str, Callable[[GraphClient], object]]] = [
        ("channels of a team (ChannelSettings.Read.Group)", lambda g: g.channels(team_id)),
        ("members of a team (TeamMember.Read.Group)", lambda g: g.team_members(team_id)),
        ("channel messages (ChannelMessage.Read.Group)",
         lambda g: next(iter(g.channel_messages_delta(team_id, channel_id, top=1)))),
    ]
    findings = []
    with GraphClient.from_app(app, lambda: token, max_retries=1, retry_delay=0.0) as graph:
        for label, probe in probes:
            try:
                probe(graph)
            except GraphError as exc:
                fix = install if exc.status in (401, 403) else "try again later; see Graph's answer"
                findings.append(Finding("graph permissions", False, f"{label}: Graph answered {exc.status} "
                                                                    f"{exc.code}", fix))
            except Exception as exc:  # noqa: BLE001 - report, never crash
                findings.append(Finding("graph permissions", False, f"{label}: {type(exc).__name__}",
                                        "try again later"))
    if not findings:
        findings.append(Finding("graph permissions", True, f"read the channels, members and messages of "
                                                           f"\"{team_name}\""))
    return findings


def _sample_team(session: Session) -> tuple[str, str, str] | None:
    """(team graph id, channel graph id, team name) of a running cohort's first team with a channel."""
    for cohort_id in session.scalars(select(Cohort.id).where(Cohort.frozen_at.is_(None)).order_by(Cohort.id)):
        for team, channel in cohort_channels(session, cohort_id):
            return team.graph_id, channel.graph_id, team.display_name
    return None


# -- subscriptions ---------------------------------------------------------------------------------------------
def check_subscriptions(session: Session, at_graph: set[str] | None, *, now: datetime | None = None) -> Finding:
    """Every channel of a running cohort has a live subscription (and, with a real Graph, Graph still has it)."""
    now = now or datetime.now(UTC)
    channels: set[str] = set()
    running = list(session.scalars(select(Cohort.id).join(CohortTeam, CohortTeam.cohort_id == Cohort.id)
                                   .where(Cohort.frozen_at.is_(None)).distinct()))
    for cohort_id in running:
        channels |= {channel_resource(team.graph_id, channel.graph_id) for team, channel in
                     cohort_channels(session, cohort_id)}
    active = list(session.scalars(select(GraphSubscription).where(GraphSubscription.status == "active")))
    live = [s for s in active if _aware(s.expires_at) > now]
    expired = len(active) - len(live)
    covered = {s.resource for s in live}
    problems, fixes = [], []
    uncovered = channels - covered
    if uncovered:
        problems.append(f"{len(uncovered)} of {len(channels)} channel(s) of running cohorts have no subscription")
        fixes.append("run `flask --app wsgi graph subscribe`")
    if expired:
        problems.append(f"{expired} subscription(s) expired without renewal")
        fixes.append("run `flask --app wsgi graph renew` and keep `flask --app wsgi worker` running (it renews "
                     "them)")
    if at_graph is not None:
        gone = [s for s in live if s.subscription_id not in at_graph]
        if gone:
            problems.append(f"Graph no longer has {len(gone)} subscription(s) stored here")
            fixes.append("run `flask --app wsgi graph renew`, then `flask --app wsgi graph subscribe`")
    if problems:
        return Finding("subscriptions", False, "; ".join(problems), "; ".join(dict.fromkeys(fixes)))
    if not channels:
        return Finding("subscriptions", True, "none needed yet: no running cohort has a team with channels")
    soonest = min(_aware(s.expires_at) for s in live if s.resource in channels)
    return Finding("subscriptions", True, f"{len(channels)} channel(s) subscribed; the first expires "
                                          f"{soonest:%Y-%m-%d %H:%M} UTC")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the public URL ------------------------------------------------------------------------------------------------
def check_public_url(config: Mapping[str, Any]) -> list[Finding]:
    """APP_BASE_URL is https and answers from outside: /healthz, and the webhook's validation handshake."""
    base = str(config["APP_BASE_URL"]).rstrip("/")
    relaxed = bool(config.get("AMBASSADOR_DEMO") or config.get("TESTING"))
    https = urlsplit(base).scheme == "https"
    findings = []
    if https:
        findings.append(Finding("public URL", True, f"{base} is https"))
    elif relaxed:
        findings.append(Finding("public URL", True, f"{base} is http: fine for the sandbox, but Teams and Graph "
                                                    "need https in production"))
    else:
        findings.append(Finding("public URL", False, f"{base} is not https", "serve the app behind a reverse "
                                                                             "proxy with a TLS certificate"))
    reach_fix = (f"check that the app is being served at {base} (gunicorn, or `flask --app wsgi demo`), and the "
                 "DNS name, TLS certificate and reverse proxy in front of it")
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
        findings.append(_guarded("health", lambda: _probe_health(client, base, reach_fix), reach_fix))
        findings.append(_guarded("webhook", lambda: _probe_webhook(client, base, https or relaxed), reach_fix))
    return findings


def _probe_health(client: httpx.Client, base: str, fix: str) -> Finding:
    try:
        response = client.get(f"{base}/healthz")
    except httpx.HTTPError as exc:
        return Finding("health", False, f"cannot reach {base}/healthz ({type(exc).__name__})", fix)
    if response.status_code != 200:
        return Finding("health", False, f"{base}/healthz answered {response.status_code}",
                       "see the database and queue lines above; a 404 means something else answers at that URL")
    return Finding("health", True, f"{base}/healthz answers 200 from the network")


def _probe_webhook(client: httpx.Client, base: str, secure: bool) -> Finding:
    url = f"{base}/webhooks/graph"
    token = f"doctor-{secrets.token_urlsafe(12)}"
    fix = f"make sure the reverse proxy passes POST requests to {url} through unchanged"
    try:
        response = client.post(url, params={"validationToken": token}, content=b"",
                               headers={"Content-Type": "text/plain; charset=utf-8"})
    except httpx.HTTPError as exc:
        return Finding("webhook", False, f"cannot reach {url} ({type(exc).__name__})", fix)
    if response.status_code != 200 or response.text != token:
        return Finding("webhook", False, f"{url} did not echo the validation token (HTTP {response.status_code})",
                       fix)
    if not secure:
        return Finding("webhook", False, f"{url} is not https; Graph only delivers to https webhooks",
                       "serve the app over https")
    return Finding("webhook", True, f"{url} answers Graph's validation handshake")
