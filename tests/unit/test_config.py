"""Settings: defaults, production secrets, the demo guard and clear one-line errors."""

from pathlib import Path

import pytest

from plugin.config import DEMO_CLIENT_ID, ConfigError, load_settings

PRODUCTION = {
    "SECRET_KEY": "s3cret",
    "AZURE_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "AZURE_CLIENT_SECRET": "client-secret",
    "GRAPH_CLIENT_STATE": "state",
    "APP_BASE_URL": "https://ambassador.example.nl",
}


def load(env, **kw):
    return load_settings(env, instance_path=Path("/srv/instance"), **kw)


def test_production_settings_are_read():
    settings = load(PRODUCTION)
    assert settings.azure_authority_host == "https://login.microsoftonline.com"
    assert settings.graph_base_url == "https://graph.microsoft.com"
    assert settings.yammer_base_url == "https://www.yammer.com/api/v1"
    assert settings.database_url == "sqlite:////srv/instance/ambassador.db"
    assert settings.sso_audience == "api://ambassador.example.nl/11111111-2222-3333-4444-555555555555"
    assert not settings.demo


@pytest.mark.parametrize("name", ["SECRET_KEY", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "GRAPH_CLIENT_STATE"])
def test_missing_production_secret_is_named_in_one_line(name):
    env = {k: v for k, v in PRODUCTION.items() if k != name}
    with pytest.raises(ConfigError) as err:
        load(env)
    message = str(err.value)
    assert name in message and "\n" not in message


def test_certificate_may_replace_the_client_secret(tmp_path):
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "AZURE_CLIENT_SECRET"}
    env["AZURE_CLIENT_CERTIFICATE"] = str(pem)
    settings = load(env)
    assert settings.azure_client_secret is None and settings.azure_client_certificate == str(pem)


def test_a_certificate_path_that_does_not_exist_is_named():
    env = {k: v for k, v in PRODUCTION.items() if k != "AZURE_CLIENT_SECRET"}
    env["AZURE_CLIENT_CERTIFICATE"] = "/etc/ambassador/missing.pem"
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE must name a readable PEM file"):
        load(env)


def test_everything_missing_lists_all_names():
    with pytest.raises(ConfigError, match="SECRET_KEY, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET"):
        load({})


def test_demo_points_everything_at_the_sandbox():
    settings = load({"AMBASSADOR_DEMO": "1"})
    assert settings.demo
    assert settings.azure_authority_host == "http://127.0.0.1:5000/dev/aad"
    assert settings.graph_base_url == "http://127.0.0.1:5000/dev/graph"
    assert settings.yammer_base_url == "http://127.0.0.1:5000/dev/yammer/api/v1"
    assert settings.azure_client_id == DEMO_CLIENT_ID


def test_demo_refuses_real_azure_settings():
    with pytest.raises(ConfigError, match="refuses real Azure settings; unset AZURE_TENANT_ID"):
        load({"AMBASSADOR_DEMO": "1", "AZURE_TENANT_ID": PRODUCTION["AZURE_TENANT_ID"]})


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AMBASSADOR_DEMO": "maybe"}, "AMBASSADOR_DEMO must be 1 or 0"),
        ({"DATABASE_URL": "ambassador.db"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "unsupported database 'mysql'"),
        ({"APP_BASE_URL": "ambassador.example.nl"}, "APP_BASE_URL must be a http or https URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis or rediss or unix URL"),
    ],
)
def test_bad_values_give_a_clear_error(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load({"AMBASSADOR_DEMO": "1"} | env if "AMBASSADOR_DEMO" not in env else env)


def test_production_requires_https():
    with pytest.raises(ConfigError, match="must be https:// in production"):
        load(PRODUCTION | {"APP_BASE_URL": "http://ambassador.example.nl"})


def test_plain_postgresql_url_uses_psycopg3():
    settings = load(PRODUCTION | {"DATABASE_URL": "postgresql://app@db.internal/ambassador"})
    assert settings.database_url == "postgresql+psycopg://app@db.internal/ambassador"
