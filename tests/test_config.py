"""Settings: environment prefix, instance file, required secret key, key rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import SECRET, base_config
from widget_server import create_app
from widget_server.core import egress
from widget_server.core.settings import ConfigError, serve_at, server_origin
from widget_server.core.tokens import Tokens


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "SECRET_KEY",
        "ENV",
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY_FALLBACKS",
        "ALLOWED_HOSTS",
        "EVENT_BASE_URL",
    ):
        monkeypatch.delenv(f"WIDGET_SERVER_{name}", raising=False)
    monkeypatch.setenv("WIDGET_SERVER_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("WIDGET_SERVER_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("WIDGET_SERVER_PUBLIC_ORIGIN", "https://callback.example.com")
    return tmp_path


def test_secret_key_is_required_outside_development(environment: Path) -> None:
    with pytest.raises(ConfigError, match="WIDGET_SERVER_SECRET_KEY is not set"):
        create_app()


def test_short_secret_key_is_refused_in_production(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="too short"):
        create_app()


def test_development_keeps_a_generated_key_across_restarts(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_ENV", "development")
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 48
    assert (environment / "development_secret_key").stat().st_mode & 0o077 == 0


def test_environment_variables_use_one_prefix_and_parse_json(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", SECRET)
    monkeypatch.setenv("WIDGET_SERVER_PROXY_HOPS", "2")
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY_FALLBACKS", '["old-key-1", "old-key-2"]')
    app = create_app()
    assert app.config["PROXY_HOPS"] == 2
    assert app.config["SECRET_KEY_FALLBACKS"] == ["old-key-1", "old-key-2"]
    assert app.config["DATABASE_URL"].endswith("env.db")


@pytest.mark.parametrize(
    "value", ["pbx.office.lan, 10.20.0.0/16", '["pbx.office.lan", "10.20.0.0/16"]']
)
def test_private_provider_hosts_come_from_the_environment(
    environment: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", SECRET)
    monkeypatch.setenv("WIDGET_SERVER_PROVIDER_PRIVATE_HOSTS", value)
    config = create_app().config
    assert config["PROVIDER_PRIVATE_HOSTS"] == ["pbx.office.lan", "10.20.0.0/16"]
    policy = egress.provider_policy(config)
    assert policy.allows("pbx.office.lan", "192.168.1.9")
    assert policy.allows("other.office.lan", "10.20.3.4")
    assert not policy.allows("other.office.lan", "10.21.0.1")


def test_no_private_provider_host_is_allowed_by_default(environment: Path) -> None:
    from widget_server.core.settings import DEFAULTS

    assert DEFAULTS["PROVIDER_PRIVATE_HOSTS"] == []
    policy = egress.provider_policy(DEFAULTS)
    assert policy == egress.PUBLIC
    assert not any(policy.allows("pbx", a) for a in ("127.0.0.1", "10.0.0.1", "::1"))


def test_instance_file_is_read_and_environment_wins(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (environment / "widget_server.toml").write_text(
        f'secret_key = "{SECRET}"\nform_token_max_age = 600\nproxy_hops = 1\n'
    )
    monkeypatch.setenv("WIDGET_SERVER_PROXY_HOPS", "3")
    app = create_app()
    assert app.config["FORM_TOKEN_MAX_AGE"] == 600
    assert app.config["PROXY_HOPS"] == 3


def test_production_refuses_to_start_without_a_public_origin(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", SECRET)
    monkeypatch.delenv("WIDGET_SERVER_PUBLIC_ORIGIN")
    for env in (None, "production", "staging"):
        if env:
            monkeypatch.setenv("WIDGET_SERVER_ENV", env)
        with pytest.raises(ConfigError, match="WIDGET_SERVER_PUBLIC_ORIGIN is not set"):
            create_app()


def test_production_answers_the_public_origins_host_and_builds_urls_from_it(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", SECRET)
    monkeypatch.setenv("WIDGET_SERVER_PUBLIC_ORIGIN", "HTTPS://Callback.Example.com:443/")
    monkeypatch.setenv("WIDGET_SERVER_EVENT_BASE_URL", "https://hooks.example.net/")
    app = create_app()
    assert app.config["PUBLIC_ORIGIN"] == "https://callback.example.com"
    assert server_origin(app) == "https://callback.example.com"
    assert app.config["ALLOWED_HOSTS"] == ["callback.example.com", "hooks.example.net"]


@pytest.mark.parametrize("env", ["development", "testing"])
def test_outside_production_the_server_is_local_without_a_public_origin(
    environment: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("WIDGET_SERVER_SECRET_KEY", SECRET)
    monkeypatch.delenv("WIDGET_SERVER_PUBLIC_ORIGIN")
    monkeypatch.setenv("WIDGET_SERVER_ENV", env)
    app = create_app()
    assert app.config["PUBLIC_ORIGIN"] is None  # so providers get no event URL
    assert server_origin(app) == "http://127.0.0.1:5000"
    assert app.config["ALLOWED_HOSTS"] == ["127.0.0.1:5000", "localhost:5000"]
    serve_at(app, "http://127.0.0.1:8080")  # what `flask serve --port 8080` does
    assert server_origin(app) == "http://127.0.0.1:8080"
    assert app.config["ALLOWED_HOSTS"] == ["127.0.0.1:8080", "localhost:8080"]


def test_allowed_hosts_may_be_listed(tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, ALLOWED_HOSTS="cb.example.com, .example.org:8443"))
    assert app.config["ALLOWED_HOSTS"] == ["cb.example.com", ".example.org:8443"]
    serve_at(app, "http://127.0.0.1:8080")
    assert app.config["ALLOWED_HOSTS"] == ["cb.example.com", ".example.org:8443"]  # as set


def test_broken_instance_file_names_the_file(environment: Path) -> None:
    (environment / "widget_server.toml").write_text("secret_key = \n")
    with pytest.raises(ConfigError, match="widget_server.toml: not valid TOML"):
        create_app()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PROXY_HOPS", -1, "PROXY_HOPS must be a whole number"),
        ("PROXY_HOPS", "two", "PROXY_HOPS must be a whole number"),
        ("QUEUE_POLL_INTERVAL", 0, "QUEUE_POLL_INTERVAL"),
        ("QUEUE_BACKEND", "kafka", "QUEUE_BACKEND must be"),
        ("SUBMIT_LIMIT_PER_IP", "lots", "is not a rate limit"),
        ("SUBMIT_LIMIT_PER_NUMBER", "", "is not a rate limit"),
        ("FORM_TOKEN_MIN_AGE", 99999, "FORM_TOKEN_MIN_AGE must be below"),
        ("SECRET_KEY_FALLBACKS", [1], "must be a list of strings"),
        ("PROVIDER_PRIVATE_HOSTS", ["10.0.0.0/33"], "PROVIDER_PRIVATE_HOSTS: '10.0.0.0/33'"),
        ("PROVIDER_PRIVATE_HOSTS", ["http://pbx.lan"], "is not a host name"),
        ("PROVIDER_PRIVATE_HOSTS", [""], "is not a host name"),
        ("PROVIDER_PRIVATE_HOSTS", 5, "PROVIDER_PRIVATE_HOSTS must be a list"),
        ("LIVE_STREAMS_PER_WORKER", 0, "LIVE_STREAMS_PER_WORKER must be a number"),
        ("LIVE_STREAMS_PER_CLIENT", 2.5, "LIVE_STREAMS_PER_CLIENT must be a whole number"),
        ("LIVE_STREAMS_PER_CLIENT", 9, "must not exceed LIVE_STREAMS_PER_WORKER"),
        ("PUBLIC_ORIGIN", "https://cb.example.com/widget", "PUBLIC_ORIGIN must be an origin"),
        ("PUBLIC_ORIGIN", "cb.example.com", "PUBLIC_ORIGIN must be an origin"),
        ("ALLOWED_HOSTS", "cb.example.com:http", "ALLOWED_HOSTS must list host names"),
        ("ALLOWED_HOSTS", ["evil example"], "ALLOWED_HOSTS must list host names"),
        ("ALLOWED_HOSTS", [], "ALLOWED_HOSTS must list host names"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(base_config(tmp_path, **{key: value}))


def test_redis_queue_needs_a_redis_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs WIDGET_SERVER_REDIS_URL"):
        create_app(base_config(tmp_path, QUEUE_BACKEND="redis"))


def _tokens(tmp_path: Path, **config: object) -> Tokens:
    app: Flask = create_app(base_config(tmp_path, **config))
    return Tokens(app)


def test_rotated_keys_still_verify_tokens_signed_before_the_rotation(tmp_path: Path) -> None:
    old_key = "the-previous-secret-key-0123456789-abcdef"
    before = _tokens(tmp_path, SECRET_KEY=old_key)
    form_token = before.issue_form_token("w1", "https://a.example")
    status_token = before.issue_status_token("cb1")

    after = _tokens(tmp_path, SECRET_KEY=SECRET, SECRET_KEY_FALLBACKS=[old_key])
    assert after.read_form_token(form_token, "w1", "https://a.example").widget_id == "w1"
    assert after.read_status_token(status_token) == "cb1"

    forgotten = _tokens(tmp_path, SECRET_KEY=SECRET)
    with pytest.raises(ValueError, match="status_token_invalid"):
        forgotten.read_status_token(status_token)
