"""Kazoo without a clicktocall id: the widget's clicktocall is created once and kept."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask

from tests.fakes.kazoo import CLICKTOCALL_ID
from tests.fakes.kazoo import Fake as KazooFake
from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from widget_server import providers
from widget_server.core import db
from widget_server.core.job_payloads import DialJob
from widget_server.core.models import Widget
from widget_server.core.statuses import Status
from widget_server.core.tokens import tokens
from widget_server.owners import widgets
from widget_server.providers.kazoo import KazooProvider


def _settings_without_id(fake: KazooFake) -> dict[str, Any]:
    settings = {k: v for k, v in fake.provider_settings().items() if k != "clicktocall_id"}
    return {**settings, "clicktocall": {"name": "Sales line"}}


def _created(fake: KazooFake) -> list[str]:
    return [c2c_id for c2c_id in fake.clicktocalls if c2c_id != CLICKTOCALL_ID]


def _connects(fake: KazooFake) -> list[str]:
    return [
        r["path"].split("/")[-2]
        for r in fake.received
        if r["method"] == "POST" and r["path"].endswith("/connect")
    ]


def _stored_settings(app: Flask, widget_id: str) -> dict[str, Any]:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        return dict(widget.provider_settings)


def test_the_clicktocall_is_created_once_and_its_id_stored(app: Flask) -> None:
    with KazooFake() as fake:
        widget_id = add_widget(app, provider="kazoo", provider_settings=_settings_without_id(fake))
        client = app.test_client()
        assert submit_json(client, widget_id).status_code == 202
        run_jobs(app)
        assert submit_json(client, widget_id, phone="+1 201 555 0199").status_code == 202
        run_jobs(app)
        [created] = _created(fake)
        assert fake.clicktocalls[created]["name"] == "Sales line"
        # Every call connects through the one clicktocall, whose history can say more.
        assert _connects(fake) == [created, created]
    stored = _stored_settings(app, widget_id)
    assert stored["clicktocall_id"] == created
    assert providers.build("kazoo", stored).reports_call_status()
    assert [c.status for c in callbacks(app)] == [Status.DIALING, Status.DIALING]


def test_two_first_calls_at_once_create_one_clicktocall(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    creating = KazooProvider.sync_clicktocall

    def slow_create(self: KazooProvider, properties: Any) -> str:
        time.sleep(0.5)  # both first calls are under way while the first one creates
        return creating(self, properties)

    monkeypatch.setattr(KazooProvider, "sync_clicktocall", slow_create)
    with KazooFake() as fake:
        widget_id = add_widget(app, provider="kazoo", provider_settings=_settings_without_id(fake))
        client = app.test_client()
        for phone in ("+1 201 555 0123", "+1 201 555 0199"):
            assert submit_json(client, widget_id, phone=phone).status_code == 202
        ids = [callback.id for callback in callbacks(app)]
        jobs = app.extensions["jobs"]
        with app.app_context():
            signed = [tokens().sign_job(DialJob(callback_id, 1)) for callback_id in ids]
        workers = [threading.Thread(target=jobs._run_dial, args=(job,)) for job in signed]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        run_jobs(app)  # the job that found the set-up under way runs again
        [created] = _created(fake)
        assert sorted(_connects(fake)) == [created, created]
    assert _stored_settings(app, widget_id)["clicktocall_id"] == created
    assert {c.status for c in callbacks(app)} == {Status.DIALING}


def test_a_failed_set_up_is_an_attempt_that_failed(app: Flask) -> None:
    with KazooFake() as fake:
        fake.mode = "bad_auth"
        widget_id = add_widget(app, provider="kazoo", provider_settings=_settings_without_id(fake))
        assert submit_json(app.test_client(), widget_id).status_code == 202
        run_jobs(app)
        assert _created(fake) == [] and _connects(fake) == []
    [callback] = callbacks(app)
    assert (callback.status, callback.cause, callback.attempts) == (
        Status.FAILED,
        "auth_failed",
        1,
    )
    assert "clicktocall_id" not in _stored_settings(app, widget_id)


def test_a_kazoo_secondary_must_name_its_clicktocall(app: Flask) -> None:
    with app.app_context(), KazooFake() as fake:
        values = {
            "name": "Sales",
            "extension": "1001",
            "secondary_provider": "kazoo",
            "secondary_provider_settings": _settings_without_id(fake),
        }
        with pytest.raises(widgets.WidgetInvalid) as refused:
            widgets.clean(values)
        assert set(refused.value.fields) == {"secondary_provider_settings"}
        values["secondary_provider_settings"] = fake.provider_settings()
        assert widgets.clean(values)["secondary_provider"] == "kazoo"
