"""Settings from the environment (names fixed by DESIGN.md §4), validated once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCALES_DIR = PROJECT_ROOT / "locales"

#: The sandbox tenant and app registration used when AMBASSADOR_DEMO=1 (fixed so demo tokens stay valid).
DEMO_TENANT_ID = "6d5b6c1e-6a0f-4b8e-9a57-2f6f2c1d0a11"
DEMO_CLIENT_ID = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_AZURE_SETTINGS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET")


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line an admin can act on."""


@dataclass(frozen=True)
class Settings:
    """The typed view of the environment that the app factory turns into Flask config."""

    database_url: str
    redis_url: str | None
    secret_key: str
    app_base_url: str
    azure_tenant_id: str
    azure_client_id: str
    azure_client_secret: str | None
    azure_authority_host: str
    graph_base_url: str
    yammer_base_url: str
    graph_client_state: str
    demo: bool
    testing: bool
    azure_client_certificate: str | None = None
    token_cache_key: str | None = None
    graph_notification_key: str | None = None
    webhook_max_bytes: int = 1024 * 1024
    activity_retention_days: int = 730
    message_text_retention_days: int = 0
    api_rate_limit: str = "300 per minute"
    webhook_rate_limit: str = "5000 per second"
    trusted_proxies: int = 0

    @property
    def app_host(self) -> str:
        """Host (and port) of the public origin, as used in `api://<host>/<client id>`."""
        return urlsplit(self.app_base_url).netloc

    @property
    def sso_audience(self) -> str:
        """The Application ID URI that Teams SSO tokens carry as `aud`."""
        return f"api://{self.app_host}/{self.azure_client_id}"

    def to_flask(self) -> dict[str, object]:
        """Flask config keys for these settings."""
        return {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "APP_BASE_URL": self.app_base_url,
            "AZURE_TENANT_ID": self.azure_tenant_id,
            "AZURE_CLIENT_ID": self.azure_client_id,
            "AZURE_CLIENT_SECRET": self.azure_client_secret,
            "AZURE_AUTHORITY_HOST": self.azure_authority_host,
            "GRAPH_BASE_URL": self.graph_base_url,
            "YAMMER_BASE_URL": self.yammer_base_url,
            "GRAPH_CLIENT_STATE": self.graph_client_state,
            "AMBASSADOR_DEMO": self.demo,
            "TESTING": self.testing,
            "SSO_AUDIENCE": self.sso_audience,
            "AZURE_CLIENT_CERTIFICATE": self.azure_client_certificate,
            "TOKEN_CACHE_KEY": self.token_cache_key,
            "GRAPH_NOTIFICATION_KEY": self.graph_notification_key,
            "WEBHOOK_MAX_BYTES": self.webhook_max_bytes,
            "ACTIVITY_RETENTION_DAYS": self.activity_retention_days,
            "MESSAGE_TEXT_RETENTION_DAYS": self.message_text_retention_days,
            "API_RATE_LIMIT": self.api_rate_limit,
            "WEBHOOK_RATE_LIMIT": self.webhook_rate_limit,
            "TRUSTED_PROXIES": self.trusted_proxies,
        }


def sandbox_endpoints(app_base_url: str) -> dict[str, str]:
    """Where the sandbox serves Entra, Graph and Yammer for an app at `app_base_url`."""
    return {
        "AZURE_AUTHORITY_HOST": f"{app_base_url}/dev/aad",
        "GRAPH_BASE_URL": f"{app_base_url}/dev/graph",
        "YAMMER_BASE_URL": f"{app_base_url}/dev/yammer/api/v1",
    }


def parse_bool(name: str, raw: str | None, default: bool = False) -> bool:
    """Read a boolean setting; anything but a clear yes/no is an error."""
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (got {raw!r})")


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL (got {value!r})")
    return value.rstrip("/")


def _check_database_url(value: str) -> str:
    if "://" not in value or not value.split("://", 1)[0]:
        raise ConfigError(
            f"DATABASE_URL is not a database URL (got {value!r}); "
            "use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db"
        )
    scheme = value.split("://", 1)[0]
    if scheme == "postgresql" or scheme == "postgres":
        # psycopg 3 is the driver we ship; plain postgresql:// would pick psycopg2, which is not installed.
        value = "postgresql+psycopg://" + value.split("://", 1)[1]
    elif scheme.split("+")[0] not in {"sqlite", "postgresql"}:
        raise ConfigError(f"DATABASE_URL uses an unsupported database {scheme!r}; use sqlite or postgresql")
    return value


def _days(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = (env.get(name) or "").strip() or str(default)
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name} must be a whole number of days, at least {minimum} (got {raw!r})")
    return int(raw)


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or "").strip() or default
    amount, _, window = value.replace("/", " per ", 1).partition(" per ")
    if not amount.strip().isdigit() or int(amount) < 1 or window.strip().rstrip("s") not in {
        "second", "minute", "hour", "day",
    }:
        raise ConfigError(f"{name} must be a rate such as '300 per minute' or '5000/second' (got {value!r})")
    return value


def _trusted_proxies(env: Mapping[str, str]) -> int:
    raw = (env.get("TRUSTED_PROXIES") or "").strip() or "0"
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigError("TRUSTED_PROXIES must be the number of reverse proxies in front of the app, "
                          f"0 (none, the default) to 10 (got {raw!r})")
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None, *, instance_path: Path, testing: bool = False) -> Settings:
    """Read and validate the settings; raise ConfigError with one clear line when something is wrong."""
    env = os.environ if env is None else env
    demo = parse_bool("AMBASSADOR_DEMO", env.get("AMBASSADOR_DEMO"))
    relaxed = demo or testing

    if demo:
        present = [name for name in _AZURE_SETTINGS if env.get(name)]
        if present:
            raise ConfigError(
                "AMBASSADOR_DEMO=1 runs the offline sandbox and refuses real Azure settings; "
                f"unset {', '.join(present)} or set AMBASSADOR_DEMO=0"
            )

    missing = [
        name
        for name in ("SECRET_KEY", *_AZURE_SETTINGS, "GRAPH_CLIENT_STATE")
        if not env.get(name) and not relaxed
    ]
    if missing and not env.get("AZURE_CLIENT_SECRET") and env.get("AZURE_CLIENT_CERTIFICATE"):
        missing.remove("AZURE_CLIENT_SECRET")
    if missing:
        raise ConfigError(
            f"missing required setting(s) for production: {', '.join(missing)} "
            "(set them in the environment, or AMBASSADOR_DEMO=1 to try the sandbox)"
        )

    app_base_url = _check_url("APP_BASE_URL", env.get("APP_BASE_URL", "http://127.0.0.1:5000"), ("http", "https"))
    if not relaxed and not app_base_url.startswith("https://"):
        raise ConfigError(f"APP_BASE_URL must be https:// in production, because Teams only frames https tabs "
                          f"(got {app_base_url!r})")
    default_db = f"sqlite:///{instance_path / 'ambassador.db'}"
    endpoints = sandbox_endpoints(app_base_url) if demo else {
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com",
        "GRAPH_BASE_URL": "https://graph.microsoft.com",
        "YAMMER_BASE_URL": "https://www.yammer.com/api/v1",
    }
    authority, graph, yammer = (env.get(name) or endpoints[name] for name in endpoints)
    max_bytes = env.get("WEBHOOK_MAX_BYTES") or str(1024 * 1024)
    if not max_bytes.isdigit() or int(max_bytes) < 1024:
        raise ConfigError(f"WEBHOOK_MAX_BYTES must be a number of bytes, at least 1024 (got {max_bytes!r})")
    for name in ("AZURE_CLIENT_CERTIFICATE", "GRAPH_NOTIFICATION_KEY"):
        if env.get(name) and not Path(env[name]).is_file():
            raise ConfigError(f"{name} must name a readable PEM file (got {env[name]!r})")
    redis_url = env.get("REDIS_URL") or None
    if redis_url:
        _check_url("REDIS_URL", redis_url, ("redis", "rediss", "unix"))
    return Settings(
        database_url=_check_database_url(env.get("DATABASE_URL") or default_db),
        redis_url=redis_url,
        secret_key=env.get("SECRET_KEY") or ("demo-only-not-secret" if demo else "test-only-not-secret"),
        app_base_url=app_base_url,
        azure_tenant_id=env.get("AZURE_TENANT_ID") or DEMO_TENANT_ID,
        azure_client_id=env.get("AZURE_CLIENT_ID") or DEMO_CLIENT_ID,
        azure_client_secret=env.get("AZURE_CLIENT_SECRET") or None,
        azure_authority_host=_check_url("AZURE_AUTHORITY_HOST", authority, ("http", "https")),
        graph_base_url=_check_url("GRAPH_BASE_URL", graph, ("http", "https")),
        yammer_base_url=_check_url("YAMMER_BASE_URL", yammer, ("http", "https")),
        graph_client_state=env.get("GRAPH_CLIENT_STATE") or "sandbox-client-state",
        demo=demo,
        testing=testing,
        azure_client_certificate=env.get("AZURE_CLIENT_CERTIFICATE") or None,
        token_cache_key=env.get("TOKEN_CACHE_KEY") or None,
        graph_notification_key=env.get("GRAPH_NOTIFICATION_KEY") or None,
        webhook_max_bytes=int(max_bytes),
        activity_retention_days=_days(env, "ACTIVITY_RETENTION_DAYS", 730, 1),
        message_text_retention_days=_days(env, "MESSAGE_TEXT_RETENTION_DAYS", 0, 0),
        api_rate_limit=_rate(env, "API_RATE_LIMIT", "300 per minute"),
        webhook_rate_limit=_rate(env, "WEBHOOK_RATE_LIMIT", "5000 per second"),
        trusted_proxies=_trusted_proxies(env),
    )
