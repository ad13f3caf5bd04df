"""Schemathesis against /v1/openapi.json, in process through the WSGI app.

Every documented operation gets generated requests: schema-valid ones (positive) and
schema-breaking ones (negative), sent anonymously, with a wrong key, and with a real key as
`X-Auth-Token` or `Authorization: Bearer`, aimed at random ids or at the key's own account
and clicktocall. Each answer must not be a 5xx and must match the document: status code,
content type, headers and body schema. No answer and no log line may carry the API key or a
provider secret.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fakes import twilio_messages
from tests.helpers import ORIGIN, SERVER, form_token
from widget_server.core import db
from widget_server.core.models import Account
from widget_server.owners import admin

# Schema-valid cases per operation, and schema-breaking ones per operation that takes a JSON
# body or a query string: about 1,100 requests in all (routes without parameters have fewer
# distinct cases). SCHEMATHESIS_SCALE multiplies both for a longer run.
SCALE = float(os.environ.get("SCHEMATHESIS_SCALE", "1"))
POSITIVE_CASES = round(50 * SCALE)
NEGATIVE_CASES = round(25 * SCALE)
MINIMUM_CASES = 1000
# Who sends the request. Hypothesis favours the first entries, so the real key comes first
# and most admin cases get past authentication.
IDENTITIES = ["X-Auth-Token", "Bearer", "anonymous", "wrong key", "generated"]
PROVIDER_SECRET = "whsec-fuzz-0123456789abcdef"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class World:
    """An account with a key, a public and a keyed clicktocall, and a callback to look at."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        with app.app_context():
            session = db.session()
            account = Account(name="Fuzz")
            session.add(account)
            session.flush()
            _record, self.key = admin.create_key(session, account.id, "schemathesis")
            session.commit()
            self.account = account.id
        self.widget = self.create_widget(auth_required=False)
        self.keyed_widget = self.create_widget(auth_required=True)
        accepted = self.client.post(
            f"/v1/widgets/{self.widget}/callbacks",
            json={"phone": "+1 201 555 0123", "token": form_token(self.client, self.widget)},
            headers={"Origin": ORIGIN},
        )
        assert accepted.status_code == 202, accepted.get_json()
        self.status_token = accepted.get_json()["status_url"].rsplit("/", 1)[-1]

    def create_widget(self, **properties: Any) -> str:
        data = {
            "name": "Sales",
            "extension": "1001",
            "allowed_regions": ["US"],
            "default_region": "US",
            "allowed_origins": [ORIGIN, SERVER],
            "provider": "webhook",
            "provider_settings": {"url": "https://hooks.example.com/x", "secret": PROVIDER_SECRET},
            **properties,
        }
        response = self.client.put(
            f"/v1/accounts/{self.account}/clicktocall",
            json={"data": data},
            headers={"X-Auth-Token": self.key},
        )
        assert response.status_code == 200, response.get_json()
        return str(response.get_json()["data"]["id"])

    def headers(self, generated: dict[str, Any] | None, identity: str, origin: str) -> Any:
        """The generated headers with this identity's credentials and this Origin."""
        headers = dict(generated or {})
        if identity != "generated":
            # Replace whatever credentials Schemathesis generated from the security schemes.
            headers.pop("X-Auth-Token", None)
            headers.pop("Authorization", None)
            headers.update(
                {
                    "anonymous": {},
                    "wrong key": {"X-Auth-Token": "wsk_000000000000_not-a-real-key"},
                    "X-Auth-Token": {"X-Auth-Token": self.key},
                    "Bearer": {"Authorization": f"Bearer {self.key}"},
                }[identity]
            )
        if origin:
            headers["Origin"] = origin
        return headers

    def known_ids(self, operation: Any) -> dict[str, str]:
        names = {p.name for p in operation.path_parameters}
        known = {"account_id": self.account, "widget_id": self.widget, "token": self.status_token}
        return {name: value for name, value in known.items() if name in names}


def _run(
    world: World, operation: Any, mode: GenerationMode, cases: int, counts: Counter[tuple[str, int]]
) -> None:
    method = operation.method.upper()
    label = f"{method} {operation.path}"
    names = {p.name for p in operation.path_parameters}
    changes_widget = method != "GET" and operation.path.endswith("/clicktocall/{widget_id}")
    strategies = [operation.as_strategy(generation_mode=mode)]
    if names:
        # Aim most cases at ids that exist, so validation and success paths are reached.
        known = world.known_ids(operation)
        aimed = operation.as_strategy(generation_mode=mode, path_parameters=known)
        strategies = [aimed, aimed, *strategies]

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=st.one_of(strategies),
        identity=st.sampled_from(IDENTITIES),
        origin=st.sampled_from([ORIGIN, SERVER, ""]),
        fresh_token=st.booleans(),
    )
    def check(case: Any, identity: str, origin: str, fresh_token: bool) -> None:
        if changes_widget and case.path_parameters.get("widget_id") == world.widget:
            # Change or delete a fresh clicktocall, not the one the other cases aim at.
            case.path_parameters["widget_id"] = world.create_widget()
        if fresh_token and isinstance(case.body, dict) and "widget_id" in names:
            # A real form token lets positive cases reach the number policy and the queue.
            target = case.path_parameters["widget_id"]
            if target == world.widget:
                token = form_token(world.client, target)
                if "phone" in case.body:
                    case.body["token"] = token
                elif isinstance(case.body.get("data"), dict):
                    case.body["data"]["token"] = token
        case.headers = world.headers(case.headers, identity, origin)
        response = case.call_and_validate(checks=CHECKS)
        counts[(label, response.status_code)] += 1
        text = response.content.decode("utf-8", "replace")
        assert world.key not in text and world.key not in str(response.headers)
        assert PROVIDER_SECRET not in text

    try:
        check()
    except Unsatisfiable:
        # Nothing to negate (no body, query or header parameters to break): positive only.
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.fixture
def world(make_app: Callable[..., Flask]) -> Iterator[World]:
    # Limits stay on (and documented 429s may appear) but high enough that most cases
    # reach the code behind them. Opt-out codes would be texted through a local fake.
    with twilio_messages.Fake() as texts:
        yield World(
            make_app(
                SUBMIT_LIMIT_PER_IP="100000 per minute",
                ADMIN_LIMIT_PER_IP="100000 per minute",
                OPTOUT_LIMIT_PER_NUMBER="100000 per minute",
                **texts.settings(),
            )
        )


def _negatable(operation: Any) -> bool:
    """JSON bodies and query strings have something to break; form bodies are slow to negate."""
    json_body = any(body.media_type == "application/json" for body in operation.body)
    return json_body or any(True for _ in operation.query)


def test_every_route_matches_the_openapi_document(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="widget_server")
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", world.app)
    counts: Counter[tuple[str, int]] = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    started = time.perf_counter()
    for operation in operations:
        _run(world, operation, GenerationMode.POSITIVE, POSITIVE_CASES, counts)
        if _negatable(operation):
            _run(world, operation, GenerationMode.NEGATIVE, NEGATIVE_CASES, counts)
    total = sum(counts.values())
    elapsed = time.perf_counter() - started
    covered = sorted({label for label, _status in counts})
    print(f"\nschemathesis: {total} cases over {len(covered)} operations in {elapsed:.0f} s")
    for label in covered:
        answers = {status: n for (name, status), n in sorted(counts.items()) if name == label}
        print(f"  {sum(answers.values()):5d}  {label}  {answers}")
    assert len(covered) == len(operations) >= 23
    assert total >= MINIMUM_CASES, total
    # Neither the key nor a provider secret reached any log line either.
    assert world.key not in caplog.text and PROVIDER_SECRET not in caplog.text
    assert any("clicktocall created" in r.getMessage() for r in caplog.records)
