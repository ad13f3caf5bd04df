"""The naive implementation of a submission's checks, shared by the benchmarks that compare
against it: JSON parse, itsdangerous loads, phonenumbers parse and validate, one moving-window
hit and one Core INSERT, as a tiny Flask app on the same database and kind of limit store.

In process: `naive_app(database_url, limits_uri, secret)`. Under gunicorn, configured by the
same environment as the product (`gunicorn '_naive:from_environment()'`).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import phonenumbers  # noqa: E402
from flask import Flask, abort, request  # noqa: E402
from itsdangerous import BadData, URLSafeTimedSerializer  # noqa: E402
from limits import parse  # noqa: E402
from limits.storage import storage_from_string  # noqa: E402
from limits.strategies import MovingWindowRateLimiter  # noqa: E402
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine  # noqa: E402

from widget_server.intake import limit_store  # noqa: E402  (registers the embedded store)

HIGH = "100000000 per minute"
SALT = "naive-form-token"
PATH = "/naive/{widget_id}"


def naive_app(database_url: str, limits_uri: str, secret: str) -> tuple[Flask, Engine]:
    """The same checks written plainly: what a submission would cost without the product."""
    engine = create_engine(database_url)
    table = Table(
        "naive_callbacks",
        MetaData(),
        Column("id", String(32), primary_key=True),
        Column("widget_id", String(32)),
        Column("visitor_number", String(20)),
    )
    table.create(engine, checkfirst=True)
    serializer = serializer_for(secret)
    window = MovingWindowRateLimiter(storage_from_string(limits_uri))
    per_ip = parse(HIGH)
    app = Flask("naive")
    counter = itertools.count()

    @app.post(PATH.replace("{widget_id}", "<widget_id>"))
    def submit(widget_id: str) -> tuple[dict[str, str], int]:
        body = json.loads(request.get_data())
        try:
            serializer.loads(body["token"], max_age=3600)
        except BadData:
            abort(422)
        number = phonenumbers.parse(body["phone"], "US")
        if not phonenumbers.is_valid_number(number):
            abort(422)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not window.hit(per_ip, "naive", request.remote_addr or ""):
            abort(429)
        callback_id = f"{os.getpid():x}{next(counter):024x}"
        with engine.begin() as connection:
            connection.execute(
                table.insert().values(id=callback_id, widget_id=widget_id, visitor_number=e164)
            )
        return {"id": callback_id}, 202

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app, engine


def serializer_for(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def limits_uri_from(environ: dict[str, str]) -> str:
    """The limit store the product would use with this environment."""
    return environ.get("WIDGET_SERVER_REDIS_URL") or limit_store.URI


def from_environment() -> Flask:
    """gunicorn's factory: the product's database, limit store and secret, from its settings."""
    environ = dict(os.environ)
    app, _engine = naive_app(
        environ["WIDGET_SERVER_DATABASE_URL"],
        limits_uri_from(environ),
        environ["WIDGET_SERVER_SECRET_KEY"],
    )
    return app


def token_files(folder: Path, secret: str, widget_id: str, numbers: list[str], threads: int) -> str:
    """Write `<prefix>-<n>.txt` files of "token<TAB>number" lines as submit.lua reads them,
    each token minted as the naive app checks it; return the prefix."""
    serializer = serializer_for(secret)
    per_thread = len(numbers) // threads
    for thread in range(threads):
        part = numbers[thread * per_thread : (thread + 1) * per_thread]
        lines = [f"{serializer.dumps({'w': widget_id})}\t{phone}" for phone in part]
        (folder / f"naive-tokens-{thread}.txt").write_text("\n".join(lines) + "\n")
    return str(folder / "naive-tokens")
