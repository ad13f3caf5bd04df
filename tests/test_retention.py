"""Retention and erasure: old numbers erased by the periodic job, one number on request."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from tests.helpers import VALID_US, add_widget, run_jobs, submit_json
from tests.owned import account_widget
from tests.test_webhooks import LOCAL, SECRET, Receiver, receiver  # noqa: F401 (fixture)
from widget_server.calls import blocklist
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent, WebhookDelivery, Widget, utcnow
from widget_server.intake.number_hash import candidates, number_hash
from widget_server.owners import admin

NUMBERS = ["+12015550123", "+12015550124", "+12015550125", "+12015550126"]
PAGE = "https://shop.example.com/offer?utm_source=news&email=ada%40example.com#top"


def _account_id(app: Flask, widget_id: str) -> str:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        return widget.account_id


def _submit(app: Flask, widget_id: str, number: str) -> str:
    response = submit_json(
        app.test_client(),
        widget_id,
        phone=number,
        name="Ada",
        page_url=PAGE,
        extra={"email": "ada@example.com"},
    )
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def _age(app: Flask, callback_id: str, days: int) -> None:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        callback.created_at = utcnow() - timedelta(days=days)
        db.session().commit()


def _get(app: Flask, callback_id: str) -> Callback:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        callback.events  # noqa: B018 - loaded while the session is open
        return callback


def _assert_erased(app: Flask, callback: Callback, e164: str) -> None:
    assert callback.erased_at is not None
    assert callback.visitor_number == "" and callback.visitor_name is None
    assert callback.page_url == "https://shop.example.com/offer"
    assert callback.extra == {} and callback.provider_details == {}
    assert callback.utm == {"utm_source": "news"}  # campaign figures stay
    with app.app_context():
        assert callback.number_hash == number_hash(e164)
        events = db.session().scalars(select(CallEvent).where(CallEvent.callback_id == callback.id))
        assert all(event.details == {} for event in events)
        deliveries = list(
            db.session().scalars(
                select(WebhookDelivery).where(WebhookDelivery.callback_id == callback.id)
            )
        )
    for delivery in deliveries:
        assert delivery.payload["number"] is None and delivery.payload["name"] is None
        assert delivery.payload["extra"] == {}
        assert delivery.payload["page_url"] == "https://shop.example.com/offer"


def _assert_intact(callback: Callback, e164: str) -> None:
    assert callback.erased_at is None and callback.visitor_number == e164
    assert callback.visitor_name == "Ada" and callback.page_url == PAGE


# The keyed hash ---------------------------------------------------------------------------


def test_the_number_hash_is_keyed_and_follows_key_rotation(make_app: Callable[..., Flask]) -> None:
    old = make_app()
    with old.app_context():
        before = number_hash(NUMBERS[0])
    assert before != hashlib.sha256(NUMBERS[0].encode()).hexdigest()  # not a plain hash
    rotated = make_app(
        SECRET_KEY="a-brand-new-secret-key-0123456789abcdef",
        SECRET_KEY_FALLBACKS=[old.config["SECRET_KEY"]],
    )
    with rotated.app_context():
        assert number_hash(NUMBERS[0]) != before
        assert candidates(NUMBERS[0]) == [number_hash(NUMBERS[0]), before]


# Retention --------------------------------------------------------------------------------


def test_retention_erases_old_finished_callbacks_only(
    make_app: Callable[..., Flask],
    receiver: Receiver,  # noqa: F811
) -> None:
    app = make_app(RETENTION_DAYS=30, **LOCAL)
    widget_id = add_widget(app, webhook_url=receiver.url, webhook_secret=SECRET)
    old, recent = _submit(app, widget_id, NUMBERS[0]), _submit(app, widget_id, NUMBERS[1])
    run_jobs(app)
    still_queued = _submit(app, widget_id, NUMBERS[2])  # its dial job has not run yet
    _age(app, old, 31)
    _age(app, recent, 29)
    _age(app, still_queued, 31)
    with app.app_context():
        assert db.session().get(Callback, old).number_hash == number_hash(NUMBERS[0])  # type: ignore[union-attr]

    assert app.extensions["jobs"].run_retention() == 1
    _assert_erased(app, _get(app, old), NUMBERS[0])
    _assert_intact(_get(app, recent), NUMBERS[1])
    _assert_intact(_get(app, still_queued), NUMBERS[2])
    assert _get(app, old).status == "completed"  # statuses and times stay
    assert app.extensions["jobs"].run_retention() == 0  # nothing left to erase


def test_retention_off_keeps_everything(make_app: Callable[..., Flask]) -> None:
    app = make_app()  # RETENTION_DAYS defaults to 0
    widget_id = add_widget(app)
    callback_id = _submit(app, widget_id, NUMBERS[0])
    run_jobs(app)
    _age(app, callback_id, 3650)
    assert app.extensions["jobs"].run_retention() == 0
    _assert_intact(_get(app, callback_id), NUMBERS[0])


def test_limits_and_opt_outs_still_apply_to_erased_numbers(make_app: Callable[..., Flask]) -> None:
    app = make_app(RETENTION_DAYS=1, SUBMIT_LIMIT_PER_NUMBER="1 per day")
    widget_id = add_widget(app)
    first = _submit(app, widget_id, NUMBERS[0])
    second = _submit(app, widget_id, NUMBERS[1])
    run_jobs(app)
    _age(app, first, 2)
    _age(app, second, 2)
    assert app.extensions["jobs"].run_retention() == 2
    again = submit_json(app.test_client(), widget_id, phone=NUMBERS[0])
    assert again.status_code == 429  # the per-number limit still counts the erased call

    with app.app_context():
        blocklist.add(db.session(), "optout", NUMBERS[2])
        db.session().commit()
    silenced = _get(app, _submit(app, widget_id, NUMBERS[2]))  # the usual answer
    assert (silenced.status, silenced.cause) == ("rejected", "opted_out")
    # Kept for the owner's history like any callback, and erased like any once old.
    _age(app, silenced.id, 2)
    assert app.extensions["jobs"].run_retention() == 1
    _assert_erased(app, _get(app, silenced.id), NUMBERS[2])
    with app.app_context():
        stored = db.session().scalars(select(Callback.visitor_number)).all()
    assert NUMBERS[2] not in stored


# Erasure on request -----------------------------------------------------------------------


def _key(app: Flask, account_id: str) -> str:
    with app.app_context():
        _record, key = admin.create_key(db.session(), account_id, "tests")
        db.session().commit()
        return key


def test_the_erase_endpoint_removes_one_number_across_the_account(
    make_app: Callable[..., Flask],
    receiver: Receiver,  # noqa: F811
) -> None:
    app = make_app(**LOCAL)
    sales = add_widget(app, webhook_url=receiver.url, webhook_secret=SECRET)
    account = _account_id(app, sales)
    support = account_widget(app, account)
    elsewhere = add_widget(app)  # another account's widget
    done = _submit(app, sales, NUMBERS[0])
    other_number = _submit(app, sales, NUMBERS[1])
    run_jobs(app)  # one call per destination at a time: each ends before the next
    foreign = _submit(app, elsewhere, NUMBERS[0])
    run_jobs(app)
    pending = _submit(app, support, NUMBERS[0])  # queued, not dialled yet
    key = _key(app, account)
    client = app.test_client()
    url = f"/v1/accounts/{account}/erase"

    answer = client.post(
        url, json={"data": {"number": "+1 (201) 555-0123"}}, headers={"X-Auth-Token": key}
    )
    assert answer.status_code == 200, answer.get_json()
    data = answer.get_json()["data"]
    assert data["number"] == "+1 20 ••• ••23"
    assert data["erased"]["callbacks"] == 2
    assert data["erased"]["events"] >= 2 and data["erased"]["webhook_deliveries"] >= 1
    assert "+12015550123" not in answer.get_data(as_text=True)

    _assert_erased(app, _get(app, done), NUMBERS[0])
    erased_pending = _get(app, pending)
    _assert_erased(app, erased_pending, NUMBERS[0])
    assert erased_pending.status == "canceled" and erased_pending.cause == "erased"
    _assert_intact(_get(app, other_number), NUMBERS[1])
    _assert_intact(_get(app, foreign), NUMBERS[0])
    # The canceled callback's dial job now finds nothing to do: it is never dialled.
    run_jobs(app)
    assert _get(app, pending).status == "canceled" and _get(app, pending).attempts == 0

    repeat = client.post(url, json={"data": {"number": NUMBERS[0]}}, headers={"X-Auth-Token": key})
    assert repeat.get_json()["data"]["erased"]["callbacks"] == 0


def test_the_erase_endpoint_refuses_bad_requests(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    widget_id = add_widget(app)
    account = _account_id(app, widget_id)
    key = _key(app, account)
    client = app.test_client()
    url = f"/v1/accounts/{account}/erase"
    headers = {"X-Auth-Token": key}
    for number in ("2015550123", "+1", "not a number", 12015550123, None, "+" + "1" * 40):
        bad = client.post(url, json={"data": {"number": number}}, headers=headers)
        assert bad.status_code == 400
        assert bad.get_json()["data"]["number"]["invalid"]["message"].startswith(
            "must be an international number"
        )
    unknown = client.post(url, json={"data": {"number": VALID_US, "all": True}}, headers=headers)
    assert unknown.status_code == 400 and "all" in unknown.get_json()["data"]
    assert client.post(url, data="number=1", headers=headers).status_code == 415
    assert client.post(url, json={"data": {"number": NUMBERS[0]}}).status_code == 401
    other_key = _key(app, _account_id(app, add_widget(app)))
    forbidden = client.post(
        url, json={"data": {"number": NUMBERS[0]}}, headers={"X-Auth-Token": other_key}
    )
    assert forbidden.status_code == 404


def test_cli_erases_a_number_and_runs_retention(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    widget_id = add_widget(app)
    account = _account_id(app, widget_id)
    first = _submit(app, widget_id, NUMBERS[0])
    second = _submit(app, widget_id, NUMBERS[1])
    run_jobs(app)
    runner = app.test_cli_runner()
    erased = runner.invoke(args=["retention", "erase", "--account", account, NUMBERS[0]])
    assert erased.exit_code == 0, erased.output
    assert "erased +1 20 ••• ••23: 1 callbacks" in erased.output
    _assert_erased(app, _get(app, first), NUMBERS[0])
    bad = runner.invoke(args=["retention", "erase", "--account", account, "12"])
    assert bad.exit_code != 0 and "international number" in bad.output

    off = runner.invoke(args=["retention", "run"])
    assert off.exit_code != 0 and "RETENTION_DAYS is 0" in off.output
    _age(app, second, 10)
    ran = runner.invoke(args=["retention", "run", "--days", "7"])
    assert ran.exit_code == 0 and "erased 1 callbacks older than 7 days" in ran.output
    _assert_erased(app, _get(app, second), NUMBERS[1])
