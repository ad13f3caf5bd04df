"""Pydantic glue every payload model shares: refusals, stated constraints, refused fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

# The error type of every refusal a model's own checks raise; its reason is shown as given.
REFUSED = "refused"


def refusal(reason: str) -> PydanticCustomError:
    # The reason goes in the context, not the template: reasons may hold braces ({} is a
    # human check switched off) that pydantic would read as placeholders.
    return PydanticCustomError(REFUSED, "{reason}", {"reason": reason})


def checked(check: Callable[[Any], str | None]) -> BeforeValidator:
    """Refuse a field with the reason `check` gives for its raw value, if any."""

    def run(value: Any) -> Any:
        reason = check(value)
        if reason:
            raise refusal(reason)
        return value

    return BeforeValidator(run)


def field_named(model: type[BaseModel], name: str) -> FieldInfo | None:
    """Return the field a client calls `name` (its alias, if it has one)."""
    for attribute, field in model.model_fields.items():
        if (field.alias or attribute) == name:
            return field
    return None


def constraint(field: FieldInfo | None, name: str) -> Any:
    """Return what a field states for one constraint (max_length, ge, ...), or None."""
    for item in field.metadata if field is not None else ():
        if getattr(item, name, None) is not None:
            return getattr(item, name)
    return None


def first_errors(exc: ValidationError) -> dict[str, ErrorDetails]:
    """Return the first error of each refused field, by the name the client sent it under."""
    found: dict[str, ErrorDetails] = {}
    for error in exc.errors(include_url=False):
        found.setdefault(str(error["loc"][0]) if error["loc"] else "", error)
    return found
