"""Each provider that reports no outcome hands its calls off: never "completed"."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.fakes.click2dial import Fake as Click2DialFake
from tests.fakes.extramobile import Fake as ExtraMobileFake
from tests.fakes.telecmi import Fake as TeleCMIFake
from tests.fakes.voiptech import Fake as VoiptechFake
from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from widget_server import providers
from widget_server.core import db
from widget_server.core.models import Callback, Lease
from widget_server.core.statuses import Status
from widget_server.owners import retention

# Each seed adapter with its strict fake, and an extension it can ring.
SEEDS: dict[str, tuple[Any, str]] = {
    "extramobile": (ExtraMobileFake, "+972544444444"),
    "click2dial": (Click2DialFake, "1001"),
    "telecmi": (TeleCMIFake, "1001"),
    "voiptech": (VoiptechFake, "1001"),
}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_a_seed_provider_hands_its_call_off_with_its_lease_bound(app: Flask, name: str) -> None:
    fake_class, extension = SEEDS[name]
    adapter = providers.provider_class(name)
    assert not adapter.can(providers.Capability.REPORTS_STATUS)
    with fake_class() as fake:
        widget_id = add_widget(
            app, provider=name, provider_settings=fake.provider_settings(), extension=extension
        )
        accepted = submit_json(app.test_client(), widget_id)
        assert accepted.status_code == 202, accepted.get_json()
        run_jobs(app)
        assert fake.originate_count() == 1
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == (Status.HANDED_OFF, "provider_reports_no_outcome")
    assert callback.finished_at is not None
    with app.app_context():
        expiries = [lease.expires_at for lease in db.session().query(Lease).all()]
    # The number stays taken for the provider's hand-off bound, not for LEASE_SECONDS.
    assert expiries
    for expires in expiries:
        held = (expires - callback.finished_at).total_seconds()
        assert held == pytest.approx(adapter.handoff_lease_seconds, abs=1)
    assert adapter.handoff_lease_seconds < app.config["LEASE_SECONDS"]
    shown = app.test_client().get(str(accepted.get_json()["status_url"])).get_json()
    assert (shown["status"], shown["terminal"]) == ("handed_off", True)
    assert "finished" not in shown["text"]


def test_erasing_a_handed_off_callback_drops_the_lease_naming_its_number(app: Flask) -> None:
    with Click2DialFake() as pbx:
        widget_id = add_widget(
            app, provider="click2dial", provider_settings=pbx.provider_settings()
        )
        assert submit_json(app.test_client(), widget_id).status_code == 202
        run_jobs(app)
    with app.app_context():
        session = db.session()
        [callback] = session.query(Callback).all()
        assert callback.status == Status.HANDED_OFF
        assert session.query(Lease).filter_by(holder=callback.id).count() == 1
        retention.erase_callback(session, callback)
        session.commit()
        assert session.query(Lease).filter_by(holder=callback.id).count() == 0
