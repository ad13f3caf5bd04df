"""Load and check the server's settings: defaults, an optional instance file, environment."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

ENV_PREFIX = "WIDGET_SERVER"
INSTANCE_FILE = "widget_server.toml"

DEFAULTS: dict[str, Any] = {
    # "development" generates and keeps a secret key in instance/; anything else needs one.
    "ENV": "production",
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    # Fernet keys for provider settings at rest; the first encrypts, all decrypt. Empty:
    # keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
    "SETTINGS_ENCRYPTION_KEYS": [],
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    "REDIS_URL": None,  # set: rate-limit state and the job queue live in Redis
    "RATELIMIT_STORAGE_URI": None,  # None: derived from REDIS_URL, else memory://
    "QUEUE_BACKEND": None,  # None: "redis" with REDIS_URL, else "sqlite"; "memory" for tests
    "QUEUE_PATH": None,  # SQLite queue file; None: instance/queue.db
    "QUEUE_WORKERS": 2,
    # Huey's default consumer backs off to one poll every 10 s when idle, which makes the
    # first callback after a quiet spell wait seconds. A flat 20 ms poll costs ~1 % CPU.
    "QUEUE_POLL_INTERVAL": 0.02,
    "PROXY_HOPS": 0,  # reverse proxies in front of the server whose X-Forwarded-For we trust
    "SUBMIT_LIMIT_PER_IP": "5 per minute;20 per hour",
    "SUBMIT_LIMIT_PER_NUMBER": "1 per 10 minutes;3 per day",
    "SUBMIT_LIMIT_PER_PREFIX": "10 per hour;30 per day",
    "PREFIX_DIGITS": 8,  # leading E.164 digits that make a destination prefix
    "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "3 per hour",
    "SUBMIT_LIMIT_PER_WIDGET": "60 per hour;300 per day",
    # Every admin API request per client IP, keyed or not (connect counts here as well).
    "ADMIN_LIMIT_PER_IP": "300 per minute",
    "ACCOUNT_DAILY_CALL_BUDGET": "500 per day",
    "DAILY_CALL_BUDGET": "2000 per day",
    "DAILY_MINUTE_BUDGET": "10000 per day",  # estimated minutes: ring time + ESTIMATED_CALL_MINUTES
    "ESTIMATED_CALL_MINUTES": 3,
    "FORM_TOKEN_MAX_AGE": 2 * 60 * 60,
    "FORM_TOKEN_MIN_AGE": 3,  # seconds a human needs at least to fill the form
    "LEASE_SECONDS": 15 * 60,  # a call in progress stops counting after this, reported or not
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "DEMO_PAGE": False,
    "PUBLIC_ORIGIN": None,  # e.g. https://callback.example.com; None: taken from each request
    "LOG_FORMAT": "json",  # "json" lines with a request id, or "text"
}

DEVELOPMENT_DEFAULTS: dict[str, Any] = {
    "DEMO_PAGE": True,
    "LOG_FORMAT": "text",
}


class ConfigError(RuntimeError):
    """The server cannot start with these settings."""


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, the instance file and the environment, then check it."""
    app.config.from_mapping(DEFAULTS)
    if test_config is not None:
        app.config.from_mapping(test_config)
    else:
        _load_instance_file(app)
        app.config.from_prefixed_env(ENV_PREFIX)
    if app.config["ENV"] == "development":
        for key, value in DEVELOPMENT_DEFAULTS.items():
            app.config.setdefault(key, value)
            if app.config[key] == DEFAULTS.get(key):
                app.config[key] = value
    _derive(app)
    _check(app)


def _load_instance_file(app: Flask) -> None:
    path = Path(app.instance_path) / INSTANCE_FILE
    if not path.exists():
        return
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML ({exc})") from None
    app.config.from_mapping({key.upper(): value for key, value in values.items()})


def _derive(app: Flask) -> None:
    config = app.config
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'widget_server.db'}"
    if not config["QUEUE_BACKEND"]:
        config["QUEUE_BACKEND"] = "redis" if config["REDIS_URL"] else "sqlite"
    if not config["QUEUE_PATH"]:
        config["QUEUE_PATH"] = str(Path(app.instance_path) / "queue.db")
    if not config["RATELIMIT_STORAGE_URI"]:
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"] or "memory://"
    if not config["SECRET_KEY"] and config["ENV"] == "development":
        config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    fallbacks = config["SECRET_KEY_FALLBACKS"]
    if isinstance(fallbacks, str):  # one old key, or several separated by commas
        config["SECRET_KEY_FALLBACKS"] = [key for key in fallbacks.split(",") if key]


def _development_secret(instance: Path) -> str:
    # Kept on disk so that form and status links survive a restart of `make run`.
    path = instance / "development_secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _check(app: Flask) -> None:
    config = app.config
    key = config["SECRET_KEY"]
    if not key or not isinstance(key, str):
        raise ConfigError(
            f"{ENV_PREFIX}_SECRET_KEY is not set. Set it to a long random string "
            f"(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            f"or set {ENV_PREFIX}_ENV=development for a local key."
        )
    if len(key) < 32 and config["ENV"] != "development" and not config.get("TESTING"):
        raise ConfigError(f"{ENV_PREFIX}_SECRET_KEY is too short: use at least 32 characters.")
    if not all(isinstance(old, str) and old for old in config["SECRET_KEY_FALLBACKS"]):
        raise ConfigError(f"{ENV_PREFIX}_SECRET_KEY_FALLBACKS must be a list of strings.")
    for name in (
        "PROXY_HOPS",
        "QUEUE_WORKERS",
        "FORM_TOKEN_MAX_AGE",
        "FORM_TOKEN_MIN_AGE",
        "LEASE_SECONDS",
        "MAX_CONTENT_LENGTH",
    ):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{ENV_PREFIX}_{name} must be a whole number ≥ 0, not {value!r}.")
    poll = config["QUEUE_POLL_INTERVAL"]
    if isinstance(poll, bool) or not isinstance(poll, int | float) or not 0 < poll <= 10:
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_POLL_INTERVAL must be seconds in (0, 10].")
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"{ENV_PREFIX}_LOG_FORMAT must be json or text.")
    if config["QUEUE_BACKEND"] not in ("sqlite", "redis", "memory"):
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_BACKEND must be sqlite, redis or memory.")
    if config["QUEUE_BACKEND"] == "redis" and not config["REDIS_URL"]:
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_BACKEND=redis needs {ENV_PREFIX}_REDIS_URL.")
    if config["FORM_TOKEN_MIN_AGE"] >= config["FORM_TOKEN_MAX_AGE"]:
        raise ConfigError(f"{ENV_PREFIX}_FORM_TOKEN_MIN_AGE must be below FORM_TOKEN_MAX_AGE.")
    _check_limits(config)


def _check_limits(config: Any) -> None:
    from limits import parse_many

    for name in (
        "SUBMIT_LIMIT_PER_IP",
        "SUBMIT_LIMIT_PER_NUMBER",
        "SUBMIT_LIMIT_PER_PREFIX",
        "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP",
        "SUBMIT_LIMIT_PER_WIDGET",
        "ADMIN_LIMIT_PER_IP",
        "ACCOUNT_DAILY_CALL_BUDGET",
        "DAILY_CALL_BUDGET",
        "DAILY_MINUTE_BUDGET",
    ):
        try:
            if not parse_many(config[name]):
                raise ValueError("empty")
        except (ValueError, TypeError):
            raise ConfigError(
                f"{ENV_PREFIX}_{name}: {config[name]!r} is not a rate limit such as "
                "'5 per minute;20 per hour'."
            ) from None
