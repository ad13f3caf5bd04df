"""Load and check the server's settings: defaults, an optional instance file, environment."""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from . import egress, origins

# The project checkout: static/, templates/ and translations/ live beside the package.
ROOT = Path(__file__).resolve().parents[2]

ENV_PREFIX = "WIDGET_SERVER"
INSTANCE_FILE = "widget_server.toml"
# Environments that may run without PUBLIC_ORIGIN (as may an app built with TESTING set);
# every other ENV value is production.
NON_PRODUCTION = ("development", "testing")
# app.extensions keys: the origin absolute URLs start with, and whether ALLOWED_HOSTS was set.
SERVER_ORIGIN = "server_origin"
HOSTS_CONFIGURED = "allowed_hosts_configured"

DEFAULTS: dict[str, Any] = {
    # "development" generates and keeps a secret key in instance/; anything else needs one.
    # Anything but "development" or "testing" is production and needs PUBLIC_ORIGIN.
    "ENV": "production",
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    # Fernet keys for provider settings at rest; the first encrypts, all decrypt. Empty:
    # keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
    "SETTINGS_ENCRYPTION_KEYS": [],
    "DATABASE_URL": None,  # None: SQLite file in the instance folder
    # Bearer token a Prometheus scraper presents at /metrics. Unset: /metrics answers 404,
    # since its refusal counts (opted_out, honeypot, ...) would tell a bot what works.
    "METRICS_TOKEN": None,
    "REDIS_URL": None,  # set: rate-limit state and the job queue live in Redis
    # None: REDIS_URL, else in this process (memory-incremental://, exact, with an upkeep
    # that does not grow with the keys stored; see intake/limit_store.py).
    "RATELIMIT_STORAGE_URI": None,
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
    # Test calls an account's members may place from the dashboard's provider page.
    "TEST_CALL_LIMIT_PER_ACCOUNT": "3 per 10 minutes;10 per day",
    "ACCOUNT_DAILY_CALL_BUDGET": "500 per day",
    "DAILY_CALL_BUDGET": "2000 per day",
    "DAILY_MINUTE_BUDGET": "10000 per day",  # estimated minutes: ring time + ESTIMATED_CALL_MINUTES
    "ESTIMATED_CALL_MINUTES": 3,
    # A widget whose accepted submissions, or the distinct addresses they came from, pass
    # these is under pressure for ESCALATE_HOLD_SECONDS: every submission then needs a
    # human check (the widget's own, else ALTCHA's proof of work), so a farm of addresses
    # cannot spend the budgets genuine visitors need.
    "ESCALATE_AFTER_ACCEPTED": "20 per 10 minutes",
    "ESCALATE_AFTER_SOURCES": "10 per 10 minutes",
    "ESCALATE_HOLD_SECONDS": 60 * 60,
    # Opt-outs are proved by a code texted to the number (Twilio's Messages API, on the
    # operator's account). Without a sender, /optout says so and takes no opt-out.
    "OPTOUT_SMS_ACCOUNT_SID": None,
    "OPTOUT_SMS_AUTH_TOKEN": None,
    "OPTOUT_SMS_FROM": None,  # an E.164 number or alphanumeric sender id
    "OPTOUT_SMS_BASE_URL": "https://api.twilio.com",
    "OPTOUT_CODE_SECONDS": 15 * 60,
    "OPTOUT_CODE_ATTEMPTS": 5,  # wrong codes before a request is spent
    # Codes texted to one number: a stranger cannot use the service to pester it.
    "OPTOUT_LIMIT_PER_NUMBER": "1 per 10 minutes;3 per day",
    "FORM_TOKEN_MAX_AGE": 2 * 60 * 60,
    "FORM_TOKEN_MIN_AGE": 3,  # seconds a human needs at least to fill the form
    # A status token (status URL, stream, cancel, status page) answers 404 once its callback
    # has ended, as its visitor sees it, for longer than this.
    "STATUS_TOKEN_SECONDS": 24 * 60 * 60,
    # Human checks: where Turnstile and hCaptcha verify tokens, and how long to wait for
    # them (past it the submission is refused: human checks fail closed).
    "TURNSTILE_VERIFY_URL": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "HCAPTCHA_VERIFY_URL": "https://api.hcaptcha.com/siteverify",
    "HUMAN_CHECK_TIMEOUT": 5.0,
    "LEASE_SECONDS": 15 * 60,  # a call in progress stops counting after this, reported or not
    # Seconds a callback may stay quiet beyond its widget's ring timeouts (twice `timeout`)
    # before the reconciler asks the provider what became of it.
    "RECONCILE_GRACE": 120,
    "MAX_CONTENT_LENGTH": 16 * 1024,
    "DEMO_PAGE": False,
    # This server's origin as visitors reach it, e.g. https://callback.example.com. Every
    # absolute URL it hands out (status_url, the loader's address, event URLs) starts with
    # it, never with a request's Host. Required in production; elsewhere None means
    # http://127.0.0.1:5000, or the address `flask serve` listens on.
    "PUBLIC_ORIGIN": None,
    # The Host names answered (others get 400, so DNS rebinding cannot reach the server
    # under a foreign name): "name" (any port), "name:port", ".name" (and its subdomains).
    # None: the hosts of PUBLIC_ORIGIN and EVENT_BASE_URL; a loopback origin is answered as
    # both 127.0.0.1 and localhost, with its port.
    "ALLOWED_HOSTS": None,
    # Where providers post call events; None: PUBLIC_ORIGIN (no events without either).
    "EVENT_BASE_URL": None,
    # The visitor's live status stream: database poll interval, how long one connection
    # may hold a web thread before the browser reconnects, and the reconnect delay.
    "LIVE_POLL_INTERVAL": 1.0,
    "LIVE_STREAM_SECONDS": 30,
    "LIVE_RETRY_MS": 2000,
    # Live status streams one web process keeps open at once, from one client address
    # (IPv6 by /64) and from everyone together; past either the stream is refused (429 with
    # Retry-After, or 503) and the visitor's page polls the status URL instead. Keep the
    # per-worker cap below gunicorn's `threads` (deploy/gunicorn.conf.py: 16) so that
    # threads stay free for every other request.
    "LIVE_STREAMS_PER_CLIENT": 4,
    "LIVE_STREAMS_PER_WORKER": 8,
    "LOG_FORMAT": "json",  # "json" lines with a request id, or "text"
    # Outbound webhooks to site owners: attempts in all, and the first retry's delay (s),
    # doubled for each later retry up to WEBHOOK_MAX_RETRY_DELAY.
    "WEBHOOK_MAX_ATTEMPTS": 6,
    "WEBHOOK_RETRY_BASE_DELAY": 30,
    "WEBHOOK_MAX_RETRY_DELAY": 6 * 60 * 60,
    "WEBHOOK_TIMEOUT": 10,  # seconds to connect and to wait for the answer
    # SSRF care: webhooks go to public https:// URLs only unless these allow more.
    "WEBHOOK_ALLOW_HTTP": False,
    "WEBHOOK_ALLOW_PRIVATE": False,
    # SSRF care for providers: their endpoints (HTTP base URLs, a PBX's host) may resolve
    # to public addresses only, except the host names and networks listed here, such as an
    # on-premises PBX: ["pbx.office.lan", "10.20.0.0/16"] (in the environment, a JSON list
    # or names separated by commas). It holds for every account; no widget setting widens it.
    "PROVIDER_PRIVATE_HOSTS": [],
    # Email to the site owner for missed and failed callbacks; off while SMTP_HOST is unset.
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": True,
    "SMTP_SSL": False,
    "SMTP_FROM": None,
    "SMTP_TIMEOUT": 10,
    # Days after which finished callbacks lose the visitor's number and details; 0 keeps them.
    "RETENTION_DAYS": 0,
    # Days the owners' audit log keeps each entry; 0 keeps them all.
    "AUDIT_RETENTION_DAYS": 365,
    # The owners' dashboard: a session ends after this long unused, and after this long
    # in all; its cookie is Secure unless set false here (None: Secure outside development).
    "DASHBOARD_SESSION_IDLE_SECONDS": 12 * 60 * 60,
    "DASHBOARD_SESSION_MAX_SECONDS": 14 * 24 * 60 * 60,
    "DASHBOARD_COOKIE_SECURE": None,
    # Sign-in attempts per client address, and failed ones per email address.
    "DASHBOARD_SIGN_IN_LIMIT_PER_IP": "20 per 10 minutes;100 per day",
    "DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL": "5 per 15 minutes;20 per day",
    # After a right password, this long to enter the second factor's code.
    "DASHBOARD_SECOND_FACTOR_SECONDS": 5 * 60,
    # How long an emailed password reset link and a member invitation stay usable.
    "PASSWORD_RESET_SECONDS": 60 * 60,
    "INVITATION_SECONDS": 7 * 24 * 60 * 60,
    # Funnel analytics: the loader's beacons per client address and per widget, how often
    # each process flushes the counts it holds (beacons, refusals) into the daily rows, and
    # how old a call event must be before the rollup counts it (an id taken by a
    # transaction not yet committed is not passed over).
    "BEACON_LIMIT_PER_IP": "30 per minute;300 per hour",
    "BEACON_LIMIT_PER_WIDGET": "3000 per minute",
    "ANALYTICS_FLUSH_SECONDS": 60,
    "ANALYTICS_SETTLE_SECONDS": 30,
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
        config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'widget_server.core.db'}"
    if not config["QUEUE_BACKEND"]:
        config["QUEUE_BACKEND"] = "redis" if config["REDIS_URL"] else "sqlite"
    if not config["QUEUE_PATH"]:
        config["QUEUE_PATH"] = str(Path(app.instance_path) / "queue.db")
    if not config["RATELIMIT_STORAGE_URI"]:
        config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"] or "memory-incremental://"
    if not config["SECRET_KEY"] and config["ENV"] == "development":
        config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    fallbacks = config["SECRET_KEY_FALLBACKS"]
    if isinstance(fallbacks, str):  # one old key, or several separated by commas
        config["SECRET_KEY_FALLBACKS"] = [key for key in fallbacks.split(",") if key]
    private_hosts = config["PROVIDER_PRIVATE_HOSTS"]
    if isinstance(private_hosts, str):  # one host or network, or several separated by commas
        entries = (entry.strip() for entry in private_hosts.split(","))
        config["PROVIDER_PRIVATE_HOSTS"] = [entry for entry in entries if entry]


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
        "STATUS_TOKEN_SECONDS",
        "LEASE_SECONDS",
        "RECONCILE_GRACE",
        "MAX_CONTENT_LENGTH",
        "WEBHOOK_MAX_ATTEMPTS",
        "WEBHOOK_RETRY_BASE_DELAY",
        "WEBHOOK_MAX_RETRY_DELAY",
        "WEBHOOK_TIMEOUT",
        "SMTP_PORT",
        "SMTP_TIMEOUT",
        "RETENTION_DAYS",
        "AUDIT_RETENTION_DAYS",
        "DASHBOARD_SESSION_IDLE_SECONDS",
        "DASHBOARD_SESSION_MAX_SECONDS",
        "DASHBOARD_SECOND_FACTOR_SECONDS",
        "PASSWORD_RESET_SECONDS",
        "INVITATION_SECONDS",
    ):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{ENV_PREFIX}_{name} must be a whole number ≥ 0, not {value!r}.")
    poll = config["QUEUE_POLL_INTERVAL"]
    if isinstance(poll, bool) or not isinstance(poll, int | float) or not 0 < poll <= 10:
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_POLL_INTERVAL must be seconds in (0, 10].")
    timeout = config["HUMAN_CHECK_TIMEOUT"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ConfigError(f"{ENV_PREFIX}_HUMAN_CHECK_TIMEOUT must be seconds in (0, 60].")
    for name in ("TURNSTILE_VERIFY_URL", "HCAPTCHA_VERIFY_URL"):
        url = config[name]
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigError(f"{ENV_PREFIX}_{name} must be an http(s) URL.")
    _check_live(config)
    base = config["EVENT_BASE_URL"]
    if base is not None and not (
        isinstance(base, str) and base.startswith(("http://", "https://")) and " " not in base
    ):
        raise ConfigError(f"{ENV_PREFIX}_EVENT_BASE_URL must be an absolute http(s) URL.")
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"{ENV_PREFIX}_LOG_FORMAT must be json or text.")
    if config["QUEUE_BACKEND"] not in ("sqlite", "redis", "memory"):
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_BACKEND must be sqlite, redis or memory.")
    if config["QUEUE_BACKEND"] == "redis" and not config["REDIS_URL"]:
        raise ConfigError(f"{ENV_PREFIX}_QUEUE_BACKEND=redis needs {ENV_PREFIX}_REDIS_URL.")
    if config["FORM_TOKEN_MIN_AGE"] >= config["FORM_TOKEN_MAX_AGE"]:
        raise ConfigError(f"{ENV_PREFIX}_FORM_TOKEN_MIN_AGE must be below FORM_TOKEN_MAX_AGE.")
    _check_limits(config)
    _check_owner_notices(config)
    _check_egress(config)
    _check_origins(app)


def _check_egress(config: Any) -> None:
    entries = config["PROVIDER_PRIVATE_HOSTS"]
    if not isinstance(entries, list | tuple):
        raise ConfigError(f"{ENV_PREFIX}_PROVIDER_PRIVATE_HOSTS must be a list of hosts.")
    try:
        egress.EgressPolicy.allowing(entries)
    except ValueError as exc:
        raise ConfigError(
            f"{ENV_PREFIX}_PROVIDER_PRIVATE_HOSTS: {exc} (list host names, IP addresses or "
            "networks such as 10.20.0.0/16)"
        ) from None


def _check_origins(app: Flask) -> None:
    config = app.config
    public = config["PUBLIC_ORIGIN"]
    if public:
        normalised = origins.normalise_origin(public)
        if normalised is None:
            raise ConfigError(
                f"{ENV_PREFIX}_PUBLIC_ORIGIN must be an origin such as "
                f"https://callback.example.com (scheme, host and port only), not {public!r}."
            )
        config["PUBLIC_ORIGIN"] = normalised
    elif config["ENV"] not in NON_PRODUCTION and not config.get("TESTING"):
        raise ConfigError(
            f"{ENV_PREFIX}_PUBLIC_ORIGIN is not set. Set it to the origin visitors reach this "
            "server at, such as https://callback.example.com: every absolute URL the server "
            "hands out starts with it, and only its host is answered. "
            f"(With {ENV_PREFIX}_ENV=development the server runs at {origins.LOCAL_ORIGIN}.)"
        )
    hosts = config["ALLOWED_HOSTS"]
    if isinstance(hosts, str):  # one host, or several separated by commas
        hosts = [host.strip() for host in hosts.split(",") if host.strip()]
    if hosts is not None and not (
        isinstance(hosts, list)
        and hosts
        and all(isinstance(host, str) and origins.split_host(host) for host in hosts)
    ):
        raise ConfigError(
            f"{ENV_PREFIX}_ALLOWED_HOSTS must list host names: name, name:port, or .name "
            "for a name and its subdomains."
        )
    config["ALLOWED_HOSTS"] = hosts
    app.extensions[HOSTS_CONFIGURED] = hosts is not None
    serve_at(app, config["PUBLIC_ORIGIN"] or origins.LOCAL_ORIGIN)


def serve_at(app: Flask, origin: str) -> None:
    """Make `origin` the server's own: absolute URLs start with it, and unless ALLOWED_HOSTS
    is set, its hosts (and EVENT_BASE_URL's) are the ones answered."""
    app.extensions[SERVER_ORIGIN] = origin.rstrip("/")
    if not app.extensions.get(HOSTS_CONFIGURED):
        app.config["ALLOWED_HOSTS"] = origins.server_hosts(origin, app.config["EVENT_BASE_URL"])


def server_origin(app: Flask) -> str:
    """Return the origin every absolute URL of the server starts with (from configuration)."""
    return str(app.extensions[SERVER_ORIGIN])


def _check_owner_notices(config: Any) -> None:
    secure = config["DASHBOARD_COOKIE_SECURE"]
    if secure is not None and not isinstance(secure, bool):
        raise ConfigError(f"{ENV_PREFIX}_DASHBOARD_COOKIE_SECURE must be true or false.")
    for name in ("WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_PRIVATE", "SMTP_STARTTLS", "SMTP_SSL"):
        if not isinstance(config[name], bool):
            raise ConfigError(f"{ENV_PREFIX}_{name} must be true or false.")
    if config["WEBHOOK_MAX_ATTEMPTS"] < 1 or config["WEBHOOK_TIMEOUT"] < 1:
        raise ConfigError(
            f"{ENV_PREFIX}_WEBHOOK_MAX_ATTEMPTS and {ENV_PREFIX}_WEBHOOK_TIMEOUT must be ≥ 1."
        )
    if config["SMTP_HOST"]:
        if config["SMTP_STARTTLS"] and config["SMTP_SSL"]:
            raise ConfigError(
                f"{ENV_PREFIX}_SMTP_STARTTLS and {ENV_PREFIX}_SMTP_SSL exclude each other: "
                "STARTTLS upgrades a plain connection (port 587), SSL starts with TLS (465)."
            )
        if not config["SMTP_FROM"] or "@" not in str(config["SMTP_FROM"]):
            raise ConfigError(f"{ENV_PREFIX}_SMTP_FROM must be an email address with SMTP_HOST.")


def _check_live(config: Any) -> None:
    for name, low, high in (
        ("LIVE_POLL_INTERVAL", 0.05, 30),
        ("LIVE_STREAM_SECONDS", 1, 600),
        ("LIVE_RETRY_MS", 100, 60000),
        ("LIVE_STREAMS_PER_CLIENT", 1, 10000),
        ("LIVE_STREAMS_PER_WORKER", 1, 10000),
    ):
        value = config[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(f"{ENV_PREFIX}_{name} must be a number from {low} to {high}.")
    for name in ("LIVE_STREAMS_PER_CLIENT", "LIVE_STREAMS_PER_WORKER"):
        if not isinstance(config[name], int):
            raise ConfigError(f"{ENV_PREFIX}_{name} must be a whole number.")
    if config["LIVE_STREAMS_PER_CLIENT"] > config["LIVE_STREAMS_PER_WORKER"]:
        raise ConfigError(
            f"{ENV_PREFIX}_LIVE_STREAMS_PER_CLIENT must not exceed LIVE_STREAMS_PER_WORKER."
        )


def _check_limits(config: Any) -> None:
    from limits import parse_many

    for name in (
        "SUBMIT_LIMIT_PER_IP",
        "SUBMIT_LIMIT_PER_NUMBER",
        "SUBMIT_LIMIT_PER_PREFIX",
        "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP",
        "SUBMIT_LIMIT_PER_WIDGET",
        "ADMIN_LIMIT_PER_IP",
        "TEST_CALL_LIMIT_PER_ACCOUNT",
        "ACCOUNT_DAILY_CALL_BUDGET",
        "DAILY_CALL_BUDGET",
        "DAILY_MINUTE_BUDGET",
        "OPTOUT_LIMIT_PER_NUMBER",
        "ESCALATE_AFTER_ACCEPTED",
        "ESCALATE_AFTER_SOURCES",
        "DASHBOARD_SIGN_IN_LIMIT_PER_IP",
        "DASHBOARD_SIGN_IN_LIMIT_PER_EMAIL",
    ):
        try:
            if not parse_many(config[name]):
                raise ValueError("empty")
        except (ValueError, TypeError):
            raise ConfigError(
                f"{ENV_PREFIX}_{name}: {config[name]!r} is not a rate limit such as "
                "'5 per minute;20 per hour'."
            ) from None
