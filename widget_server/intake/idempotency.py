"""The Idempotency-Key header of the JSON API and of Kazoo's connect: one check for both."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError

from ..core.errors import BadRequest
from ..core.validation import constraint, refusal

HEADER = "Idempotency-Key"
LENGTH = Field(min_length=1, max_length=64)


def _printable(key: str) -> str:
    if not key.isprintable():
        raise refusal("not printable")
    return key


# Also the header's schema in the OpenAPI document.
KEY = TypeAdapter(Annotated[str, LENGTH, AfterValidator(_printable)])


def key(header: str | None) -> str | None:
    """Return the client's Idempotency-Key (None without one); refuse a malformed one."""
    if header is None:
        return None
    try:
        return KEY.validate_python(header, strict=True)
    except ValidationError:
        low, high = constraint(LENGTH, "min_length"), constraint(LENGTH, "max_length")
        raise BadRequest(fields={HEADER: f"{low} to {high} printable characters."}) from None
