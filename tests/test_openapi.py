"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

IGNORED = {"HEAD", "OPTIONS"}


def test_document_paths_and_methods_match_the_url_map(app: Flask, client: FlaskClient) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    described = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - IGNORED
    }
    assert described == served
