"""The baseline for throughput: a bare Flask "hello" route (gunicorn hello:app)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> str:
    return "hello"
