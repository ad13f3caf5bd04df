"""Where a widget loads: the loader's config request noted per origin, throttled and capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.helpers import ORIGIN, SERVER
from widget_server.core import db
from widget_server.core.models import OriginSighting, Widget
from widget_server.owners import installs
from widget_server.owners.widgets import WidgetInvalid

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STRANGER = "https://copycat.example.net"


def load(client: FlaskClient, widget_id: str, origin: str) -> int:
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": origin})
    return response.status_code


def sightings(app: Flask, widget_id: str) -> list[OriginSighting]:
    with app.app_context():
        query = select(OriginSighting).where(OriginSighting.widget_id == widget_id)
        return list(db.session().scalars(query.order_by(OriginSighting.id)))


def set_clock(app: Flask, instant: datetime) -> None:
    app.extensions["clock"].set(instant)


def test_allowed_and_refused_loads_are_noted(app: Flask, client: FlaskClient, widget_id: str):
    set_clock(app, START)
    assert load(client, widget_id, ORIGIN) == 200
    assert load(client, widget_id, "HTTPS://COPYCAT.example.net:443") == 200
    rows = {row.origin: row for row in sightings(app, widget_id)}
    assert set(rows) == {ORIGIN, STRANGER}  # stored normalised
    assert rows[ORIGIN].allowed is True and rows[ORIGIN].last_seen_at == START
    assert rows[STRANGER].allowed is False


def test_own_pages_and_unknown_widgets_are_not_installations(
    app: Flask, client: FlaskClient, widget_id: str
):
    assert load(client, widget_id, SERVER) == 200
    assert client.get(f"/v1/widgets/{widget_id}/config").status_code == 200  # no Origin
    assert load(client, "f" * 32, ORIGIN) == 404
    assert sightings(app, widget_id) == []
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(OriginSighting)) == 0


def test_a_load_writes_at_most_once_per_interval(
    app: Flask, client: FlaskClient, widget_id: str, monkeypatch: pytest.MonkeyPatch
):
    writes: list[bool] = []
    real = installs.record_load

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        wrote = real(*args, **kwargs)
        writes.append(wrote)
        return wrote

    monkeypatch.setattr(installs, "record_load", counting)
    set_clock(app, START)
    for _ in range(5):
        load(client, widget_id, ORIGIN)
    set_clock(app, START + installs.SIGHTING_INTERVAL - timedelta(seconds=1))
    load(client, widget_id, ORIGIN)
    assert writes == [True, False, False, False, False, False]
    assert sightings(app, widget_id)[0].last_seen_at == START
    later = START + installs.SIGHTING_INTERVAL + timedelta(seconds=1)
    set_clock(app, later)
    load(client, widget_id, ORIGIN)
    assert writes[-1] is True
    assert sightings(app, widget_id)[0].last_seen_at == later


def test_a_changed_answer_is_noted_at_once(app: Flask, client: FlaskClient, widget_id: str):
    set_clock(app, START)
    assert load(client, widget_id, STRANGER) == 200
    with app.app_context():
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        installs.allow_origin(session, widget, STRANGER)
    set_clock(app, START + timedelta(seconds=10))
    assert load(client, widget_id, STRANGER) == 200
    (row,) = sightings(app, widget_id)
    assert row.allowed is True and row.last_seen_at == START + timedelta(seconds=10)
    assert row.first_seen_at == START


def test_refused_origins_are_capped_oldest_dropped(app: Flask, client: FlaskClient, widget_id: str):
    set_clock(app, START)
    assert load(client, widget_id, ORIGIN) == 200
    extra = 7
    for n in range(installs.MAX_REFUSED_ORIGINS + extra):
        set_clock(app, START + timedelta(seconds=n + 1))
        assert load(client, widget_id, f"https://bot{n}.example.org") == 200
    rows = sightings(app, widget_id)
    refused = sorted(row.origin for row in rows if not row.allowed)
    assert len(refused) == installs.MAX_REFUSED_ORIGINS
    assert "https://bot0.example.org" not in refused
    assert f"https://bot{extra - 1}.example.org" not in refused
    assert f"https://bot{extra}.example.org" in refused
    assert any(row.origin == ORIGIN and row.allowed for row in rows)  # allowed ones stay


def test_installation_lists_allowed_origins_and_warnings(
    app: Flask, client: FlaskClient, widget_id: str
):
    set_clock(app, START)
    load(client, widget_id, ORIGIN)
    set_clock(app, START + timedelta(minutes=1))
    load(client, widget_id, STRANGER)
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        found = installs.installation(db.session(), widget)
    assert [(a.origin, a.last_seen_at) for a in found.allowed] == [(ORIGIN, START), (SERVER, None)]
    assert [r.origin for r in found.refused] == [STRANGER]


def test_allow_origin_checks_the_value(app: Flask, widget_id: str):
    with app.app_context():
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        with pytest.raises(WidgetInvalid) as refused:
            installs.allow_origin(session, widget, "javascript:alert(1)")
        assert "allowed_origins" in refused.value.fields
        assert installs.allow_origin(session, widget, "https://New.Example.com/") == (
            "https://new.example.com"
        )
        assert "https://new.example.com" in session.get(Widget, widget_id).allowed_origins  # type: ignore[union-attr]


def test_snippet_escapes_and_uses_the_base_url():
    assert installs.snippet("abc", "https://cb.example.com/") == (
        '<script async src="https://cb.example.com/widget.js" data-widget="abc"></script>'
    )
    assert "&quot;" in installs.snippet("abc", 'https://x.example"onload="')
