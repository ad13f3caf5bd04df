"""A live widget server (web + in-process queue consumer) and a host page on another origin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.helpers import add_widget, base_config, migrated_copy
from widget_server import create_app
from widget_server.core.settings import serve_at


@dataclass
class LiveServer:
    app: Flask
    url: str
    widget_id: str


def _serve(app: Any, host: str) -> tuple[Any, threading.Thread]:
    server = make_server(host, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@contextmanager
def live_server(
    tmp_path: Path,
    host_origins: list[str],
    step_delay: float = 1.0,
    widget: dict[str, Any] | None = None,
    **config: Any,
) -> Iterator[LiveServer]:
    """Run the widget server on localhost with a real SQLite queue and consumer threads."""
    migrated_copy(tmp_path)
    settings = base_config(
        tmp_path, QUEUE_BACKEND="sqlite", QUEUE_PATH=str(tmp_path / "queue.db"), **config
    )
    app = create_app(settings)
    server, thread = _serve(app, "127.0.0.1")
    url = f"http://localhost:{server.server_port}"
    # Known once the server listens: its origin, for absolute URLs and the hosts answered.
    app.config["PUBLIC_ORIGIN"] = url
    serve_at(app, url)
    widget_id = add_widget(
        app,
        allowed_origins=[*host_origins, url],
        provider_settings={"step_delay": step_delay, "talk_time": step_delay},
        **(widget or {}),
    )
    consumer = app.extensions["jobs"].consumer(in_process=True)
    consumer.start()
    try:
        yield LiveServer(app, url, widget_id)
    finally:
        consumer.stop(graceful=True)
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["db_engine"].dispose()


@contextmanager
def host_site(
    pages: dict[str, tuple[str, str]], headers: dict[str, str] | None = None
) -> Iterator[str]:
    """Serve fixed pages {path: (content type, body)} from another origin (127.0.0.1)."""

    @Request.application
    def site(request: Request) -> Response:
        content_type, body = pages.get(request.path, ("text/plain", "not found"))
        status = 200 if request.path in pages else 404
        return Response(body, status=status, content_type=content_type, headers=headers or {})

    server, thread = _serve(site, "127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
