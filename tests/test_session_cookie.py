"""Flask's session cookie: its signer is built once per set of keys, and still signs."""

from __future__ import annotations

from flask import Flask, session

from widget_server.web.session_cookie import SessionCookie


def test_the_signer_is_kept_per_key_set_and_a_new_key_gets_its_own(app: Flask) -> None:
    cookie = app.session_interface
    assert isinstance(cookie, SessionCookie)
    first = cookie.get_signing_serializer(app)
    assert first is not None and cookie.get_signing_serializer(app) is first
    signed = first.dumps({"csrf": "x"})
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = "a newer key, at least as long as the old one"
    rotated = cookie.get_signing_serializer(app)
    assert rotated is not None and rotated is not first
    assert rotated.loads(signed) == {"csrf": "x"}  # the old key still reads its cookies


def test_a_value_set_in_the_session_comes_back_on_the_next_request(app: Flask) -> None:
    @app.get("/_session_probe/<value>")
    def probe(value: str) -> str:
        before = session.get("probe", "")
        session["probe"] = value
        return before

    client = app.test_client()
    assert client.get("/_session_probe/one").text == ""
    assert client.get("/_session_probe/two").text == "one"
