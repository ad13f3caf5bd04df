"""How one widget property is edited in the dashboard: its form fields, their first values,
and the property value they make.

An editor only turns form text into the property's shape (a list, a number, an object);
whether the value may be saved is decided once, by the domain (`owners.widgets.clean`).
`FieldProblem` is for text that has no shape at all (letters where a number goes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from babel import Locale
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ColorInput, ListWidget, PasswordInput

from ...calls.hours import DAYS
from ...core.i18n import SUPPORTED_LOCALES
from ...intake import human_checks
from ...intake.phone_policy import WHITELIST_PRESETS
from ...owners import display, texts
from ...owners.property_checks import LIMIT_KEYS
from .. import json_body

SEP = "__"  # between a property and its part in a form field's name: theme__color


class FieldProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def options(pairs: list[tuple[str, Any]]) -> list[SelectChoice]:
    """WTForms' choices from (value, label) pairs (labels may be lazy translations)."""
    return [SelectChoice(value, str(label)) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def whole_number(field: str, text: str | None) -> int | None:
    """Read a whole number; None when the field was left empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FieldProblem(field, gettext("Enter a whole number.")) from None


class Editor:
    """One property: `fields()` to build the form, `initial()` to fill it, `value()` to read it."""

    def __init__(self, prop: str, label: Any, help: Any = "") -> None:
        self.prop = prop
        self.label = label
        self.help = help

    def name(self, part: str = "") -> str:
        return f"{self.prop}{SEP}{part}" if part else self.prop

    def prepare(self, current: Any, formdata: Any) -> Any:
        """Size the editor for the value and submission at hand, before `fields()` is asked;
        return the submission as the editor's fields should read it (rows moved, say)."""
        return formdata

    def fields(self) -> dict[str, Field]:
        return {self.prop: StringField(self.label, description=self.help)}

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: "" if value is None else value}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return data[self.prop]

    def error_field(self, key: str, reason: str) -> str:
        """The form field that shows the domain's `reason` for `key` (a dotted path)."""
        part = key.split(".", 1)[1] if "." in key else reason.split(":", 1)[0]
        candidate = self.name(part.replace(".", SEP))
        return candidate if candidate in self.fields() else next(iter(self.fields()))


class NumberEditor(Editor):
    def __init__(self, prop: str, label: Any, help: Any = "", default: int | None = None):
        super().__init__(prop, label, help)
        self.default = default

    def fields(self) -> dict[str, Field]:
        return {
            self.prop: StringField(
                self.label, description=self.help, render_kw={"inputmode": "numeric"}
            )
        }

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        number = whole_number(self.prop, data[self.prop])
        return self.default if number is None else number


class SwitchEditor(Editor):
    def fields(self) -> dict[str, Field]:
        return {self.prop: BooleanField(self.label, description=self.help)}

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: bool(value)}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return bool(data[self.prop])


class ChoiceEditor(Editor):
    def __init__(self, prop: str, label: Any, help: Any, choices: list[tuple[str, str]]):
        super().__init__(prop, label, help)
        self.choices = choices

    def fields(self) -> dict[str, Field]:
        return {
            self.prop: SelectField(self.label, description=self.help, choices=options(self.choices))
        }


class LinesEditor(Editor):
    """A list of strings, one a line."""

    def fields(self) -> dict[str, Field]:
        return {self.prop: TextAreaField(self.label, description=self.help)}

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: "\n".join(str(item) for item in value or [])}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return lines(data[self.prop])


class CodesEditor(Editor):
    """A list of short codes (regions), separated by commas or spaces."""

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: ", ".join(value or [])}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        text = (data[self.prop] or "").replace(",", " ")
        return [code.upper() for code in text.split()]


class CheckboxesEditor(Editor):
    def __init__(self, prop: str, label: Any, help: Any, choices: list[tuple[str, str]]):
        super().__init__(prop, label, help)
        self.choices = choices

    def fields(self) -> dict[str, Field]:
        return {
            self.prop: CheckboxesField(
                self.label, description=self.help, choices=options(self.choices)
            )
        }

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: list(value or [])}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return list(data[self.prop] or [])


class JSONEditor(Editor):
    """Any value, written as JSON: the editor of a property no other editor knows."""

    def fields(self) -> dict[str, Field]:
        return {self.prop: TextAreaField(self.label, description=self.help)}

    def initial(self, value: Any) -> dict[str, Any]:
        return {self.prop: json.dumps(value, ensure_ascii=False, indent=1)}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        try:
            return json_body.decode(data[self.prop] or "null")
        except ValueError:
            raise FieldProblem(self.prop, gettext("Enter valid JSON.")) from None


class WriteOnlyJSONEditor(JSONEditor):
    """A write-only value of a property no other editor knows: never shown; left empty,
    the stored value stays."""

    def initial(self, value: Any) -> dict[str, Any]:
        return {}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        if not (data[self.prop] or "").strip():
            return current
        return super().value(data, formdata, current)


class SecretEditor(Editor):
    """A write-only secret: never shown; left empty, the stored one stays."""

    def fields(self) -> dict[str, Field]:
        return {
            self.prop: StringField(
                self.label,
                description=self.help,
                widget=PasswordInput(hide_value=True),
                render_kw={"autocomplete": "new-password"},
            )
        }

    def initial(self, value: Any) -> dict[str, Any]:
        return {}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return data[self.prop] or current


class OriginsEditor(Editor):
    """The allowed origins, added and removed one at a time."""

    ADD = "add_origin"
    REMOVE = "remove_origin"

    def fields(self) -> dict[str, Field]:
        return {self.name("new"): StringField(_l("New origin"), description=self.help)}

    def initial(self, value: Any) -> dict[str, Any]:
        return {}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        origins = list(current or [])
        removed = formdata.get(self.REMOVE)
        if removed:
            origins = [origin for origin in origins if origin != removed]
        new = (data[self.name("new")] or "").strip()
        if new and formdata.get("action") == self.ADD:
            origins.append(new)
        return origins

    def error_field(self, key: str, reason: str) -> str:
        return self.name("new")


class WhitelistEditor(LinesEditor):
    """Whitelist regexes, one a line, or one of the presets in place of them."""

    def fields(self) -> dict[str, Field]:
        presets = [("", gettext("None: use the lines above"))]
        presets += [(name, name) for name in WHITELIST_PRESETS]
        return {
            **super().fields(),
            self.name("preset"): SelectField(_l("Preset"), choices=options(presets)),
        }

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        preset = data[self.name("preset")]
        return (
            list(WHITELIST_PRESETS[preset])
            if preset in WHITELIST_PRESETS
            else super().value(data, formdata, current)
        )


class TextsEditor(Editor):
    """Every visitor-facing text, per language; empty means the translated default."""

    def __init__(self, prop: str, label: Any, help: Any = "", locale: str = "en") -> None:
        super().__init__(prop, label, help)
        self.locale = locale

    def fields(self) -> dict[str, Field]:
        fields: dict[str, Field] = {}
        for language in SUPPORTED_LOCALES:
            with force_locale(language):
                defaults = {key: gettext(default) for key, default in texts.DEFAULTS.items()}
            for key in texts.DEFAULTS:
                fields[self.name(f"{language}{SEP}{key}")] = StringField(
                    TEXT_LABELS.get(key, key),
                    render_kw={"placeholder": defaults[key], "lang": language, "dir": "auto"},
                )
        return fields

    def initial(self, value: Any) -> dict[str, Any]:
        value = migrate_plain_texts(value, self.locale)
        value = value if isinstance(value, dict) else {}
        found: dict[str, Any] = {}
        for language in SUPPORTED_LOCALES:
            own = value.get(language) if isinstance(value.get(language), dict) else {}
            for key in texts.DEFAULTS:
                found[self.name(f"{language}{SEP}{key}")] = own.get(key) or ""
        return found

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        result: dict[str, dict[str, str]] = {}
        for language in SUPPORTED_LOCALES:
            for key in texts.DEFAULTS:
                text = (data[self.name(f"{language}{SEP}{key}")] or "").strip()
                if text:
                    result.setdefault(language, {})[key] = text
        return result

    def error_field(self, key: str, reason: str) -> str:
        path = reason.split(":", 1)[0]  # "he.title" or "title"
        language, _, text_key = path.rpartition(".")
        candidate = self.name(f"{language or 'en'}{SEP}{text_key}")
        return candidate if candidate in self.fields() else next(iter(self.fields()))

    @staticmethod
    def language_name(language: str) -> str:
        return str(Locale.parse(language).get_display_name(language) or language)


TEXT_LABELS = {
    "title": _l("Form title"),
    "intro": _l("Introduction"),
    "phone_label": _l("Phone number label"),
    "consent": _l("Consent text"),
    "submit": _l("Submit button"),
    "button": _l("Button on the page"),
    "schedule_button": _l("Schedule button"),
    "call_now": _l("Call-now link"),
}


def migrate_plain_texts(value: Any, locale: str) -> Any:
    """Read plain text keys (the widget's own language) as that language's texts."""
    if not isinstance(value, dict):
        return value
    moved = {k: v for k, v in value.items() if k not in SUPPORTED_LOCALES}
    result = {
        k: dict(v) for k, v in value.items() if k in SUPPORTED_LOCALES and isinstance(v, dict)
    }
    if moved and locale in SUPPORTED_LOCALES:
        result[locale] = {**moved, **result.get(locale, {})}
    return result


class ThemeEditor(Editor):
    def fields(self) -> dict[str, Field]:
        return {
            self.name("color"): StringField(
                _l("Colour"), widget=ColorInput(), description=_l("The button's background.")
            ),
            self.name("position"): SelectField(
                _l("Corner"), choices=options([("right", _l("Right")), ("left", _l("Left"))])
            ),
            self.name("radius"): StringField(
                _l("Corner radius (pixels)"),
                description=_l("0 to %(max)s.", max=display.MAX_RADIUS),
                render_kw={"inputmode": "numeric"},
            ),
            self.name("icon"): SelectField(
                _l("Icon"),
                choices=options(
                    [("none", _l("None")), ("phone", _l("Phone")), ("chat", _l("Speech"))]
                ),
            ),
        }

    def initial(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        color = str(value.get("color") or display.DEFAULT_COLOR)
        if len(color) == 4:  # #06c: the colour input takes #rrggbb only
            color = "#" + "".join(ch * 2 for ch in color[1:])
        return {
            self.name("color"): color,
            self.name("position"): value.get("position", "right"),
            self.name("radius"): value.get("radius", 26),
            self.name("icon"): value.get("icon", "none"),
        }

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        theme: dict[str, Any] = {
            "color": data[self.name("color")],
            "position": data[self.name("position")],
            "icon": data[self.name("icon")],
        }
        radius = whole_number(self.name("radius"), data[self.name("radius")])
        if radius is not None:
            theme["radius"] = radius
        return theme


class RulesEditor(Editor):
    def fields(self) -> dict[str, Field]:
        return {
            self.name("show_on"): TextAreaField(
                _l("Show only on these paths"),
                description=_l("One a line, * for anything: /shop/*"),
            ),
            self.name("hide_on"): TextAreaField(
                _l("Hide on these paths"), description=_l("One a line, e.g. */checkout")
            ),
            self.name("delay_seconds"): StringField(
                _l("Delay (seconds)"),
                description=_l("0 to %(max)s.", max=display.MAX_DELAY),
                render_kw={"inputmode": "numeric"},
            ),
            self.name("outside_hours"): SelectField(
                _l("Outside business hours"),
                choices=options(
                    [
                        ("show", _l("Show the button")),
                        ("hide", _l("Hide the button")),
                        ("schedule", _l("Offer to schedule a call")),
                    ]
                ),
            ),
            self.name("call_now"): StringField(
                _l("Call-now number"), description=_l("A number in international form (+…).")
            ),
        }

    def initial(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        return {
            self.name("show_on"): "\n".join(value.get("show_on", [])),
            self.name("hide_on"): "\n".join(value.get("hide_on", [])),
            self.name("delay_seconds"): value.get("delay_seconds", ""),
            self.name("outside_hours"): value.get("outside_hours", "show"),
            self.name("call_now"): value.get("call_now") or "",
        }

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        rules: dict[str, Any] = {"outside_hours": data[self.name("outside_hours")]}
        for key in ("show_on", "hide_on"):
            if lines(data[self.name(key)]):
                rules[key] = lines(data[self.name(key)])
        delay = whole_number(self.name("delay_seconds"), data[self.name("delay_seconds")])
        if delay is not None:
            rules["delay_seconds"] = delay
        if (data[self.name("call_now")] or "").strip():
            rules["call_now"] = data[self.name("call_now")].strip()
        return rules


class LimitsEditor(Editor):
    def __init__(self, prop: str, label: Any, help: Any, ceilings: Mapping[str, str]):
        super().__init__(prop, label, help)
        self.ceilings = ceilings

    def fields(self) -> dict[str, Field]:
        return {
            self.name(key): StringField(
                LIMIT_LABELS[key],
                description=_l(
                    "Empty: the server's limit, %(ceiling)s. Yours applies as well, never instead.",
                    ceiling=self.ceilings.get(key, ""),
                ),
                render_kw={"placeholder": "1 per 10 minutes;3 per day"},
            )
            for key in LIMIT_KEYS
        }

    def initial(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        return {self.name(key): value.get(key, "") for key in LIMIT_KEYS}

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        return {
            key: data[self.name(key)].strip()
            for key in LIMIT_KEYS
            if (data[self.name(key)] or "").strip()
        }


LIMIT_LABELS = {
    "per_number": _l("Per number"),
    "per_prefix": _l("Per number prefix"),
    "distinct_numbers_per_ip": _l("Distinct numbers per visitor address"),
    "per_widget": _l("Per widget"),
}


class HoursEditor(Editor):
    """Business hours: windows per day ("09:00-12:00, 13:00-17:00"), holidays, scheduling.

    An agent's or a department's own hours only say when it answers: they have no
    scheduling parts (`scheduling=False`); the widget's slots apply to every agent.
    """

    def __init__(self, prop: str, label: Any, help: Any = "", scheduling: bool = True) -> None:
        super().__init__(prop, label, help)
        self.scheduling: tuple[tuple[str, Any, int, int], ...] = SCHEDULING if scheduling else ()

    def fields(self) -> dict[str, Field]:
        fields: dict[str, Field] = {
            self.name(f"windows{SEP}{day}"): StringField(
                DAY_LABELS[day], render_kw={"placeholder": "09:00-17:00"}
            )
            for day in DAYS
        }
        fields[self.name("holidays")] = TextAreaField(
            _l("Closed on"), description=_l("One date a line, YYYY-MM-DD.")
        )
        for key, label, low, high in self.scheduling:
            fields[self.name(key)] = StringField(
                label,
                description=_l("%(low)s to %(high)s.", low=low, high=high),
                render_kw={"inputmode": "numeric"},
            )
        return fields

    def initial(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        windows = value.get("windows") if isinstance(value.get("windows"), dict) else {}
        found: dict[str, Any] = {
            self.name(f"windows{SEP}{day}"): ", ".join(
                f"{start}-{end}" for start, end in windows.get(day, [])
            )
            for day in DAYS
        }
        found[self.name("holidays")] = "\n".join(value.get("holidays", []))
        for key, *_ in self.scheduling:
            found[self.name(key)] = value.get(key, "")
        return found

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        hours: dict[str, Any] = {}
        windows = {}
        for day in DAYS:
            field = self.name(f"windows{SEP}{day}")
            text = (data[field] or "").strip()
            if text:
                windows[day] = [self._window(field, part) for part in text.split(",")]
        if windows:
            hours["windows"] = windows
        if lines(data[self.name("holidays")]):
            hours["holidays"] = lines(data[self.name("holidays")])
        for key, *_ in self.scheduling:
            number = whole_number(self.name(key), data[self.name(key)])
            if number is not None:
                hours[key] = number
        return hours

    @staticmethod
    def _window(field: str, text: str) -> list[str]:
        start, dash, end = text.strip().partition("-")
        if not dash:
            raise FieldProblem(field, gettext("Write each window as 09:00-17:00."))
        return [start.strip(), end.strip()]


DAY_LABELS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}
SCHEDULING = (
    ("slot_minutes", _l("Slot length (minutes)"), 5, 240),
    ("lead_minutes", _l("Earliest booking (minutes ahead)"), 0, 24 * 60),
    ("horizon_days", _l("Latest booking (days ahead)"), 1, 60),
)


class HumanCheckEditor(Editor):
    def fields(self) -> dict[str, Field]:
        kinds = [("", _l("Off"))] + [(kind, kind) for kind in sorted(human_checks.REGISTRY)]
        return {
            self.name("kind"): SelectField(_l("Kind"), choices=options(kinds)),
            self.name("site_key"): StringField(
                _l("Site key"), description=_l("Turnstile and hCaptcha.")
            ),
            self.name("secret_key"): StringField(
                _l("Secret key"),
                description=_l("Write-only: leave empty to keep the stored key."),
                widget=PasswordInput(hide_value=True),
                render_kw={"autocomplete": "new-password"},
            ),
            self.name("max_number"): StringField(
                _l("Work (ALTCHA)"),
                description=_l("The proof-of-work's largest number."),
                render_kw={"inputmode": "numeric"},
            ),
        }

    def initial(self, value: Any) -> dict[str, Any]:
        value = value if isinstance(value, dict) else {}
        return {
            self.name("kind"): value.get("kind", ""),
            self.name("site_key"): value.get("site_key", ""),
            self.name("max_number"): value.get("max_number", ""),
        }

    def value(self, data: Mapping[str, Any], formdata: Any, current: Any) -> Any:
        kind = data[self.name("kind")]
        if not kind:
            return {}
        check: dict[str, Any] = {"kind": kind}
        for key in ("site_key", "secret_key"):
            if (data[self.name(key)] or "").strip():
                check[key] = data[self.name(key)].strip()
        number = whole_number(self.name("max_number"), data[self.name("max_number")])
        if number is not None:
            check["max_number"] = number
        return check
