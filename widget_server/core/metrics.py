"""Prometheus metrics: requests, callbacks, refusals, provider calls, the queue.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR to an empty folder shared by
them; /metrics then aggregates every process (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from .errors import NotFound, Unauthorized

REQUESTS = Counter(
    "widget_server_requests_total", "HTTP requests by route and status", ["route", "status"]
)
REQUEST_SECONDS = Histogram("widget_server_request_seconds", "HTTP request duration", ["route"])
CALLBACK_STATUS = Counter(
    "widget_server_callback_status_total", "Callback status changes by new status", ["status"]
)
REFUSALS = Counter("widget_server_refusals_total", "Refused submissions by reason", ["reason"])
HUMAN_CHECKS = Counter(
    "widget_server_human_checks_total",
    "Human-check verifications by kind and outcome (passed, or the refusal reason)",
    ["kind", "outcome"],
)
PROVIDER_SECONDS = Histogram(
    "widget_server_provider_originate_seconds", "Time a provider took to originate", ["provider"]
)
PROVIDER_ERRORS = Counter(
    "widget_server_provider_errors_total",
    "Provider errors by provider and cause",
    ["provider", "cause"],
)
JOB_LATENCY = Histogram(
    "widget_server_dial_job_latency_seconds",
    "Time from accepting a callback to its originate",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RECONCILED = Counter(
    "widget_server_reconciled_total",
    "Stale callbacks settled by the reconciler, by outcome",
    ["outcome"],
)

QUEUE_DEPTH = Gauge("widget_server_queue_depth", "Jobs waiting in the queue")


def refused(reason: str) -> None:
    REFUSALS.labels(reason).inc()
    if has_request_context():
        g.refused_reason = reason  # the analytics tally counts the refusal under it


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        REQUESTS.labels(route, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
        return response

    # Read at scrape time, inside the /metrics request of whichever app serves it.
    QUEUE_DEPTH.set_function(lambda: float(current_app.extensions["jobs"].huey.pending_count()))

    @app.get("/metrics")
    def metrics() -> Response:
        _authorise_scrape()
        registry: CollectorRegistry | None = None
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry) if registry else generate_latest()
        return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _authorise_scrape() -> None:
    """Let only the operator's scraper read the counters (constant-time token check)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        raise NotFound()
    presented = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Unauthorized()
