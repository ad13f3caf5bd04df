"""A widget's visitor-facing texts: translated defaults, overridable per widget and language.

A widget's ``texts`` holds plain keys (``{"title": "Need a hand?"}``), which speak the
widget's own ``locale``, and per-language objects (``{"he": {"title": "…"}}``). A visitor
served in another language than the widget's gets that language's override or the
translated default, never the owner's text in a language the visitor did not ask for.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale, gettext

from ..core.i18n import N_, SUPPORTED_LOCALES, supported
from ..core.text import has_control

DEFAULTS = {
    "title": N_("Want us to call you?"),
    "intro": N_("Leave your number and we will call you right back."),
    "phone_label": N_("Your phone number"),
    "consent": N_("I agree to be called back about my request."),
    "submit": N_("Call me back"),
    "button": N_("Call me back"),
    "schedule_button": N_("Schedule a callback"),
    "call_now": N_("Call us now"),
}
LIMIT = 200
# Texts an agent hears rather than a visitor reads (calls.agent_speech speaks them): set
# like the others, never shown on the page.
AGENT_TEXTS = ("whisper",)


def text(widget: Any, key: str) -> str:
    """Return the text for `key` in the current request's language."""
    locale = str(get_locale() or "en")
    texts = widget.texts if isinstance(widget.texts, dict) else {}
    localised = texts.get(locale)
    if isinstance(localised, dict) and isinstance(localised.get(key), str):
        return str(localised[key])
    if isinstance(texts.get(key), str) and supported(widget.locale) == locale:
        return str(texts[key])
    return gettext(DEFAULTS[key])


def errors(value: object) -> str | None:
    """Say what is wrong with a widget's `texts` (None when it can be saved)."""
    if not isinstance(value, dict):
        return "must be an object"
    for key, item in value.items():
        if key in SUPPORTED_LOCALES and isinstance(item, dict):
            for inner, entry in item.items():
                problem = _entry(inner, entry)
                if problem:
                    return f"{key}.{problem}"
            continue
        problem = _entry(key, item)
        if problem:
            return problem
    return None


def _entry(key: object, entry: object) -> str | None:
    if key not in DEFAULTS and key not in AGENT_TEXTS:
        languages = ", ".join(SUPPORTED_LOCALES)
        known = ", ".join((*DEFAULTS, *AGENT_TEXTS))
        return f"{key}: unknown text; use {known} or a language ({languages})"
    if not isinstance(entry, str) or not entry.strip() or len(entry) > LIMIT:
        return f"{key}: must be a non-empty string of at most {LIMIT} characters"
    if has_control(entry):
        return f"{key}: must not contain control characters"
    return None
