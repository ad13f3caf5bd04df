"""Property tests: every payload field against arbitrary Unicode (lone surrogates, control
characters, any script), any JSON type and deep nesting. A payload is either refused with
a 4xx naming its field, or accepted with only text every store and provider can take."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ORIGIN, add_account, add_widget, admin_auth, create_widget, form_token
from widget_server.core.errors import BadRequest
from widget_server.core.text import has_control, has_unpaired_surrogate
from widget_server.intake import idempotency, payloads
from widget_server.owners import widgets
from widget_server.web import json_body

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every code point, lone surrogates included, with the troublesome ones made frequent.
CHARACTERS = st.one_of(
    st.characters(categories=("L", "M", "N", "P", "S", "Z", "C")),
    st.characters(categories=("Cs",)),
    st.characters(max_codepoint=0x1F),
    st.sampled_from('[]{}"\\:/@%\x7f\u202e\ufeff\U0001f4de'),
)
TEXT = st.text(CHARACTERS, max_size=80)
LONG_TEXT = st.text(CHARACTERS, min_size=60, max_size=5000)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    TEXT,
    LONG_TEXT,
    st.sampled_from(["http://[::1", "https://[zz]/", "https://a.example:99999/", "\ud800"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
CALLBACK_FIELDS = [
    name for name, field in payloads.CallbackRequest.model_fields.items() if name != "phone"
]
FREE_TEXT = {"name", "region", "page_url", "scheduled_for"}
PHONES = (f"+1 201 555 {n:04d}" for n in count())


def depth(value: Any) -> int:
    """How many arrays and objects `value` nests, itself included."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested(levels: int, core: Any = 1) -> str:
    """`levels` arrays and objects around `core`, alternating, as JSON text."""
    text = json.dumps(core)
    for level in range(levels):
        text = f"[{text}]" if level % 2 else f'{{"k{level}": {text}}}'
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


# The JSON body reader ------------------------------------------------------------------


@SETTINGS
@given(JSON_VALUES)
def test_the_depth_scanner_measures_what_the_decoder_builds(value: Any) -> None:
    text = json.dumps(value)
    if depth(value) > json_body.MAX_DEPTH:
        assert json_body.too_deep(text) is not None
    else:
        assert json_body.too_deep(text) is None
        assert json.dumps(json_body.decode(text.encode())) == text


@SETTINGS
@given(st.integers(0, 3000), JSON_VALUES)
def test_deep_nesting_is_refused_before_it_is_decoded(levels: int, core: Any) -> None:
    text = nested(levels, core)
    if levels + depth(core) > json_body.MAX_DEPTH:
        with pytest.raises(BadRequest) as refused:
            json_body.decode(text)
        assert refused.value.code == 400 and refused.value.reason == "too_deep"
    else:
        assert json.dumps(json_body.decode(text)) == json.dumps(json.loads(text))


@SETTINGS
@given(st.text(CHARACTERS, max_size=3000) | st.binary(max_size=3000))
def test_any_body_decodes_or_is_refused_as_not_json(raw: str | bytes) -> None:
    try:
        json_body.decode(raw)
    except BadRequest as refused:
        assert refused.reason == "too_deep"
    except ValueError:
        pass  # not JSON: each route answers that as it always has


# The callback request: the model itself -----------------------------------------------


@pytest.fixture
def request_context(app: Flask) -> Iterator[None]:
    with app.test_request_context(headers={"Accept-Language": "he"}):
        yield


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
def test_each_callback_field_is_accepted_clean_or_refused_by_name(
    request_context: None, field: str
) -> None:
    @SETTINGS
    @given(JSON_VALUES)
    def check(value: Any) -> None:
        body = {"phone": "+1 201 555 0123", "token": "t", field: value}
        try:
            accepted = payloads.parse(payloads.CallbackRequest, body)
        except BadRequest as refused:
            assert refused.code == 400 and set(refused.fields) == {field}
            assert all(refused.fields.values())
            return
        kept = getattr(accepted, field)
        for text in _strings(kept):
            text.encode("utf-8")  # storable and sendable: no lone surrogate survives
            if field in FREE_TEXT | {"extra"}:
                assert not has_control(text)
        if field in FREE_TEXT and kept is not None:
            assert kept == kept.strip() and len(kept) <= payloads.limit(field)
        if field == "page_url" and kept is not None:
            assert kept.split(":", 1)[0] in ("http", "https")

    check()


@SETTINGS
@given(JSON_VALUES)
def test_the_phone_is_any_text_and_unknown_fields_are_refused(
    request_context: None, value: Any
) -> None:
    try:
        accepted = payloads.parse(payloads.CallbackRequest, {"phone": value, "token": "t"})
    except BadRequest as refused:
        assert set(refused.fields) == {"phone"} and not isinstance(value, str)
    else:
        assert accepted.phone == value  # the number policy reads it, and keeps only E.164
    with pytest.raises(BadRequest) as refused:
        payloads.parse(payloads.CallbackRequest, {"phone": "1", "token": "t", "x": value})
    assert set(refused.value.fields) == {"x"}


@SETTINGS
@given(st.text(CHARACTERS, max_size=100))
def test_idempotency_keys_are_printable_or_refused(request_context: None, header: str) -> None:
    try:
        key = idempotency.key(header)
    except BadRequest as refused:
        assert set(refused.fields) == {idempotency.HEADER}
    else:
        assert key == header and key.isprintable() and 0 < len(key) <= 64


# The callback request over HTTP: never a 500, and a refusal spends nothing --------------


@pytest.fixture
def one_per_number(make_app: Callable[..., Flask]) -> Flask:
    return make_app(SUBMIT_LIMIT_PER_NUMBER="1 per 10 minutes;3 per day")


@pytest.mark.parametrize("field", CALLBACK_FIELDS)
def test_each_field_over_http_never_fails_the_server_nor_spends_the_allowance(
    one_per_number: Flask, field: str
) -> None:
    app = one_per_number
    widget_id = add_widget(app, allowed_regions=["US"])
    client = app.test_client()

    def submit(phone: str, **fields: Any) -> Any:
        body = {"phone": phone, "token": form_token(client, widget_id), **fields}
        return client.post(
            f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": ORIGIN}
        )

    @settings(SETTINGS, max_examples=15)
    @given(JSON_VALUES)
    def check(value: Any) -> None:
        phone = next(PHONES)
        response = submit(phone, **{field: value})
        assert response.status_code in (202, 400, 422), response.get_data(as_text=True)
        if response.status_code == 400:
            assert set(response.get_json()["fields"]) == {field}
            # Refused before any limit was counted: the number's one call is still there.
            assert submit(phone).status_code == 202

    check()


def test_a_lone_surrogate_in_the_phone_is_refused_by_the_number_policy(app: Flask) -> None:
    widget_id = add_widget(app)
    client = app.test_client()
    for phone in ("\ud800", "\u0000\ud800", "+1 201 555 0123\udfff"):
        body = {"phone": phone, "token": form_token(client, widget_id)}
        response = client.post(
            f"/v1/widgets/{widget_id}/callbacks", json=body, headers={"Origin": ORIGIN}
        )
        # Read as a number or refused as none; only the E.164 form is ever kept.
        assert response.status_code in (202, 422), response.get_data(as_text=True)


# Widget properties ---------------------------------------------------------------------


@pytest.mark.parametrize("prop", widgets.PROPERTIES)
def test_each_widget_property_is_saved_clean_or_refused_by_name(prop: str) -> None:
    @SETTINGS
    @given(JSON_VALUES)
    def check(value: Any) -> None:
        values = {"name": "Sales", "extension": "1001", prop: value}
        try:
            saved = widgets.clean(values)
        except widgets.WidgetInvalid as refused:
            # Business hours, the human check and provider settings name their parts.
            assert refused.fields and all(refused.fields.values())
            assert all(
                name == prop or name.startswith(f"{prop}.") or name == "extension"
                for name in refused.fields
            ), refused.fields
            return
        assert not has_unpaired_surrogate(saved)

    check()


def test_admin_patch_of_any_property_never_fails_the_server(app: Flask) -> None:
    account, key = add_account(app)
    client = app.test_client()
    widget_id = create_widget(client, account, key)
    url = f"/v1/accounts/{account}/clicktocall/{widget_id}"

    @settings(SETTINGS, max_examples=150)
    @given(st.sampled_from(widgets.PROPERTIES), JSON_VALUES)
    def check(prop: str, value: Any) -> None:
        response = client.patch(url, json={"data": {prop: value}}, headers=admin_auth(key))
        assert response.status_code in (200, 400), response.get_data(as_text=True)
        if response.status_code == 200:
            assert not has_unpaired_surrogate(response.get_json()["data"])

    check()


@pytest.mark.parametrize("header", ["", "k" * 65, "order\xa042"])
def test_both_routes_refuse_a_malformed_idempotency_key_alike(app: Flask, header: str) -> None:
    account, key = add_account(app)
    client = app.test_client()
    widget_id = create_widget(client, account, key, allowed_origins=[ORIGIN])
    token = form_token(client, widget_id)
    api = client.post(
        f"/v1/widgets/{widget_id}/callbacks",
        json={"phone": "+1 201 555 0123", "token": token},
        headers={"Origin": ORIGIN, idempotency.HEADER: header},
    )
    connect = client.post(
        f"/v1/accounts/{account}/clicktocall/{widget_id}/connect",
        json={"data": {"contact": "+1 201 555 0123"}},
        headers={**admin_auth(key), idempotency.HEADER: header},
    )
    assert api.status_code == connect.status_code == 400
    [reason] = api.get_json()["fields"].values()
    assert connect.get_json()["data"][idempotency.HEADER] == {"invalid": {"message": reason}}
