"""The OpenAPI 3.1 document for every HTTP route, public and admin.

The owners' dashboard (`/dashboard/`, pages for signed-in people behind CSRF-checked forms)
is no API and not in the document.

The document is built from small helpers so a new route is one entry in `_public_paths` or
`_admin_paths`:

- `json_op(summary, {code: schema}, errors=(...))` for the public JSON API, whose errors are
  `{"error", "message", "fields"}` (`#/components/schemas/Error`);
- `admin_op(summary, {code: schema}, errors=(...))` for the Kazoo-shaped admin API, whose
  answers are wrapped in `envelope(schema)` and whose errors are
  `#/components/schemas/KazooError`;
- `html_op(summary, ...)` for pages, whose errors are an HTML page or, when the client
  prefers JSON, the public error body.

Reusable schemas live in `components.schemas` (see `_schemas`); refer to them with `ref`.
The payloads' schemas are their pydantic models' (`model_schemas`), never written here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ..calls import scheduling
from ..core.statuses import Status
from ..intake import idempotency
from ..intake.payloads import CallbackRequest, ConnectRequest
from ..notify import webhooks
from ..owners import admin
from ..owners.widget_properties import Clicktocall, WidgetProperties
from .owner_api import MAX_DELIVERIES

bp = Blueprint("openapi", __name__)

Schema = dict[str, Any]

# What each error status means on this server; the same words for every route.
ERROR_TEXT = {
    "400": "Invalid data: the body names each field and the reason",
    "401": "Missing, invalid or revoked API key",
    "403": "Origin not allowed",
    "404": "Not found (another account's resources are not found either)",
    "405": "Method not allowed",
    "409": "Form token or Idempotency-Key already in use",
    "413": "Request body too large",
    "415": "The body must be JSON (Content-Type: application/json)",
    "422": "Refused: the number policy, the form token's age, the human check, the slot, or "
    "a feature the widget's provider lacks (the body names the property)",
    "429": "Too many requests (one message for every limit); see Retry-After",
    "503": "A store is unavailable; nothing was dialled",
}
KEY_SECURITY: list[dict[str, list[str]]] = [{"authToken": []}, {"bearer": []}]
# Public clicktocalls (auth_required false) connect without a key.
OPTIONAL_KEY_SECURITY: list[dict[str, list[str]]] = [*KEY_SECURITY, {}]
# Errors any route that reads the database may answer.
STORE = ("503",)
BODY_ERRORS = ("400", "413", "415")
ADMIN_ERRORS = ("401", "404", "429", "503")


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def string_map() -> Schema:
    return {"type": "object", "additionalProperties": {"type": "string"}}


def envelope(data: Schema, **extra: Schema) -> Schema:
    """Kazoo's success envelope around `data`; `extra` adds top-level properties."""
    return {"allOf": [ref("Envelope"), {"type": "object", "properties": {"data": data, **extra}}]}


def path_params(*names: str) -> list[Schema]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in names
    ]


def _content(schema: Schema, media_type: str = "application/json") -> Schema:
    return {media_type: {"schema": schema}}


def _error_responses(codes: tuple[str, ...], schema: Schema, *, html: bool = False) -> Schema:
    content = _content(schema)
    if html:
        content = {**content, **_content({"type": "string"}, "text/html")}
    return {code: {"description": ERROR_TEXT[code], "content": content} for code in codes}


def json_op(
    summary: str,
    ok: dict[str, Schema],
    *,
    errors: tuple[str, ...] = (),
    body: Schema | None = None,
    **extra: Any,
) -> Schema:
    """A public JSON operation: `ok` maps success codes to body schemas."""
    responses = {
        code: {"description": summary, "content": _content(schema)} for code, schema in ok.items()
    }
    responses.update(_error_responses(errors, ref("Error")))
    operation: Schema = {"summary": summary, "responses": responses, **extra}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _content(body)}
    return operation


def admin_op(
    summary: str,
    ok: dict[str, Schema],
    *,
    errors: tuple[str, ...] = ADMIN_ERRORS,
    body: Schema | None = None,
    security: list[dict[str, list[str]]] = KEY_SECURITY,
    **extra: Any,
) -> Schema:
    """A Kazoo-shaped admin operation: `ok` maps success codes to their `data` schemas."""
    responses = {
        code: {"description": summary, "content": _content(envelope(schema))}
        for code, schema in ok.items()
    }
    responses.update(_error_responses(errors, ref("KazooError")))
    operation: Schema = {
        "summary": summary,
        "security": security,
        "responses": responses,
        **extra,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _content(body)}
    return operation


def html_op(
    summary: str,
    ok: tuple[str, ...] = ("200",),
    *,
    errors: tuple[str, ...] = ("404",),
    **extra: Any,
) -> Schema:
    """A page: HTML, and errors as HTML or (for a client preferring JSON) the public body."""
    responses: Schema = {
        code: {"description": summary, "content": _content({"type": "string"}, "text/html")}
        for code in ok
    }
    responses.update(_error_responses(errors, ref("Error"), html=True))
    return {"summary": summary, "responses": responses, **extra}


def data_body(schema: Schema) -> Schema:
    """Kazoo's request envelope: `{"data": {...}}`."""
    return {"type": "object", "required": ["data"], "properties": {"data": schema}}


# Components


def model_schemas() -> dict[str, Schema]:
    """The payload models' JSON Schemas, each under its model's name."""
    _, top = models_json_schema(
        [
            (CallbackRequest, "validation"),
            (ConnectRequest, "validation"),
            (WidgetProperties, "validation"),
            (Clicktocall, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
        schema_generator=_WithoutPropertyTitles,
    )
    schemas: dict[str, Schema] = top["$defs"]
    return schemas


class _WithoutPropertyTitles(GenerateJsonSchema):
    # A property's name says what pydantic's title would repeat.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _sent_back(properties: Schema, *, partial: bool) -> Schema:
    """Properties as Kazoo clients send them: a fetched document, its id included (ignored)."""
    schema = {**properties, "properties": {**properties["properties"], "id": {"type": "string"}}}
    if partial:
        schema.pop("required", None)
    return schema


def idempotency_key_header() -> Schema:
    return {
        "name": idempotency.HEADER,
        "in": "header",
        "schema": idempotency.KEY.json_schema(),
    }


STATUS = {"type": "string", "enum": [status.value for status in Status]}


def _schemas() -> dict[str, Schema]:
    models = model_schemas()
    clicktocall = models["Clicktocall"]["properties"]
    return {
        **models,
        "Error": {
            "type": "object",
            "required": ["error", "message", "fields"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "fields": string_map(),
                "token": {"type": "string", "description": "A fresh form token (form page)"},
            },
        },
        "Envelope": {
            "type": "object",
            "required": ["data", "status", "request_id", "revision", "auth_token"],
            "properties": {
                "data": {},
                "status": {"const": "success"},
                "request_id": {"type": "string", "minLength": 1},
                "revision": {"type": "string", "minLength": 1},
                "auth_token": {"const": "", "description": "Kazoo's field; never a credential"},
            },
        },
        "KazooError": {
            "type": "object",
            "required": ["data", "error", "message", "status", "request_id"],
            "properties": {
                "data": {
                    "type": "object",
                    "description": "Per field, per rule: {field: {rule: {message}}}",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {"message": {"type": "string"}},
                        },
                    },
                },
                "error": {"type": "string", "pattern": "^[45][0-9]{2}$"},
                "message": {"type": "string"},
                "status": {"const": "error"},
                "request_id": {"type": "string", "minLength": 1},
            },
        },
        "Status": STATUS,
        "ClicktocallSummary": {
            "type": "object",
            "required": list(admin.SUMMARY_FIELDS),
            "properties": {name: clicktocall[name] for name in admin.SUMMARY_FIELDS},
        },
        "HistoryItem": {
            "type": "object",
            "required": ["id", "contact", "timestamp", "call_id", "status", "result", "cause"],
            "properties": {
                "id": {"type": "string"},
                "contact": {"type": "string", "pattern": r"^\+[1-9][0-9]{1,14}$"},
                "timestamp": {"type": "string", "format": "date-time"},
                "call_id": nullable({"type": "string"}),
                "status": ref("Status"),
                "result": ref("Status"),
                "cause": nullable({"type": "string"}),
                "attempts": {"type": "integer", "minimum": 0},
                "department": nullable({"type": "string"}),
                "agent_attempts": {
                    "type": "array",
                    "description": "Each attempt's agent (numbers masked) and how it ended",
                    "items": {
                        "type": "object",
                        "required": ["attempt", "agent", "outcome", "cause"],
                        "properties": {
                            "attempt": {"type": "integer", "minimum": 1},
                            "agent": {"type": "string"},
                            "agent_label": {"type": "string"},
                            "leg": {"type": "integer", "minimum": 1},
                            "round": {"type": "integer", "minimum": 1},
                            "outcome": nullable(ref("Status")),
                            "cause": nullable({"type": "string"}),
                        },
                    },
                },
                "provider": nullable(
                    {"type": "string", "description": "The provider that took the call"}
                ),
            },
        },
        "Accepted": {
            "type": "object",
            "required": ["id", "status", "status_url"],
            "properties": {
                "id": {"type": "string"},
                "status": ref("Status"),
                "status_url": {"type": "string", "format": "uri"},
                "scheduled_for": {"type": "string", "format": "date-time"},
            },
        },
        "CallbackStatus": {
            "type": "object",
            "required": ["id", "status", "text", "terminal", "updated_at"],
            "properties": {
                "id": {"type": "string"},
                "status": ref("Status"),
                "text": {"type": "string"},
                "terminal": {"type": "boolean"},
                "number": {"type": "string", "description": "Masked"},
                "attempts": {"type": "integer", "minimum": 0},
                "updated_at": nullable({"type": "string", "format": "date-time"}),
                "reason": nullable({"type": "string", "description": "After an unhappy end"}),
                "cancelable": {"type": "boolean"},
                "scheduled_for": nullable({"type": "string", "format": "date-time"}),
            },
        },
        "Hours": {
            "type": "object",
            "required": ["open", "closed", "next_open"],
            "properties": {
                "open": {"type": "boolean"},
                "closed": {"type": "boolean"},
                "next_open": nullable({"type": "string", "format": "date-time"}),
            },
        },
        "WebhookDelivery": {
            "type": "object",
            "required": ["id", "event", "status", "attempts"],
            "properties": {
                "id": {"type": "integer"},
                "event_id": nullable({"type": "string"}),
                "event": {"type": "string"},
                "callback_id": nullable({"type": "string"}),
                "status": {"enum": list(webhooks.DELIVERY_STATUSES)},
                "attempts": {"type": "integer", "minimum": 0},
                "last_status_code": nullable({"type": "integer"}),
                "last_error": nullable({"type": "string"}),
                "created_at": nullable({"type": "string"}),
                "next_attempt_at": nullable({"type": "string"}),
                "delivered_at": nullable({"type": "string"}),
            },
        },
        "WidgetNotAllowedHere": {
            "type": "object",
            "description": "The answer to a loader on an origin the widget does not allow: "
            "no configuration and no token (the form page, form tokens and submissions are "
            "refused there with 403). A 200 with CORS headers for that origin, so the loader "
            "can log the hint and the browser logs no error of its own",
            "required": ["allowed", "reason", "owner_hint"],
            "additionalProperties": False,
            "properties": {
                "allowed": {"const": False},
                "reason": {"const": "origin_not_allowed"},
                "owner_hint": {"type": "string", "description": "one line for the site owner"},
            },
        },
        "WidgetConfig": {
            "type": "object",
            "required": ["allowed", "widget", "token", "human_check"],
            "properties": {
                "allowed": {"const": True},
                "token": {"type": "string", "minLength": 1},
                "human_check": {
                    "type": "object",
                    "description": "{} when off; else kind, field and a site key or a fresh "
                    "ALTCHA v1 challenge",
                },
                "widget": {
                    "type": "object",
                    "required": ["id", "name", "locale", "default_region", "regions"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "locale": {"type": "string"},
                        "texts": {"type": "object"},
                        "theme": {"type": "object"},
                        "default_region": {"type": "string"},
                        "regions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["code", "label"],
                                "properties": {
                                    "code": {"type": "string"},
                                    "label": {"type": "string"},
                                },
                            },
                        },
                        "require_consent": {"type": "boolean"},
                        "business_hours": {"type": "object"},
                        "time_zone": {"type": "string"},
                        "hours": ref("Hours"),
                        "departments": {
                            "type": "array",
                            "description": "What the visitor may pick (send its key as "
                            "department), named in the request's language",
                            "items": {
                                "type": "object",
                                "required": ["key", "name", "hours"],
                                "properties": {
                                    "key": {"type": "string"},
                                    "name": {"type": "string"},
                                    "hours": ref("Hours"),
                                },
                            },
                        },
                        "embed": {
                            "type": "object",
                            "description": "The loader's button: theme, display rules, texts",
                        },
                    },
                },
            },
        },
    }


# Paths


def _public_paths() -> dict[str, Schema]:
    one_widget = path_params("widget_id")
    form_fields = {
        "type": "object",
        "properties": {
            name: {"type": "string"}
            for name in (
                "phone",
                "region",
                "name",
                "consent",
                "website",
                "token",
                "host",
                "scheduled_for",
                "cf-turnstile-response",
                "h-captcha-response",
                "altcha",
            )
        },
    }
    return {
        "/widget.js": {
            "get": {
                "summary": "The embed loader script",
                "responses": {
                    "200": {
                        "description": "JavaScript",
                        "content": _content({"type": "string"}, "text/javascript"),
                    },
                    "304": {"description": "Not modified (ETag)"},
                },
            }
        },
        "/": {"get": html_op("Demo page (when enabled)", errors=("404", *STORE))},
        "/w/{widget_id}": {
            "parameters": one_widget,
            "get": html_op("The callback form", errors=("404", *STORE)),
            "post": _form_submission(form_fields),
        },
        "/w/{widget_id}/status/{token}": {
            "parameters": path_params("widget_id", "token"),
            "get": html_op("A callback's status page", errors=("404", *STORE)),
        },
        "/w/{widget_id}/status/{token}/cancel": {
            "parameters": path_params("widget_id", "token"),
            "post": {
                "summary": "Cancel from the status page without JavaScript (303 back)",
                "requestBody": {
                    "required": True,
                    "content": _content(
                        {"type": "object", "properties": {"cancel_token": {"type": "string"}}},
                        "application/x-www-form-urlencoded",
                    ),
                },
                "responses": {
                    "303": {
                        "description": "Back to the status page",
                        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
                    },
                    **_error_responses(
                        ("400", "403", "404", "413", *STORE), ref("Error"), html=True
                    ),
                },
            },
        },
        "/w/{widget_id}/preview": {
            "parameters": one_widget,
            "get": html_op(
                "The widget on a neutral page of this server; its form sends nothing",
                errors=("404", *STORE),
            ),
        },
        "/assets/{name}": {
            "parameters": path_params("name"),
            "get": {
                "summary": "A script or stylesheet of the form, named by its content's digest "
                "(cached for a year, immutable)",
                "responses": {
                    "200": {
                        "description": "JavaScript or CSS",
                        "content": {
                            **_content({"type": "string"}, "text/javascript"),
                            **_content({"type": "string"}, "text/css"),
                        },
                    },
                    "304": {"description": "Not modified (ETag)"},
                    **_error_responses(("404", *STORE), ref("Error"), html=True),
                },
            },
        },
        "/w/{widget_id}/theme.css": {
            "parameters": one_widget,
            "get": {
                "summary": "The form page's accent colour from the widget's theme",
                "parameters": [
                    {
                        "name": "v",
                        "in": "query",
                        "required": False,
                        "description": "The digest of its content: cached as immutable when "
                        "it matches",
                        "schema": {"type": "string", "maxLength": 64},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "CSS",
                        "content": _content({"type": "string"}, "text/css"),
                    },
                    **_error_responses(("404", *STORE), ref("Error"), html=True),
                },
            },
        },
        "/v1/widgets/{widget_id}/config": {
            "parameters": one_widget,
            "get": json_op(
                "Public widget settings, a fresh form token and the widget's human check; "
                "on an origin the widget does not allow, only a line for the site owner",
                {"200": {"oneOf": [ref("WidgetConfig"), ref("WidgetNotAllowedHere")]}},
                errors=("404", *STORE),
                parameters=[
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
            ),
        },
        "/v1/widgets/{widget_id}/beacon": {
            "parameters": one_widget,
            "post": {
                "summary": "The loader's funnel beacon: the button was shown, or the panel "
                "opened. Counted only; no cookie, nothing about the visitor is kept",
                "requestBody": {
                    "required": True,
                    "content": _content(
                        {
                            "type": "object",
                            "required": ["event"],
                            "properties": {
                                "event": {"type": "string", "enum": ["shown", "opened"]},
                                "page_url": {"type": "string", "maxLength": 2048},
                            },
                        },
                        "application/x-www-form-urlencoded",
                    ),
                },
                "responses": {
                    "204": {"description": "Counted"},
                    **_error_responses(("400", "403", "404", "429", *STORE), ref("Error")),
                },
            },
        },
        "/v1/widgets/{widget_id}/slots": {
            "parameters": one_widget,
            "get": json_op(
                "Business hours now and the next bookable slots (UTC starts, local labels)",
                {
                    "200": {
                        "type": "object",
                        "required": ["hours", "time_zone", "slots"],
                        "properties": {
                            "hours": ref("Hours"),
                            "time_zone": {"type": "string"},
                            "slots": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["start", "label"],
                                    "properties": {
                                        "start": {"type": "string", "format": "date-time"},
                                        "label": {"type": "string"},
                                    },
                                },
                            },
                        },
                    }
                },
                errors=("400", "403", "404", *STORE),
                parameters=[
                    {
                        "name": "count",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": scheduling.MAX_SLOT_COUNT,
                        },
                    },
                    {
                        "name": "department",
                        "in": "query",
                        "description": "A department's key: the slots of its own hours",
                        "schema": {"type": "string", "maxLength": 32},
                    },
                ],
            ),
        },
        "/v1/widgets/{widget_id}/callbacks": {
            "parameters": one_widget,
            "post": json_op(
                "Ask for a callback",
                {"202": ref("Accepted")},
                errors=(*BODY_ERRORS, "403", "404", "409", "422", "429", *STORE),
                body=ref("CallbackRequest"),
                parameters=[idempotency_key_header()],
            ),
        },
        "/v1/callbacks/{token}": {
            "parameters": path_params("token"),
            "get": json_op(
                "A callback's status for the visitor",
                {"200": ref("CallbackStatus")},
                errors=("404", *STORE),
            ),
        },
        "/v1/callbacks/{token}/events": {
            "parameters": path_params("token"),
            "get": {
                "summary": "The callback's status as Server-Sent Events (`event: status`, `id`, "
                "`retry`); ends at a terminal status or after LIVE_STREAM_SECONDS. Past "
                "LIVE_STREAMS_PER_CLIENT streams open from one address (429) or "
                "LIVE_STREAMS_PER_WORKER in one web process (503), follow the status URL",
                "parameters": [
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "Event stream",
                        # One schema per event: `event: status`, its `id`, and the status
                        # body as the JSON text of `data`.
                        "content": _content(
                            {
                                "type": "object",
                                "required": ["event", "data"],
                                "properties": {
                                    "event": {"const": "status"},
                                    "id": {"type": "string"},
                                    "data": {
                                        "type": "string",
                                        "contentMediaType": "application/json",
                                        "contentSchema": ref("CallbackStatus"),
                                    },
                                },
                            },
                            "text/event-stream",
                        ),
                    },
                    **_error_responses(("404", "429", *STORE), ref("Error")),
                },
            },
        },
        "/v1/callbacks/{token}/cancel": {
            "parameters": path_params("token"),
            "post": json_op(
                "Cancel a queued, scheduled or retry-waiting callback",
                {"200": ref("CallbackStatus")},
                errors=(*BODY_ERRORS, "404", "409", *STORE),
                body={"type": "object"},
            ),
        },
        "/v1/events/{provider}/{ref}": {
            "parameters": path_params("provider", "ref"),
            "post": {
                "summary": "A provider's call event, at the signed URL given with the call",
                "requestBody": {
                    "required": True,
                    "content": {
                        **_content({"type": "object"}, "application/x-www-form-urlencoded"),
                        **_content(
                            {
                                "type": "object",
                                "required": ["status"],
                                "properties": {
                                    "status": {"type": "string"},
                                    "call_id": {"type": "string"},
                                    "cause": {"type": "string"},
                                },
                            }
                        ),
                    },
                },
                "responses": {
                    "200": {
                        "description": "Recorded",
                        "content": _content(
                            {
                                "type": "object",
                                "required": ["received"],
                                "properties": {
                                    "received": {"type": "boolean"},
                                    "applied": {"type": "boolean"},
                                    "known": {"type": "boolean"},
                                },
                            }
                        ),
                    },
                    **_error_responses(("400", "403", "404", "413", "415", *STORE), ref("Error")),
                },
            },
        },
        "/optout": {
            "get": html_op("Opt-out page: the number, then the code texted to it", errors=()),
            "post": html_op(
                "Ask for an opt-out code (from this server's own page)",
                errors=("400", "403", "413", "429", *STORE),
                requestBody={
                    "required": True,
                    "content": _content(
                        {"type": "object", "properties": {"phone": {"type": "string"}}},
                        "application/x-www-form-urlencoded",
                    ),
                },
            ),
        },
        "/optout/confirm": {
            "post": html_op(
                "Confirm an opt-out with the texted code (from this server's own page)",
                errors=("403", "413", "422", "429", *STORE),
                requestBody={
                    "required": True,
                    "content": _content(
                        {
                            "type": "object",
                            "properties": {
                                "request": {"type": "string"},
                                "code": {"type": "string"},
                            },
                        },
                        "application/x-www-form-urlencoded",
                    ),
                },
            ),
        },
        "/v1/optout": {
            "post": json_op(
                "Ask for an opt-out code texted to the number (the same answer whatever the"
                " number; 503 where no text sender is set up)",
                {
                    "202": {
                        "type": "object",
                        "required": ["status", "request", "confirm_url", "expires_in", "message"],
                        "properties": {
                            "status": {"const": "code_sent"},
                            "request": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                            "confirm_url": {"type": "string", "format": "uri"},
                            "expires_in": {"type": "integer"},
                            "message": {"type": "string"},
                        },
                    }
                },
                errors=(*BODY_ERRORS, "429", *STORE),
                body={
                    "type": "object",
                    "required": ["phone"],
                    "properties": {"phone": {"type": "string", "maxLength": 40}},
                },
            )
        },
        "/v1/optout/confirm": {
            "post": json_op(
                "Confirm an opt-out with the code texted to the number",
                {
                    "200": {
                        "type": "object",
                        "required": ["status", "message"],
                        "properties": {
                            "status": {"const": "opted_out"},
                            "message": {"type": "string"},
                        },
                    }
                },
                errors=(*BODY_ERRORS, "422", "429", *STORE),
                body={
                    "type": "object",
                    "required": ["request", "code"],
                    "properties": {"request": {"type": "string"}, "code": {"type": "string"}},
                },
            )
        },
        "/healthz": {
            "get": json_op(
                "Liveness",
                {"200": {"type": "object", "properties": {"status": {"const": "ok"}}}},
            )
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: the database, the rate-limit store and the queue",
                "responses": {
                    code: {"description": text, "content": _content(_readiness())}
                    for code, text in (("200", "Ready"), ("503", "Not ready"))
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (the operator's METRICS_TOKEN as a Bearer token)",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": _content({"type": "string"}, "text/plain"),
                    },
                    "401": {
                        "description": "Without the operator's token",
                        "content": _content({"type": "string"}, "text/html"),
                    },
                    "404": {
                        "description": "No METRICS_TOKEN is set: there is no metrics route",
                        "content": _content({"type": "string"}, "text/html"),
                    },
                },
            }
        },
        "/v1/openapi.json": {
            "get": json_op(
                "This document",
                {"200": {"type": "object", "required": ["openapi", "paths"]}},
            )
        },
    }


def _form_submission(form_fields: Schema) -> Schema:
    """The form's POST: 303 to the status page, or 202 JSON for a client asking for JSON."""
    operation = html_op(
        "Submit the callback form",
        ok=(),
        errors=("400", "403", "404", "409", "413", "422", "429", *STORE),
        requestBody={
            "required": True,
            "content": _content(form_fields, "application/x-www-form-urlencoded"),
        },
    )
    accepted = {
        "allOf": [
            ref("Accepted"),
            {
                "type": "object",
                "required": ["text", "status_page"],
                "properties": {"text": {"type": "string"}, "status_page": {"type": "string"}},
            },
        ]
    }
    operation["responses"] = {
        "202": {
            "description": "Accepted (Accept: application/json)",
            "content": _content(accepted),
        },
        "303": {
            "description": "Accepted: see the status page",
            "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
        },
        **operation["responses"],
    }
    return operation


def _readiness() -> Schema:
    return {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["ok", "unavailable"]},
            "checks": {
                "type": "object",
                "required": ["database", "rate_limits", "queue"],
                "additionalProperties": {"type": "string"},
            },
        },
    }


def _history_parameters() -> list[Schema]:
    def query(name: str, schema: Schema, description: str) -> Schema:
        return {"name": name, "in": "query", "schema": schema, "description": description}

    return [
        query(
            "page_size",
            {"type": "integer", "minimum": 1, "maximum": admin.MAX_PAGE_SIZE},
            f"Items per page ({admin.DEFAULT_PAGE_SIZE}; CSV: {admin.MAX_PAGE_SIZE})",
        ),
        query("start_key", {"type": "string"}, "next_start_key from the previous page"),
        query("created_from", {"type": "string"}, "ISO 8601 or Unix seconds"),
        query("created_to", {"type": "string"}, "ISO 8601 or Unix seconds"),
        query("status", ref("Status"), "Only callbacks in this status"),
        query("format", {"enum": ["json", "csv"]}, "csv: the same as Accept: text/csv"),
    ]


def _admin_paths(properties: Schema) -> dict[str, Schema]:
    """The admin routes; `properties` is the schema of the clicktocall properties sent."""
    base = "/v1/accounts/{account_id}/clicktocall"
    history_ok = {
        "200": {
            "description": "History, newest first (JSON, or CSV with X-Next-Start-Key)",
            "content": {
                **_content(
                    envelope(
                        {"type": "array", "items": ref("HistoryItem")},
                        page_size={"type": "integer", "minimum": 0},
                        next_start_key={"type": "string"},
                    )
                ),
                **_content({"type": "string"}, "text/csv"),
            },
        }
    }
    history = admin_op("A clicktocall's past callbacks", {}, errors=("400", *ADMIN_ERRORS))
    history["responses"] = {**history_ok, **history["responses"]}
    return {
        base: {
            "parameters": path_params("account_id"),
            "get": admin_op(
                "Summaries: id, name, extension, realm",
                {"200": {"type": "array", "items": ref("ClicktocallSummary")}},
            ),
            "put": admin_op(
                "Create a clicktocall",
                {"200": ref("Clicktocall")},
                errors=(*BODY_ERRORS, "422", *ADMIN_ERRORS),
                body=data_body(ref("WidgetProperties")),
            ),
        },
        f"{base}/{{widget_id}}": {
            "parameters": path_params("account_id", "widget_id"),
            "get": admin_op(
                "A clicktocall (provider settings masked)", {"200": ref("Clicktocall")}
            ),
            "post": admin_op(
                "Replace a clicktocall's properties (omitted ones reset to their defaults)",
                {"200": ref("Clicktocall")},
                errors=(*BODY_ERRORS, "422", *ADMIN_ERRORS),
                body=data_body(_sent_back(properties, partial=False)),
            ),
            "patch": admin_op(
                "Merge properties into a clicktocall",
                {"200": ref("Clicktocall")},
                errors=(*BODY_ERRORS, "422", *ADMIN_ERRORS),
                body=data_body(_sent_back(properties, partial=True)),
            ),
            "delete": admin_op(
                "Delete a clicktocall and its history",
                {"200": ref("ClicktocallSummary")},
            ),
        },
        f"{base}/{{widget_id}}/connect": {
            "parameters": path_params("account_id", "widget_id"),
            "post": admin_op(
                "Start a call to data.contact: with a key, or with a form token when the "
                "clicktocall is public (auth_required false)",
                {"202": ref("Accepted")},
                errors=(*BODY_ERRORS, "401", "403", "404", "409", "422", "429", "503"),
                body=data_body(ref("ConnectRequest")),
                security=OPTIONAL_KEY_SECURITY,
                parameters=[idempotency_key_header()],
            ),
            "get": admin_op(
                "Never places a call: answers 405 with Allow: POST",
                {},
                errors=("405", "429"),
                security=OPTIONAL_KEY_SECURITY,
            ),
        },
        f"{base}/{{widget_id}}/history": {
            "parameters": path_params("account_id", "widget_id") + _history_parameters(),
            "get": history,
        },
        f"{base}/{{widget_id}}/webhook/test": {
            "parameters": path_params("account_id", "widget_id"),
            "post": admin_op(
                "Send a sample webhook.test event now (one attempt); answers the delivery",
                {"200": ref("WebhookDelivery")},
                errors=("400", *ADMIN_ERRORS),
            ),
        },
        f"{base}/{{widget_id}}/webhook/deliveries": {
            "parameters": [
                *path_params("account_id", "widget_id"),
                {
                    "name": "page_size",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_DELIVERIES},
                },
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"enum": list(webhooks.DELIVERY_STATUSES)},
                },
            ],
            "get": admin_op(
                "The webhook delivery log, newest first",
                {"200": {"type": "array", "items": ref("WebhookDelivery")}},
                errors=("400", *ADMIN_ERRORS),
            ),
        },
        "/v1/accounts/{account_id}/erase": {
            "parameters": path_params("account_id"),
            "post": admin_op(
                "Erase one number's data across the account's callbacks; cancels pending ones",
                {
                    "200": {
                        "type": "object",
                        "required": ["number", "erased"],
                        "properties": {
                            "number": {"type": "string", "description": "Masked"},
                            "erased": {
                                "type": "object",
                                "additionalProperties": {"type": "integer", "minimum": 0},
                            },
                        },
                    }
                },
                errors=(*BODY_ERRORS, *ADMIN_ERRORS),
                body=data_body(
                    {
                        "type": "object",
                        "required": ["number"],
                        "properties": {"number": {"type": "string", "maxLength": 40}},
                        "additionalProperties": False,
                    }
                ),
            ),
        },
    }


def document() -> dict[str, Any]:
    schemas = _schemas()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "widget-server",
            "version": "1",
            "description": "Public callback API and a Kazoo-compatible clicktocall admin API.",
        },
        "paths": {**_public_paths(), **_admin_paths(schemas["WidgetProperties"])},
        "components": {
            "securitySchemes": {
                "authToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": schemas,
        },
    }


@bp.route("/v1/openapi.json", methods=["GET"])
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
