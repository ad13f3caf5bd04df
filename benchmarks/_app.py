"""Build a throwaway widget server (SQLite database and queue) for a benchmark run."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import add_widget, base_config, migrated_copy  # noqa: E402
from widget_server import create_app  # noqa: E402


def bench_app(provider: str = "simulator", **config: Any) -> tuple[Flask, str, Path]:
    """Return (app, widget id, folder) on a migrated SQLite database (SQLite queue unless
    `config` says otherwise)."""
    folder = Path(tempfile.mkdtemp(prefix="widget-server-bench-"))
    migrated_copy(folder)
    defaults: dict[str, Any] = {
        "QUEUE_BACKEND": "sqlite",
        "QUEUE_PATH": str(folder / "queue.db"),
        "SUBMIT_LIMIT_PER_IP": "1000000 per minute",
        "SUBMIT_LIMIT_PER_NUMBER": "1000000 per minute",
    }
    settings = base_config(folder, **{**defaults, **config})  # config may pick another queue
    app = create_app(settings)
    widget_id = add_widget(app, provider=provider, provider_settings={"step_delay": 0.5})
    return app, widget_id, folder
