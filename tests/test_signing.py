"""The one signature scheme: `X-Widget-Server-Signature: t=<ts>,v1=<hex>` over "<ts>.<body>"."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from widget_server.core import signing

SECRET = "0123456789abcdef-secret"
BODY = b'{"type":"callback.originate"}'
AT = 1700000000
HEX = "f9c7eab574d55bbc57eadb481181e1a144dc71f28630b3986913efe85b7c7f6a"
HEADER = f"t={AT},v1={HEX}"
OTHER = signing.sign("another-secret-0123456789", BODY, timestamp=AT).split(",")[1]


def test_sign_writes_one_timestamp_and_one_v1_entry() -> None:
    assert signing.sign(SECRET, BODY, timestamp=AT) == HEADER
    stamp = signing.sign(SECRET, BODY).partition(",")[0].removeprefix("t=")
    assert abs(int(stamp) - time.time()) < 2
    assert signing.verify(SECRET, signing.sign(SECRET, BODY), BODY)


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        ({}, True),
        ({"now": AT + 300}, True),
        ({"now": AT - 300}, True),
        ({"now": AT + 301}, False),  # a replay
        ({"now": AT - 301}, False),  # from the future
        ({"tolerance": 10, "now": AT + 11}, False),
        ({"tolerance": 600, "now": AT + 400}, True),
        ({"secret": "another-secret-of-16"}, False),
        ({"body": BODY + b" "}, False),
        ({"header": f"v1={HEX}"}, False),  # no timestamp
        ({"header": f"t={AT}"}, False),  # no signature
        ({"header": f"t={AT + 1},v1={HEX}"}, False),  # timestamp moved
        ({"header": f"t={AT},t={AT},v1={HEX}"}, False),  # which timestamp is signed?
        ({"header": f"t={AT},v1={HEX.upper()}"}, False),
        ({"header": f"t={AT},v0={HEX}"}, False),
        ({"header": f"t={AT},v1={HEX[:-1]}"}, False),
        ({"header": f" t={AT}, v1={HEX} "}, True),
        ({"header": f"t={AT},{OTHER},v1={HEX}"}, True),  # one entry per secret while rotating
        ({"header": f"t={AT},v1=deadbeef,v1={HEX}"}, True),
        ({"header": f"t={AT},v1={HEX},v2=future"}, True),  # later schemes are ignored
        ({"header": f"t={AT},{OTHER}"}, False),
        ({"header": f"t=17e8,v1={HEX}"}, False),
        ({"header": f"t=-{AT},v1={HEX}"}, False),
        ({"header": f"t=\u0661\u0667,v1={HEX}"}, False),  # non-ASCII digits
        ({"header": f"t={AT},v1=\u00e9\ud800"}, False),
        ({"header": ""}, False),
        ({"header": None}, False),
        ({"header": 17}, False),
        ({"body": "not bytes"}, False),
    ],
)
def test_verify(changes: dict, accepted: bool) -> None:
    args = {"secret": SECRET, "header": HEADER, "body": BODY, "now": AT}
    args.update(changes)
    assert signing.verify(**args) is accepted


def test_the_documented_recipe_verifies_our_signatures() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    section = page.split("## Signed requests", 1)[1]
    recipe = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(recipe, "docs/security.md", "exec"), namespace)  # noqa: S102 - our own docs
    verify = namespace["verify"]
    body = b'{"type":"callback.created","number":"+12015550123"}'
    now = int(time.time())
    header = signing.sign(SECRET, body)
    assert verify(SECRET, header, body)
    assert verify(SECRET, f"{header},{OTHER}", body)
    assert not verify(SECRET, header, body.replace(b"0123", b"0124"))
    assert not verify("another-secret-0123456789", header, body)
    assert not verify(SECRET, signing.sign(SECRET, body, timestamp=now - 400), body)
    assert not verify(SECRET, "", body) and not verify(SECRET, "t=1,t=2,v1=x", body)
