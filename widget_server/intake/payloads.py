"""The callback request, defined once: it checks JSON submissions (the public API and Kazoo's
connect), sets the visitor form's limits and is the OpenAPI document's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from flask_babel import gettext
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from ..core.errors import BadRequest
from ..core.i18n import N_
from ..core.text import has_control, has_unpaired_surrogate
from ..core.validation import REFUSED, constraint, field_named, first_errors, refusal
from .submission import Submission

REFUSED_MESSAGE = N_("Some fields are missing or have the wrong type.")
REQUIRED = N_("This field is required.")
UNKNOWN = N_("Unknown field.")
NOT_TEXT = N_("Must be a string.")
NOT_BOOLEAN = N_("Must be true or false.")
NOT_OBJECT = N_("Must be an object.")
TOO_LONG = N_("At most %(max)d characters.")
CONTROL_CHARACTERS = N_("Must not contain control characters.")
BROKEN_TEXT = N_("Must be valid Unicode text.")
NOT_A_PAGE_URL = N_("Must be an http(s) URL.")
EXTRA_SHAPE = N_(
    "At most %(keys)d keys, each a string of at most %(key)d characters with a string "
    "value of at most %(value)d, without control characters."
)

EXTRA_KEY = Field(max_length=64)
EXTRA_VALUE = Field(max_length=256)
FREE_TEXT = ("name", "region", "page_url", "scheduled_for", "department")


class CallbackRequest(BaseModel):
    """A visitor's request to be called back, as a custom UI sends it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    phone: str = Field(description="The number to call, as the visitor typed it")
    token: str = Field(description="The form token of GET /v1/widgets/{widget_id}/config")
    name: str | None = Field(None, max_length=100)
    region: str | None = Field(
        None, max_length=2, description="ISO 3166 region to read a number without + in"
    )
    page_url: str | None = Field(None, max_length=2048, description="http(s) URL of the host page")
    extra: dict[Annotated[str, EXTRA_KEY], Annotated[str, EXTRA_VALUE]] = Field(
        default_factory=dict, max_length=20, description="Metadata passed on to the provider"
    )
    consent: bool = False
    website: str = Field("", description="Honeypot: leave empty")
    # Turnstile tokens reach 2048 characters, ALTCHA payloads about 400.
    human_check: str | None = Field(
        None,
        max_length=4096,
        description="With a human check: the Turnstile or hCaptcha response token, or the "
        "base64 ALTCHA payload; each works once",
    )
    scheduled_for: str | None = Field(
        None, max_length=64, description="Outside business hours: the start of an offered slot"
    )
    department: str | None = Field(
        None,
        max_length=32,
        description="The key of one of the widget's departments (config: widget.departments)",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _whole_characters(cls, value: Any, info: ValidationInfo) -> Any:
        # The number policy reads the phone whatever it holds and keeps only its E.164 form;
        # everything else may be stored or sent on, which a lone surrogate would break.
        if info.field_name != "phone" and has_unpaired_surrogate(value):
            raise refusal(BROKEN_TEXT)
        return value

    @field_validator(*FREE_TEXT)
    @classmethod
    def _free_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if has_control(value):
            raise refusal(CONTROL_CHARACTERS)
        value = value.strip() or None
        if info.field_name == "page_url" and value is not None and not _is_page_url(value):
            raise refusal(NOT_A_PAGE_URL)
        return value

    @field_validator("extra")
    @classmethod
    def _plain_extra(cls, value: dict[str, str]) -> dict[str, str]:
        if any(has_control(key + item) for key, item in value.items()):
            raise refusal(CONTROL_CHARACTERS)
        return value

    def submission(
        self, *, origin: str, locale: str | None, idempotency_key: str | None
    ) -> Submission:
        """Return the domain's Submission of this request."""
        return Submission(
            phone=self.phone,
            token=self.token,
            origin=origin,
            region=self.region,
            name=self.name,
            page_url=self.page_url,
            locale=locale,
            extra=self.extra,
            honeypot=self.website,
            consent=self.consent,
            idempotency_key=idempotency_key,
            human_check=self.human_check,
            scheduled_for=self.scheduled_for,
            department=self.department,
        )


class ConnectRequest(CallbackRequest):
    """Kazoo's connect `data`: the number is `contact`; an API key stands in for the token."""

    phone: str = Field(alias="contact", description="The number to call")
    token: str = Field("", description="Form token (public clicktocalls, which need no key)")


class PublicConnectRequest(ConnectRequest):
    """A connect without an API key: the form token is what lets it through."""

    token: str = Field(description="Form token")


def _is_page_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it is the check: "http://[::1", ":99999" raise
    except ValueError:
        return False
    return parts.scheme in ("http", "https")


def limit(name: str) -> int:
    """Return the most characters the callback request takes in one field."""
    return int(constraint(CallbackRequest.model_fields[name], "max_length"))


Request = TypeVar("Request", bound=CallbackRequest)


def parse(model: type[Request], body: Mapping[str, Any]) -> Request:
    """Return the request in `body`; raise BadRequest naming each refused field."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = {
            name: _reason(error, field_named(model, name))
            for name, error in first_errors(exc).items()
        }
    raise BadRequest(gettext(REFUSED_MESSAGE), fields=fields)


def _reason(error: ErrorDetails, field: FieldInfo | None) -> str:
    """Say, in the visitor's language, what is wrong with one field."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == REFUSED:
        return gettext(ctx["reason"])
    if kind == "missing":
        return gettext(REQUIRED)
    if kind == "extra_forbidden":
        return gettext(UNKNOWN)
    if error["loc"][0] == "extra":
        if kind == "dict_type":
            return gettext(NOT_OBJECT)
        return gettext(
            EXTRA_SHAPE,
            keys=constraint(field, "max_length"),
            key=constraint(EXTRA_KEY, "max_length"),
            value=constraint(EXTRA_VALUE, "max_length"),
        )
    if kind == "bool_type":
        return gettext(NOT_BOOLEAN)
    if kind == "string_too_long":
        return gettext(TOO_LONG, max=ctx["max_length"])
    return gettext(NOT_TEXT)
