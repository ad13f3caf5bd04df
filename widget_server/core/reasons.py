"""Why a value is refused, as the domain says it: English text that keeps its message.

A `Reason` is the English text the admin API, the CLI and the logs have always shown, so
everything that joins, compares or serialises reasons as strings keeps working. It also
keeps what that text was made from: a message template (a catalogue msgid with
``%(name)s`` parameters), the parameters, and the path of the part it is about inside the
property (``0.extension``), so a page can show it in the reader's language (`render`).

``Reason("...")`` marks its template for the catalogues (babel.cfg's keywords name it),
so a template is always a literal at the place the domain refuses something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Between reasons shown together ("entry 0: …; entry 2: …").
SEPARATOR = "; "


class Reason(str):
    """A refusal's English text, with its template, parameters and path inside the value."""

    template: str
    params: Mapping[str, object]
    path: tuple[str, ...]
    parts: tuple[Reason, ...]

    def __new__(cls, template: str, /, **params: object) -> Reason:
        return cls._made(template, params, (), ())

    @classmethod
    def _made(
        cls,
        template: str,
        params: Mapping[str, object],
        path: tuple[str, ...],
        parts: tuple[Reason, ...],
    ) -> Reason:
        # As gettext with variables does: a template without parameters is taken as it is.
        text = SEPARATOR.join(parts) if parts else template % params if params else template
        reason = super().__new__(cls, f"{'.'.join(path)}: {text}" if path else text)
        reason.template, reason.params, reason.path, reason.parts = template, params, path, parts
        return reason

    def at(self, *path: object) -> Reason:
        """This reason for a part inside a value: ``0`` then ``extension`` → ``0.extension: …``."""
        return self._made(self.template, self.params, (*map(str, path), *self.path), self.parts)

    @classmethod
    def joined(cls, reasons: Iterable[Reason]) -> Reason:
        """Several reasons shown as one, in order."""
        parts = tuple(reasons)
        return parts[0] if len(parts) == 1 else cls._made("", {}, (), parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Copied (pydantic copies an error's context) and pickled with its structure.
        return (_rebuilt, (self.template, dict(self.params), self.path, self.parts))


def _rebuilt(
    template: str, params: Mapping[str, object], path: tuple[str, ...], parts: tuple[Reason, ...]
) -> Reason:
    return Reason._made(template, params, path, parts)


def render(reason: object, translate: Callable[[str], str], with_path: bool = True) -> str:
    """Say `reason` with `translate` (a gettext): the template translated, then the
    parameters put in; parameters that are reasons are said the same way, values as they are.
    `with_path=False` leaves out the path, for a reason shown on the very field it is about.

    A text that is no `Reason` (from a library, say) is shown as it is.
    """
    if not isinstance(reason, Reason):
        return str(reason)
    if reason.parts:
        text = SEPARATOR.join(render(part, translate) for part in reason.parts)
    elif reason.params:
        params = {
            name: render(value, translate) if isinstance(value, Reason) else value
            for name, value in reason.params.items()
        }
        text = translate(reason.template) % params
    else:
        text = translate(reason.template)
    return f"{'.'.join(reason.path)}: {text}" if reason.path and with_path else text


def templates(reason: object) -> list[str]:
    """Every template `reason` is said with, its parameters' own included."""
    if not isinstance(reason, Reason):
        return []
    if reason.parts:
        return [found for part in reason.parts for found in templates(part)]
    nested = [found for value in reason.params.values() for found in templates(value)]
    return [reason.template, *nested]
