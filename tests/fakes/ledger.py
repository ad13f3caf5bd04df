"""A site-owner webhook receiver that keeps a ledger of attempts by idempotency key.

It answers the webhook provider's originate and its status query (see
widget_server/providers/webhook.py), and can hold originates: the request arrives, is
recorded as a placed call, and gets no answer until released — the moment a worker dies
in the fault tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.base import json_response
from tests.fakes.server import serve_wsgi
from tests.fakes.webhook import SECRET, reference_verify


class Ledger:
    """Calls placed by key; `hold` makes originates wait until `release()`."""

    def __init__(self) -> None:
        self.calls: dict[str, str] = {}  # idempotency key -> call id
        self.originates: list[str] = []  # idempotency keys, one per originate received
        self.status_queries: list[str] = []
        self.state = "completed"  # what a status query reports for a placed call
        self.hold = False
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.url = ""

    def settings(self, **overrides: Any) -> dict[str, Any]:
        values = {
            "url": f"{self.url}/originate",
            "status_url": f"{self.url}/status",
            "secret": SECRET,
            "connect_timeout": 1.0,
            "read_timeout": 2.0,
        }
        values.update(overrides)
        return values

    def originates_for(self, callback_id: str) -> int:
        return sum(1 for key in self.originates if key.startswith(f"{callback_id}-"))

    def release(self) -> None:
        self._released.set()

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        signed = reference_verify(
            SECRET, request.headers.get("X-Widget-Server-Signature", ""), body
        )
        if not signed:
            return json_response(401, {"error": "signature refused"})(environ, start_response)
        payload = json.loads(body)
        key = str(payload.get("idempotency_key"))
        if request.path == "/status":
            return self._status(key)(environ, start_response)
        with self._lock:
            self.originates.append(key)
            call_id = self.calls.setdefault(key, f"ledger-{len(self.calls) + 1}")
        if self.hold:
            self.arrived.set()
            self._released.wait(60)
        return json_response(200, {"call_id": call_id, "status": "agent_ringing"})(
            environ, start_response
        )

    def _status(self, key: str) -> Response:
        with self._lock:
            self.status_queries.append(key)
            call_id = self.calls.get(key)
        if call_id is None:
            return json_response(404, {"error": "no such attempt"})
        return json_response(200, {"status": self.state, "call_id": call_id})


@contextmanager
def serve_ledger() -> Iterator[Ledger]:
    ledger = Ledger()
    with serve_wsgi(ledger.app) as url:
        ledger.url = url
        try:
            yield ledger
        finally:
            ledger.release()
