"""Human checks: Turnstile and hCaptcha against strict local fakes, ALTCHA solved in Python.

Every refusal is counted in calls actually placed: a refused submission must place none.
"""

from __future__ import annotations

import base64
import gzip
import html as html_lib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.fakes.captcha import SECRET_KEY, SITE_KEY, Fake
from tests.helpers import ORIGIN, SERVER, VALID_US, add_widget, callbacks, run_jobs
from widget_server.core import db
from widget_server.core.models import ConsumedChallenge, Widget, utcnow
from widget_server.core.settings import ConfigError
from widget_server.intake import human_checks
from widget_server.intake.human_checks import altcha, consumed
from widget_server.owners import admin, widgets

SELF = {"Origin": SERVER}
REFUSAL = "Please confirm you are not a robot, then try again."
SHOP_HOST = "shop.example.com"


@pytest.fixture(params=["turnstile", "hcaptcha"])
def captcha(request: pytest.FixtureRequest) -> Iterator[Fake]:
    with Fake(request.param) as fake:
        yield fake


def captcha_app(make_app: Callable[..., Flask], fake: Fake, **config: Any) -> Flask:
    setting = "TURNSTILE_VERIFY_URL" if fake.kind == "turnstile" else "HCAPTCHA_VERIFY_URL"
    config.setdefault("HUMAN_CHECK_TIMEOUT", 5)
    return make_app(**{setting: fake.verify_url}, **config)


def counting_widget(app: Flask, human_check: dict[str, Any]) -> str:
    return add_widget(app, provider="counting", provider_settings={}, human_check=human_check)


def config_of(client: FlaskClient, widget_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    return dict(response.get_json())


def submit(client: FlaskClient, widget_id: str, answer: object, phone: str = VALID_US) -> Any:
    body: dict[str, Any] = {"phone": phone, "token": config_of(client, widget_id)["token"]}
    if answer is not None:
        body["human_check"] = answer
    return client.post(f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": ORIGIN})


def assert_refused(response: Any) -> None:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    # One message whatever went wrong, so nobody learns which part failed.
    assert body["message"] == REFUSAL and body["fields"] == {"human_check": REFUSAL}


# Turnstile and hCaptcha -------------------------------------------------------------------


def test_a_captcha_passed_on_the_host_page_is_accepted_once(
    make_app: Callable[..., Flask], captcha: Fake, calls: list
) -> None:
    app = captcha_app(make_app, captcha)
    widget_id = counting_widget(app, captcha.config())
    client = app.test_client()
    public = config_of(client, widget_id)["human_check"]
    assert public == {
        "kind": captcha.kind,
        "site_key": SITE_KEY,
        "field": "cf-turnstile-response" if captcha.kind == "turnstile" else "h-captcha-response",
    }
    token = captcha.issue(SHOP_HOST)
    assert submit(client, widget_id, token).status_code == 202
    run_jobs(app)
    assert len(calls) == 1
    [request] = captcha.received
    assert request["method"] == "POST"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    sent = {key: values[0] for key, values in request["body"].items()}
    expected = {"secret": SECRET_KEY, "response": token, "remoteip": "127.0.0.1"}
    if captcha.kind == "hcaptcha":
        expected["sitekey"] = SITE_KEY
    assert sent == expected
    # The same token again: refused before the provider is even asked.
    assert_refused(submit(client, widget_id, token, phone="+1 201 555 0199"))
    assert captcha.verifications() == 1
    run_jobs(app)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "unknown_token",
        "wrong_secret",
        "provider_duplicate",
        "wrong_hostname",
        "timeout",
        "http_5xx",
        "malformed",
    ],
)
def test_a_captcha_refusal_places_no_call(
    make_app: Callable[..., Flask], captcha: Fake, calls: list, case: str
) -> None:
    # A short timeout only where the fake hangs: on a busy machine a real answer can take
    # longer than that, and must not be mistaken for a hang.
    app = captcha_app(make_app, captcha, HUMAN_CHECK_TIMEOUT=0.3 if case == "timeout" else 5)
    config = captcha.config(
        "0x4AAAAAAAWrongSecretKey00000000" if case == "wrong_secret" else SECRET_KEY
    )
    widget_id = counting_widget(app, config)
    client = app.test_client()
    token: str | None = captcha.issue("evil.example" if case == "wrong_hostname" else SHOP_HOST)
    if case == "missing":
        token = None
    elif case == "unknown_token":
        token = "XXXX.DUMMY.TOKEN.XXXX"
    elif case == "provider_duplicate":
        captcha.seen.add(str(token))  # already verified elsewhere (another server)
    elif case == "timeout":
        captcha.mode = "hang"
    elif case == "http_5xx":
        captcha.mode = "error_then_ok"
    elif case == "malformed":
        captcha.mode = "malformed"
    started = time.monotonic()
    assert_refused(submit(client, widget_id, token))
    if case == "timeout":
        assert time.monotonic() - started < 2  # the timeout setting holds
    assert captcha.verifications() == (0 if case == "missing" else 1)
    run_jobs(app)
    assert calls == []
    assert callbacks(app) == []


def test_a_failed_captcha_does_not_spend_the_form_token(
    make_app: Callable[..., Flask], captcha: Fake, calls: list
) -> None:
    app = captcha_app(make_app, captcha)
    widget_id = counting_widget(app, captcha.config())
    client = app.test_client()
    form_token = config_of(client, widget_id)["token"]

    def post(answer: str) -> Any:
        return client.post(
            f"/v1/widgets/{widget_id}/callbacks",
            json={"phone": VALID_US, "token": form_token, "human_check": answer},
            headers={"Origin": ORIGIN},
        )

    assert_refused(post("not-a-token"))
    assert post(captcha.issue(SHOP_HOST)).status_code == 202


def test_captcha_secrets_never_leave_the_server(
    make_app: Callable[..., Flask],
    captcha: Fake,
    calls: list,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = captcha_app(make_app, captcha)
    widget_id = counting_widget(app, captcha.config())
    client = app.test_client()
    tokens = [captcha.issue(SHOP_HOST) for _ in range(2)]
    answers = [
        client.get(f"/w/{widget_id}"),
        client.get(f"/v1/widgets/{widget_id}/config", headers={"Origin": ORIGIN}),
        submit(client, widget_id, tokens[0]),
        submit(client, widget_id, tokens[0]),
        submit(client, widget_id, "bogus"),
    ]
    captcha.mode = "malformed"
    answers.append(submit(client, widget_id, tokens[1]))
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        document = admin.document(widget)
        # Encrypted at rest: the stored column holds no readable secret.
        raw = (
            db.session()
            .execute(text("SELECT human_check FROM widgets WHERE id = :id"), {"id": widget_id})
            .scalar()
        )
    assert document["human_check"] == {
        "kind": captcha.kind,
        "site_key": SITE_KEY,
        "secret_key": "••••" + SECRET_KEY[-4:],
    }
    assert SECRET_KEY not in str(raw) and "fernet" in str(raw)
    shown = app.test_cli_runner().invoke(args=["widgets", "show", widget_id])
    assert shown.exit_code == 0
    assert json.loads(shown.output)["human_check"]["secret_key"] == "••••" + SECRET_KEY[-4:]
    for output in [shown.output, *(answer.get_data(as_text=True) for answer in answers)]:
        assert SECRET_KEY not in output
    for token in tokens:
        assert token not in caplog.text
    assert SECRET_KEY not in caplog.text
    assert "reason=human_check_duplicate" in caplog.text
    assert "reason=human_check_unavailable" in caplog.text


def test_the_form_page_loads_the_captcha_and_allows_only_its_origin(
    make_app: Callable[..., Flask], captcha: Fake, calls: list
) -> None:
    app = captcha_app(make_app, captcha)
    widget_id = counting_widget(app, captcha.config())
    client = app.test_client()
    page = client.get(f"/w/{widget_id}?host={ORIGIN}")
    html = page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    if captcha.kind == "turnstile":
        assert 'class="cf-turnstile human-check"' in html
        assert 'src="https://challenges.cloudflare.com/turnstile/v0/api.js"' in html
        assert "script-src 'self' https://challenges.cloudflare.com;" in policy
        assert "frame-src https://challenges.cloudflare.com" in policy
        assert "hcaptcha" not in policy
    else:
        assert 'class="h-captcha human-check"' in html
        assert "https://js.hcaptcha.com/1/api.js" in html
        assert "script-src 'self' https://hcaptcha.com https://*.hcaptcha.com;" in policy
        assert "frame-src https://hcaptcha.com https://*.hcaptcha.com" in policy
        assert "cloudflare" not in policy
    assert f'data-sitekey="{SITE_KEY}"' in html
    # The browser widget fills its own field; the page was served from this server.
    token = re.search(r'name="token" type="hidden" value="([^"]*)"', html)
    assert token is not None
    field = "cf-turnstile-response" if captcha.kind == "turnstile" else "h-captcha-response"
    data = {"token": token[1], "host": ORIGIN, "phone": VALID_US, "region": "US"}
    refused = client.post(f"/w/{widget_id}", data={**data, field: "bogus"}, headers=SELF)
    assert refused.status_code == 422
    assert REFUSAL in refused.get_data(as_text=True)
    accepted = client.post(
        f"/w/{widget_id}", data={**data, field: captcha.issue("localhost")}, headers=SELF
    )
    assert accepted.status_code == 303
    run_jobs(app)
    assert len(calls) == 1


def test_a_widget_without_a_human_check_makes_no_third_party_request(
    client: FlaskClient, widget_id: str
) -> None:
    page = client.get(f"/w/{widget_id}")
    html = page.get_data(as_text=True)
    assert "human-check" not in html and "altcha" not in html and "captcha" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "https://" not in policy.split("frame-ancestors")[0]
    assert config_of(client, widget_id)["human_check"] == {}


# ALTCHA -----------------------------------------------------------------------------------


def altcha_widget(app: Flask, max_number: int = 5_000) -> str:
    return counting_widget(app, {"kind": "altcha", "max_number": max_number})


def solved(challenge: dict[str, Any]) -> str:
    solution = altcha.solve(challenge)
    assert solution is not None
    return altcha.encode_payload(solution)


def test_altcha_solved_once_is_accepted_and_its_replay_refused(app: Flask, calls: list) -> None:
    widget_id = altcha_widget(app)
    client = app.test_client()
    public = config_of(client, widget_id)["human_check"]
    assert public["kind"] == "altcha" and public["field"] == "altcha"
    challenge = public["challenge"]
    assert challenge["algorithm"] == "SHA-256" and challenge["maxnumber"] == 5_000
    assert set(challenge) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    payload = solved(challenge)
    assert submit(client, widget_id, payload).status_code == 202
    assert_refused(submit(client, widget_id, payload, phone="+1 201 555 0199"))
    run_jobs(app)
    assert len(calls) == 1


def test_concurrent_replays_of_one_altcha_solution_accept_exactly_one(
    app: Flask, calls: list
) -> None:
    widget_id = altcha_widget(app)
    client = app.test_client()
    payload = solved(config_of(client, widget_id)["human_check"]["challenge"])
    tokens = [config_of(client, widget_id)["token"] for _ in range(20)]

    def attempt(index: int) -> int:
        return (
            app.test_client()
            .post(
                f"/v1/widgets/{widget_id}/callbacks",
                json={
                    "phone": f"+1 201 555 {index:04d}",
                    "token": tokens[index],
                    "human_check": payload,
                },
                headers={"Origin": ORIGIN},
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count(202) == 1, statuses
    assert set(statuses) == {202, 422}
    run_jobs(app)
    assert len(calls) == 1


def _forge(challenge: dict[str, Any], **changes: Any) -> str:
    solution = altcha.solve(challenge)
    assert solution is not None
    return altcha.encode_payload({**solution, **changes})


@pytest.mark.parametrize(
    "make_payload",
    [
        pytest.param(lambda app, wid, c: "", id="empty"),
        pytest.param(lambda app, wid, c: "%%%not base64", id="not-base64"),
        pytest.param(lambda app, wid, c: base64.b64encode(b'["a"]').decode(), id="not-an-object"),
        pytest.param(lambda app, wid, c: _forge(c, number=c["maxnumber"] + 7), id="wrong-number"),
        pytest.param(lambda app, wid, c: _forge(c, algorithm="SHA-1"), id="other-algorithm"),
        pytest.param(lambda app, wid, c: _forge(c, signature="0" * 64), id="forged-signature"),
        pytest.param(
            lambda app, wid, c: solved(
                altcha.create_challenge(wid, 2_000, 60, app.config, now=time.time() - 120)
            ),
            id="expired",
        ),
        pytest.param(
            lambda app, wid, c: solved(altcha.create_challenge("f" * 32, 2_000, 60, app.config)),
            id="another-widget",
        ),
        pytest.param(
            lambda app, wid, c: solved(
                altcha.create_challenge(
                    wid, 2_000, 60, {"SECRET_KEY": "another-secret-key-of-good-length-0"}
                )
            ),
            id="another-server",
        ),
    ],
)
def test_bad_altcha_answers_are_refused(
    app: Flask, calls: list, make_payload: Callable[[Flask, str, dict[str, Any]], str]
) -> None:
    widget_id = altcha_widget(app)
    client = app.test_client()
    challenge = config_of(client, widget_id)["human_check"]["challenge"]
    assert_refused(submit(client, widget_id, make_payload(app, widget_id, challenge)))
    run_jobs(app)
    assert calls == [] and callbacks(app) == []


def test_a_challenge_signed_before_a_key_rotation_still_verifies(
    make_app: Callable[..., Flask], calls: list
) -> None:
    old = "the-previous-secret-key-of-good-length-00"
    app = make_app(SECRET_KEY_FALLBACKS=[old])
    widget_id = altcha_widget(app)
    challenge = altcha.create_challenge(widget_id, 2_000, 60, {"SECRET_KEY": old})
    assert submit(app.test_client(), widget_id, solved(challenge)).status_code == 202


def test_the_form_page_carries_a_challenge_and_no_third_party(app: Flask, calls: list) -> None:
    widget_id = altcha_widget(app)
    client = app.test_client()
    page = client.get(f"/w/{widget_id}?host={ORIGIN}")
    html = page.get_data(as_text=True)
    assert '<script src="/static/altcha.js" defer></script>' in html
    assert "https://" not in page.headers["Content-Security-Policy"].split("frame-ancestors")[0]
    found = re.search(r'data-altcha-challenge="([^"]*)"', html)
    token = re.search(r'name="token" type="hidden" value="([^"]*)"', html)
    assert found is not None and token is not None
    challenge = json.loads(html_lib.unescape(found[1]))
    data = {"token": token[1], "host": ORIGIN, "phone": VALID_US, "region": "US"}
    # Through form.js (JSON answers): a refusal brings a fresh challenge to solve.
    refused = client.post(
        f"/w/{widget_id}",
        data={**data, "altcha": "bogus"},
        headers={**SELF, "Accept": "application/json"},
    )
    assert refused.status_code == 422
    fresh = refused.get_json()["human_check"]["challenge"]
    assert fresh["challenge"] != challenge["challenge"]
    accepted = client.post(
        f"/w/{widget_id}",
        data={**data, "token": refused.get_json()["token"], "altcha": solved(fresh)},
        headers=SELF,
    )
    assert accepted.status_code == 303
    run_jobs(app)
    assert len(calls) == 1


def test_consumed_challenges_are_purged_once_expired(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        later = utcnow() + timedelta(hours=1)
        assert consumed.consume(session, "altcha", "a", later)
        assert not consumed.consume(session, "altcha", "a", later)  # a replay
        assert consumed.consume(session, "altcha", "old", utcnow() - timedelta(seconds=1))
        assert session.query(ConsumedChallenge).count() == 2
        # Recording the next one purges the expired row (its challenge can no longer pass).
        assert consumed.consume(session, "altcha", "new", later)
        assert session.query(ConsumedChallenge).count() == 2
        assert consumed.purge_expired(session, now=later + timedelta(seconds=1)) == 2


# Configuration ----------------------------------------------------------------------------


def _base(**human_check: Any) -> dict[str, Any]:
    return {"name": "Sales", "extension": "1001", "human_check": human_check}


@pytest.mark.parametrize(
    ("human_check", "errors"),
    [
        ({"kind": "recaptcha"}, {"human_check.kind"}),
        ({"kind": "turnstile"}, {"human_check.site_key", "human_check.secret_key"}),
        ({"kind": "hcaptcha", "site_key": "x", "secret_key": "a b"}, {"human_check.secret_key"}),
        (
            {"kind": "turnstile", "site_key": "k", "secret_key": "s", "extra": 1},
            {"human_check.extra"},
        ),
        ({"kind": "altcha", "max_number": 10}, {"human_check.max_number"}),
        ({"kind": "altcha", "max_number": True}, {"human_check.max_number"}),
        ({"kind": "altcha", "complexity": 5}, {"human_check.complexity"}),
    ],
)
def test_bad_human_check_settings_name_the_field(
    human_check: dict[str, Any], errors: set[str]
) -> None:
    with pytest.raises(widgets.WidgetInvalid) as refusal:
        widgets.clean(_base(**human_check))
    assert set(refusal.value.fields) == errors
    with pytest.raises(widgets.WidgetInvalid) as not_object:
        widgets.clean({"name": "Sales", "extension": "1001", "human_check": "turnstile"})
    assert set(not_object.value.fields) == {"human_check"}


def test_good_human_check_settings_are_kept() -> None:
    assert widgets.clean(_base())["human_check"] == {}
    assert widgets.clean(_base(kind="altcha"))["human_check"] == {"kind": "altcha"}
    turnstile = {"kind": "turnstile", "site_key": SITE_KEY, "secret_key": SECRET_KEY}
    assert widgets.clean(_base(**turnstile))["human_check"] == turnstile


def test_the_secret_is_write_only_through_the_admin_api(app: Flask) -> None:
    widget_id = add_widget(
        app, human_check={"kind": "hcaptcha", "site_key": SITE_KEY, "secret_key": SECRET_KEY}
    )
    with app.app_context():
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        shown = admin.document(widget)
        # Sending the masked document back (or leaving the key out) keeps the stored key.
        admin.update_widget(session, widget, {"human_check": shown["human_check"]}, replace=False)
        assert widget.human_check["secret_key"] == SECRET_KEY
        admin.update_widget(
            session,
            widget,
            {
                "name": "S",
                "extension": "1001",
                "human_check": {"kind": "hcaptcha", "site_key": "new"},
            },
            replace=True,
        )
        assert widget.human_check == {
            "kind": "hcaptcha",
            "site_key": "new",
            "secret_key": SECRET_KEY,
        }
        # A replace that leaves human_check out does not turn the protection off.
        admin.update_widget(session, widget, {"name": "S", "extension": "1001"}, replace=True)
        assert widget.human_check["kind"] == "hcaptcha"
        # Switching kinds needs the new kind's own secret.
        with pytest.raises(widgets.WidgetInvalid) as refusal:
            admin.update_widget(
                session,
                widget,
                {"human_check": {"kind": "turnstile", "site_key": "k"}},
                replace=False,
            )
        assert "human_check.secret_key" in refusal.value.fields
        admin.update_widget(session, widget, {"human_check": {}}, replace=False)
        assert widget.human_check == {}


def test_human_check_settings_are_checked_at_start_up(make_app: Callable[..., Flask]) -> None:
    for bad in (
        {"HUMAN_CHECK_TIMEOUT": 0},
        {"HUMAN_CHECK_TIMEOUT": "soon"},
        {"TURNSTILE_VERIFY_URL": "ftp://x"},
        {"HCAPTCHA_VERIFY_URL": None},
    ):
        with pytest.raises(ConfigError):
            make_app(**bad)


def test_every_kind_is_registered() -> None:
    assert sorted(human_checks.REGISTRY) == ["altcha", "hcaptcha", "turnstile"]


def test_an_altcha_form_page_with_its_assets_stays_within_12_kb_gzipped(
    app: Flask, calls: list
) -> None:
    widget_id = altcha_widget(app)
    client = app.test_client()
    html = client.get(f"/w/{widget_id}?host={ORIGIN}").get_data()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html.decode())
    assert "/static/altcha.js" in assets and "/static/form.js" in assets
    total = len(gzip.compress(html))
    for path in assets:
        response = client.get(path)
        total += len(gzip.compress(response.get_data()))
        response.close()
    assert total <= 12 * 1024, total


def test_a_damaged_human_check_setting_refuses_rather_than_turning_off(
    app: Flask, calls: list
) -> None:
    widget_id = altcha_widget(app)
    with app.app_context():
        session = db.session()
        widget = session.get(Widget, widget_id)
        assert widget is not None
        widget.human_check = {"kind": "retired-captcha"}  # bypassing validation
        session.commit()
    client = app.test_client()
    assert config_of(client, widget_id)["human_check"] == {}
    assert_refused(submit(client, widget_id, "anything"))
    run_jobs(app)
    assert calls == []


def test_public_kazoo_connect_needs_the_human_check_too(app: Flask, calls: list) -> None:
    widget_id = altcha_widget(app)
    with app.app_context():
        widget = db.session().get(Widget, widget_id)
        assert widget is not None
        account_id = widget.account_id
    client = app.test_client()
    url = f"/v1/accounts/{account_id}/clicktocall/{widget_id}/connect"

    def connect(**data: Any) -> Any:
        public = config_of(client, widget_id)
        body = {"contact": VALID_US, "token": public["token"], **data}
        return client.post(url, json={"data": body}, headers={"Origin": ORIGIN})

    refused = connect()
    assert refused.status_code == 422 and "human_check" in refused.get_json()["data"]
    challenge = config_of(client, widget_id)["human_check"]["challenge"]
    assert connect(human_check=solved(challenge)).status_code == 202
    run_jobs(app)
    assert len(calls) == 1
