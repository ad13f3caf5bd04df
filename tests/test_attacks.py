"""Attack suite: count the calls the provider actually received under each abuse pattern."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import phonenumbers
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.helpers import ORIGIN, SECRET, add_widget, callbacks, form_token, run_jobs, scrape
from widget_server.calls import blocklist
from widget_server.core import db
from widget_server.core.models import Lease
from widget_server.core.tokens import FORM_SALT, STATUS_SALT
from widget_server.intake.phone_policy import NumberPolicy, PolicyRefusal, check

DEFAULT_LIMITS = {  # the server's real defaults, not the relaxed ones of other tests
    "SUBMIT_LIMIT_PER_NUMBER": "1 per 10 minutes;3 per day",
    "SUBMIT_LIMIT_PER_PREFIX": "10 per hour;30 per day",
    "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "3 per hour",
    "SUBMIT_LIMIT_PER_WIDGET": "60 per hour;300 per day",
}


def post(app: Flask, widget_id: str, phone: str, address: str = "198.51.100.7") -> int:
    client = app.test_client()
    token = form_token(client, widget_id)
    return client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": phone, "token": token},
        headers={"Origin": ORIGIN},
        environ_base={"REMOTE_ADDR": address},
    ).status_code


def counting_widget(app: Flask, **properties: Any) -> str:
    return add_widget(app, provider="counting", provider_settings={}, **properties)


def test_one_destination_from_fifty_addresses_is_called_at_most_once(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(**DEFAULT_LIMITS)
    widget_id = counting_widget(app)
    statuses = [post(app, widget_id, "+1 201 555 0123", f"203.0.113.{i}") for i in range(50)]
    run_jobs(app)
    assert statuses.count(202) == 1
    assert len(calls) == 1


def test_one_address_trying_twenty_numbers_gets_its_allowance_only(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(**DEFAULT_LIMITS, SUBMIT_LIMIT_PER_IP="5 per minute;20 per hour")
    widget_id = counting_widget(app)
    for i in range(20):
        post(app, widget_id, f"+1 201 555 {100 + i:04d}")
    run_jobs(app)
    assert len(calls) == 3  # distinct numbers per client per hour


def test_appended_digits_land_in_one_prefix_bucket(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(**{**DEFAULT_LIMITS, "SUBMIT_LIMIT_PER_PREFIX": "2 per hour"})
    widget_id = counting_widget(app)
    for i in range(10):  # +1 201 555 01xx all share the 8-digit prefix +12015550
        post(app, widget_id, f"+1 201 555 {i:04d}", f"203.0.113.{i}")
    run_jobs(app)
    assert len(calls) == 2


@pytest.mark.parametrize("kind", ["PREMIUM_RATE", "SHARED_COST", "UAN"])
def test_high_cost_numbers_of_every_region_are_never_called(
    app: Flask, calls: list, kind: str
) -> None:
    number_type = getattr(phonenumbers.PhoneNumberType, kind)
    examples = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is not None:
            examples.append(
                (region, phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
            )
    regions = sorted({region for region, _ in examples})
    widget_id = counting_widget(app, default_region=regions[0], allowed_regions=regions)
    statuses = {
        post(app, widget_id, number, f"10.0.{i // 250}.{i % 250}")
        for i, (_, number) in enumerate(examples)
    }
    run_jobs(app)
    assert statuses == {422}
    assert calls == []


def test_daily_budget_stops_every_further_call(make_app: Callable[..., Flask], calls: list):
    app = make_app(DAILY_CALL_BUDGET="3 per day")
    first, second = counting_widget(app), counting_widget(app)
    statuses = [
        post(app, first if i % 2 else second, f"+1 201 555 {i:04d}", f"10.1.0.{i}")
        for i in range(8)
    ]
    run_jobs(app)
    assert statuses[:3] == [202, 202, 202] and set(statuses[3:]) == {429}
    assert len(calls) == 3


def test_lost_provider_events_expire_the_lease_but_not_the_number_limit(
    make_app: Callable[..., Flask], calls: list
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_NUMBER="1 per 10 minutes")
    widget_id = counting_widget(app, throttle=1)
    assert post(app, widget_id, "+1 201 555 0123") == 202
    run_jobs(app)  # the call rings, and the provider never says how it ended
    assert post(app, widget_id, "+1 201 555 0199") == 429  # throttle: one call in progress
    with app.app_context():
        session = db.session()
        for lease in session.query(Lease):
            lease.expires_at -= timedelta(hours=1)
        session.commit()
    assert post(app, widget_id, "+1 201 555 0199") == 202  # the lease expired
    assert post(app, widget_id, "+1 201 555 0123", "10.9.9.9") == 429  # number limit holds
    run_jobs(app)
    assert len(calls) == 2


def test_a_finished_call_frees_its_throttle_slot(app: Flask) -> None:
    widget_id = add_widget(app, throttle=1)
    assert post(app, widget_id, "+1 201 555 0123") == 202
    run_jobs(app)  # the simulator walks the call to "completed"
    assert post(app, widget_id, "+1 201 555 0124") == 202


def test_opted_out_and_blocked_numbers_look_accepted_and_are_never_called(
    app: Flask, calls: list
) -> None:
    widget_id = counting_widget(app)
    with app.app_context():
        session = db.session()
        blocklist.add(session, "optout", "+12015550123")
        blocklist.add(session, "prefix", "+1201555099")
        blocklist.add(session, "number", "+12015550150", expires_at=None)
        session.commit()
    for number in ("+1 201 555 0123", "+1 201 555 0991", "+1 201 555 0150"):
        assert post(app, widget_id, number) == 202
    run_jobs(app)
    assert calls == []
    # Stored for the owner, each with its cause, and never dialled.
    assert [(c.visitor_number, c.status, c.cause, c.attempts) for c in callbacks(app)] == [
        ("+12015550123", "rejected", "opted_out", 0),
        ("+12015550991", "rejected", "blocked_prefix", 0),
        ("+12015550150", "rejected", "blocked_number", 0),
    ]


def test_blocked_addresses_are_refused(app: Flask, calls: list) -> None:
    widget_id = counting_widget(app)
    with app.app_context():
        session = db.session()
        blocklist.add(session, "ip", "198.51.100.0/24")
        session.commit()
    assert post(app, widget_id, "+1 201 555 0123", "198.51.100.77") == 429
    assert post(app, widget_id, "+1 201 555 0123", "192.0.2.1") == 202


def test_rate_limit_store_down_fails_closed(make_app: Callable[..., Flask], calls: list):
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    widget_id = counting_widget(app)
    client = app.test_client()
    config = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert config.status_code == 200  # read-only routes keep working
    response = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": "+1 201 555 0123", "token": config.get_json()["token"]},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    run_jobs(app)
    assert calls == [] and callbacks(app) == []


def test_a_missing_client_address_still_counts(make_app: Callable[..., Flask]) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    assert post(app, widget_id, "+1 201 555 0123", "") == 202
    assert post(app, widget_id, "+1 201 555 0124", "") == 429


POLICY = NumberPolicy("US", ["US", "ZA"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"\+1 ?[2-9]\d{2} ?[2-9]\d{2} ?\d{4}", fullmatch=True),
            st.from_regex(r"0[1-9]\d{8}", fullmatch=True),
            st.text(max_size=20),
            st.sampled_from(["+1 900 555 0199", "+27 86 123 4567", "911", "+44 20 7946 0958"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_calls_never_exceed_acceptances_nor_reach_refused_numbers(
    make_app: Callable[..., Flask], calls: list, phones: list[str]
) -> None:
    app = make_app()
    widget_id = counting_widget(app, allowed_regions=["US", "ZA"])
    before = len(calls)
    accepted = sum(
        post(app, widget_id, phone, f"10.2.0.{i}") == 202 for i, phone in enumerate(phones)
    )
    run_jobs(app)
    placed = calls[before:]
    assert len(placed) <= accepted
    for call in placed:
        check(call.visitor_e164, POLICY)  # raises PolicyRefusal if it should not be called
    app.extensions["db_engine"].dispose()
    time.sleep(0)


def test_policy_refusal_type_is_what_the_invariant_relies_on() -> None:
    with pytest.raises(PolicyRefusal):
        check("+1 900 555 0199", POLICY)


# Form tokens and the honeypot, counted in calls the provider received -------------------


def _post_token(app: Flask, widget_id: str, token: str, phone: str = "+1 201 555 0123") -> int:
    return (
        app.test_client()
        .post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": phone, "token": token},
            headers={"Origin": ORIGIN},
        )
        .status_code
    )


def test_one_form_token_twice_in_a_row_places_one_call(app: Flask, calls: list) -> None:
    widget_id = counting_widget(app)
    token = form_token(app.test_client(), widget_id)
    # The second use gets the first answer again (idempotent), never a second call, even
    # with another number in the body.
    statuses = [
        _post_token(app, widget_id, token, phone)
        for phone in ("+1 201 555 0123", "+1 201 555 0199")
    ]
    run_jobs(app)
    assert statuses == [202, 202]
    assert len(callbacks(app)) == 1 and len(calls) == 1


def test_one_form_token_twenty_times_concurrently_places_one_call(app: Flask, calls: list) -> None:
    widget_id = counting_widget(app)
    token = form_token(app.test_client(), widget_id)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(
            pool.map(lambda i: _post_token(app, widget_id, token, f"+1 201 555 {i:04d}"), range(20))
        )
    run_jobs(app)
    assert set(statuses) <= {202, 409} and 202 in statuses
    assert len(callbacks(app)) == 1 and len(calls) == 1


def _timed_token(secret: str, salt: str, payload: object, at: float) -> str:
    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(at)

    return URLSafeTimedSerializer(secret, salt=salt, signer=ClockedSigner).dumps(payload)


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda w: _timed_token(
                SECRET, FORM_SALT, {"w": w, "o": ORIGIN, "n": "a" * 32}, time.time() - 3 * 3600
            ),
            id="past-max-age",
        ),
        pytest.param(
            lambda w: _timed_token(
                SECRET, FORM_SALT, {"w": w, "o": ORIGIN, "n": "b" * 32}, time.time() + 3600
            ),
            id="from-the-future",
        ),
        pytest.param(
            lambda w: _timed_token(
                SECRET, STATUS_SALT, {"w": w, "o": ORIGIN, "n": "c" * 32}, time.time()
            ),
            id="another-purpose",
        ),
        pytest.param(
            lambda w: _timed_token(
                SECRET, FORM_SALT, {"w": "f" * 32, "o": ORIGIN, "n": "d" * 32}, time.time()
            ),
            id="another-widget",
        ),
    ],
)
def test_bad_form_tokens_place_no_call(
    app: Flask, calls: list, make_token: Callable[[str], str]
) -> None:
    widget_id = counting_widget(app)
    assert _post_token(app, widget_id, make_token(widget_id)) == 422
    run_jobs(app)
    assert calls == [] and callbacks(app) == []


def test_a_filled_honeypot_looks_accepted_and_places_no_call(app: Flask, calls: list) -> None:
    widget_id = counting_widget(app)
    response = app.test_client().post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={
            "phone": "+1 201 555 0123",
            "token": form_token(app.test_client(), widget_id),
            "website": "https://spam.example",
        },
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    run_jobs(app)
    assert calls == []
    assert [(c.status, c.cause) for c in callbacks(app)] == [("rejected", "honeypot")]


def test_a_reached_budget_refuses_everything_until_its_window_frees_up(
    make_app: Callable[..., Flask], calls: list, caplog: pytest.LogCaptureFixture
) -> None:
    # The same moving window as "2000 per day", shortened so the reset can be watched.
    app = make_app(DAILY_CALL_BUDGET="2 per 2 seconds")
    widget_id = counting_widget(app)
    numbers = iter(f"+1 201 555 {i:04d}" for i in range(100))
    assert [post(app, widget_id, next(numbers), f"10.2.0.{i}") for i in range(2)] == [202, 202]
    refused = [post(app, widget_id, next(numbers), f"10.2.1.{i}") for i in range(5)]
    assert refused == [429] * 5
    assert "budget reached (server_budget)" in caplog.text
    metrics = scrape(app.test_client())
    assert 'widget_server_refusals_total{reason="server_budget"}' in metrics
    time.sleep(2.1)
    assert post(app, widget_id, next(numbers), "10.2.2.1") == 202  # the window freed up
    run_jobs(app)
    assert len(calls) == 3
