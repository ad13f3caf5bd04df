"""A widget's visitor-facing texts: translated defaults, overridable per widget and language.

A widget's ``texts`` holds plain keys (``{"title": "Need a hand?"}``), which speak the
widget's own ``locale``, and per-language objects (``{"he": {"title": "…"}}``). A visitor
served in another language than the widget's gets that language's override or the
translated default, never the owner's text in a language the visitor did not ask for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask_babel import get_locale, gettext

from ..core.i18n import N_, SUPPORTED_LOCALES, supported
from ..core.reasons import Reason
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
    "close": N_("Close"),
    "privacy": N_("How we use your number"),
}
# Links the owner may give, per language like the texts: shown only when set.
LINKS = ("privacy_url",)
LIMIT = 200
LINK_LIMIT = 500
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


def link(widget: Any, key: str) -> str:
    """Return the owner's link for `key` in the current request's language, or ""."""
    locale = str(get_locale() or "en")
    texts = widget.texts if isinstance(widget.texts, dict) else {}
    localised = texts.get(locale)
    if isinstance(localised, dict) and isinstance(localised.get(key), str):
        return str(localised[key])
    value = texts.get(key)
    return value if isinstance(value, str) else ""


def errors(value: object) -> Reason | None:
    """Say what is wrong with a widget's `texts` (None when it can be saved)."""
    if not isinstance(value, dict):
        return Reason("must be an object")
    for key, item in value.items():
        if key in SUPPORTED_LOCALES and isinstance(item, dict):
            for inner, entry in item.items():
                problem = _entry(inner, entry)
                if problem:
                    return problem.at(key)
            continue
        problem = _entry(key, item)
        if problem:
            return problem
    return None


def _entry(key: object, entry: object) -> Reason | None:
    if key in LINKS:
        return _link_entry(str(key), entry)
    if key not in DEFAULTS and key not in AGENT_TEXTS:
        languages = ", ".join(SUPPORTED_LOCALES)
        known = ", ".join([*DEFAULTS, *LINKS, *AGENT_TEXTS])
        return Reason(
            "unknown text; use %(known)s or a language (%(languages)s)",
            known=known,
            languages=languages,
        ).at(key)
    if not isinstance(entry, str) or not entry.strip() or len(entry) > LIMIT:
        return Reason("must be a non-empty string of at most %(limit)s characters", limit=LIMIT).at(
            key
        )
    if has_control(entry):
        return Reason("must not contain control characters").at(key)
    return None


def _link_entry(key: str, entry: object) -> Reason | None:
    # Shown to every visitor as a link: an https page somewhere, nothing a browser would run.
    problem = Reason("must be an https URL of at most %(limit)s characters", limit=LINK_LIMIT).at(
        key
    )
    if not isinstance(entry, str) or len(entry) > LINK_LIMIT or has_control(entry):
        return problem
    try:
        parts = urlsplit(entry)
    except ValueError:  # a malformed [IPv6] host
        return problem
    if parts.scheme != "https" or not parts.hostname or " " in entry or parts.username:
        return problem
    return None
