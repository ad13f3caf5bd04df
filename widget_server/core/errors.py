"""One exception tree for refusals, and the one helper that turns them into JSON."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from .i18n import N_


class WidgetServerError(HTTPException):
    """A refusal with an error code, a human message and optional per-field reasons."""

    code = 400
    error = "bad_request"
    message = N_("The request could not be understood.")

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        retry_after: int | None = None,
        reason: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Class defaults are marked with N_ and translated here, in the visitor's language.
        text = message or gettext(self.message)
        super().__init__(text)
        self.message = text
        self.fields = fields or {}
        self.retry_after = retry_after
        # The internal cause, for logs and metrics; never shown to the client.
        self.reason = reason or self.error
        self.headers = headers or {}

    def get_headers(self, *_args: Any, **_kwargs: Any) -> list[tuple[str, str]]:
        # Only what the refusal itself adds (the body's type is its renderer's to say).
        return list(self.headers.items())


class BadRequest(WidgetServerError):
    code, error = 400, "bad_request"


class Unauthorized(WidgetServerError):
    code, error = 401, "unauthorized"
    message = "Present the operator's token: Authorization: Bearer <token>."


class Forbidden(WidgetServerError):
    code, error = 403, "forbidden"
    message = N_("This site is not allowed to use this widget.")


class NotFound(WidgetServerError):
    code, error = 404, "not_found"
    message = N_("Not found.")


class Conflict(WidgetServerError):
    code, error = 409, "conflict"


class UnsupportedMediaType(WidgetServerError):
    code, error = 415, "unsupported_media_type"
    message = "Send the request body as JSON with Content-Type: application/json."


class Unprocessable(WidgetServerError):
    code, error = 422, "invalid"
    message = N_("Some fields are not valid.")


class TooManyRequests(WidgetServerError):
    code, error = 429, "rate_limited"
    # One message for every limit, so an attacker cannot tell which one tripped.
    message = N_("We can't take this request right now. Please try again later.")


class Unavailable(WidgetServerError):
    code, error = 503, "unavailable"
    message = N_("The service is temporarily unavailable. Please try again shortly.")


class QueueUnavailable(Unavailable):
    """The job queue's store could not take a job: nothing was enqueued."""

    def __init__(self) -> None:
        super().__init__(reason="queue_down")


_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_response(exc: HTTPException, extra: dict[str, Any] | None = None) -> Response:
    """Render any HTTP error as {"error", "message", "fields"} JSON."""
    status = exc.code or 500
    if isinstance(exc, WidgetServerError):
        body: dict[str, Any] = {"error": exc.error, "message": exc.message, "fields": exc.fields}
        retry_after = exc.retry_after
    else:
        # flask-limiter's 429 describes the limit; every limit answers with one message.
        message = TooManyRequests.message if status == 429 else exc.description or ""
        body = {"error": _ERROR_CODES.get(status, "error"), "message": message, "fields": {}}
        retry_after = None
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status
    keep_headers(exc, response)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def keep_headers(exc: HTTPException, response: Response) -> None:
    """Copy onto `response` what the error attached (Allow on a 405, a limit's state), but
    not its body's type: the response's own renderer says that."""
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
