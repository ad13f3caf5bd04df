"""Number policy: E.164 normalisation, regions, number types, whitelists."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from widget_server.core.numbers import mask, whitelist_errors
from widget_server.intake.phone_policy import WHITELIST_PRESETS, NumberPolicy, PolicyRefusal, check

ZA = NumberPolicy(default_region="ZA", allowed_regions=["ZA"])
US = NumberPolicy(default_region="US", allowed_regions=["US"])


@pytest.mark.parametrize(
    ("raw", "policy", "e164"),
    [
        ("082 123 4567", ZA, "+27821234567"),
        ("+27 82 123 4567", ZA, "+27821234567"),
        ("0027821234567", ZA, "+27821234567"),
        ("(201) 555-0123", US, "+12015550123"),
        ("+1 201.555.0123", US, "+12015550123"),
        ("０８２ １２３ ４５６７", ZA, "+27821234567"),  # full-width digits
        ("٠٨٢١٢٣٤٥٦٧", ZA, "+27821234567"),  # Arabic-Indic digits
    ],
)
def test_accepted_numbers_become_e164(raw: str, policy: NumberPolicy, e164: str) -> None:
    assert check(raw, policy).e164 == e164


@pytest.mark.parametrize(
    ("raw", "policy", "reason"),
    [
        ("", ZA, "missing"),
        ("   ", ZA, "missing"),
        (None, ZA, "missing"),
        (27821234567, ZA, "missing"),
        ("call me maybe", ZA, "unparsable"),
        ("1" * 41, ZA, "unparsable"),
        ("099 123 4567", ZA, "invalid"),
        ("+27 1", ZA, "unparsable"),
        ("112", ZA, "emergency"),
        ("10111", ZA, "emergency"),
        ("911", US, "emergency"),
        ("+44 20 7946 0958", ZA, "region_not_allowed"),
        ("+1 876 555 0123", US, "region_not_allowed"),  # Jamaica shares +1 with the US
        ("+1 900 555 0199", US, "type_not_allowed"),  # premium rate
        ("0860 123 456", ZA, "type_not_allowed"),  # shared cost
        ("0800 123 456", ZA, "type_not_allowed"),  # toll free
        ("087 123 4567", ZA, "type_not_allowed"),  # VoIP
    ],
)
def test_refused_numbers_name_their_reason(raw: object, policy: NumberPolicy, reason: str) -> None:
    with pytest.raises(PolicyRefusal) as refusal:
        check(raw, policy)
    assert refusal.value.reason == reason
    assert refusal.value.message  # a sentence for the visitor


def test_region_hint_parses_national_numbers_of_another_allowed_region() -> None:
    policy = NumberPolicy(default_region="US", allowed_regions=["US", "ZA"])
    assert check("082 123 4567", policy, region_hint="ZA").e164 == "+27821234567"
    # A hint outside the allowed regions is ignored, not trusted.
    with pytest.raises(PolicyRefusal):
        check("020 7946 0958", policy, region_hint="GB")


def test_widget_may_allow_extra_number_types() -> None:
    policy = NumberPolicy("ZA", ["ZA"], allowed_types=("mobile", "fixed_line", "toll_free"))
    assert check("0800 123 456", policy).number_type == "toll_free"


@pytest.mark.parametrize(
    ("number", "accepted"),
    [("+27821234567", True), ("+27111234567", True), ("+12015550123", False)],
)
def test_click2dial_za_preset(number: str, accepted: bool) -> None:
    policy = NumberPolicy("ZA", ["ZA", "US"], whitelist=WHITELIST_PRESETS["click2dial-za"])
    if accepted:
        assert check(number, policy).e164 == number
    else:
        with pytest.raises(PolicyRefusal, match="can't call this number"):
            check(number, policy)


def test_whitelist_is_anchored_on_the_e164_form() -> None:
    # "\+2782" would match the start of a number if patterns were searched, not full-matched.
    policy = NumberPolicy("ZA", ["ZA"], whitelist=[r"\+2782"])
    with pytest.raises(PolicyRefusal) as refusal:
        check("082 123 4567", policy)
    assert refusal.value.reason == "not_whitelisted"


def test_whitelist_errors_refuse_invalid_and_match_all_patterns() -> None:
    assert whitelist_errors([r"\+27\d{9}"]) == []
    assert whitelist_errors("not a list") == ["must be a list of regular expressions"]
    errors = whitelist_errors([".*", "(", "", r"\+?.*", 5])
    assert len(errors) == 5


def test_every_regions_premium_shared_cost_and_uan_examples_are_refused() -> None:
    refused = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        policy = NumberPolicy(region, [region])
        for kind in (
            PhoneNumberType.PREMIUM_RATE,
            PhoneNumberType.SHARED_COST,
            PhoneNumberType.UAN,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            raw = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            with pytest.raises(PolicyRefusal):
                check(raw, policy)
            refused += 1
    assert refused > 100


def test_mask_hides_all_but_a_few_digits() -> None:
    assert mask("+27821234567") == "+27 82 ••• ••67"
    assert mask(None) == ""
    assert "4567" not in mask("+27821234567")
    assert mask("+390212345678") == "+39 21 ••• ••78"  # as parsed: without the leading zero
    assert mask("not a number") == mask("+0123") == mask("+1") == "•••"


def _mask_by_parsing(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    country, national = str(number.country_code), str(number.national_number)
    if len(national) <= 4:
        return f"+{country} ••{national[-2:]}"
    return f"+{country} {national[:2]} ••• ••{national[-2:]}"


def test_mask_reads_the_country_code_as_parsing_does_for_every_region() -> None:
    # mask splits the calling code off without parsing (it runs for every submission's log
    # line); for every region's example numbers of every type it must show the same.
    numbers = [
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for region in phonenumbers.SUPPORTED_REGIONS
        for kind in range(11)
        if (example := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    assert len(numbers) > 1000
    assert [mask(e164) for e164 in numbers] == [_mask_by_parsing(e164) for e164 in numbers]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(r"\+?[0-9 ()\-.]{0,25}", fullmatch=True)))
def test_any_input_is_accepted_as_policy_conforming_e164_or_refused(raw: str) -> None:
    policy = NumberPolicy("US", ["US", "ZA"])
    try:
        accepted = check(raw, policy)
    except PolicyRefusal as refusal:
        assert refusal.reason
        return
    assert re.fullmatch(r"\+[1-9]\d{6,14}", accepted.e164)
    parsed = phonenumbers.parse(accepted.e164, None)
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.region_code_for_number(parsed) in ("US", "ZA")
