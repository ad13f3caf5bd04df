"""Emails to the site owner for missed and failed callbacks, through a real local SMTP server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from tests.helpers import add_widget, callbacks, run_jobs, submit_json
from widget_server.core import settings

OWNERS = ["owner@example.com", "sales@example.com"]
PAGE = "https://shop.example.com/offer?utm_source=news"


class Inbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mail_app(make_app: Callable[..., Flask], port: int, **overrides: Any) -> Flask:
    config = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "SMTP_FROM": "callbacks@widgets.example.com",
        **overrides,
    }
    return make_app(**config)


def _call(app: Flask, fail: str, **properties: Any) -> str:
    widget_id = add_widget(
        app,
        notify_emails=OWNERS,
        provider_settings={"step_delay": 0, "talk_time": 0, "fail": fail},
        **properties,
    )
    client = app.test_client()
    response = submit_json(client, widget_id, name="Ada", page_url=PAGE)
    assert response.status_code == 202
    run_jobs(app)
    return str(response.get_json()["id"])


def test_a_missed_callback_emails_the_owner_with_the_number(
    make_app: Callable[..., Flask],
    smtp: tuple[Inbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp
    app = _mail_app(make_app, port)
    callback_id = _call(app, "visitor_no_answer")
    [(recipients, email)] = inbox.messages
    assert recipients == OWNERS
    assert email["Subject"] == "Missed callback request on Sales"
    assert email["From"] == "callbacks@widgets.example.com"
    assert email["To"] == ", ".join(OWNERS)
    assert email["Message-ID"] and email["Date"]
    body = email.get_payload(decode=True).decode()
    assert "Number: +12015550123" in body and "Name: Ada" in body
    assert "Outcome: no_answer" in body and f"Callback id: {callback_id}" in body
    assert f"Page: {PAGE}" in body
    # The log names the callback with the number masked.
    assert "owner emailed" in caplog.text and "+1 20 ••• ••23" in caplog.text
    assert "+12015550123" not in caplog.text


def test_a_failed_callback_emails_too(
    make_app: Callable[..., Flask], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    app = _mail_app(make_app, port)
    _call(app, "provider_error")
    [(_recipients, email)] = inbox.messages
    assert email["Subject"] == "Failed callback request on Sales"
    assert "Outcome: failed" in email.get_payload(decode=True).decode()


def test_a_completed_call_sends_nothing(
    make_app: Callable[..., Flask], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    app = _mail_app(make_app, port)
    _call(app, "none")
    assert [cb.status for cb in callbacks(app)] == ["completed"]
    assert inbox.messages == []


def test_nothing_is_sent_unless_smtp_and_addresses_are_set(
    make_app: Callable[..., Flask], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    unconfigured = make_app(SMTP_PORT=port)  # no SMTP_HOST: notifications are off
    _call(unconfigured, "visitor_no_answer")
    assert [cb.status for cb in callbacks(unconfigured)] == ["no_answer"]
    configured = _mail_app(make_app, port)
    widget_id = add_widget(
        configured, provider_settings={"step_delay": 0, "talk_time": 0, "fail": "visitor_busy"}
    )
    assert submit_json(configured.test_client(), widget_id).status_code == 202
    run_jobs(configured)
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_login_is_used_when_configured(make_app: Callable[..., Flask]) -> None:
    inbox = Inbox()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"mail-password")

    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,  # a test server without a certificate
    )
    controller.start()
    try:
        app = _mail_app(make_app, port, SMTP_USERNAME="mailer", SMTP_PASSWORD="mail-password")
        _call(app, "visitor_busy")
    finally:
        controller.stop()
    assert logins == [(b"mailer", b"mail-password")]
    [(_recipients, email)] = inbox.messages
    assert email["Subject"] == "Missed callback request on Sales"


def test_an_unreachable_mail_server_never_affects_the_callback(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = _mail_app(make_app, _free_port())  # nothing listens there
    _call(app, "visitor_no_answer")
    assert [cb.status for cb in callbacks(app)] == ["no_answer"]
    assert "owner emailed" not in caplog.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"SMTP_SSL": True, "SMTP_STARTTLS": True},
            "SMTP_STARTTLS and WIDGET_SERVER_SMTP_SSL exclude each other",
        ),
        ({"SMTP_FROM": None}, "SMTP_FROM must be an email address"),
        ({"SMTP_STARTTLS": "yes"}, "SMTP_STARTTLS must be true or false"),
    ],
)
def test_bad_smtp_settings_stop_start_up(
    make_app: Callable[..., Flask], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(settings.ConfigError, match=message):
        _mail_app(make_app, 25, **overrides)
