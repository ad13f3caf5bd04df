"""Attack suite, egress: a tenant's settings try to make the server call its own network.

Each attack is performed for real, over the app's test client, against servers on
loopback that count every connection they accept and keep every byte they receive. A
private, link-local or metadata address is reached only through a test host name that the
egress guard's resolver maps to it (the `loopback_resolver` fixture): the check runs, and
no packet leaves the machine.
"""

from __future__ import annotations

import base64
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fakes import twilio as fake_twilio
from tests.fakes import webhook as fake_webhook
from tests.fakes.twilio import Fake as TwilioFake
from tests.helpers import LOOPBACK, add_account, add_widget, admin_auth, callbacks, run_jobs
from tests.providers.common import LOCAL, closed_port_url
from widget_server import providers
from widget_server.core import db, egress
from widget_server.core.models import Widget
from widget_server.owners import admin
from widget_server.providers import CallRequest, PermanentProviderError

NO_PRIVATE_HOSTS = {"PROVIDER_PRIVATE_HOSTS": []}  # the server's default
# What an internal service answers: a Twilio-shaped call, so that a followed request
# would show up as a placed call, its answer reflected into the tenant's history.
INTERNAL_BODY = b'{"sid": "CA0123456789abcdef0123456789abcdef", "status": "internal-secret"}'
INTERNAL_ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
    + f"Content-Length: {len(INTERNAL_BODY)}\r\n\r\n".encode()
    + INTERNAL_BODY
)
TWILIO = {
    "account_sid": fake_twilio.ACCOUNT_SID,
    "auth_token": fake_twilio.AUTH_TOKEN,
    "from_number": fake_twilio.FROM_NUMBER,
}
AGENT = "+12015550100"
PRIVATE_ADDRESSES = ["10.0.0.1", "169.254.169.254", "::1", "fc00::1"]


class Listener:
    """A TCP service on loopback: counts the connections it accepts, keeps their bytes."""

    def __init__(self, answer: bytes = INTERNAL_ANSWER) -> None:
        self.answer = answer
        self.connections = 0
        self.received: list[bytes] = []
        self.lock = threading.Lock()
        self.port = 0

    def handler(self) -> type[socketserver.BaseRequestHandler]:
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with listener.lock:
                    listener.connections += 1
                self.request.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                            while len(body) < length:
                                chunk = self.request.recv(65536)
                                if not chunk:
                                    break
                                body += chunk
                                data += chunk
                except OSError:
                    pass
                with listener.lock:
                    listener.received.append(data)
                try:
                    self.request.sendall(listener.answer)
                except OSError:
                    pass

        return Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bytes(self) -> bytes:
        with self.lock:
            return b"".join(self.received)


@contextmanager
def listening(answer: bytes = INTERNAL_ANSWER) -> Iterator[Listener]:
    listener = Listener(answer)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), listener.handler())
    server.daemon_threads = True
    listener.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield listener
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def internal() -> Iterator[Listener]:
    """The server's own network: an internal service nobody outside should reach."""
    with listening() as found:
        yield found


@pytest.fixture
def no_packet_leaves(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Refuse, and record, any connect to an address off loopback: should the guard let one
    through, the test fails and still nothing is sent."""
    attempts: list[Any] = []
    real = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("127."):
            attempts.append(address)
            raise ConnectionRefusedError(f"test: no connection to {host}")
        real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


def clicktocall(account: str, widget_id: str = "") -> str:
    return f"/v1/accounts/{account}/clicktocall" + (f"/{widget_id}" if widget_id else "")


def refused_fields(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.get_data(as_text=True)
    data = response.get_json()["data"]
    # Kazoo's shape: {field: {rule: {"message": …}}}, one rule per field here.
    return {field: next(iter(rules.values()))["message"] for field, rules in data.items()}


def twilio_widget(client: FlaskClient, account: str, key: str, base_url: str) -> str:
    response = client.put(
        clicktocall(account),
        json={
            "data": {
                "name": "Sales",
                "extension": AGENT,
                "allowed_regions": ["US"],
                "provider": "twilio",
                "provider_settings": {**TWILIO, "base_url": base_url},
            }
        },
        headers=admin_auth(key),
    )
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["data"]["id"])


def store_settings(app: Flask, widget_id: str, provider: str, settings: dict[str, Any]) -> None:
    """Write provider settings straight into the database, past every check at save."""
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        widget.provider, widget.provider_settings = provider, settings
        db.session().commit()


def connect(client: FlaskClient, account: str, key: str, widget_id: str, n: int = 0) -> Any:
    response = client.post(
        clicktocall(account, widget_id) + "/connect",
        json={"data": {"contact": f"+1201555{123 + n:04d}"}},
        headers=admin_auth(key),
    )
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]


def history(client: FlaskClient, account: str, key: str, widget_id: str) -> list[Any]:
    response = client.get(clicktocall(account, widget_id) + "/history", headers=admin_auth(key))
    return list(response.get_json()["data"])


# (a) A base URL on the server's own network ------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "internal.attacker.test"])
def test_a_base_url_on_loopback_is_refused_at_save_and_at_dial(
    make_app: Callable[..., Flask],
    internal: Listener,
    loopback_resolver: dict[str, list[str]],
    host: str,
) -> None:
    loopback_resolver["internal.attacker.test"] = ["127.0.0.1"]
    app = make_app(**NO_PRIVATE_HOSTS)
    client = app.test_client()
    account, key = add_account(app)
    widget_id = twilio_widget(client, account, key, "https://api.twilio.com")
    target = f"http://{host}:{internal.port}"

    # At save: the tenant's PATCH is refused, naming the field.
    patched = client.patch(
        clicktocall(account, widget_id),
        json={"data": {"provider_settings": {**TWILIO, "base_url": target}}},
        headers=admin_auth(key),
    )
    fields = refused_fields(patched)
    assert list(fields) == ["provider_settings.base_url"]
    assert fields["provider_settings.base_url"].startswith(egress.NOT_PUBLIC)

    # At dial: forced into the database, the setting still reaches nothing.
    store_settings(app, widget_id, "twilio", {**TWILIO, "base_url": target})
    connect(client, account, key, widget_id)
    run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("failed", "destination_refused")
    assert internal.connections == 0  # before: 1, its answer in the tenant's history
    [entry] = history(client, account, key, widget_id)
    assert entry["call_id"] is None and "internal" not in str(entry)


def test_the_reconcilers_status_query_is_refused_too(internal: Listener) -> None:
    # Twilio answers status queries: a stale call is asked about at its base URL.
    provider = providers.build("twilio", {**TWILIO, "base_url": internal.url})
    with pytest.raises(PermanentProviderError) as refused:
        provider.call_status("CA" + "a" * 32, "cb-1")
    assert refused.value.cause == "destination_refused"
    assert internal.connections == 0


def test_socket_pbx_hosts_on_loopback_are_refused_at_save_and_at_dial(
    make_app: Callable[..., Flask], internal: Listener
) -> None:
    app = make_app(**NO_PRIVATE_HOSTS)
    client = app.test_client()
    account, key = add_account(app)
    asterisk = {
        "host": "127.0.0.1",
        "port": internal.port,
        "username": "widget",
        "secret": "manager-secret",
        "agent_channel": "PJSIP/{agent}",
    }
    freeswitch = {
        "host": "127.0.0.1",
        "port": internal.port,
        "password": "ClueCon",
        "agent_endpoint": "user/{agent}",
        "gateway": "trunk",
    }
    for n, (name, settings) in enumerate((("asterisk", asterisk), ("freeswitch", freeswitch))):
        created = client.put(
            clicktocall(account),
            json={
                "data": {
                    "name": name,
                    "extension": "1001",
                    "allowed_regions": ["US"],
                    "provider": name,
                    "provider_settings": settings,
                }
            },
            headers=admin_auth(key),
        )
        assert list(refused_fields(created)) == ["provider_settings.host"]
        widget_id = twilio_widget(client, account, key, "https://api.twilio.com")
        store_settings(app, widget_id, name, settings)
        connect(client, account, key, widget_id, n)
    run_jobs(app)
    assert [(c.status, c.cause) for c in callbacks(app)] == [("failed", "destination_refused")] * 2
    assert internal.connections == 0


def _key(app: Flask, account: str) -> str:
    """A new admin API key of `account`."""
    with app.app_context():
        _record, key = admin.create_key(db.session(), account, "tests")
        db.session().commit()
        return key


def _account(app: Flask, widget_id: str) -> str:
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        return widget.account_id


# (b) A redirect from an allowed provider ---------------------------------------------------


@pytest.mark.parametrize("provider", ["twilio", "webhook"])
def test_a_redirect_from_an_allowed_provider_is_not_followed(
    make_app: Callable[..., Flask], internal: Listener, provider: str
) -> None:
    # The test config allows loopback, as an operator allows a LAN: the internal service
    # is an allowed address, so only the redirect rule stands between it and the request.
    location = f"{internal.url}/2010-04-01/Accounts/{fake_twilio.ACCOUNT_SID}/Calls.json"
    redirect = (
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    app = make_app(PROVIDER_PRIVATE_HOSTS=LOOPBACK)
    with listening(redirect) as allowed:
        settings = (
            {**TWILIO, "base_url": allowed.url}
            if provider == "twilio"
            else {"url": allowed.url + "/calls", "secret": fake_webhook.SECRET}
        )
        widget_id = add_widget(app, provider=provider, extension=AGENT, provider_settings=settings)
        client = app.test_client()
        account = _account(app, widget_id)
        key = _key(app, account)
        connect(client, account, key, widget_id)
        run_jobs(app)
    [callback] = callbacks(app)
    assert (callback.status, callback.cause) == ("failed", "http_307")
    assert allowed.connections == 1
    assert internal.connections == 0  # before: 1


def test_a_redirected_status_query_is_not_followed(internal: Listener) -> None:
    redirect = (
        f"HTTP/1.1 302 Found\r\nLocation: {internal.url}/x\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with listening(redirect) as allowed:
        twilio = providers.build("twilio", {**TWILIO, "base_url": allowed.url}, egress=LOCAL)
        with pytest.raises(PermanentProviderError) as refused:
            twilio.call_status("CA" + "a" * 32, "cb-1")
        webhook = providers.build(
            "webhook",
            {"url": allowed.url, "status_url": allowed.url, "secret": fake_webhook.SECRET},
            egress=LOCAL,
        )
        with pytest.raises(PermanentProviderError) as refused_again:
            webhook.call_status(None, "cb-1")
    assert refused.value.cause == refused_again.value.cause == "http_302"
    assert allowed.connections == 2 and internal.connections == 0


# (c) Masked hints sent back with a new base URL --------------------------------------------


@pytest.fixture
def operator_widget(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, str, TwilioFake]]:
    """A widget whose Twilio credentials the operator stored, reaching (a fake) Twilio."""
    app = make_app()
    with TwilioFake() as twilio:
        widget_id = add_widget(
            app, provider="twilio", extension=AGENT, provider_settings=twilio.provider_settings()
        )
        yield app, widget_id, twilio


def _leaked(attacker: Listener) -> bool:
    received = attacker.bytes()
    basic = base64.b64encode(f"{fake_twilio.ACCOUNT_SID}:{fake_twilio.AUTH_TOKEN}".encode())
    return fake_twilio.AUTH_TOKEN.encode() in received or basic in received


def test_masked_hints_with_a_new_base_url_never_send_the_real_secret(
    operator_widget: tuple[Flask, str, TwilioFake],
) -> None:
    app, widget_id, twilio = operator_widget
    client = app.test_client()
    account = _account(app, widget_id)
    key = _key(app, account)
    document = client.get(clicktocall(account, widget_id), headers=admin_auth(key))
    hints = document.get_json()["data"]["provider_settings"]
    assert fake_twilio.AUTH_TOKEN not in str(hints)
    with listening() as attacker:
        # The hints back, the base URL changed: each hint is refused by name.
        patched = client.patch(
            clicktocall(account, widget_id),
            json={"data": {"provider_settings": {**hints, "base_url": attacker.url}}},
            headers=admin_auth(key),
        )
        fields = refused_fields(patched)
        assert "provider_settings.auth_token" in fields
        # Only the declared secret is answered as a hint; the other settings are their values.
        assert set(fields) == {"provider_settings.auth_token"}
        # The whole document back (Kazoo's POST), the same.
        replaced = client.post(
            clicktocall(account, widget_id),
            json={
                "data": {
                    **document.get_json()["data"],
                    "provider_settings": {**hints, "base_url": attacker.url},
                }
            },
            headers=admin_auth(key),
        )
        assert "provider_settings.auth_token" in refused_fields(replaced)
        # Without the secret at all: the new destination needs it anew.
        without = client.patch(
            clicktocall(account, widget_id),
            json={
                "data": {
                    "provider_settings": {
                        "account_sid": fake_twilio.ACCOUNT_SID,
                        "from_number": fake_twilio.FROM_NUMBER,
                        "base_url": attacker.url,
                    }
                }
            },
            headers=admin_auth(key),
        )
        assert list(refused_fields(without)) == ["provider_settings.auth_token"]
        # Another provider, its settings left out: the stored ones do not follow.
        switched = client.patch(
            clicktocall(account, widget_id),
            json={"data": {"provider": "webhook"}},
            headers=admin_auth(key),
        )
        assert set(refused_fields(switched)) == {
            "provider_settings.url",
            "provider_settings.secret",
        }
        connect(client, account, key, widget_id)
        run_jobs(app)
    # The widget still dials Twilio with the operator's credentials; the attacker got nothing.
    assert twilio.originate_count() == 1
    assert attacker.connections == 0  # before: 1
    assert not _leaked(attacker)  # before: the real auth token, in an Authorization header


def test_a_new_base_url_with_a_new_secret_sends_only_the_new_secret(
    operator_widget: tuple[Flask, str, TwilioFake],
) -> None:
    app, widget_id, twilio = operator_widget
    client = app.test_client()
    account = _account(app, widget_id)
    key = _key(app, account)
    own_token = "tenants-own-token-0123456789"
    with listening() as attacker:
        settings = {**TWILIO, "auth_token": own_token, "base_url": attacker.url}
        patched = client.patch(
            clicktocall(account, widget_id),
            json={"data": {"provider_settings": settings}},
            headers=admin_auth(key),
        )
        assert patched.status_code == 200, patched.get_json()
        connect(client, account, key, widget_id)
        run_jobs(app)
    assert twilio.originate_count() == 0
    assert attacker.connections == 1
    assert own_token.encode() in base64.b64decode(
        attacker.bytes().split(b"Authorization: Basic ")[1].split(b"\r\n")[0]
    )
    assert not _leaked(attacker)


def test_hints_sent_back_unchanged_keep_the_stored_credentials(
    operator_widget: tuple[Flask, str, TwilioFake],
) -> None:
    app, widget_id, twilio = operator_widget
    client = app.test_client()
    account = _account(app, widget_id)
    key = _key(app, account)
    document = client.get(clicktocall(account, widget_id), headers=admin_auth(key)).get_json()
    renamed = {**document["data"], "name": "Sales (renamed)"}
    replaced = client.post(
        clicktocall(account, widget_id), json={"data": renamed}, headers=admin_auth(key)
    )
    assert replaced.status_code == 200, replaced.get_json()
    connect(client, account, key, widget_id)
    run_jobs(app)
    assert twilio.originate_count() == 1
    assert callbacks(app)[0].status != "failed"


# (d) The webhook test as a port scanner ----------------------------------------------------


def test_the_webhook_test_answers_alike_for_open_and_closed_local_ports(
    make_app: Callable[..., Flask], internal: Listener, loopback_resolver: dict[str, list[str]]
) -> None:
    app = make_app(WEBHOOK_ALLOW_HTTP=True)  # plain http allowed, private addresses not
    client = app.test_client()
    account, key = add_account(app)
    loopback_resolver["open.attacker.test"] = ["127.0.0.1"]
    loopback_resolver["closed.attacker.test"] = ["127.0.0.1"]
    closed_port = int(closed_port_url().rsplit(":", 1)[1])
    widget_id = client.put(
        clicktocall(account),
        json={"data": {"name": "S", "extension": "1001"}},
        headers=admin_auth(key),
    ).get_json()["data"]["id"]
    targets = [
        f"http://open.attacker.test:{internal.port}/hook",
        f"http://closed.attacker.test:{closed_port}/hook",
        f"http://127.0.0.1:{internal.port}/hook",
        f"http://127.0.0.1:{closed_port}/hook",
    ]
    # At save, each is refused alike.
    for url in targets:
        saved = client.patch(
            clicktocall(account, widget_id),
            json={"data": {"webhook_url": url, "webhook_secret": "whsec-0123456789abcdef"}},
            headers=admin_auth(key),
        )
        assert refused_fields(saved) == {"webhook_url": egress.NOT_PUBLIC}
    # Stored anyway (a name that resolved elsewhere when it was saved): one answer for all.
    answers = []
    for url in targets:
        with app.app_context():
            widget = db.session().get(Widget, widget_id)
            assert widget is not None
            widget.webhook_url, widget.webhook_secret = url, "whsec-0123456789abcdef"
            db.session().commit()
        tested = client.post(
            clicktocall(account, widget_id) + "/webhook/test", headers=admin_auth(key)
        )
        assert tested.status_code == 200
        result = tested.get_json()["data"]
        answers.append((result["status"], result["last_status_code"], result["last_error"]))
    # before: "destination not allowed" for the open port, "connection error" for the closed
    assert answers == [("dead", None, egress.REFUSED)] * len(targets)
    assert internal.connections == 0  # before: 1 (the connect came before the check)


# (e) Names that resolve to private, link-local and metadata addresses ------------------------


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
def test_names_resolving_to_private_addresses_are_refused_at_save_and_at_dial(
    make_app: Callable[..., Flask],
    loopback_resolver: dict[str, list[str]],
    no_packet_leaves: list[Any],
    address: str,
) -> None:
    loopback_resolver["pbx.attacker.test"] = [address]
    app = make_app(**NO_PRIVATE_HOSTS)
    client = app.test_client()
    account, key = add_account(app)
    cases = {
        "twilio": ({**TWILIO, "base_url": "http://pbx.attacker.test:8080"}, "base_url"),
        "webhook": (
            {"url": "https://pbx.attacker.test/c", "secret": fake_webhook.SECRET},
            "url",
        ),
        "asterisk": (
            {
                "host": "pbx.attacker.test",
                "username": "widget",
                "secret": "manager-secret",
                "agent_channel": "PJSIP/{agent}",
            },
            "host",
        ),
    }
    for n, (provider, (settings, field)) in enumerate(cases.items()):
        created = client.put(
            clicktocall(account),
            json={
                "data": {
                    "name": provider,
                    "extension": AGENT,
                    "allowed_regions": ["US"],
                    "provider": provider,
                    "provider_settings": settings,
                }
            },
            headers=admin_auth(key),
        )
        assert list(refused_fields(created)) == [f"provider_settings.{field}"]
        widget_id = twilio_widget(client, account, key, "https://api.twilio.com")
        store_settings(app, widget_id, provider, settings)
        connect(client, account, key, widget_id, n)
    run_jobs(app)
    found = [(c.status, c.cause) for c in callbacks(app)]
    assert found == [("failed", "destination_refused")] * len(cases)
    assert no_packet_leaves == []  # no connect was even attempted


@pytest.mark.parametrize("address", PRIVATE_ADDRESSES)
def test_the_cli_refuses_them_as_well(
    make_app: Callable[..., Flask],
    loopback_resolver: dict[str, list[str]],
    tmp_path: Path,
    address: str,
) -> None:
    loopback_resolver["pbx.attacker.test"] = [address]
    app = make_app(**NO_PRIVATE_HOSTS)
    widget_id = add_widget(app)
    properties = tmp_path / "widget.json"
    properties.write_text(
        '{"provider": "twilio", "extension": "+12015550100", "provider_settings": '
        f'{{"account_sid": "{fake_twilio.ACCOUNT_SID}", "auth_token": "t0ken", '
        f'"from_number": "{fake_twilio.FROM_NUMBER}", "base_url": "https://pbx.attacker.test"}}}}'
    )
    result = app.test_cli_runner().invoke(
        args=["widgets", "update", widget_id, "--json", str(properties)]
    )
    assert result.exit_code != 0
    assert "provider_settings.base_url: " + egress.NOT_PUBLIC in result.output


def test_an_operator_may_allow_a_private_pbx_by_name_or_network(
    make_app: Callable[..., Flask], loopback_resolver: dict[str, list[str]]
) -> None:
    loopback_resolver["pbx.office.test"] = ["10.20.0.5"]
    loopback_resolver["other.office.test"] = ["10.30.0.5"]
    app = make_app(PROVIDER_PRIVATE_HOSTS=["pbx.office.test", "10.30.0.0/16"])
    client = app.test_client()
    account, key = add_account(app)
    for host in ("pbx.office.test", "other.office.test", "10.30.1.1"):
        assert twilio_widget(client, account, key, f"http://{host}:8080")
    outside = client.put(
        clicktocall(account),
        json={
            "data": {
                "name": "S",
                "extension": AGENT,
                "provider": "twilio",
                "provider_settings": {**TWILIO, "base_url": "http://10.40.0.1"},
            }
        },
        headers=admin_auth(key),
    )
    assert list(refused_fields(outside)) == ["provider_settings.base_url"]


# The guard itself ------------------------------------------------------------------------


def test_a_connection_goes_to_the_checked_address_after_one_lookup(
    monkeypatch: pytest.MonkeyPatch, internal: Listener
) -> None:
    lookups: list[str] = []
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a rebinding resolver: private second

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a second lookup of {host}")

    monkeypatch.setattr(egress, "resolve", resolve)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with LOCAL.session() as session:
        session.get(f"http://rebind.test:{internal.port}/x", timeout=5)
    assert lookups == ["rebind.test"] and internal.connections == 1
    # The Host header still names the URL's host.
    assert b"Host: rebind.test:" in internal.bytes()


@pytest.mark.parametrize(
    "address",
    [
        *PRIVATE_ADDRESSES,
        "127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "fe80::1%eth0",
        "224.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not egress.public_address(address)
    assert not egress.PUBLIC.allows("x.test", address)


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    loopback_resolver: dict[str, list[str]],
) -> None:
    loopback_resolver["mixed.test"] = ["93.184.216.34", "10.0.0.1"]
    with pytest.raises(egress.DestinationRefused):
        egress.PUBLIC.addresses("mixed.test", 443)
    loopback_resolver["public.test"] = ["93.184.216.34", "2606:2800:220:1::1"]
    assert egress.PUBLIC.addresses("public.test", 443) == loopback_resolver["public.test"]


def test_providers_built_without_a_policy_allow_public_addresses_only(
    internal: Listener,
) -> None:
    call = CallRequest(
        callback_id="cb", attempt=1, agent=AGENT, visitor_e164="+12015550123", timeout=20
    )
    webhook = providers.build("webhook", {"url": internal.url, "secret": fake_webhook.SECRET})
    with pytest.raises(PermanentProviderError) as refused:
        webhook.originate(call)
    assert refused.value.cause == "destination_refused"
    assert internal.connections == 0


def test_https_through_the_guard_keeps_the_host_name_for_sni_and_the_certificate(
    tmp_path: Path, loopback_resolver: dict[str, list[str]]
) -> None:
    # The connection goes to the checked address, 127.0.0.1; TLS still names, and checks
    # the certificate of, the URL's host: a certificate for that name alone verifies.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    name = "pbx.secure.test"
    loopback_resolver[name] = ["127.0.0.1"]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, server_name, _ctx: server_names.append(server_name)
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    raw = socket.create_server(("127.0.0.1", 0))
    port = raw.getsockname()[1]

    def serve_one() -> None:
        connection, _ = raw.accept()
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(65536)
            tls.sendall(answer)

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    with LOCAL.session() as session:
        response = session.get(f"https://{name}:{port}/", verify=str(cert_file), timeout=5)
    thread.join(timeout=5)
    raw.close()
    assert response.status_code == 200 and response.text == "ok"
    assert server_names == [name]
