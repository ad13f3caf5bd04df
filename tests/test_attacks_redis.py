"""Attacks against two app instances sharing real Redis limits and one database."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from flask import Flask

from tests.helpers import ORIGIN, add_widget, callbacks, form_token

pytestmark = pytest.mark.redis
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running on 127.0.0.1:6379; .ci/run starts it")
        print("\nskipping: no Redis on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379; CI runs this")
    client.flushdb()
    client.close()
    return REDIS_URL


def test_one_hundred_concurrent_submissions_for_one_number_place_one_call(
    make_app: Callable[..., Flask], redis_url: str
) -> None:
    limits = {"RATELIMIT_STORAGE_URI": redis_url,
              "SUBMIT_LIMIT_PER_NUMBER": "1 per 10 minutes;3 per day"}
    first = make_app(**limits)
    second = make_app(**limits)  # another instance: its own limiter client and DB pool
    widget_id = add_widget(first)
    tokens = [form_token(app.test_client(), widget_id) for app in (first, second)
              for _ in range(50)]

    def attempt(index: int) -> int:
        app = first if index < 50 else second
        return app.test_client().post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": "+1 201 555 0123", "token": tokens[index]},
            headers={"Origin": ORIGIN}, environ_base={"REMOTE_ADDR": f"10.3.{index}.1"},
        ).status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        statuses = list(pool.map(attempt, range(100)))
    assert statuses.count(202) == 1
    assert set(statuses) == {202, 429}
    assert len(callbacks(first)) == 1
