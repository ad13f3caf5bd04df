"""Attack: DNS rebinding, the server reached under a foreign Host through visitors' browsers.

A rebinding page at http://rebind.evil.example first resolves to the attacker, then to this
server, so the visitor's browser sends `Host: rebind.evil.example` and
`Origin: http://rebind.evil.example`, and the browser sees same-origin answers. Before,
a server without PUBLIC_ORIGIN took its own origin from the Host header: it minted form
tokens for the attacker's origin, accepted the same-origin form post, and pointed
status_url at the attacker's host. Now it answers only its configured hosts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask

from tests.helpers import ORIGIN, SERVER, VALID_US, add_widget, callbacks, run_jobs
from widget_server.core.origins import host_allowed
from widget_server.core.tokens import Tokens
from widget_server.owners.installs import snippet
from widget_server.providers import CallRequest

REBIND = "rebind.evil.example"
REBIND_ORIGIN = f"http://{REBIND}"


@pytest.fixture
def minted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The origin of every form token the server issues."""
    origins: list[str] = []
    issue = Tokens.issue_form_token

    def counted(self: Tokens, widget_id: str, origin: str) -> str:
        origins.append(origin)
        return issue(self, widget_id, origin)

    monkeypatch.setattr(Tokens, "issue_form_token", counted)
    return origins


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(token|host|page_url)" type="hidden" value="([^"]*)"', html))


def test_the_rebinding_attack_is_refused_and_places_no_call(
    app: Flask, calls: list[CallRequest], minted: list[str]
) -> None:
    widget_id = add_widget(app, provider="counting", provider_settings={})
    client = app.test_client()
    attacker = {"Host": REBIND, "Origin": REBIND_ORIGIN}

    config = client.get(f"/v1/widgets/{widget_id}/config", headers=attacker)
    form_page = client.get(f"/w/{widget_id}", headers=attacker)
    # The attacker's page cannot get a token, so it tries one minted for this server too.
    fields = _form_fields(client.get(f"/w/{widget_id}").get_data(as_text=True))
    minted.clear()
    form_post = client.post(
        f"/w/{widget_id}", data={**fields, "phone": VALID_US, "region": "US"}, headers=attacker
    )
    json_post = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": VALID_US, "token": fields["token"]},
        headers=attacker,
    )
    status = client.get("/v1/callbacks/anything", headers=attacker)
    with_port = client.get(f"/v1/widgets/{widget_id}/config", headers={"Host": f"{REBIND}:80"})

    answers = [config, form_page, form_post, json_post, status, with_port]
    assert [response.status_code for response in answers] == [400] * 6
    assert config.get_json() == {
        "error": "bad_request",
        "message": "This server does not answer for that host name.",
        "fields": {},
    }
    assert form_page.mimetype == "text/html"  # a page, for a person who typed the name
    assert "does not answer for that host name" in form_page.get_data(as_text=True)
    assert all(b"token" not in response.get_data() for response in answers)
    assert minted == []  # no form token for any origin, least of all the attacker's
    run_jobs(app)
    assert calls == [] and callbacks(app) == []

    # The server's own host still gets its token, bound to the configured origin.
    own = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert own.status_code == 200 and own.get_json()["token"]
    assert minted == [ORIGIN]


def test_hosts_that_are_not_configured_are_refused_however_they_are_spelt(app: Flask) -> None:
    client = app.test_client()
    for host in (REBIND, "localhost.evil.example", "evil-localhost", "", "local host", "[::2]"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 400, host
    for host in ("localhost", "LOCALHOST", "localhost:80", "127.0.0.1"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_absolute_urls_come_from_configuration_not_from_the_request(
    make_app: Callable[..., Flask],
) -> None:
    # Behind a TLS proxy that passes Host on: the request arrives as plain http.
    app = make_app(PUBLIC_ORIGIN="https://cb.example.com", DEMO_PAGE=True)
    widget_id = add_widget(app, allowed_origins=[ORIGIN, "https://cb.example.com"])
    client = app.test_client()
    served = {"Host": "cb.example.com", "Origin": ORIGIN}
    token = client.get(f"/v1/widgets/{widget_id}/config", headers=served).get_json()["token"]
    accepted = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": VALID_US, "token": token},
        headers=served,
    )
    assert accepted.status_code == 202
    assert accepted.get_json()["status_url"].startswith("https://cb.example.com/v1/callbacks/")
    with app.app_context():
        assert snippet(widget_id, "https://cb.example.com") in _cli(app, "snippet", widget_id)
    # The host is checked first: a foreign one never reaches the views that build URLs.
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400


def _cli(app: Flask, command: str, widget_id: str) -> str:
    result = app.test_cli_runner().invoke(args=["widgets", command, widget_id])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_the_demo_answers_127_0_0_1_and_localhost_on_its_port_only(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(ENV="development", PUBLIC_ORIGIN=None)
    widget_id = add_widget(app, allowed_origins=["http://127.0.0.1:5000", "http://localhost:5000"])
    for base, code in (
        ("http://127.0.0.1:5000", 200),
        ("http://localhost:5000", 200),
        ("http://127.0.0.1:5001", 400),
        ("http://localhost", 400),
        (f"http://{REBIND}:5000", 400),
    ):
        client = app.test_client()
        assert client.get(f"/w/{widget_id}", base_url=base).status_code == code, base
    # A page served under either name is the server's own: its no-JavaScript form posts.
    client = app.test_client()
    html = client.get(f"/w/{widget_id}", base_url="http://localhost:5000").get_data(as_text=True)
    posted = client.post(
        f"/w/{widget_id}",
        base_url="http://localhost:5000",
        data={**_form_fields(html), "phone": VALID_US, "region": "US"},
        headers={"Origin": "http://localhost:5000", "Accept": "application/json"},
    )
    assert posted.status_code == 202
    assert posted.get_json()["status_url"].startswith("http://127.0.0.1:5000/v1/callbacks/")


@pytest.mark.parametrize(
    ("host", "scheme", "allowed", "expected"),
    [
        ("cb.example.com", "https", ["cb.example.com"], True),
        ("cb.example.com:8443", "https", ["cb.example.com"], True),  # a name admits any port
        ("cb.example.com:8443", "https", ["cb.example.com:443"], False),
        ("cb.example.com", "https", ["cb.example.com:443"], True),  # the scheme's default
        ("cb.example.com", "http", ["cb.example.com:443"], False),
        ("a.cb.example.com", "https", [".cb.example.com"], True),
        ("cb.example.com", "https", [".cb.example.com"], True),
        ("evilcb.example.com", "https", [".cb.example.com"], False),
        ("[::1]:5000", "http", ["[::1]:5000"], True),
        ("[::1]:5001", "http", ["[::1]:5000"], False),
        ("cb.example.com.", "https", ["cb.example.com"], False),
        ("cb.example.com:0", "https", ["cb.example.com"], False),
        ("cb.example.com", "https", [], False),
        (SERVER.removeprefix("http://"), "http", ["localhost:80", "127.0.0.1:80"], True),
    ],
)
def test_host_matching(host: str, scheme: str, allowed: list[str], expected: bool) -> None:
    assert host_allowed(host, scheme, allowed) is expected
