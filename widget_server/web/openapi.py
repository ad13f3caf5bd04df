"""The OpenAPI 3.1 document for every HTTP route, public and admin."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from .. import widgets

bp = Blueprint("openapi", __name__)

ERROR = {"$ref": "#/components/schemas/Error"}
ENVELOPE = {"$ref": "#/components/schemas/Envelope"}
HUMAN_CHECK = {
    "type": "object",
    "description": (
        "{} when the widget has no human check. Otherwise `kind` (turnstile, hcaptcha, "
        "altcha), `field` (the form field the browser widget fills) and either `site_key` "
        "(Turnstile, hCaptcha) or a fresh ALTCHA v1 `challenge` {algorithm, challenge, "
        "maxnumber, salt, signature}."
    ),
}
CONFIG = {
    "type": "object",
    "properties": {
        "widget": {"type": "object"},
        "token": {"type": "string"},
        "human_check": HUMAN_CHECK,
    },
}
CALLBACK_REQUEST = {
    "type": "object",
    "required": ["phone", "token"],
    "properties": {
        "phone": {"type": "string"},
        "token": {"type": "string", "description": "form token from /config"},
        "name": {"type": "string"},
        "region": {"type": "string"},
        "page_url": {"type": "string"},
        "extra": {"type": "object"},
        "consent": {"type": "boolean"},
        "human_check": {
            "type": "string",
            "maxLength": 4096,
            "description": (
                "Required when the widget has a human check: the Turnstile or hCaptcha "
                "response token, or the base64 ALTCHA payload. Each works once."
            ),
        },
    },
}
KEY: list[dict[str, list[str]]] = [{"authToken": []}, {"bearer": []}]


def _params(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def _op(summary: str, codes: dict[str, str], *, schema: Any = None, **extra: Any) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for code, description in codes.items():
        body = schema if code.startswith("2") and schema else ERROR
        responses[code] = {
            "description": description,
            "content": {"application/json": {"schema": body}},
        }
    return {"summary": summary, "responses": responses, **extra}


def _json_body(schema: Any) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _html(summary: str, *params: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": _params(*params),
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {}}}},
    }


def document() -> dict[str, Any]:
    doc = _document()
    # Webhook test and log, and erasure: described beside their routes.
    from .owner_api import openapi_paths

    doc["paths"].update(openapi_paths(_op, _params, _json_body, KEY))
    return doc


def _document() -> dict[str, Any]:
    widget = {"type": "object", "properties": {k: {} for k in widgets.PROPERTIES}}
    data = {"type": "object", "required": ["data"], "properties": {"data": widget}}
    account = _params("account_id")
    one = _params("account_id", "widget_id")
    admin_errors = {"401": "Missing, invalid or revoked key", "404": "Not found"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "widget-server", "version": "1"},
        "paths": {
            "/widget.js": {
                "get": {
                    "summary": "The embed loader script",
                    "responses": {
                        "200": {"description": "JavaScript", "content": {"text/javascript": {}}}
                    },
                }
            },
            "/": {"get": _html("Demo page (when enabled)")},
            "/w/{widget_id}": {
                "get": _html("The callback form", "widget_id"),
                "post": _html("Submit the callback form", "widget_id"),
            },
            "/w/{widget_id}/preview": {
                "get": _html(
                    "The widget on a neutral page of this server; its form sends nothing",
                    "widget_id",
                )
            },
            "/w/{widget_id}/theme.css": {
                "get": {
                    "summary": "The form page's colours from the widget's theme",
                    "parameters": _params("widget_id"),
                    "responses": {"200": {"description": "CSS", "content": {"text/css": {}}}},
                }
            },
            "/w/{widget_id}/status/{token}": {
                "get": _html("A callback's status page", "widget_id", "token")
            },
            "/v1/widgets/{widget_id}/config": {
                "get": _op(
                    "Public widget settings, a fresh form token and the widget's human check",
                    {"200": "Config", "403": "Origin not allowed", "404": "No such widget"},
                    schema=CONFIG,
                    parameters=[
                        *_params("widget_id"),
                        {
                            "name": "locale",
                            "in": "query",
                            "description": "language of the texts (else Accept-Language)",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "color",
                            "in": "query",
                            "description": "button colour #rgb/#rrggbb overriding the theme",
                            "schema": {"type": "string"},
                        },
                    ],
                )
            },
            "/v1/widgets/{widget_id}/slots": {
                "get": _op(
                    "Business hours now and the next bookable slots (UTC starts, local labels)",
                    {
                        "200": "Hours and slots",
                        "400": "Bad count",
                        "403": "Origin not allowed",
                        "404": "No such widget",
                    },
                    parameters=[
                        *_params("widget_id"),
                        {
                            "name": "count",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 50},
                        },
                    ],
                )
            },
            "/v1/widgets/{widget_id}/callbacks": {
                "post": _op(
                    "Ask for a callback",
                    {
                        "202": "Accepted",
                        "400": "Bad fields",
                        "403": "Origin",
                        "404": "No widget",
                        "409": "Token used",
                        "415": "Not JSON",
                        "422": "Refused (number, token, or human check not passed)",
                        "429": "Limited",
                    },
                    parameters=_params("widget_id"),
                    requestBody=_json_body(CALLBACK_REQUEST),
                )
            },
            "/v1/callbacks/{token}": {
                "get": _op(
                    "A callback's status for the visitor",
                    {"200": "Status", "404": "Unknown"},
                    parameters=_params("token"),
                )
            },
            **_lifecycle_paths(),
            "/optout": {"get": _html("Opt-out page"), "post": _html("Opt a number out")},
            "/v1/optout": {"post": _op("Opt a number out", {"200": "Done", "400": "Bad"})},
            "/healthz": {"get": _op("Liveness", {"200": "Alive"})},
            "/readyz": {"get": _op("Readiness", {"200": "Ready", "503": "Not ready"})},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "Metrics", "content": {"text/plain": {}}}},
                }
            },
            "/v1/openapi.json": {"get": _op("This document", {"200": "OpenAPI 3.1"})},
            "/v1/accounts/{account_id}/clicktocall": {
                "parameters": account,
                "get": _op(
                    "Summaries: id, name, extension, realm",
                    {"200": "List", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                ),
                "put": _op(
                    "Create a clicktocall",
                    {"200": "Created", "400": "Invalid data", "415": "Not JSON", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                    requestBody=_json_body(data),
                ),
            },
            "/v1/accounts/{account_id}/clicktocall/{widget_id}": {
                "parameters": one,
                "get": _op(
                    "A clicktocall (provider settings masked)",
                    {"200": "Document", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                ),
                "post": _op(
                    "Replace a clicktocall's properties",
                    {"200": "Saved", "400": "Invalid data", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                    requestBody=_json_body(data),
                ),
                "patch": _op(
                    "Merge properties into a clicktocall",
                    {"200": "Saved", "400": "Invalid data", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                    requestBody=_json_body(data),
                ),
                "delete": _op(
                    "Delete a clicktocall and its history",
                    {"200": "Deleted", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                ),
            },
            "/v1/accounts/{account_id}/clicktocall/{widget_id}/connect": {
                "parameters": one,
                "post": _op(
                    "Start a call to data.contact (a key, or a form token when public)",
                    {
                        "202": "Accepted",
                        "400": "Invalid data",
                        "403": "Origin not allowed",
                        "409": "Token used",
                        "422": "Refused",
                        "429": "Limited",
                        **admin_errors,
                    },
                    schema=ENVELOPE,
                    requestBody=_json_body({"type": "object", "required": ["data"]}),
                ),
                "get": _op(
                    "Never places a call: answers 405 with Allow: POST", {"405": "Use POST"}
                ),
            },
            "/v1/accounts/{account_id}/clicktocall/{widget_id}/history": {
                "parameters": one
                + [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in (
                        "page_size",
                        "start_key",
                        "created_from",
                        "created_to",
                        "status",
                        "format",
                    )
                ],
                "get": _op(
                    "Past callbacks, newest first (JSON, or CSV)",
                    {"200": "History", "400": "Invalid data", **admin_errors},
                    schema=ENVELOPE,
                    security=KEY,
                ),
            },
        },
        "components": {
            "securitySchemes": {
                "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {"type": "object"},
                "Envelope": {
                    "type": "object",
                    "required": ["data", "status", "request_id"],
                    "properties": {
                        "data": {},
                        "status": {"const": "success"},
                        "request_id": {"type": "string"},
                        "revision": {"type": "string"},
                    },
                },
            },
        },
    }


def _lifecycle_paths() -> dict[str, Any]:
    """Live status, cancel and provider events."""
    return {
        "/v1/callbacks/{token}/events": {
            "get": {
                "summary": "The callback's status as Server-Sent Events (`event: status`, "
                "`id`, `retry`); ends at a terminal status or after LIVE_STREAM_SECONDS",
                "parameters": [
                    *_params("token"),
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {"description": "Event stream", "content": {"text/event-stream": {}}},
                    "404": {
                        "description": "Unknown",
                        "content": {"application/json": {"schema": ERROR}},
                    },
                },
            }
        },
        "/v1/callbacks/{token}/cancel": {
            "post": _op(
                "Cancel a queued, scheduled or retry-waiting callback",
                {
                    "200": "Canceled (the status body)",
                    "404": "Unknown",
                    "409": "A call is under way or the callback has ended",
                    "415": "Not JSON",
                },
                parameters=_params("token"),
                requestBody=_json_body({"type": "object"}),
            )
        },
        "/w/{widget_id}/status/{token}/cancel": {
            "post": {
                "summary": "Cancel from the status page (form with cancel_token); 303 back",
                "parameters": _params("widget_id", "token"),
                "responses": {
                    "303": {"description": "Back to the status page"},
                    "403": {"description": "Cross-site post or bad cancel token"},
                    "404": {"description": "Unknown"},
                },
            }
        },
        "/v1/events/{provider}/{ref}": {
            "post": _op(
                "A provider's call event, at the signed URL given with the call",
                {
                    "200": "Recorded ({received, applied, known})",
                    "400": "Malformed body (fields name the problem)",
                    "403": "Unsigned, tampered or wrong-provider URL, or a bad signature",
                    "404": "Unknown callback",
                },
                parameters=_params("provider", "ref"),
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["status"],
                                "properties": {
                                    "status": {"type": "string"},
                                    "call_id": {"type": "string"},
                                    "cause": {"type": "string"},
                                },
                            }
                        },
                    },
                },
            )
        },
    }


@bp.route("/v1/openapi.json", methods=["GET"])
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
