"""The submission revision: every change to widgets and block lists moves it, however made,
and what a process kept at an older revision is read again on the next request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, event, inspect, select, text, update

from tests.helpers import ORIGIN, add_widget, form_token, submit_json
from widget_server.calls import blocklist
from widget_server.core import db, revisions
from widget_server.core.models import Account, BlockedEntry, Callback, Widget, utcnow
from widget_server.core.revisions import submission_revision
from widget_server.intake import widget_snapshots


def revision(app: Flask) -> int:
    with app.app_context():
        return submission_revision(db.session())


def run(app: Flask, statement: str, **params: object) -> None:
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(text(statement), params)


def test_every_kind_of_change_moves_the_revision(app: Flask) -> None:
    widget_id = add_widget(app)
    seen = [revision(app)]

    def moved() -> bool:
        seen.append(revision(app))
        return seen[-1] > seen[-2]

    with app.app_context():  # through the ORM, as the dashboard and the CLI change things
        blocklist.add(db.session(), "number", "+12015550100")
        db.session().commit()
    assert moved()
    with app.app_context():
        blocklist.remove(db.session(), "number", "+12015550100")
        db.session().commit()
    assert moved()
    # Plain SQL, as an operator's script might: the triggers see it all the same.
    run(app, "UPDATE widgets SET name = 'Support' WHERE id = :id", id=widget_id)
    assert moved()
    run(app, "INSERT INTO blocked_entries (kind, value, created_at) "
        "VALUES ('ip', '10.0.0.0/8', CURRENT_TIMESTAMP)")  # fmt: skip
    assert moved()
    with app.extensions["db_engine"].begin() as connection:  # Core, as retention prunes
        connection.execute(delete(BlockedEntry))
    assert moved()
    with app.extensions["db_engine"].begin() as connection:
        connection.execute(update(Widget).values(enabled=False))
    assert moved()
    with app.extensions["db_engine"].begin() as connection:  # its widgets go by cascade
        connection.execute(delete(Account))
    assert moved()
    with app.app_context():
        assert widget_snapshots.kept(db.session(), widget_id) is None


def test_reads_alone_leave_the_revision_where_it_is(app: Flask) -> None:
    widget_id = add_widget(app)
    before = revision(app)
    client = app.test_client()
    assert client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN}).status_code
    assert revision(app) == before


def test_the_revision_is_read_once_per_unit_of_work(app: Flask) -> None:
    widget_id = add_widget(app)
    with app.app_context():
        session = db.session()
        before = submission_revision(session)
        run(app, "UPDATE widgets SET name = 'Sales' WHERE id = :id", id=widget_id)
        assert submission_revision(session) == before  # what this unit of work vouches for
        session.commit()
        assert submission_revision(session) > before  # a job's next transaction reads anew


def test_a_reading_connection_the_database_dropped_is_replaced(app: Flask) -> None:
    widget_id = add_widget(app)
    before = revision(app)
    reader = revisions._reader(app.extensions["db_engine"])
    assert reader.idle
    for cursor in reader.idle:  # as a database restart leaves them
        cursor.connection.close()
    run(app, "UPDATE widgets SET name = 'Sales' WHERE id = :id", id=widget_id)
    assert revision(app) > before  # read through the session meanwhile, as fresh
    assert revision(app) == revision(app)
    assert reader.idle  # fresh ones took the broken ones' place
    for cursor in reader.idle:
        cursor.execute("SELECT 1")


def test_a_kept_widget_is_read_again_once_changed(app: Flask) -> None:
    widget_id = add_widget(app)
    client = app.test_client()
    elsewhere = "https://elsewhere.example"
    token = form_token(client, widget_id)  # minted while ORIGIN is allowed

    def submit(origin: str, token: str) -> int:
        return client.post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": "+1 201 555 0123", "token": token},
            headers={"Origin": origin},
        ).status_code

    assert submit(elsewhere, token) == 403  # the widget is kept now, at this revision
    with app.extensions["db_engine"].begin() as connection:  # not through the ORM
        connection.execute(
            update(Widget).where(Widget.id == widget_id).values(allowed_origins=[elsewhere])
        )
    assert submit(ORIGIN, token) == 403
    assert submit(elsewhere, form_token(client, widget_id, elsewhere)) == 202


def copy(widget_id: str) -> Widget | None:
    """The request's own copy of the widget, as a public request gets it."""
    kept = widget_snapshots.kept(db.session(), widget_id)
    return None if kept is None else widget_snapshots.attached(db.session(), kept)


def test_each_request_gets_its_own_copy_of_a_kept_widget(app: Flask) -> None:
    widget_id = add_widget(app)
    with app.app_context():
        first = copy(widget_id)
        assert first is not None and first in db.session()
        first_session = db.session()
    with app.app_context():
        second = copy(widget_id)
        assert second is not None and second is not first and second in db.session()
        assert db.session() is not first_session
        # A copy is a widget like any loaded one: its relationships load on demand.
        assert second.account.name
        assert second.provider_settings["step_delay"] == 0  # decrypted once, when read


def test_a_submission_works_on_its_own_copy_and_leaves_the_kept_widget_alone(
    app: Flask,
) -> None:
    widget_id = add_widget(app)
    client = app.test_client()
    assert submit_json(client, widget_id, phone="+1 201 555 0123").status_code == 202
    # Refused in silence: stored through the session and ended by the status machine.
    bot = submit_json(client, widget_id, phone="+1 201 555 0124", website="https://spam")
    assert bot.status_code == 202
    with app.app_context():
        rejected = db.session().scalars(select(Callback).where(Callback.status == "rejected"))
        assert [callback.widget.id for callback in rejected] == [widget_id]
    with app.app_context():
        kept = widget_snapshots.kept(db.session(), widget_id)
        assert kept is not None
        state = inspect(kept)
        # Read by the submission's checks, never tied to its session (the callback's
        # widget is the request's own copy) nor changed by it.
        assert state.detached and not state.modified
        assert kept is widget_snapshots.kept(db.session(), widget_id)  # still the one kept


def test_a_refusal_by_the_checks_takes_no_pooled_connection(app: Flask) -> None:
    widget_id = add_widget(app)
    client = app.test_client()
    token = form_token(client, widget_id)
    checkouts: list[object] = []
    engine = app.extensions["db_engine"]

    def checked_out(*_args: object) -> None:
        checkouts.append(1)

    event.listen(engine, "checkout", checked_out)
    try:
        for _ in range(3):  # a foreign origin, then a number the widget refuses
            refused = client.post(
                f"/v1/widgets/{widget_id}/callbacks",
                json={"phone": "+1 201 555 0123", "token": token},
                headers={"Origin": "https://elsewhere.example"},
            )
            assert refused.status_code == 403
            invalid = client.post(
                f"/v1/widgets/{widget_id}/callbacks",
                json={"phone": "+1 201 555", "token": token},
                headers={"Origin": ORIGIN},
            )
            assert invalid.status_code == 422 and "phone" in invalid.get_json()["fields"]
        assert checkouts == []
        # The revision was read all the same, on the reader's own connection: a change made
        # now is seen by the very next request.
        with engine.begin() as connection:
            connection.execute(
                update(Widget)
                .where(Widget.id == widget_id)
                .values(allowed_origins=["https://elsewhere.example"])
            )
        again = client.post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": "+1 201 555 0123", "token": token},
            headers={"Origin": ORIGIN},
        )
        assert again.status_code == 403
    finally:
        event.remove(engine, "checkout", checked_out)


def test_a_kept_address_entry_ends_when_it_expires(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        expires = utcnow() + timedelta(minutes=5)
        blocklist.add(db.session(), "ip", "127.0.0.0/8", expires_at=expires)
        db.session().commit()
    with app.app_context():
        assert blocklist.address_blocked(db.session(), "127.0.0.1")  # read, and kept
    # Nothing changes in the table: the entry expires, and the kept list knows it.
    monkeypatch.setattr(blocklist, "utcnow", lambda: expires + timedelta(seconds=1))
    with app.app_context():
        assert not blocklist.address_blocked(db.session(), "127.0.0.1")


def test_kept_number_entries_answer_as_the_query_does(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    expires = utcnow() + timedelta(minutes=5)
    with app.app_context():
        session = db.session()
        blocklist.add(session, "number", "+12015550100")
        blocklist.add(session, "optout", "+12015550101")
        blocklist.add(session, "prefix", "+1900", expires_at=expires)
        blocklist.add(session, "prefix", "+12015550102")  # a prefix as long as the number
        session.commit()
    cases = {
        "+12015550100": "blocked_number",
        "+12015550101": "opted_out",
        "+19005550123": "blocked_prefix",
        "+12015550102": "blocked_prefix",
        "+12015550103": None,
        "+1201555010": None,  # the start of a blocked number is not blocked
    }

    def answers() -> dict[str, str | None]:
        with app.app_context():
            return {e164: blocklist.number_blocked(db.session(), e164) for e164 in cases}

    assert answers() == cases  # from the kept lists
    monkeypatch.setattr(blocklist, "KEEP_AT_MOST", 2)
    run(app, "UPDATE widgets SET name = name")  # move the revision: the lists are read again
    assert answers() == cases  # too many to keep: each number is asked of the database
    # Nothing changes in the table: the prefix expires, and both ways know it.
    monkeypatch.setattr(blocklist, "utcnow", lambda: expires + timedelta(seconds=1))
    after = {**cases, "+19005550123": None}
    assert answers() == after
    monkeypatch.setattr(blocklist, "KEEP_AT_MOST", 10_000)
    run(app, "UPDATE widgets SET name = name")
    assert answers() == after


def test_a_number_blocked_elsewhere_is_refused_on_the_next_request(app: Flask) -> None:
    with app.app_context():
        assert blocklist.number_blocked(db.session(), "+12015550199") is None  # kept
    # Another process adds the entry: straight into the table, past this one's session.
    run(
        app,
        "INSERT INTO blocked_entries (kind, value, created_at) "
        "VALUES ('optout', '+12015550199', CURRENT_TIMESTAMP)",
    )
    with app.app_context():
        assert blocklist.number_blocked(db.session(), "+12015550199") == "opted_out"
