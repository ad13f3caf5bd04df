"""Provider failover: an attempt the primary never accepted goes to the secondary, once."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.fakes.click2dial import Fake as Click2DialFake
from tests.fakes.ledger import serve_ledger
from tests.fakes.webhook import Fake as WebhookFake
from tests.helpers import add_account, add_widget, run_jobs, submit_json
from tests.providers.common import LOCAL
from widget_server import providers
from widget_server.core import db
from widget_server.core.models import Callback, CallEvent, Widget
from widget_server.core.statuses import Status
from widget_server.owners import widgets

JSON = {"Content-Type": "application/json"}
CALL = providers.CallRequest(
    callback_id="c0ffee", attempt=1, agent="1001", visitor_e164="+12015550123", timeout=20
)
# A simulator primary that never answers: its request "went out", and its status query
# then says no such call exists, so the attempt may switch.
TIMING_OUT = {"step_delay": 0, "talk_time": 0, "fail_with": "timeout"}


def _submit(app: Flask, widget_id: str) -> str:
    accepted = submit_json(app.test_client(), widget_id)
    assert accepted.status_code == 202, accepted.get_json()
    return str(accepted.get_json()["id"])


def _callback(app: Flask, callback_id: str) -> Callback:
    with app.app_context():
        callback = db.session().get(Callback, callback_id)
        assert callback is not None
        db.session().expunge(callback)
        return callback


def _switches(app: Flask, callback_id: str) -> list[dict[str, object]]:
    with app.app_context():
        rows = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, cause="provider_failover")
            .order_by(CallEvent.id)
        )
        return [dict(row.details) for row in rows]


def test_a_primary_answering_5xx_fails_over_to_the_secondary_once(app: Flask) -> None:
    with WebhookFake() as primary, Click2DialFake() as secondary:
        primary.reply = (503, b'{"error": "try again"}', JSON)
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=primary.provider_settings(),
            secondary_provider="click2dial",
            secondary_provider_settings=secondary.provider_settings(),
            max_retries=2,
        )
        callback_id = _submit(app, widget_id)
        run_jobs(app)
        run_jobs(app)  # nothing is left to run: no retry, no second call
        assert (primary.originate_count(), secondary.originate_count()) == (1, 1)
    callback = _callback(app, callback_id)
    # The secondary took it, and reports nothing more: handed off, by the secondary.
    assert (callback.status, callback.attempts) == (Status.HANDED_OFF, 1)
    assert callback.provider_details["provider"] == "click2dial"
    assert _switches(app, callback_id) == [
        {"attempt": 1, "from": "webhook", "to": "click2dial", "reason": "http_503"}
    ]
    with app.app_context():
        handed = (
            db.session()
            .query(CallEvent)
            .filter_by(callback_id=callback_id, status=Status.HANDED_OFF)
            .one()
        )
        assert handed.source == "click2dial"


def test_the_owners_history_names_the_provider_that_took_the_call(app: Flask) -> None:
    account_id, key = add_account(app)
    with Click2DialFake() as secondary:
        widget_id = add_widget(
            app,
            provider="simulator",
            provider_settings=TIMING_OUT,
            secondary_provider="click2dial",
            secondary_provider_settings=secondary.provider_settings(),
        )
        with app.app_context():
            widget = db.session().get(Widget, widget_id)
            assert widget is not None
            widget.account_id = account_id
            db.session().commit()
        callback_id = _submit(app, widget_id)
        run_jobs(app)
    answer = app.test_client().get(
        f"/v1/accounts/{account_id}/clicktocall/{widget_id}/history",
        headers={"X-Auth-Token": key},
    )
    assert answer.status_code == 200, answer.get_json()
    [item] = answer.get_json()["data"]
    assert (item["id"], item["status"], item["provider"]) == (
        callback_id,
        "handed_off",
        "click2dial",
    )
    assert item["cause"] == "provider_reports_no_outcome"
    document = app.test_client().get(
        f"/v1/accounts/{account_id}/clicktocall/{widget_id}", headers={"X-Auth-Token": key}
    )
    hints = document.get_json()["data"]["secondary_provider_settings"]
    # Write-only: the secondary's settings come back as hints, never as themselves.
    assert set(secondary.provider_settings()) <= set(hints)
    assert all(str(hint).startswith("••••") for hint in hints.values())


def test_a_primary_timing_out_that_placed_the_call_is_never_switched(app: Flask) -> None:
    with serve_ledger() as ledger, Click2DialFake() as secondary:
        ledger.hold = True  # the originate arrives and is placed; its answer never comes
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=ledger.settings(read_timeout=0.5),
            secondary_provider="click2dial",
            secondary_provider_settings=secondary.provider_settings(),
        )
        callback_id = _submit(app, widget_id)
        run_jobs(app)
        ledger.release()
        # The primary said it holds the attempt: no other provider may ring the visitor.
        assert ledger.status_queries == [f"{callback_id}-1"]
        assert ledger.originates_for(callback_id) == 1
        assert secondary.originate_count() == 0
    assert _switches(app, callback_id) == []
    assert _callback(app, callback_id).status == Status.FAILED


def test_a_primary_timing_out_that_cannot_say_is_never_switched(app: Flask) -> None:
    with WebhookFake() as primary, Click2DialFake() as secondary:
        primary.mode = "hang"  # no status_url: it cannot say whether it placed the call
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=primary.provider_settings(),
            secondary_provider="click2dial",
            secondary_provider_settings=secondary.provider_settings(),
        )
        callback_id = _submit(app, widget_id)
        run_jobs(app)
        assert (primary.originate_count(), secondary.originate_count()) == (1, 0)
    assert _switches(app, callback_id) == []
    assert (_callback(app, callback_id).cause) == "timeout"


def test_a_primary_timing_out_with_no_such_call_fails_over_on_the_simulator(app: Flask) -> None:
    widget_id = add_widget(
        app,
        provider="simulator",
        provider_settings=TIMING_OUT,
        secondary_provider="simulator",
        secondary_provider_settings={"step_delay": 0, "talk_time": 0},
    )
    callback_id = _submit(app, widget_id)
    run_jobs(app)
    callback = _callback(app, callback_id)
    # The secondary simulator walks the call to its end.
    assert (callback.status, callback.attempts) == (Status.COMPLETED, 1)
    assert _switches(app, callback_id) == [
        {"attempt": 1, "from": "simulator", "to": "simulator", "reason": "timeout"}
    ]


def test_a_permanent_refusal_of_the_primary_never_fails_over(app: Flask) -> None:
    with WebhookFake() as primary, Click2DialFake() as secondary:
        primary.mode = "bad_auth"
        widget_id = add_widget(
            app,
            provider="webhook",
            provider_settings=primary.provider_settings(),
            secondary_provider="click2dial",
            secondary_provider_settings=secondary.provider_settings(),
        )
        callback_id = _submit(app, widget_id)
        run_jobs(app)
        assert secondary.originate_count() == 0
    assert (_callback(app, callback_id).status, _switches(app, callback_id)) == (
        Status.FAILED,
        [],
    )


def test_http_errors_say_whether_the_request_may_have_been_placed() -> None:
    settings = {"url": "http://127.0.0.1:9/x", "secret": "s" * 16}
    provider = providers.build("webhook", settings, egress=LOCAL)
    with pytest.raises(providers.RetryableProviderError) as refused:
        provider.originate(CALL)  # nothing listens: never sent
    assert (refused.value.cause, refused.value.maybe_placed) == ("connection_error", False)
    with WebhookFake() as fake:
        fake.mode = "hang"
        provider = providers.build("webhook", fake.provider_settings(), egress=LOCAL)
        with pytest.raises(providers.RetryableProviderError) as lost:
            provider.originate(CALL)
    assert (lost.value.cause, lost.value.maybe_placed) == ("timeout", True)


def test_a_secondary_is_checked_like_the_primary() -> None:
    base = {"name": "Sales", "extension": "1001", "provider": "simulator"}
    with pytest.raises(widgets.WidgetInvalid) as unknown:
        widgets.clean({**base, "secondary_provider": "nope"})
    assert "secondary_provider" in unknown.value.fields
    with pytest.raises(widgets.WidgetInvalid) as unusable:
        widgets.clean({**base, "secondary_provider": "click2dial"})
    assert any(key.startswith("secondary_provider_settings.") for key in unusable.value.fields)
    cleared = widgets.clean({**base, "secondary_provider": "", "secondary_provider_settings": {}})
    assert cleared["secondary_provider"] is None


@pytest.mark.parametrize(
    ("fail_with", "cause", "maybe_placed"),
    [
        ("timeout", "timeout", True),
        ("5xx", "http_503", False),
        ("connection", "connection_error", False),
    ],
)
def test_the_simulator_plays_a_failing_primary(
    fail_with: str, cause: str, maybe_placed: bool
) -> None:
    simulator = providers.build("simulator", {"fail_with": fail_with})
    with pytest.raises(providers.RetryableProviderError) as failed:
        simulator.originate(CALL)
    assert (failed.value.cause, failed.value.maybe_placed) == (cause, maybe_placed)
    # Nothing was placed, and it says so when asked.
    assert not simulator.call_status(None, CALL.idempotency_key).placed
    with pytest.raises(providers.ProviderConfigError) as refused:
        providers.build("simulator", {"fail_with": "smoke"})
    assert set(refused.value.fields) == {"fail_with"}


def test_a_secondarys_endpoint_is_egress_checked(app: Flask) -> None:
    settings = {"base_url": "http://10.0.0.7:8300", "outbound_id": "random"}
    with app.app_context(), pytest.raises(widgets.WidgetInvalid) as refused:
        widgets.clean(
            {
                "name": "Sales",
                "extension": "1001",
                "secondary_provider": "click2dial",
                "secondary_provider_settings": settings,
            }
        )
    assert list(refused.value.fields) == ["secondary_provider_settings.base_url"]
    assert "private host" in refused.value.fields["secondary_provider_settings.base_url"]
