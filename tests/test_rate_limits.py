"""Rate limits: per client IP (flask-limiter) and per destination number (limits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select

from tests.helpers import add_widget, callbacks, form_token, submit_json
from tests.processes import private_redis
from widget_server.core import db
from widget_server.core.errors import TooManyRequests
from widget_server.core.models import Lease, Widget
from widget_server.intake import guard, pressure
from widget_server.intake.guard import hit_limits


def test_per_ip_limit_answers_429_json_with_retry_after(make_app: Callable[..., Flask]) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="2 per minute")
    widget_id = add_widget(app)
    client = app.test_client()
    numbers = ["+1 201 555 0123", "+1 201 555 0124", "+1 201 555 0125"]
    statuses = [submit_json(client, widget_id, phone=n).status_code for n in numbers]
    assert statuses == [202, 202, 429]
    refused = submit_json(client, widget_id, phone="+1 201 555 0126")
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert len(callbacks(app)) == 2


def test_requests_the_cheap_checks_refuse_use_up_none_of_the_allowance(
    make_app: Callable[..., Flask],
) -> None:
    # Counted once origin, input, number and form token passed: a bot's refused requests
    # cost no more than a 429 would, and leave the people behind its address their share.
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    client = app.test_client()
    token = form_token(client, widget_id)
    refused = [
        submit_json(client, widget_id, phone="+1 201 555").status_code,
        submit_json(client, widget_id, token="forged").status_code,
        submit_json(client, widget_id, origin="https://elsewhere.example", token=token).status_code,
    ]
    assert refused == [422, 422, 403]
    assert submit_json(client, widget_id, phone="+1 201 555 0123").status_code == 202
    assert submit_json(client, widget_id, phone="+1 201 555 0124").status_code == 429


def test_per_ip_limit_groups_ipv6_by_64(make_app: Callable[..., Flask]) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    client = app.test_client()

    def from_address(address: str, phone: str) -> int:
        token = form_token(client, widget_id)
        return client.post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": phone, "token": token},
            headers={"Origin": "https://shop.example.com"},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    assert from_address("2001:db8:1:2::1", "+1 201 555 0123") == 202
    assert from_address("2001:db8:1:2:ffff::9", "+1 201 555 0124") == 429  # same /64
    assert from_address("2001:db8:1:3::1", "+1 201 555 0125") == 202  # another /64


def test_forged_forwarded_for_does_not_change_the_key_without_proxies(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    client = app.test_client()
    statuses = []
    for i, phone in enumerate(["+1 201 555 0123", "+1 201 555 0124"]):
        token = form_token(client, widget_id)
        statuses.append(
            client.post(
                f"/v1/widgets/{widget_id}/callbacks",
                json={"phone": phone, "token": token},
                headers={"Origin": "https://shop.example.com", "X-Forwarded-For": f"10.0.0.{i}"},
            ).status_code
        )
    assert statuses == [202, 429]


def test_one_trusted_proxy_hop_keys_by_the_forwarded_client(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute", PROXY_HOPS=1)
    widget_id = add_widget(app)
    client = app.test_client()
    statuses = []
    for forwarded, phone in [
        ("198.51.100.1", "+1 201 555 0123"),
        ("198.51.100.2", "+1 201 555 0124"),
        ("203.0.113.9, 198.51.100.2", "+1 201 555 0125"),
    ]:
        token = form_token(client, widget_id)
        statuses.append(
            client.post(
                f"/v1/widgets/{widget_id}/callbacks",
                json={"phone": phone, "token": token},
                headers={"Origin": "https://shop.example.com", "X-Forwarded-For": forwarded},
            ).status_code
        )
    # Only the last hop is trusted: the third request is the same client as the second.
    assert statuses == [202, 202, 429]


def test_per_number_limit_holds_across_widgets_and_ips(make_app: Callable[..., Flask]) -> None:
    app = make_app(SUBMIT_LIMIT_PER_NUMBER="1 per 10 minutes;3 per day")
    first, second = add_widget(app), add_widget(app)
    client = app.test_client()
    assert submit_json(client, first).status_code == 202
    again = submit_json(client, second)
    assert again.status_code == 429
    # The same answer as every other limit: nothing tells which one tripped.
    assert again.get_json()["message"] == (
        "We can't take this request right now. Please try again later."
    )
    assert submit_json(client, second, phone="+1 201 555 0199").status_code == 202
    assert len(callbacks(app)) == 2


def test_throttle_caps_calls_in_progress(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    widget_id = add_widget(app, throttle=1)
    client = app.test_client()
    assert submit_json(client, widget_id).status_code == 202
    assert submit_json(client, widget_id, phone="+1 201 555 0124").status_code == 429


def test_a_refusal_spends_its_token_and_gives_back_its_leases(
    make_app: Callable[..., Flask],
) -> None:
    # The token, the leases and the callback share one transaction: a refusal after the
    # leases were taken must still store the token as used, and must keep no lease.
    app = make_app(SUBMIT_LIMIT_PER_WIDGET="1 per minute")
    widget_id = add_widget(app, throttle=2)
    client = app.test_client()
    assert submit_json(client, widget_id).status_code == 202
    token = form_token(client, widget_id)
    refused = submit_json(client, widget_id, phone="+1 201 555 0124", token=token)
    assert refused.status_code == 429  # the widget limit, after both leases were taken
    with app.app_context():
        held = db.session().scalars(select(Lease.key)).all()
    assert len(held) == 2  # the first callback's widget slot and number, nothing more
    again = submit_json(client, widget_id, phone="+1 201 555 0124", token=token)
    assert again.status_code == 409  # token_reused
    assert len(callbacks(app)) == 1


def test_limits_in_redis_count_exactly_as_hit_by_hit(make_app: Callable[..., Flask]) -> None:
    # In Redis every hit of a submission runs in one script; it must refuse for the same
    # reasons, in the same order, and count the same hits as the memory store's loop.
    settings = {
        "SUBMIT_LIMIT_PER_NUMBER": "2 per minute",
        "SUBMIT_LIMIT_DISTINCT_NUMBERS_PER_IP": "3 per minute; 4 per hour",
        "SUBMIT_LIMIT_PER_WIDGET": "7 per minute",
        "DAILY_MINUTE_BUDGET": "17 per day",  # 3 estimated minutes a call: 5 calls
    }
    numbers = [f"+1201555{n:04d}" for n in (1, 1, 1, 2, 3, 2, 4, 5, 6, 2, 3, 3)]
    seen: dict[str, list[str | None]] = {}
    with private_redis() as store:
        for uri in ("memory://", store.url):
            app = make_app(RATELIMIT_STORAGE_URI=uri, **settings)
            widget_id = add_widget(app)
            with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.7"}):
                widget = db.session().get(Widget, widget_id)
                assert widget is not None
                seen[uri] = [_refusal(widget, number) for number in numbers]
    assert seen["memory://"] == seen[store.url]
    assert seen[store.url] == [
        *(None, None, "number_rate_limited", None, None, None),
        *("distinct_numbers", "distinct_numbers", "distinct_numbers"),
        *("number_rate_limited", "minute_budget", "number_rate_limited"),
    ]


def _refusal(widget: Widget, number: str) -> str | None:
    try:
        hit_limits(widget, number, "ip:192.0.2.7")
    except TooManyRequests as refusal:
        return refusal.reason
    return None


def test_only_a_refusal_reads_the_window_back_for_its_headers(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(SUBMIT_LIMIT_PER_IP="1 per minute")
    widget_id = add_widget(app)
    client = app.test_client()
    storage = app.extensions["widget_server.limit_storage"]
    reads: list[str] = []
    window = storage.get_moving_window

    def counted(*args: object, **kwargs: object) -> object:
        reads.append("window")
        return window(*args, **kwargs)

    storage.get_moving_window = counted
    accepted = submit_json(client, widget_id, phone="+1 201 555 0123")
    assert accepted.status_code == 202
    assert "X-RateLimit-Remaining" not in accepted.headers and reads == []
    refused = submit_json(client, widget_id, phone="+1 201 555 0124")
    # In memory it reads the window back; Redis's script answered with the refusing entry.
    assert refused.status_code == 429
    assert reads == ([] if isinstance(storage, RedisStorage) else ["window"])
    # The same window limits itself reads: the same reset.
    key = (guard.CLIENT_SUBMISSIONS, "ip:127.0.0.1")
    stats = MovingWindowRateLimiter(storage).get_window_stats(
        parse("1 per minute"), guard.NAMESPACE, *key
    )
    assert refused.headers["X-RateLimit-Reset"] == str(int(stats.reset_time))
    assert refused.headers["X-RateLimit-Limit"] == "1"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_the_script_counts_in_the_very_windows_limits_reads() -> None:
    # On Redis the hits go through one script with keys built by the guard; the window a
    # refusal's headers read (and every other reader) is found by limits' own key_for.
    for limit in ("5 per minute", "10 per 2 hours", "1 per day", "3 per 10 seconds"):
        item = parse(limit)
        for key in [("number", "+12015550123"), ("pair", "ip:10.0.0.1", "+1201"), ("server",)]:
            head, tail, numbers = guard._key_parts(item)
            assert f"{head}{'/'.join(key)}{tail}" == item.key_for(guard.NAMESPACE, *key)
            assert numbers == f"{item.amount} {item.get_expiry()}"


def test_an_accepted_browser_submission_asks_the_limit_store_twice(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its client's count with the widget's pressure flag, then every other limit with the
    # pressure count: two round trips, whatever the number of limits.
    with private_redis() as store:
        app = make_app(RATELIMIT_STORAGE_URI=store.url)
        widget_id = add_widget(app)
        client = app.test_client()
        # The first loads the script into this fresh server (its first EVALSHA is refused).
        assert submit_json(client, widget_id, phone="+1 201 555 0122").status_code == 202
        token = form_token(client, widget_id)
        sent: list[str] = []
        execute = redis.Redis.execute_command

        def counted(self: redis.Redis, *args: Any, **options: Any) -> Any:
            sent.append(str(args[0]))
            return execute(self, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", counted)
        accepted = submit_json(client, widget_id, phone="+1 201 555 0123", token=token)
        assert accepted.status_code == 202
        assert sent == ["EVALSHA", "EVALSHA"]
        # Under pressure, the flag read with the count asks for a human check.
        monkeypatch.setattr(redis.Redis, "execute_command", execute)
        with app.app_context():
            widget = db.session().get(Widget, widget_id)
            assert widget is not None
            pressure.put_under_pressure(widget)
        asked = submit_json(client, widget_id, phone="+1 201 555 0124")
        assert asked.status_code == 422 and "human_check" in asked.get_json()["fields"]
